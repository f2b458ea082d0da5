"""No HTML error page under ``/api/``, whatever raised it and whatever ``DEBUG`` says, and no
request under ``/api/`` whose path or query holds a NUL character (no view, filter or selector
has to think of it: PostgreSQL refuses NUL in text, so it would otherwise be a 500)."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse

from core.api.problems import PROBLEM_CONTENT_TYPE, problem, problem_response

_DETAILS = {
    404: "No such API resource.",
    500: "An unexpected error occurred. It has been logged; quote the X-Request-ID header "
    "when reporting it.",
}


class ApiProblemMiddleware:
    """Replace an HTML error response under ``/api/`` with problem+json of the same status.

    DRF views already answer problem+json; this covers what happens outside them: an unknown URL
    (Django's 404 page, or the technical page with DEBUG on), a crash in middleware, CSRF failure.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            refused = _nul_refusal(request)
            if refused is not None:
                return refused
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and response.get("Content-Type", "").startswith("text/html")
        ):
            status = response.status_code
            detail = _DETAILS.get(status, HTTPStatus(status).phrase)
            return problem_response(request, status_code=status, detail=detail)
        return response


def _nul_refusal(request: HttpRequest) -> JsonResponse | None:
    """``400`` ``invalid_parameter`` naming the first parameter (or the path) with a NUL."""
    fields = ["path"] if "\x00" in request.path else []
    fields += [
        key
        for key, values in request.GET.lists()
        if "\x00" in key or any("\x00" in value for value in values)
    ]
    if not fields:
        return None
    message = "A NUL character (%00) is not allowed."
    body = problem(
        status_code=400,
        code="invalid_parameter",
        detail=f"{fields[0]}: {message}",
        errors=[{"field": field, "code": "null_character", "message": message} for field in fields],
    )
    return JsonResponse(body, status=400, content_type=PROBLEM_CONTENT_TYPE)
