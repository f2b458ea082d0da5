"""Request bodies the API accepts: JSON within a size and a nesting limit, without NUL characters.

One function (:func:`json_body_parse`) serves the DRF parser of every ``/api/`` view and the
signed inbound order endpoint, so both refuse the same bodies the same way: ``413``
``request_too_large`` above ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes, ``400`` ``malformed_request``
for a body that is not JSON or is nested more than :data:`MAX_JSON_DEPTH` levels deep, ``400``
``validation_error`` for a string holding a NUL character (PostgreSQL cannot store one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.parsers import JSONParser

from core.api.problems import ApiError

MAX_JSON_DEPTH = 32


class BodyRefused(Exception):
    """A body the API will not read; ``status``, ``code``, ``detail`` and ``errors`` make the
    problem+json answer."""

    def __init__(
        self, *, status: int, code: str, detail: str, errors: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors or []


def body_limit() -> int | None:
    """The largest body in bytes (``DATA_UPLOAD_MAX_MEMORY_SIZE``; ``None``: no limit)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return None if limit is None else int(limit)


def body_too_large() -> BodyRefused:
    return BodyRefused(
        status=413,
        code="request_too_large",
        detail=f"The body is larger than the limit of {body_limit()} bytes.",
    )


def json_body_parse(raw: bytes) -> Any:
    """Parse a JSON body, refusing (:class:`BodyRefused`) what the API will not read."""
    limit = body_limit()
    if limit is not None and len(raw) > limit:
        raise body_too_large()
    too_deep = BodyRefused(
        status=400,
        code="malformed_request",
        detail=f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.",
    )
    try:
        data = json.loads(raw)
    except RecursionError as exc:
        raise too_deep from exc
    except ValueError as exc:
        raise BodyRefused(
            status=400, code="malformed_request", detail="The body is not valid JSON."
        ) from exc
    stack: list[tuple[Any, int, str]] = [(data, 0, "")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise _nul_refused(path)
            continue
        if isinstance(value, Mapping | list):
            if depth >= MAX_JSON_DEPTH:
                raise too_deep
            items = value.items() if isinstance(value, Mapping) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and "\x00" in key:
                    raise _nul_refused(path)
                field = f"{path}.{key}" if path else str(key)
                stack.append((item, depth + 1, field))
    return data


def _nul_refused(field: str) -> BodyRefused:
    message = "A NUL character (\\u0000) is not allowed."
    return BodyRefused(
        status=400,
        code="validation_error",
        detail=f"{field}: {message}" if field else message,
        errors=[{"field": field, "code": "null_character", "message": message}],
    )


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with the limits above (DRF itself reads a body of any size)."""

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = body_limit()
        raw = b"" if stream is None else stream.read() if limit is None else stream.read(limit + 1)
        try:
            return json_body_parse(raw)
        except BodyRefused as refused:
            raise ApiError(
                status_code=refused.status,
                code=refused.code,
                detail=refused.detail,
                errors=refused.errors,
            ) from refused
