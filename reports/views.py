"""The report pages of the back office: ``/admin/reports/`` and one page per report.

Each page is a GET form (date range, channels, stores, category, and the grouping the report
offers), the table, a chart where one helps, and the same table as CSV (``format=csv``). The
figures come from ``reports.selectors`` (rollup tables only) within the caller's scope
(``reports.access``): a store manager sees their stores. A bad filter answers 400 with the form and
the parser's message next to the field, and no table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from html import escape
from typing import Any, cast

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from reports import selectors
from reports.access import REPORTS_PERMISSION, filters_scoped, report_scope
from reports.csv import table_csv_response
from reports.filters import ReportFilters
from reports.forms import ReportFilterForm
from reports.selectors import Column, Table

CHART_MAX_BARS = 25
# rows shown on the page (the CSV has them all): a page stays quick on a large business
PAGE_MAX_ROWS = 500
NUMERIC_KINDS = frozenset({"int", "money", "percent", "days", "number"})


@dataclass(frozen=True)
class ReportPage:
    """One report: how its table is computed and drawn."""

    slug: str
    title: str
    description: str
    build: Callable[[ReportFilters, str], Table]
    by_choices: tuple[str, ...] = ()
    group_by: bool = False
    chart_kind: str = "bar"
    # the columns the chart draws, the first present; a time series chart when empty
    chart_keys: tuple[str, ...] = ()
    chart_kinds: tuple[str, ...] = field(default=("percent",))
    # the axis title dashboard.js shows ("%", "min", ...; "currency": the datasets' currencies)
    chart_unit: str = "%"


def _sales(f: ReportFilters, by: str) -> Table:
    return selectors.sales_report(f)


def _sell_through(f: ReportFilters, by: str) -> Table:
    return selectors.sell_through_report(f, by=by)


def _returns(f: ReportFilters, by: str) -> Table:
    return selectors.returns_report(f, by=by)


def _customers(f: ReportFilters, by: str) -> Table:
    return selectors.customers_report(f)


def _margin(f: ReportFilters, by: str) -> Table:
    return selectors.margin_report(f, by=by)


def _fulfilment(f: ReportFilters, by: str) -> Table:
    return selectors.fulfilment_report(f)


def _stock(f: ReportFilters, by: str) -> Table:
    return selectors.stock_report(f)


PAGES: dict[str, ReportPage] = {
    page.slug: page
    for page in (
        ReportPage(
            slug="sales",
            title="Sales",
            description="Gross sales, discounts, tax, refunds, net sales, orders, units and "
            "average order value by day, week or month, channel and store.",
            build=_sales,
            group_by=True,
            chart_kind="line",
        ),
        ReportPage(
            slug="sell-through",
            title="Sell-through and stock turnover",
            description="Units sold against the stock left, turnover and days of cover, per "
            "product, category or location.",
            build=_sell_through,
            by_choices=("product", "category", "location"),
            chart_keys=("sell_through",),
        ),
        ReportPage(
            slug="returns",
            title="Returns",
            description="Return rate and money refunded by channel or product, and the reasons "
            "given.",
            build=_returns,
            by_choices=("channel", "product", "reason"),
            chart_keys=("return_rate",),
        ),
        ReportPage(
            slug="customers",
            title="Customers",
            description="New and returning customers, the share buying on two or more "
            "channels, and their lifetime value.",
            build=_customers,
            chart_keys=("new_customers", "returning_customers"),
            chart_kinds=("int",),
            chart_unit="customers",
        ),
        ReportPage(
            slug="margin",
            title="Margin",
            description="Revenue, cost and margin from the cost price snapshotted on each order "
            "line, per product, category or channel (base currency).",
            build=_margin,
            by_choices=("product", "category", "channel"),
            chart_keys=("margin",),
            chart_kinds=("money",),
            chart_unit="currency",
        ),
        ReportPage(
            slug="fulfilment",
            title="Fulfilment times",
            description="Click & collect and shipments: time to ready and to hand-over (p50 and "
            "p90), and pickups not collected, per store and method.",
            build=_fulfilment,
            chart_keys=("ready_p50", "ready_p90"),
            chart_kinds=("number", "int"),
            chart_unit="min",
        ),
        ReportPage(
            slug="stock",
            title="Stock",
            description="Per location: variants stocked, units on hand, out-of-stock rate, aged "
            "units and days of cover.",
            build=_stock,
            chart_keys=("out_of_stock_rate",),
        ),
    )
}


def _decimal_text(value: Decimal, places: int) -> str:
    return f"{value:,.{places}f}"


def cell_text(value: object, kind: str, currency: str | None) -> str:
    """A table cell as shown: money with its currency, percentages with ``%``."""
    if value is None or value == "":
        return "\u2013"
    if kind == "money" and isinstance(value, Decimal | int | float):
        text = _decimal_text(Decimal(value), 2)
        return f"{text} {currency}" if currency else text
    if kind == "percent" and isinstance(value, Decimal | int | float):
        return f"{_decimal_text(Decimal(value), 1)} %"
    if kind == "days" and isinstance(value, Decimal | int | float):
        return _decimal_text(Decimal(value), 1)
    if kind == "int" and isinstance(value, int):
        return f"{value:,}"
    if kind == "number" and isinstance(value, Decimal | int | float):
        return f"{value:,}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def display_rows(table: Table) -> SafeString:
    """The first ``PAGE_MAX_ROWS`` rows as ``<tr>`` elements, each cell with its column's key
    (``data-key``) and ``class="num"`` for numbers. Written in one pass in Python: the template
    language spends about a second on 500 rows of eight cells, a join a few milliseconds."""
    opening = [
        f'<td data-key="{escape(column.key)}"'
        + (' class="num">' if column.kind in NUMERIC_KINDS else ">")
        for column in table.columns
    ]
    lines = []
    for row in table.rows[:PAGE_MAX_ROWS]:
        currency = row.get("currency")
        unit = str(currency) if currency else None
        cells = "".join(
            f"{start}{escape(cell_text(row.get(column.key), column.kind, unit))}</td>"
            for column, start in zip(table.columns, opening, strict=True)
        )
        lines.append(f"<tr>{cells}</tr>")
    return mark_safe("\n".join(lines))


def _number(value: object) -> float | None:
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _chart_columns(page: ReportPage, table: Table) -> list[Column]:
    """The columns drawn: those of ``page.chart_keys`` the table has, else the first column of
    one of ``page.chart_kinds``."""
    by_key = {column.key: column for column in table.columns}
    present = [by_key[key] for key in page.chart_keys if key in by_key]
    if present:
        return present
    for kind in page.chart_kinds:
        for column in table.columns:
            if column.kind == kind:
                return [column]
    return []


def table_chart(page: ReportPage, table: Table) -> dict[str, Any] | None:
    """A bar chart of the table, one bar per row (the first 25) and one dataset per column
    drawn, labelled by the row's text columns and, for money, its currency: amounts in
    different currencies are drawn side by side, never added up."""
    columns = _chart_columns(page, table)
    if not columns or not table.rows:
        return None
    label_columns = [c for c in table.columns if c.kind in {"text", "date"} and c.key != "currency"]
    labels: list[str] = []
    for row in table.rows[:CHART_MAX_BARS]:
        parts = [cell_text(row.get(c.key), c.kind, None) for c in label_columns]
        if row.get("currency"):
            parts.append(str(row["currency"]))
        labels.append(" \u00b7 ".join(parts) or "\u2013")
    currencies = {str(row["currency"]) for row in table.rows if row.get("currency")}
    datasets: list[dict[str, Any]] = []
    for column in columns:
        dataset: dict[str, Any] = {
            "label": column.label,
            "data": [_number(row.get(column.key)) for row in table.rows[:CHART_MAX_BARS]],
        }
        if column.kind == "money" and len(currencies) == 1:
            dataset["currency"] = next(iter(currencies))
        datasets.append(dataset)
    return {"labels": labels, "datasets": datasets, "unit": page.chart_unit}


def series_chart(f: ReportFilters) -> dict[str, Any] | None:
    """Net sales per period, one line per channel and currency (``selectors.time_series``)."""
    series = cast(dict[str, list[Any]], selectors.time_series(f, measure="net"))
    labels = [str(label) for label in series.get("labels", [])]
    datasets = [
        {
            "label": str(item["label"]),
            "currency": str(item.get("currency", "")),
            "data": [_number(value) for value in item["data"]],
        }
        for item in series.get("series", [])
    ]
    if not datasets:
        return None
    return {"labels": labels, "datasets": datasets, "unit": "currency"}


def _csv_filename(page: ReportPage, f: ReportFilters) -> str:
    return f"omnihub-{page.slug}-{f.start.isoformat()}-{f.end.isoformat()}.csv"


def _check_access(request: HttpRequest) -> None:
    if not request.user.has_perm(REPORTS_PERMISSION):
        raise PermissionDenied


def _pages_context(request: HttpRequest) -> list[dict[str, str]]:
    return [
        {
            "slug": page.slug,
            "title": page.title,
            "description": page.description,
            "url": reverse(f"reports:{page.slug}"),
        }
        for page in PAGES.values()
    ]


@staff_member_required
def report_index(request: HttpRequest) -> HttpResponse:
    """The list of reports, linked from the admin home page."""
    _check_access(request)
    context = {
        **admin.site.each_context(request),
        "title": "Reports",
        "pages": _pages_context(request),
    }
    return TemplateResponse(request, "reports/pages/index.html", context)


@staff_member_required
def report_view(request: HttpRequest, *, slug: str) -> HttpResponse:
    """One report: the filter form, the table and its chart, or the table as CSV."""
    _check_access(request)
    page = PAGES[slug]
    scope = report_scope(request.user)
    form = ReportFilterForm(
        request.GET, scope=scope, by_choices=page.by_choices, group_by=page.group_by
    )
    table: Table | None = None
    chart: dict[str, Any] | None = None
    filters: ReportFilters | None = None
    if form.is_valid() and form.filters is not None:
        filters = filters_scoped(form.filters, scope)
        # show the dates the report covers when none were given (the defaults)
        shown = request.GET.copy()
        for name, day in (("start", filters.start), ("end", filters.end)):
            if not shown.get(name):
                shown[name] = day.isoformat()
        form.data = shown
        table = page.build(filters, form.chosen_by)
        if request.GET.get("format") == "csv":
            return table_csv_response(table, filename=_csv_filename(page, filters))
        chart = table_chart(page, table) if page.chart_keys else series_chart(filters)
    query = request.GET.copy()
    query["format"] = "csv"
    context = {
        **admin.site.each_context(request),
        "title": page.title,
        "page": page,
        "pages": _pages_context(request),
        "form": form,
        "filters": filters,
        "table": table,
        "rows": display_rows(table) if table is not None else "",
        "rows_cut": table is not None and len(table.rows) > PAGE_MAX_ROWS,
        "row_count": len(table.rows) if table is not None else 0,
        "page_max_rows": PAGE_MAX_ROWS,
        "chart": chart,
        "chart_id": f"report-chart-{page.slug}",
        "csv_url": f"{request.path}?{query.urlencode()}",
        "scope": scope,
    }
    return TemplateResponse(
        request, "reports/pages/report.html", context, status=200 if table is not None else 400
    )
