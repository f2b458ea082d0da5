"""RFC 9457 problem details for every API failure.

Every error under ``/api/`` is ``application/problem+json`` with ``type``, ``title``,
``status``, ``detail``, a stable machine ``code`` and ``errors[]`` (``field``, ``code``,
``message``), whether it comes from DRF (validation, auth, throttling), a domain error, Django's
URL resolver (404), or an unexpected exception (500, logged with the request id, never HTML).
"""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import Any

import structlog
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from core.errors import DomainError

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:omnihub:problem:"

logger = structlog.get_logger("omnihub.api")

_DEFAULT_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    500: "internal_error",
}
# RFC 9457's members and ours: an error's ``extra`` adds members, it never replaces these.
RESERVED_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "code", "errors"})
_DRF_CODE_ALIASES = {
    "parse_error": "malformed_request",
    "throttled": "rate_limited",
    "error": None,
    "invalid": None,
}


class ApiError(exceptions.APIException):
    """An API error raised by the platform itself (bad cursor, stale ETag, reused key...)."""

    def __init__(
        self,
        *,
        status_code: int,
        code: str,
        detail: str,
        errors: list[dict[str, str]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.problem_code = code
        self.errors = errors or []
        self.extra = extra or {}
        self.headers = headers or {}


def problem(
    *,
    status_code: int,
    code: str,
    detail: str,
    title: str | None = None,
    errors: list[dict[str, str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"{TYPE_PREFIX}{code}",
        "title": title or HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": detail,
        "code": code,
        "errors": errors or [],
    }
    if extra:
        body.update({key: value for key, value in extra.items() if key not in RESERVED_MEMBERS})
    return body


def flatten_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """Turn DRF's nested error detail into ``[{field, code, message}]`` with dotted field paths."""
    if isinstance(detail, dict):
        flat: list[dict[str, str]] = []
        for key, value in detail.items():
            field = "" if key == "non_field_errors" else str(key)
            path = f"{prefix}.{field}" if prefix and field else (prefix or field)
            flat.extend(flatten_errors(value, path))
        return flat
    if isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail | str) for item in detail):
            return [_error_item(item, prefix) for item in detail]
        flat = []
        for index, item in enumerate(detail):
            if item:
                flat.extend(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return [_error_item(detail, prefix)]


def _error_item(item: Any, field: str) -> dict[str, str]:
    code = getattr(item, "code", None) or "invalid"
    return {"field": field, "code": str(code), "message": str(item)}


def _problem_for_api_exception(exc: exceptions.APIException) -> dict[str, Any]:
    status_code = exc.status_code
    if isinstance(exc, ApiError):
        return problem(
            status_code=status_code,
            code=exc.problem_code,
            detail=str(exc.detail),
            errors=exc.errors,
            extra=exc.extra,
        )
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        detail = "; ".join(
            f"{err['field']}: {err['message']}" if err["field"] else err["message"]
            for err in errors[:5]
        )
        return problem(
            status_code=status_code,
            code="validation_error",
            detail=detail or "The request is invalid.",
            errors=errors,
        )
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else None
    code = _DRF_CODE_ALIASES.get(code, code) if code else None
    return problem(
        status_code=status_code,
        code=code or _DEFAULT_CODES.get(status_code, "error"),
        detail=str(exc.detail),
    )


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception becomes a problem+json response."""
    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = ApiError(
            status_code=413, code="request_too_large", detail="The request body is too large."
        )
    elif isinstance(exc, SuspiciousOperation):
        exc = ApiError(status_code=400, code="bad_request", detail="The request was refused.")

    if isinstance(exc, DomainError):
        body = problem(
            status_code=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.message,
            errors=exc.errors,
            extra=exc.extra,
        )
        status_code = exc.status
    elif isinstance(exc, exceptions.APIException):
        body = _problem_for_api_exception(exc)
        status_code = exc.status_code
        if isinstance(exc, ApiError):
            headers.update(exc.headers)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))  # type: ignore[attr-defined]
    else:
        request = context.get("request")
        logger.exception(
            "api.unhandled_exception",
            path=getattr(request, "path", None),
            method=getattr(request, "method", None),
        )
        status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
        body = problem(
            status_code=status_code,
            code="internal_error",
            detail="An unexpected error occurred. It has been logged; quote the X-Request-ID "
            "header when reporting it.",
        )
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def problem_json(
    status_code: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    title: str | None = None,
) -> JsonResponse:
    """A problem+json response from a plain Django view (signed endpoints, error handlers)."""
    body = problem(
        status_code=status_code, code=code, detail=detail, errors=errors, extra=extra, title=title
    )
    return JsonResponse(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def problem_response(request: HttpRequest, *, status_code: int, detail: str) -> JsonResponse:
    """A problem+json response for errors raised outside DRF (URL resolver 404, handler500)."""
    return problem_json(status_code, _DEFAULT_CODES.get(status_code, "error"), detail)
