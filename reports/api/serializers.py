"""The shape of a report on the partner API: the filters applied, the columns, the rows.

Rows differ per report, so a row is an object keyed by the ``columns``' keys: money as a decimal
string with the row's ``currency``, percentages and days as decimal strings (or null when there is
no base), counts as integers, dates as ``YYYY-MM-DD``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from rest_framework import serializers

from reports.selectors import Table

COLUMN_KINDS = ("text", "int", "money", "percent", "days", "number", "date")
CENT = Decimal("0.01")


class ReportColumnSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The key of this column in each row of `results`.")
    label = serializers.CharField()  # type: ignore[assignment]
    kind = serializers.ChoiceField(
        choices=COLUMN_KINDS,
        help_text="`money`: a decimal string in the row's `currency`; `percent`: 0-100 as a "
        "decimal string; `days`, `number` (a ratio, minutes): a decimal string; `int`: an "
        "integer; `date`: YYYY-MM-DD.",
    )


class ReportFiltersEchoSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text="Inclusive.")
    channel = serializers.ListField(
        child=serializers.CharField(),
        help_text="The channel codes asked for; empty: every channel of the key.",
    )
    store = serializers.ListField(
        child=serializers.CharField(),
        help_text="The location codes asked for; empty: every location.",
    )
    category = serializers.IntegerField(allow_null=True)
    group_by = serializers.CharField(allow_null=True)
    by = serializers.CharField(allow_null=True)


class ReportResponseSerializer(serializers.Serializer):
    filters = ReportFiltersEchoSerializer()
    columns = ReportColumnSerializer(many=True)
    results = serializers.ListField(
        child=serializers.DictField(),
        help_text="One object per row, keyed by the columns' keys; every row with money has "
        "its `currency` (amounts of different currencies are never added together).",
    )


def cell_json(value: object, kind: str) -> object:
    """One cell as JSON: decimals as strings (money to the cent), dates as ISO text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value.quantize(CENT) if kind == "money" else value)
    if isinstance(value, float):
        return str(Decimal(str(value)))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [cell_json(item, "text") for item in value]
    return str(value)


def table_results(table: Table) -> list[dict[str, object]]:
    """The rows of ``table`` as JSON objects: the columns' cells and the row's currency."""
    results = []
    for row in table.rows:
        item = {column.key: cell_json(row.get(column.key), column.kind) for column in table.columns}
        if "currency" in row:
            item["currency"] = row["currency"]
        results.append(item)
    return results


def table_columns(table: Table) -> list[dict[str, str]]:
    return [
        {"key": column.key, "label": column.label, "kind": column.kind} for column in table.columns
    ]
