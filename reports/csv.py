"""Every report table as a CSV file, safe to open in a spreadsheet.

Numbers stay numbers (money with two decimals and its currency in the row's ``currency`` column,
percentages and days as decimals, empty when there is no figure); text goes through
``core.spreadsheet.cell_safe``, so a product name or a return reason typed as ``=HYPERLINK(...)``
is shown as text and never run as a formula.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

from django.http import HttpResponse

from core.spreadsheet import cell_safe
from reports.selectors import Column, Table

CONTENT_TYPE = "text/csv; charset=utf-8"
CENT = Decimal("0.01")


def csv_cell(value: object, kind: str) -> object:
    """One value as a CSV cell: plain numbers, ISO dates, escaped text, empty for none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return value.quantize(CENT) if kind == "money" else value
    if isinstance(value, int | float):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return cell_safe(" ".join(str(item) for item in value))
    return cell_safe(str(value))


def table_rows(table: Table) -> list[list[object]]:
    """The header (column labels) and the rows of ``table`` as CSV cells."""
    columns: list[Column] = list(table.columns)
    lines: list[list[object]] = [[cell_safe(column.label) for column in columns]]
    for row in table.rows:
        lines.append([csv_cell(row.get(column.key), column.kind) for column in columns])
    return lines


def table_csv_response(table: Table, *, filename: str) -> HttpResponse:
    """A download of ``table`` named ``filename`` (UTF-8 with a byte order mark, so that
    spreadsheets read accented names right)."""
    response = HttpResponse(content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response, lineterminator="\r\n")
    writer.writerows(table_rows(table))
    return response
