"""Template tags of the dashboard: build it for the request's user, and show a figure of a
report table with its unit (money always with its currency)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.formats import number_format

from reports.dashboard import Dashboard, dashboard_build, dashboard_days

register = template.Library()


@register.simple_tag(takes_context=True)
def dashboard(context: template.Context) -> Dashboard | None:
    """The dashboard of the logged-in user (``?days=`` picks the range), or ``None`` when there
    is no request or the user sees no section (the home page is then the plain app list)."""
    request = context.get("request")
    if request is None:
        return None
    board = dashboard_build(user=request.user, days=dashboard_days(request.GET.get("days")))
    return board if board.sections else None


def _amount(value: Any, places: int) -> str:
    return number_format(Decimal(value), decimal_pos=places, use_l10n=True, force_grouping=True)


@register.filter
def report_cell(row: dict[str, Any], column: Any) -> str:
    """``row[column.key]`` as the column's kind shows it: money with the row's currency, a
    percentage with %, days with "days"; an empty figure (no base to divide by) as a dash."""
    value = row.get(column.key)
    if value is None or value == "":
        return "—"
    kind = getattr(column, "kind", "text")
    if kind == "money":
        currency = row.get("currency", "")
        return f"{_amount(value, 2)} {currency}".strip()
    if kind == "percent":
        return f"{_amount(value, 1)} %"
    if kind == "days":
        return f"{_amount(value, 1)} days"
    if kind == "int":
        return _amount(value, 0)
    if kind == "number":
        return number_format(value, use_l10n=True, force_grouping=True)
    if kind == "date" and hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
