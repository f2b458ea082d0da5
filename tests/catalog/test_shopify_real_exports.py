"""The real Shopify product exports in the real-data directory (``OMNIHUB_SHARED_DIR``,
``data/shopify/*.csv``) import exactly. Skipped, naming the variable, when they are not there;
CI always has them and fails if these are skipped (``tests/realdata.py``)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from catalog.imports.services import products_import
from catalog.models import Price, Product, ProductMedia, Variant
from inventory.models import StockLevel
from tests.catalog.shopify import expected_from_file
from tests.factories import LocationFactory
from tests.realdata import SHOPIFY_EXPORTS

pytestmark = [pytest.mark.django_db, pytest.mark.real_data]

# Without the exports, one placeholder case keeps the test visible as skipped (with the reason).
EXPORTS = SHOPIFY_EXPORTS or [Path("no-exports-found")]


def export(name: str) -> Path:
    (path,) = [p for p in SHOPIFY_EXPORTS if p.name == name] or [Path(name)]
    return path


@pytest.fixture(autouse=True)
def _no_image_downloads(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CATALOG_IMPORT_FETCH_IMAGES = False  # no internet here; fetching has its own tests


@pytest.mark.parametrize("path", EXPORTS, ids=[p.name for p in EXPORTS])
def test_shopify_exports_import_exactly(path: Path, webshop) -> None:  # type: ignore[no-untyped-def]
    warehouse = LocationFactory(code="wh-main", kind="warehouse")
    expected = expected_from_file(path)
    variants, images, stock = expected.variants, expected.images, expected.stock

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
    products_import(data=export("apparel.csv").read_bytes(), price_channel_code="webshop")
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
    products_import(data=export("home-and-garden.csv").read_bytes(), price_channel_code="webshop")
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
