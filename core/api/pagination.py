"""Cursor pagination: ``cursor`` and ``limit`` (1-200), ``next``/``previous`` links, stable
order."""

from __future__ import annotations

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.problems import ApiError

MAX_LIMIT = 200


class CursorPagination(pagination.CursorPagination):
    """Opaque cursors over a stable ordering.

    The ordering is the view's ``cursor_ordering`` (default ``("-created_at", "-id")``); its first
    field should be indexed and its last unique so that pages neither skip nor repeat rows when rows
    are added while a partner pages through.
    """

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = MAX_LIMIT
    cursor_query_param = "cursor"
    ordering = ("-created_at", "-id")

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        return tuple(getattr(view, "cursor_ordering", self.ordering))

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            limit = int(raw)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            raise ApiError(
                status_code=400,
                code="invalid_parameter",
                detail=f"limit must be a whole number from 1 to {MAX_LIMIT}.",
                errors=[{"field": "limit", "code": "out_of_range", "message": "1 to 200"}],
            )
        return limit

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            raise ApiError(
                status_code=400,
                code="invalid_cursor",
                detail="The cursor is not valid; start again without one.",
                errors=[{"field": "cursor", "code": "invalid", "message": str(exc.detail)}],
            ) from exc

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"results": data, "next": self.get_next_link(), "previous": self.get_previous_link()}
        )

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_LIMIT,
                    "default": self.page_size,
                }
                parameter["description"] = f"Rows per page, 1 to {MAX_LIMIT}."
        return parameters

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "next", "previous"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "format": "uri", "nullable": True},
                "previous": {"type": "string", "format": "uri", "nullable": True},
            },
        }
