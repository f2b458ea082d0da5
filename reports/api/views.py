"""The partner reporting API: ``/api/v1/reports/sales/``, ``/stock/``, ``/returns/`` and
``/fulfilment/`` under the scope ``reports:read``, for partners' BI tools.

The figures are the report pages' (``reports.selectors``, rollup tables only), limited to the
key's channels: without a channel filter a report covers the key's channels only, and a channel
outside them is refused exactly like an unknown one. A staff session sees what its user sees on the
report pages (``reports.access.report_scope``).

The query parameters are checked against the patterns the schema states before they are parsed;
what no schema can know (an unknown channel, store or category, a reversed range or one over 3
years) is ``400 invalid_report_filter`` with the field in ``errors``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, ClassVar

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.problems import ApiError
from core.scopes import Scope
from reports import selectors
from reports.access import api_scope, channel_locations_scope, filters_scoped
from reports.api.serializers import ReportResponseSerializer, table_columns, table_results
from reports.filters import GROUP_BYS, ReportFilterError, ReportFilters, filters_parse
from reports.selectors import Table

ERROR_CODE = "invalid_report_filter"
DATE_PATTERN = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
_CODE = "[A-Za-z0-9_-]{1,32}"
CODE_LIST_PATTERN = f"{_CODE}(,{_CODE}){{0,49}}"
MAX_CATEGORY_ID = 2_147_483_647
# what the parser's refusals mean once the parameters have the schema's shape: data or rules
# beyond the schema (tests/test_api_schemathesis.py BEYOND_SCHEMA_CODES)
_ERROR_KIND = {
    "channel": "does_not_exist",
    "store": "does_not_exist",
    "category": "does_not_exist",
    "start": "invalid_range",
    "end": "invalid_range",
}

_COMMON_PARAMETERS = [
    OpenApiParameter(
        "start",
        {"type": "string", "format": "date", "pattern": f"^{DATE_PATTERN}$"},
        description="First day (YYYY-MM-DD, UTC). Default: 30 days before `end`.",
    ),
    OpenApiParameter(
        "end",
        {"type": "string", "format": "date", "pattern": f"^{DATE_PATTERN}$"},
        description="Last day, inclusive (YYYY-MM-DD). Default: today, or `start` when later. "
        "At most 1,096 days from `start`, never before it.",
    ),
    OpenApiParameter(
        "channel",
        {"type": "string", "pattern": f"^{CODE_LIST_PATTERN}$"},
        description="Channel codes, comma-separated (up to 50); default: every channel of the "
        "key. A channel that is not the key's is refused like an unknown one.",
    ),
    OpenApiParameter(
        "store",
        {"type": "string", "pattern": f"^{CODE_LIST_PATTERN}$"},
        description="Location codes, comma-separated (up to 50); default: every location.",
    ),
    OpenApiParameter(
        "category",
        {"type": "integer", "minimum": 1, "maximum": MAX_CATEGORY_ID},
        description="A category id (`GET /api/v1/categories/`): the figures of its products "
        "and its subcategories'.",
    ),
]
_GROUP_BY_PARAMETER = OpenApiParameter(
    "group_by",
    {"type": "string", "enum": list(GROUP_BYS)},
    description="The period of each row: day (default), week (starting Monday) or month.",
)
RETURNS_BY = ("channel", "product", "reason")
_RETURNS_BY_PARAMETER = OpenApiParameter(
    "by",
    {"type": "string", "enum": list(RETURNS_BY)},
    description="One row per channel (default), product or reason given.",
)
_ERRORS_DESCRIPTION = (
    "`invalid_report_filter`: a parameter out of its pattern, an unknown channel (or one that is "
    "not the key's), store or category, a reversed range or one over 1,096 days; "
    "`errors[].field` names the parameter."
)


def _refuse(field: str, message: str, kind: str = "invalid") -> ApiError:
    return ApiError(
        status_code=400,
        code=ERROR_CODE,
        detail=message,
        errors=[{"field": field, "code": kind, "message": message}],
        extra={"field": field},
    )


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _check_shape(params: Any, names: tuple[str, ...], choices: dict[str, tuple[str, ...]]) -> None:
    """Refuse a parameter that the schema would: empty, or out of its pattern or range."""
    for name in names:
        if name not in params:
            continue
        values = params.getlist(name)
        value = ",".join(values)
        if not value:
            raise _refuse(name, f"{name} is empty: leave it out, or give a value.")
        if name in {"start", "end"}:
            ok = len(values) == 1 and re.fullmatch(DATE_PATTERN, value) is not None
            ok = ok and _is_date(value)
            message = f"{name}: '{value}' is not a date (YYYY-MM-DD)."
        elif name in {"channel", "store"}:
            ok = re.fullmatch(CODE_LIST_PATTERN, value) is not None
            message = f"{name}: expected up to 50 codes, comma-separated."
        elif name == "category":
            ok = (
                len(values) == 1
                and re.fullmatch("[0-9]{1,10}", value) is not None
                and 1 <= int(value) <= MAX_CATEGORY_ID
            )
            message = f"category: '{value}' is not a category id (a whole number)."
        else:
            ok = len(values) == 1 and value in choices[name]
            message = f"{name}: '{value}' is not one of {', '.join(choices[name])}."
        if not ok:
            raise _refuse(name, message)


def request_filters(
    request: Request,
    *,
    names: tuple[str, ...],
    choices: dict[str, Any],
    per_location: bool = False,
) -> Any:
    """The filters of the request within what the caller may see; a 400 for a bad one.
    ``per_location``: figures that are per location and not per channel (stock), which a key
    sees only at the locations its channels sell from."""
    params = request.query_params
    _check_shape(params, names, choices)
    scope = api_scope(request)
    if per_location:
        scope = channel_locations_scope(scope)
    try:
        filters = filters_parse(
            {name: ",".join(params.getlist(name)) for name in names if name in params},
            allowed_channel_ids=scope.channel_ids,
            allowed_location_ids=scope.location_ids,
        )
    except ReportFilterError as error:
        raise _refuse(error.field, error.message, _ERROR_KIND.get(error.field, "invalid")) from None
    return filters_scoped(filters, scope)


def _echo(filters: ReportFilters, *, group_by: bool, by: str | None) -> dict[str, Any]:
    return {
        "start": filters.start,
        "end": filters.end,
        "channel": list(filters.channel_codes),
        "store": list(filters.location_codes),
        "category": filters.category_id,
        "group_by": filters.group_by if group_by else None,
        "by": by,
    }


class _ReportView(generics.GenericAPIView):
    """A report as JSON: the filters applied, the columns and one object per row."""

    read_scope = Scope.REPORTS_READ
    serializer_class = ReportResponseSerializer
    pagination_class = None
    filter_backends: list[Any] = []
    by_choices: ClassVar[tuple[str, ...]] = ()
    group_by: ClassVar[bool] = False
    per_location: ClassVar[bool] = False  # figures per location, not per channel

    def report(self, filters: ReportFilters, by: str | None) -> Table:
        raise NotImplementedError

    def answer(self, request: Request) -> Response:
        names: tuple[str, ...] = ("start", "end", "channel", "store", "category")
        choices: dict[str, tuple[str, ...]] = {}
        if self.group_by:
            names += ("group_by",)
            choices["group_by"] = GROUP_BYS
        if self.by_choices:
            names += ("by",)
            choices["by"] = self.by_choices
        filters = request_filters(
            request, names=names, choices=choices, per_location=self.per_location
        )
        by = (request.query_params.get("by") or self.by_choices[0]) if self.by_choices else None
        table = self.report(filters, by)
        body = {
            "filters": _echo(filters, group_by=self.group_by, by=by),
            "columns": table_columns(table),
            "results": table_results(table),
        }
        return Response(ReportResponseSerializer(body).data)


def _sales(f: ReportFilters, by: str | None) -> Table:
    return selectors.sales_report(f)


def _stock(f: ReportFilters, by: str | None) -> Table:
    return selectors.stock_report(f)


def _returns(f: ReportFilters, by: str | None) -> Table:
    return selectors.returns_report(f, by=by or RETURNS_BY[0])


def _fulfilment(f: ReportFilters, by: str | None) -> Table:
    return selectors.fulfilment_report(f)


class SalesReportView(_ReportView):
    """Sales per period, channel, store and currency."""

    def report(self, filters: ReportFilters, by: str | None) -> Table:
        return _sales(filters, by)

    group_by = True

    @extend_schema(
        operation_id="reports_sales",
        summary="Sales per period, channel and store",
        description="Per period (`group_by`), channel, store and currency: `orders`, `units`, "
        "`gross`, `discount`, `tax`, `refunded`, `net` (gross less discounts and refunds) and "
        "`aov` (net per order). With `category`, `orders` and `aov` are null (orders are not "
        "per category). Money is never summed across currencies.",
        parameters=[*_COMMON_PARAMETERS, _GROUP_BY_PARAMETER],
        responses={
            200: ReportResponseSerializer,
            400: OpenApiResponse(description=_ERRORS_DESCRIPTION),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.answer(request)


class StockReportView(_ReportView):
    """Stock per location: a key sees the locations its channels sell from."""

    per_location = True

    def report(self, filters: ReportFilters, by: str | None) -> Table:
        return _stock(filters, by)

    @extend_schema(
        operation_id="reports_stock",
        summary="Stock per location",
        description="Per location: variants stocked, units on hand at `end`, out-of-stock "
        "rate, aged units (no receipt for 90 days or more) and days of cover at the range's "
        "rate of sale.",
        parameters=_COMMON_PARAMETERS,
        responses={
            200: ReportResponseSerializer,
            400: OpenApiResponse(description=_ERRORS_DESCRIPTION),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.answer(request)


class ReturnsReportView(_ReportView):
    """Return rates per channel, product or reason."""

    def report(self, filters: ReportFilters, by: str | None) -> Table:
        return _returns(filters, by)

    by_choices = RETURNS_BY

    @extend_schema(
        operation_id="reports_returns",
        summary="Return rates per channel, product or reason",
        description="Units sold and returned, the return rate (percent of units sold) and the "
        "money refunded per currency, one row per `by`.",
        parameters=[*_COMMON_PARAMETERS, _RETURNS_BY_PARAMETER],
        responses={
            200: ReportResponseSerializer,
            400: OpenApiResponse(description=_ERRORS_DESCRIPTION),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.answer(request)


class FulfilmentReportView(_ReportView):
    """Time to ready and to hand-over per store and method."""

    def report(self, filters: ReportFilters, by: str | None) -> Table:
        return _fulfilment(filters, by)

    @extend_schema(
        operation_id="reports_fulfilment",
        summary="Fulfilment times per store and method",
        description="Per store and method (pickup, ship, carry out), for orders placed in the "
        "range: fulfilments, minutes from placed to ready (p50, p90) and to done, and pickups "
        "ready but not collected.",
        parameters=_COMMON_PARAMETERS,
        responses={
            200: ReportResponseSerializer,
            400: OpenApiResponse(description=_ERRORS_DESCRIPTION),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.answer(request)
