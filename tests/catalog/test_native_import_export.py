"""The native CSV/XLSX catalog file: lossless round trips, whole-file refusals naming each bad cell,
re-imports that update instead of duplicating. Given/when/then; refusals are checked to have
written nothing."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest

from catalog import services
from catalog.exceptions import ImportFileInvalid, NotAllowed
from catalog.models import (
    Attribute,
    Category,
    Product,
    ProductType,
    ProductTypeAttribute,
    Variant,
)
from catalog.resources import NATIVE_COLUMNS, catalog_native_export, catalog_native_import
from tests.catalog.factories import apparel_type, category

pytestmark = pytest.mark.django_db


def with_check_digit(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def catalog_state() -> list[tuple[Any, ...]]:
    """Everything the native file carries, in a comparable form."""
    products = [
        (
            p.handle,
            p.name,
            p.description,
            p.brand,
            p.category.full_name if p.category else None,
            p.product_type.code if p.product_type else None,
            p.attributes,
            [
                (v.sku, v.gtin, v.options, v.attributes, v.weight_grams, v.position)
                for v in p.variants.order_by("position", "id")
            ],
        )
        for p in Product.objects.select_related("category", "product_type").order_by("handle")
    ]
    return products


@pytest.fixture
def catalog_data() -> list[Product]:
    """A t-shirt with typed attributes and two variants, a variant-less poster, and a mug whose
    text needs CSV quoting and whose GTIN starts with zeros."""
    tee_type = apparel_type()
    fit, _ = Attribute.objects.get_or_create(code="fit", defaults={"name": "Fit", "kind": "text"})
    ProductTypeAttribute.objects.get_or_create(
        product_type=tee_type, attribute=fit, defaults={"level": "variant"}
    )
    apparel = category()
    clothing = Category.objects.add_child(
        apparel,
        {"name": "Clothing", "full_name": "Apparel & Accessories > Clothing", "google_id": 1604},
    )
    tee = services.product_create(
        handle="organic-tee",
        name="Organic Tee",
        brand="Acme",
        description="Soft organic cotton.",
        category=clothing,
        product_type=tee_type,
        attributes={"material": "Cotton", "sleeve_length": "61.5"},
    )
    services.variant_save(
        product=tee,
        sku="TEE-S-NAVY",
        options={"size": "s", "color": "navy"},
        attributes={"fit": "Slim"},
        gtin=with_check_digit("400638133393"),
        weight_grams=180,
        position=0,
    )
    services.variant_save(
        product=tee,
        sku="TEE-M-WHITE",
        options={"size": "m", "color": "white"},
        gtin="",
        weight_grams=None,
        position=1,
    )
    poster = services.product_create(handle="poster", name="Poster", category=apparel)
    mug = services.product_create(
        handle="mug",
        name='Mug "Morning, Café"',
        description="Line one,\nline two; ünïcödé ✓",
    )
    services.variant_save(
        product=mug,
        sku="MUG-1",
        options={"Colour": "Blue, dark"},
        gtin=with_check_digit("0001234567890"),
        weight_grams=350,
        position=3,
    )
    return [tee, poster, mug]


def _wipe_products() -> None:
    Variant.objects.all().delete()
    Product.objects.all().delete()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_on_an_empty_catalog_gives_identical_data(
    fmt: str, catalog_data: list[Product]
) -> None:
    # given an exported catalog
    before = catalog_state()
    exported = catalog_native_export(fmt=fmt)
    # when the products are gone (a fresh database with the same categories and types) and the
    # file is imported
    _wipe_products()
    summary = catalog_native_import(file_bytes=exported, fmt=fmt)
    # then the catalog is exactly as it was, and exporting again gives the same file
    assert catalog_state() == before
    assert summary == {
        "rows": 4,
        "products_created": 3,
        "products_updated": 0,
        "products_unchanged": 0,
        "variants_created": 3,
        "variants_updated": 0,
        "variants_unchanged": 0,
    }
    again = catalog_native_export(fmt=fmt)
    if fmt == "csv":
        assert again == exported
    else:
        assert _xlsx_rows(again) == _xlsx_rows(exported)
    assert all(p.status == Product.Status.DRAFT for p in Product.objects.all())


def _xlsx_rows(data: bytes) -> list[tuple[Any, ...]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
    assert sheet is not None
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def _csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(NATIVE_COLUMNS))
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in NATIVE_COLUMNS})
    return out.getvalue().encode("utf-8")


def test_the_export_layout(catalog_data: list[Product]) -> None:
    rows = _csv_rows(catalog_native_export(fmt="csv"))
    assert [(r["handle"], r["sku"]) for r in rows] == [
        ("mug", "MUG-1"),
        ("organic-tee", "TEE-S-NAVY"),
        ("organic-tee", "TEE-M-WHITE"),
        ("poster", ""),
    ]
    tee = rows[1]
    assert tee == {
        "handle": "organic-tee",
        "product_name": "Organic Tee",
        "description": "Soft organic cotton.",
        "brand": "Acme",
        "category": "Apparel & Accessories > Clothing",
        "product_type": "t-shirt",
        "product_attributes": (
            '{"material": "Cotton", "sleeve_length": {"unit": "cm", "value": "61.5"}}'
        ),
        "sku": "TEE-S-NAVY",
        "gtin": with_check_digit("400638133393"),
        "options": '{"color": "navy", "size": "s"}',
        "variant_attributes": '{"fit": "Slim"}',
        "weight_grams": "180",
        "position": "0",
        "cost_price": "",
    }
    assert rows[3]["options"] == rows[3]["position"] == ""
    # only the products asked for
    only = _csv_rows(catalog_native_export(fmt="csv", product_ids=[catalog_data[1].id]))
    assert [r["handle"] for r in only] == ["poster"]


def test_export_queries_do_not_grow_with_products(
    catalog_data: list[Product], django_assert_num_queries: Any
) -> None:
    # products, variants, and the channels of the price columns (none here: no price query)
    with django_assert_num_queries(3):
        catalog_native_export(fmt="csv")
    for n in range(10):
        product = services.product_create(handle=f"extra-{n}", name=f"Extra {n}")
        services.variant_save(product=product, sku=f"EXTRA-{n}")
    with django_assert_num_queries(3):
        catalog_native_export(fmt="xlsx")


def test_a_file_with_bad_cells_is_refused_whole_listing_each(
    catalog_data: list[Product],
) -> None:
    from catalog.models import Product as ProductModel

    good = _csv_rows(catalog_native_export(fmt="csv"))
    _wipe_products()
    history_before = ProductModel.history.count()
    # given a file whose row 3 has a GTIN with a wrong check digit and row 5 an unknown category
    rows: list[dict[str, Any]] = [
        good[1],  # row 2: organic-tee, fine
        {**good[2], "gtin": "4006381333932"},  # row 3: organic-tee, bad check digit
        good[0],  # row 4: mug, fine
        {**good[3], "category": "Toys > Kites"},  # row 5: poster, unknown category
    ]
    # when it is imported
    with pytest.raises(ImportFileInvalid) as refused:
        catalog_native_import(file_bytes=_csv(rows), fmt="csv")
    # then both cells are named, with row and column, and nothing at all was written
    assert refused.value.errors == [
        {
            "row": 3,
            "column": "gtin",
            "message": "Enter a GTIN-8, -12, -13 or -14 with a correct check digit.",
        },
        {
            "row": 5,
            "column": "category",
            "message": "Unknown category 'Toys > Kites': use a full path from the category "
            "tree or a Google category id.",
        },
    ]
    assert refused.value.message.startswith(
        "The file was not imported: row 3, gtin: Enter a GTIN-8"
    )
    assert refused.value.code == "import_file_invalid"
    assert not Product.objects.exists()
    assert not Variant.objects.exists()
    assert ProductModel.history.count() == history_before


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"options": '{"size": "xxl", "color": "navy"}'},
            {"row": 2, "column": "options", "message": "size: 'xxl' is not an option of Size."},
        ),
        (
            {"product_attributes": '{"sleeve_length": "long"}'},
            {"row": 2, "column": "product_attributes", "message": "sleeve_length: Enter a number."},
        ),
        (
            {"variant_attributes": "{not json"},
            {
                "row": 2,
                "column": "variant_attributes",
                "message": "Not valid JSON (Expecting property name enclosed in double quotes "
                "at character 2).",
            },
        ),
        (
            {"options": '["s"]'},
            {
                "row": 2,
                "column": "options",
                "message": 'Enter a JSON object such as {"size": "m"}.',
            },
        ),
        (
            {"weight_grams": "heavy"},
            {"row": 2, "column": "weight_grams", "message": "Enter a whole number of 0 or more."},
        ),
        (
            {"product_type": "kite"},
            {"row": 2, "column": "product_type", "message": "Unknown product type 'kite'."},
        ),
        (
            {"product_name": ""},
            {"row": 2, "column": "product_name", "message": "A product needs a name."},
        ),
        (
            {"handle": ""},
            {"row": 2, "column": "handle", "message": "Every row needs the product's handle."},
        ),
    ],
    ids=[
        "unknown-option",
        "typed-attribute",
        "bad-json",
        "not-an-object",
        "weight",
        "unknown-type",
        "no-name",
        "no-handle",
    ],
)
def test_each_kind_of_bad_cell_is_named(
    catalog_data: list[Product], change: dict[str, str], expected: dict[str, Any]
) -> None:
    tee = _csv_rows(catalog_native_export(fmt="csv"))[1]
    _wipe_products()
    with pytest.raises(ImportFileInvalid) as refused:
        catalog_native_import(file_bytes=_csv([{**tee, **change}]), fmt="csv")
    assert refused.value.errors == [expected]
    assert not Product.objects.exists()


def test_duplicate_options_and_skus_within_a_file_are_refused(
    catalog_data: list[Product],
) -> None:
    rows = _csv_rows(catalog_native_export(fmt="csv"))
    tee_s, tee_m = rows[1], rows[2]
    _wipe_products()
    file = _csv(
        [
            tee_s,
            {**tee_m, "options": tee_s["options"]},  # row 3: same options as row 2
            {**tee_m, "sku": "TEE-S-NAVY", "options": '{"size": "l", "color": "navy"}'},  # row 4
        ]
    )
    with pytest.raises(ImportFileInvalid) as refused:
        catalog_native_import(file_bytes=file, fmt="csv")
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [
        (3, "options"),
        (4, "sku"),
    ]
    assert refused.value.errors[1]["message"] == "SKU 'TEE-S-NAVY' is already on row 2."
    assert not Product.objects.exists()


def test_a_category_can_be_given_by_google_id(catalog_data: list[Product]) -> None:
    poster = _csv_rows(catalog_native_export(fmt="csv"))[3]
    _wipe_products()
    catalog_native_import(file_bytes=_csv([{**poster, "category": "1604"}]), fmt="csv")
    assert Product.objects.get(handle="poster").category == Category.objects.get(google_id=1604)


def test_reimporting_updates_instead_of_duplicating(
    catalog_data: list[Product], merchandiser: Any, approver: Any
) -> None:
    # given an exported catalog whose tee is approved
    exported = catalog_native_export(fmt="csv")
    tee = catalog_data[0]
    services.product_submit(product_ids=[tee.id], user=merchandiser)
    services.product_approve(product_ids=[tee.id], user=approver)
    # when the same file is imported again, nothing changes (not even the workflow state)
    summary = catalog_native_import(file_bytes=exported, fmt="csv", user=merchandiser)
    assert summary["products_unchanged"] == 3 and summary["variants_unchanged"] == 3
    assert (Product.objects.count(), Variant.objects.count()) == (3, 3)
    assert Product.objects.get(id=tee.id).status == Product.Status.APPROVED
    # when an edited file is imported: a new name and a new weight and a new variant
    rows = _csv_rows(exported)
    rows[1]["product_name"] = rows[2]["product_name"] = "Organic Tee 2"
    rows[2]["weight_grams"] = "200"
    new_variant = {**rows[2], "sku": "TEE-L-NAVY", "options": '{"color": "navy", "size": "l"}'}
    summary = catalog_native_import(file_bytes=_csv([*rows, new_variant]), fmt="csv")
    # then the same rows are updated, one variant is added, and the changed tee is in review
    assert summary == {
        "rows": 5,
        "products_created": 0,
        "products_updated": 1,
        "products_unchanged": 2,
        "variants_created": 1,
        "variants_updated": 1,
        "variants_unchanged": 2,
    }
    assert (Product.objects.count(), Variant.objects.count()) == (3, 4)
    tee.refresh_from_db()
    assert (tee.name, tee.status) == ("Organic Tee 2", Product.Status.IN_REVIEW)
    assert Variant.objects.get(sku="TEE-M-WHITE").weight_grams == 200


def test_a_sku_of_another_product_is_refused(catalog_data: list[Product]) -> None:
    rows = _csv_rows(catalog_native_export(fmt="csv"))
    with pytest.raises(ImportFileInvalid) as refused:
        catalog_native_import(file_bytes=_csv([{**rows[0], "sku": "TEE-S-NAVY"}]), fmt="csv")
    assert refused.value.errors == [
        {
            "row": 2,
            "column": "sku",
            "message": "SKU 'TEE-S-NAVY' belongs to another product (organic-tee); a variant "
            "cannot move between products.",
        }
    ]
    assert Variant.objects.get(sku="TEE-S-NAVY").product.handle == "organic-tee"


def test_later_rows_may_leave_product_columns_blank_but_not_contradict(
    catalog_data: list[Product],
) -> None:
    rows = _csv_rows(catalog_native_export(fmt="csv"))
    _wipe_products()
    blank_second = {**rows[2], **dict.fromkeys(["product_name", "brand", "category"], "")}
    contradicting = {**rows[2], "sku": "TEE-X", "options": "{}", "brand": "Other"}
    with pytest.raises(ImportFileInvalid) as refused:
        catalog_native_import(file_bytes=_csv([rows[1], blank_second, contradicting]), fmt="csv")
    assert refused.value.errors == [
        {
            "row": 4,
            "column": "brand",
            "message": "Differs from row 2 of the same handle ('Acme'); leave it blank or "
            "repeat it.",
        }
    ]
    summary = catalog_native_import(file_bytes=_csv([rows[1], blank_second]), fmt="csv")
    assert summary["variants_created"] == 2
    assert Product.objects.get(handle="organic-tee").brand == "Acme"


@pytest.mark.parametrize(
    ("data", "fmt", "expected"),
    [
        (b"handle,sku\nx,y\n", "csv", (1, "product_name", "This column is missing.")),
        (b"\xff\xfe\x00garbage", "csv", (0, "", "The CSV file is not UTF-8 text.")),
        (b"not a zip", "xlsx", (0, "", "The file cannot be read as XLSX (BadZipFile).")),
    ],
    ids=["missing-columns", "not-utf8", "not-xlsx"],
)
def test_unreadable_files_are_refused(data: bytes, fmt: str, expected: tuple[Any, ...]) -> None:
    with pytest.raises(ImportFileInvalid) as refused:
        catalog_native_import(file_bytes=data, fmt=fmt)
    first = refused.value.errors[0]
    assert (first["row"], first["column"], first["message"]) == expected
    assert not Product.objects.exists()


def test_an_unknown_column_is_refused() -> None:
    header = ",".join([*NATIVE_COLUMNS, "price"])
    with pytest.raises(ImportFileInvalid) as refused:
        catalog_native_import(file_bytes=f"{header}\n".encode(), fmt="csv")
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(1, "price")]


def test_importing_needs_the_catalog_edit_permissions(catalog_data: list[Product]) -> None:
    from tests.factories import UserFactory

    exported = catalog_native_export(fmt="csv")
    with pytest.raises(NotAllowed):
        catalog_native_import(file_bytes=exported, fmt="csv", user=UserFactory(username="clerk"))


def test_xlsx_numbers_typed_in_a_spreadsheet_are_read_as_text(
    catalog_data: list[Product],
) -> None:
    # given a workbook typed by hand: weight and position as numbers, GTIN as a number
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(NATIVE_COLUMNS))
    gtin = with_check_digit("400638133394")
    sheet.append(
        ["kite", "Kite", "", "", "", "", "", "KITE-1", int(gtin), "", "", 250.0, 2]  # type: ignore[list-item]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    summary = catalog_native_import(file_bytes=buffer.getvalue(), fmt="xlsx")
    assert summary["variants_created"] == 1
    kite = Variant.objects.get(sku="KITE-1")
    assert (kite.gtin, kite.weight_grams, kite.position) == (gtin, 250, 2)
    assert ProductType.objects.count() == 1  # nothing else created on the side


def _dataset(data: bytes) -> Any:
    import tablib

    return tablib.Dataset().load(data.decode("utf-8"), format="csv")


def test_the_resource_imports_through_the_services_for_import_export_pages(
    catalog_data: list[Product], merchandiser: Any
) -> None:
    from catalog.resources import VariantResource

    exported = catalog_native_export(fmt="csv")
    _wipe_products()
    # a dry run (import-export's preview) reports what would happen and writes nothing
    preview = VariantResource().import_data(_dataset(exported), dry_run=True, user=merchandiser)
    assert not preview.has_errors() and not preview.has_validation_errors()
    assert (preview.totals["new"], preview.totals["update"]) == (3, 0)
    assert not Product.objects.exists()
    # the confirmed import writes
    done = VariantResource().import_data(_dataset(exported), user=merchandiser)
    assert done.totals["new"] == 3
    assert Variant.objects.count() == 3
    assert VariantResource().import_data(_dataset(exported)).totals["skip"] == 3


def test_the_resource_reports_bad_cells_as_invalid_rows(catalog_data: list[Product]) -> None:
    from catalog.resources import VariantResource

    rows = _csv_rows(catalog_native_export(fmt="csv"))
    _wipe_products()
    bad = _csv([rows[1], {**rows[2], "gtin": "123", "weight_grams": "-1"}])
    result = VariantResource().import_data(_dataset(bad), dry_run=True)
    assert result.has_validation_errors()
    [invalid] = result.invalid_rows
    assert invalid.number == 3
    assert invalid.field_specific_errors == {
        "gtin": ["Enter a GTIN-8, -12, -13 or -14 with a correct check digit."],
        "weight_grams": ["Enter a whole number of 0 or more."],
    }
    assert invalid.values[NATIVE_COLUMNS.index("sku")] == "TEE-M-WHITE"
    assert not Product.objects.exists()
    with pytest.raises(ImportFileInvalid):
        VariantResource().import_data(_dataset(bad), raise_errors=True)
