"""Shopify product CSV import, on the suite's own Shopify-format files (``tests/data/shopify/``):
image-only rows, two-option variants, blank SKUs, compare-at prices, both inventory policies, HTML
bodies, quoted commas, quotes and newlines. The real exports are checked the same way, when they
are present, in ``test_shopify_real_exports.py``."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from catalog import services
from catalog.exceptions import ImportFileInvalid
from catalog.imports.services import products_import
from catalog.models import Category, Price, Product, ProductMedia, Variant
from catalog.services import category_tree_import
from core.models import ChangeEvent
from demo.categories import DEMO_CATEGORIES
from inventory.models import StockLevel
from tests.catalog.shopify import expected_from_file
from tests.factories import LocationFactory
from tests.realdata import OWN_DATA, OWN_SHOPIFY

pytestmark = pytest.mark.django_db

SHOPIFY = OWN_DATA / "shopify"
WARDROBE = SHOPIFY / "wardrobe.csv"
LIVING = SHOPIFY / "living.csv"


@pytest.fixture(autouse=True)
def _no_image_downloads(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CATALOG_IMPORT_FETCH_IMAGES = False  # no internet here; fetching has its own tests


@pytest.fixture(autouse=True)
def _categories(db) -> None:  # type: ignore[no-untyped-def]
    """The files name Google categories by id and by path: the demo's tree holds them."""
    category_tree_import(entries=DEMO_CATEGORIES)


def test_the_suite_has_its_own_files() -> None:
    assert [path.name for path in OWN_SHOPIFY] == ["living.csv", "wardrobe.csv"]


@pytest.mark.parametrize("path", OWN_SHOPIFY, ids=[p.name for p in OWN_SHOPIFY])
def test_shopify_files_import_exactly(path, webshop) -> None:  # type: ignore[no-untyped-def]
    warehouse = LocationFactory(code="wh-main", kind="warehouse")
    expected = expected_from_file(path)

    summary = products_import(data=path.read_bytes(), price_channel_code="webshop")

    assert summary.products_created == Product.objects.count() == len(expected.variants)
    assert summary.variants_created == Variant.objects.count() == sum(expected.variants.values())
    assert {p.handle: p.variants.count() for p in Product.objects.all()} == dict(expected.variants)
    assert ProductMedia.objects.filter(status="pending").count() == expected.images
    assert Price.objects.filter(channel=webshop).count() == sum(expected.variants.values())
    assert (
        Price.objects.filter(channel=webshop, compare_at_amount__isnull=False).count()
        == expected.compare_at
    )
    assert (
        sum(StockLevel.objects.filter(location=warehouse).values_list("on_hand", flat=True))
        == expected.stock
    )
    assert all(p.status == Product.Status.DRAFT for p in Product.objects.all())


def test_two_options_blank_skus_html_and_image_only_rows(webshop) -> None:  # type: ignore[no-untyped-def]
    products_import(data=WARDROBE.read_bytes(), price_channel_code="webshop")
    jacket = Product.objects.get(handle="harbour-rain-jacket")
    assert (jacket.name, jacket.brand) == ("Harbour Rain Jacket", "Noordkust")
    # the body keeps its HTML, its commas and its line breaks
    assert jacket.description == (
        "<p>A waterproof, breathable shell for wet commutes.</p>\n<ul>\n"
        "<li>Taped seams, adjustable hood</li>\n<li>Two zipped pockets</li>\n</ul>"
    )
    assert jacket.category == Category.objects.get(google_id=5598)
    # given SKUs are kept; blank ones are derived from the handle and the option values
    assert list(jacket.variants.values_list("sku", "options")) == [
        ("HRJ-S-NAVY", {"size": "s", "color": "navy"}),
        ("HRJ-M-NAVY", {"size": "m", "color": "navy"}),
        ("HRJ-L-NAVY", {"size": "l", "color": "navy"}),
        ("HARBOUR-RAIN-JACKET-S-OLIVE", {"size": "s", "color": "olive"}),
        ("HARBOUR-RAIN-JACKET-M-OLIVE", {"size": "m", "color": "olive"}),
    ]
    assert list(
        jacket.product_type.type_attributes.values_list("attribute__code", "is_variant_axis")
    ) == [("size", True), ("color", True)]
    assert jacket.variants.get(sku="HRJ-S-NAVY").gtin == "8710000000017"
    # images from variant rows, a variant image and an image-only row with a quoted alt text
    media = list(jacket.media.values_list("position", "source_url", "alt_text"))
    assert [(position, url.rsplit("/", 1)[1], alt) for position, url, alt in media] == [
        (1, "harbour-rain-jacket-front.jpg", "Harbour Rain Jacket, front"),
        (2, "harbour-rain-jacket-back.jpg", "Harbour Rain Jacket, back"),
        (3, "harbour-rain-jacket-detail.jpg", 'Hood detail, with "storm" peak'),
        (4, "harbour-rain-jacket-olive.jpg", ""),
    ]
    olive = jacket.media.get(source_url__endswith="olive.jpg")
    assert olive.variant == jacket.variants.get(sku="HARBOUR-RAIN-JACKET-S-OLIVE")

    shirt = Product.objects.get(handle="linen-shirt")
    assert shirt.name == "Linen Shirt, Relaxed Fit"  # a quoted comma in the title
    assert shirt.category == Category.objects.get(google_id=212)  # named by its path
    assert list(shirt.variants.values_list("sku", flat=True)) == [
        "LINEN-SHIRT-SMALL",
        "LINEN-SHIRT-MEDIUM",
        "LINEN-SHIRT-LARGE",
    ]
    tote = Product.objects.get(handle="canvas-tote")
    assert list(tote.variants.values_list("sku", "options")) == [("TOTE-CANVAS", {})]
    assert tote.category is None


def test_prices_compare_at_and_stock(webshop) -> None:  # type: ignore[no-untyped-def]
    warehouse = LocationFactory(code="wh-main", kind="warehouse")
    products_import(data=LIVING.read_bytes(), price_channel_code="webshop")
    prices = {
        sku: (amount, compare_at)
        for sku, amount, compare_at in Price.objects.filter(channel=webshop).values_list(
            "variant__sku", "amount", "compare_at_amount"
        )
    }
    assert prices["MUG-WHITE"] == (Decimal("14.50"), None)
    assert prices["MUG-SAGE"] == (Decimal("14.50"), Decimal("16.00"))
    assert prices["WOOL-THROW"] == (Decimal("89.00"), Decimal("110.00"))
    assert prices["OAK-SIDE-TABLE-LARGE-SMOKED"] == (Decimal("209.00"), Decimal("229.00"))
    levels = dict(
        StockLevel.objects.filter(location=warehouse).values_list("variant__sku", "on_hand")
    )
    assert levels["MUG-WHITE"] == 20 and levels["OAK-SIDE-TABLE-LARGE-NATURAL"] == 0
    # "continue" is accepted, and sells no more than the stock: the throw has exactly 7
    assert levels["WOOL-THROW"] == 7
    throw = Product.objects.get(handle="wool-throw")
    assert throw.description == "Soft lambswool throw.\n130 x 170 cm, fringed edges."
    assert Product.objects.get(handle="oak-side-table").description == (
        '<p>Solid oak, "floating" top.</p>'
    )
    pot = Product.objects.get(handle="terracotta-pot")
    assert pot.media.get().position == 1  # no Image Position: first
    mug = Product.objects.get(handle="stoneware-mug")
    assert list(mug.media.values_list("position", flat=True)) == [1, 2, 3]


def test_an_unknown_inventory_policy_is_named_by_row_and_column(webshop) -> None:  # type: ignore[no-untyped-def]
    lines = LIVING.read_text(encoding="utf-8").split("\n")
    lines[1] = lines[1].replace(",deny,", ",backorder,", 1)
    with pytest.raises(ImportFileInvalid) as refused:
        products_import(data="\n".join(lines).encode(), price_channel_code="webshop")
    assert refused.value.errors == [
        {
            "row": 2,
            "column": "Variant Inventory Policy",
            "message": "'backorder' is not 'deny' or 'continue'.",
        }
    ]
    assert not Product.objects.exists()


def test_a_repeated_import_updates_instead_of_duplicating(webshop) -> None:  # type: ignore[no-untyped-def]
    data = LIVING.read_bytes()
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

    changed = data.replace(b"Wool Throw,", b"Wool Throw Deluxe,").replace(
        b",89.00,110.00,", b",79.00,110.00,"
    )
    summary = products_import(data=changed, price_channel_code="webshop")
    assert (summary.products_updated, summary.prices_set) == (1, 1)
    assert Price.objects.get(variant__sku="WOOL-THROW").amount == Decimal("79.00")
    event = ChangeEvent.objects.filter(topic="price.changed").order_by("id").last()
    assert event.payload["prices"] == {
        "WOOL-THROW": {"amount": "79.00", "compare_at_amount": "110.00", "currency": "EUR"}
    }


def test_reimporting_changed_content_sends_an_approved_product_back_to_review(
    webshop, merchandiser, approver
) -> None:  # type: ignore[no-untyped-def]
    data = LIVING.read_bytes()
    products_import(data=data, price_channel_code="webshop")
    throw = Product.objects.get(handle="wool-throw")
    services.product_submit(product_ids=[throw.id], user=merchandiser)
    services.product_approve(product_ids=[throw.id], user=approver)
    products_import(
        data=data.replace(b"Wool Throw,", b"Wool Throw Deluxe,"), price_channel_code="webshop"
    )
    throw.refresh_from_db()
    assert (throw.status, throw.name, throw.approved_snapshot["name"]) == (
        "in_review",
        "Wool Throw Deluxe",
        "Wool Throw",
    )
    assert throw.history.count() >= 3  # created, approved, re-imported: who and what, in the admin


def test_import_history_rows_and_completeness_follow_what_changed(webshop) -> None:  # type: ignore[no-untyped-def]
    """The bulk path (COPY on PostgreSQL) writes the same history rows Django's would: one "+"
    row per created product, variant and price with its values; a re-import of the same file
    writes none and recomputes no completeness; a changed price gets one "~" row with the new
    amount and recomputes no completeness (it asks whether a price exists, not what it is), while
    a changed name recomputes its product's only."""
    from catalog.models import ProductCompleteness

    data = LIVING.read_bytes()
    products_import(data=data, price_channel_code="webshop")
    throw = Product.objects.get(handle="wool-throw")
    variant = Variant.objects.get(sku="WOOL-THROW")
    price = Price.objects.get(variant=variant, channel=webshop)
    assert list(throw.history.values_list("history_type", "name", "handle")) == [
        ("+", "Wool Throw", "wool-throw")
    ]
    assert list(variant.history.values_list("history_type", "sku", "product_id", "options")) == [
        ("+", "WOOL-THROW", throw.id, variant.options)
    ]
    assert list(price.history.values_list("history_type", "amount", "currency")) == [
        ("+", Decimal("89.00"), "EUR")
    ]
    assert throw.created_at is not None and variant.created_at is not None
    first_event = ChangeEvent.objects.get(
        topic="price.changed", aggregate="product", aggregate_id=str(throw.id)
    )  # a new product's prices are the file's, not read back: same payload as a read would give
    assert first_event.payload == {
        "product_id": throw.id,
        "prices": {
            "WOOL-THROW": {"amount": "89.00", "compare_at_amount": "110.00", "currency": "EUR"}
        },
    }
    histories = (
        Product.history.count(),
        Variant.history.count(),
        Price.history.count(),
    )
    assert histories == (Product.objects.count(), Variant.objects.count(), Price.objects.count())
    computed = dict(ProductCompleteness.objects.values_list("product_id", "computed_at"))
    assert set(computed) == set(Product.objects.values_list("id", flat=True))

    products_import(data=data, price_channel_code="webshop")
    assert (Product.history.count(), Variant.history.count(), Price.history.count()) == histories
    assert dict(ProductCompleteness.objects.values_list("product_id", "computed_at")) == computed

    products_import(
        data=data.replace(b",89.00,110.00,", b",79.00,110.00,"), price_channel_code="webshop"
    )
    assert list(price.history.order_by("history_id").values_list("history_type", "amount")) == [
        ("+", Decimal("89.00")),
        ("~", Decimal("79.00")),
    ]
    assert Price.history.count() == histories[2] + 1
    assert dict(ProductCompleteness.objects.values_list("product_id", "computed_at")) == computed

    products_import(
        data=data.replace(b",89.00,110.00,", b",79.00,110.00,").replace(
            b"Wool Throw,", b"Wool Throw Deluxe,"
        ),
        price_channel_code="webshop",
    )
    after = dict(ProductCompleteness.objects.values_list("product_id", "computed_at"))
    assert {pid for pid in after if after[pid] != computed[pid]} == {throw.id}
    assert list(throw.history.order_by("history_id").values_list("history_type", "name")) == [
        ("+", "Wool Throw"),
        ("~", "Wool Throw Deluxe"),
    ]


HEADER = WARDROBE.read_text(encoding="utf-8").splitlines()[0]


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
    call_command("import_products", "--format", "shopify", str(WARDROBE))
    assert "products created: 3" in capsys.readouterr().out
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
