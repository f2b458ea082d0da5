"""Shopify product CSV import: the real export files in shared/data/shopify import exactly."""

from __future__ import annotations

import csv
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from catalog import services
from catalog.exceptions import ImportFileInvalid
from catalog.imports.services import products_import
from catalog.models import Price, Product, ProductMedia, Variant
from core.models import ChangeEvent
from inventory.models import StockLevel
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db

SHOPIFY = settings.SHARED_DIR / "data" / "shopify"
FILES = sorted(SHOPIFY.glob("*.csv"))


@pytest.fixture(autouse=True)
def _no_image_downloads(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CATALOG_IMPORT_FETCH_IMAGES = False  # no internet here; fetching has its own tests


def _expected(path: Path) -> tuple[Counter[str], int, int]:
    """What the file holds, counted independently of the importer: variants per handle,
    images (distinct Image Src), inventory total."""
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    variants = Counter(row["Handle"] for row in rows if row["Variant Price"])
    images = len({(row["Handle"], row["Image Src"]) for row in rows if row["Image Src"]})
    stock = sum(int(row["Variant Inventory Qty"] or 0) for row in rows if row["Variant Price"])
    return variants, images, stock


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_shopify_exports_import_exactly(path: Path, webshop) -> None:  # type: ignore[no-untyped-def]
    warehouse = LocationFactory(code="wh-main", kind="warehouse")
    variants, images, stock = _expected(path)

    summary = products_import(data=path.read_bytes(), price_channel_code="webshop")

    assert summary.products_created == Product.objects.count() == len(variants)
    assert summary.variants_created == Variant.objects.count() == sum(variants.values())
    assert {p.handle: p.variants.count() for p in Product.objects.all()} == dict(variants)
    assert ProductMedia.objects.filter(status="pending").count() == images
    assert Price.objects.filter(channel=webshop).count() == sum(variants.values())
    assert (
        sum(StockLevel.objects.filter(location=warehouse).values_list("on_hand", flat=True))
        == stock
    )
    assert all(p.status == Product.Status.DRAFT for p in Product.objects.all())


def test_the_apparel_file_in_detail(webshop) -> None:  # type: ignore[no-untyped-def]
    products_import(data=(SHOPIFY / "apparel.csv").read_bytes(), price_channel_code="webshop")
    top = Product.objects.get(handle="classic-varsity-top")
    assert (top.name, top.brand) == ("Classic Varsity Top", "partners-demo")
    assert top.description.startswith("Womens casual varsity top")
    assert list(top.variants.values_list("sku", "options")) == [
        ("CLASSIC-VARSITY-TOP-SMALL", {"size": "small"}),
        ("CLASSIC-VARSITY-TOP-MEDIUM", {"size": "medium"}),
        ("CLASSIC-VARSITY-TOP-LARGE", {"size": "large"}),
    ]
    assert top.product_type is not None
    assert list(
        top.product_type.type_attributes.values_list("attribute__code", "is_variant_axis")
    ) == [("size", True)]
    shirt = Product.objects.get(handle="ocean-blue-shirt")
    assert list(shirt.variants.values_list("sku", "options")) == [("OCEAN-BLUE-SHIRT", {})]
    assert Price.objects.get(variant__sku="OCEAN-BLUE-SHIRT").amount == Decimal("50.00")


def test_the_home_file_in_detail(webshop) -> None:  # type: ignore[no-untyped-def]
    products_import(
        data=(SHOPIFY / "home-and-garden.csv").read_bytes(), price_channel_code="webshop"
    )
    pot = Product.objects.get(handle="clay-plant-pot")
    assert pot.product_type.name == "Outdoor"
    prices = dict(Price.objects.filter(variant__product=pot).values_list("variant__sku", "amount"))
    assert prices == {
        "CLAY-PLANT-POT-REGULAR": Decimal("9.99"),
        "CLAY-PLANT-POT-LARGE": Decimal("15.99"),
    }
    assert list(pot.media.values_list("position", "source_url")) == [
        (1, "https://burst.shopifycdn.com/photos/single-sprout-in-a-pot_925x.jpg"),
        (2, "https://burst.shopifycdn.com/photos/pot-with-a-single-sprout_925x.jpg"),
    ]
    light = Price.objects.get(variant__sku="COPPER-LIGHT")
    assert (light.amount, light.compare_at_amount) == (Decimal("59.99"), Decimal("75.00"))
    assert (
        Product.objects.get(handle="pink-armchair").media.get().position == 1
    )  # no Image Position


def test_a_repeated_import_updates_instead_of_duplicating(webshop) -> None:  # type: ignore[no-untyped-def]
    data = (SHOPIFY / "home-and-garden.csv").read_bytes()
    products_import(data=data, price_channel_code="webshop")
    counts = (
        Product.objects.count(),
        Variant.objects.count(),
        Price.objects.count(),
        ProductMedia.objects.count(),
    )
    events = ChangeEvent.objects.count()

    again = products_import(data=data, price_channel_code="webshop")

    assert (
        again.products_created,
        again.variants_created,
        again.prices_set,
        again.images_queued,
    ) == (0, 0, 0, 0)
    assert again.products_unchanged == counts[0]
    assert (
        Product.objects.count(),
        Variant.objects.count(),
        Price.objects.count(),
        ProductMedia.objects.count(),
    ) == counts
    assert ChangeEvent.objects.count() == events

    changed = data.replace(b"Cream Sofa,", b"Cream Sofa Deluxe,").replace(
        b",500,750,", b",450,750,"
    )
    summary = products_import(data=changed, price_channel_code="webshop")
    assert (summary.products_updated, summary.prices_set) == (1, 1)
    assert Price.objects.get(variant__sku="CREAM-SOFA").amount == Decimal("450.00")
    event = ChangeEvent.objects.filter(topic="price.changed").order_by("id").last()
    assert event.payload["prices"] == {
        "CREAM-SOFA": {"amount": "450.00", "compare_at_amount": "750.00", "currency": "EUR"}
    }


def test_reimporting_changed_content_sends_an_approved_product_back_to_review(
    webshop, merchandiser, approver
) -> None:  # type: ignore[no-untyped-def]
    data = (SHOPIFY / "home-and-garden.csv").read_bytes()
    products_import(data=data, price_channel_code="webshop")
    sofa = Product.objects.get(handle="cream-sofa")
    services.product_submit(product_ids=[sofa.id], user=merchandiser)
    services.product_approve(product_ids=[sofa.id], user=approver)
    products_import(
        data=data.replace(b"Cream Sofa,", b"Cream Sofa Deluxe,"), price_channel_code="webshop"
    )
    sofa.refresh_from_db()
    assert (sofa.status, sofa.name, sofa.approved_snapshot["name"]) == (
        "in_review",
        "Cream Sofa Deluxe",
        "Cream Sofa",
    )
    assert sofa.history.count() >= 3  # created, approved, re-imported: who and what, in the admin


HEADER = (SHOPIFY / "apparel.csv").read_text(encoding="utf-8").splitlines()[0]


def _row(**cells: str) -> str:
    columns = HEADER.split(",")
    return ",".join(
        cells.get(column.replace(" ", "_").replace("/", "").replace("(", "").replace(")", ""), "")
        for column in columns
    )


def test_a_file_with_bad_rows_is_rejected_whole_with_row_and_column(webshop) -> None:  # type: ignore[no-untyped-def]
    lines = [
        HEADER,
        _row(
            Handle="good-tee",
            Title="Good Tee",
            Option1_Name="Title",
            Option1_Value="Default Title",
            Variant_Price="10",
        ),
        _row(
            Handle="bad-tee",
            Title="Bad Tee",
            Option1_Name="Size",
            Option1_Value="S",
            Variant_Price="ten",
        ),
        _row(
            Handle="bad-tee", Option1_Value="M", Variant_Price="10", Variant_Barcode="4006381333932"
        ),
        _row(Handle="bad-tee", Option1_Value="", Variant_Price="10"),
        _row(
            Handle="no-title",
            Option1_Name="Title",
            Option1_Value="Default Title",
            Variant_Price="5",
        ),
        _row(
            Handle="cheap",
            Title="Cheap",
            Option1_Name="Title",
            Option1_Value="Default Title",
            Variant_Price="5",
            Variant_Compare_At_Price="4",
        ),
    ]
    with pytest.raises(ImportFileInvalid) as refused:
        products_import(data="\n".join(lines).encode(), price_channel_code="webshop")
    assert refused.value.errors == [
        {"row": 3, "column": "Variant Price", "message": "'ten' is not an amount."},
        {
            "row": 4,
            "column": "Variant Barcode",
            "message": "'4006381333932' is not a GTIN with a correct check digit.",
        },
        {"row": 5, "column": "Option1 Value", "message": "A value for 'Size' is needed."},
        {"row": 6, "column": "Title", "message": "The first row of 'no-title' needs a Title."},
        {
            "row": 7,
            "column": "Variant Compare At Price",
            "message": "Must be above the Variant Price.",
        },
    ]
    assert not Product.objects.exists() and not Variant.objects.exists()


def test_a_file_missing_columns_or_naming_an_unknown_category_is_refused(webshop) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ImportFileInvalid) as no_columns:
        products_import(data=b"Handle,Title\nx,X\n", price_channel_code="webshop")
    assert {e["column"] for e in no_columns.value.errors} == {
        "Option1 Name",
        "Option1 Value",
        "Variant Price",
    }
    line = _row(
        Handle="tee",
        Title="Tee",
        Option1_Name="Title",
        Option1_Value="Default Title",
        Variant_Price="5",
    )
    columns = HEADER.split(",")
    cells = line.split(",")
    cells[columns.index("Google Shopping / Google Product Category")] = "999999"
    with pytest.raises(ImportFileInvalid) as unknown:
        products_import(
            data=f"{HEADER}\n{','.join(cells)}\n".encode(), price_channel_code="webshop"
        )
    assert unknown.value.errors == [
        {
            "row": 2,
            "column": "Google Shopping / Google Product Category",
            "message": "'999999' is not a category (import the taxonomy first).",
        }
    ]
    assert not Product.objects.exists()


def test_the_management_command(webshop, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("import_products", "--format", "shopify", str(SHOPIFY / "apparel.csv"))
    assert "products created: 20" in capsys.readouterr().out
    bad = SHOPIFY.parent / "does-not-exist.csv"
    with pytest.raises(CommandError):
        call_command("import_products", str(bad))


def test_an_unreachable_image_is_recorded_with_its_error_and_the_import_succeeds(
    webshop, settings, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    import socket

    settings.CATALOG_IMPORT_FETCH_IMAGES = True
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    columns = HEADER.split(",")
    cells = [""] * len(columns)
    for column, value in {
        "Handle": "tee",
        "Title": "Tee",
        "Option1 Name": "Title",
        "Option1 Value": "Default Title",
        "Variant Price": "10",
        "Image Src": f"http://127.0.0.1:{port}/tee.jpg",
        "Image Position": "1",
    }.items():
        cells[columns.index(column)] = value
    with django_capture_on_commit_callbacks(execute=True):
        summary = products_import(
            data=f"{HEADER}\n{','.join(cells)}\n".encode(), price_channel_code="webshop"
        )
    assert summary.products_created == 1 and summary.images_queued == 1
    media = ProductMedia.objects.get()
    assert media.status == ProductMedia.Status.FAILED
    assert media.source_url.endswith("/tee.jpg") and media.error
