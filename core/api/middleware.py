"""No HTML error page under ``/api/``, whatever raised it and whatever ``DEBUG`` says."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse

from core.api.problems import problem_response

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
