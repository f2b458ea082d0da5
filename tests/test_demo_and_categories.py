"""The demo dataset and the Google taxonomy import, on the real shared data."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from catalog.exceptions import TaxonomyFileInvalid
from catalog.models import Category
from catalog.services import category_tree_import_google
from core.models import Channel, PartnerAPIKey
from demo import seed as demo
from inventory.models import Location

pytestmark = pytest.mark.django_db


def test_the_google_taxonomy_imports_into_a_valid_tree():
    created = category_tree_import_google(path=demo.TAXONOMY_PATH)
    assert created == Category.objects.count() == 5595
    assert Category.objects.find_problems() == ([], [], [], [], [])
    shirts = Category.objects.get(google_id=212)
    assert shirts.full_name == "Apparel & Accessories > Clothing > Shirts & Tops"
    assert [node.name for node in Category.objects.get_ancestors(shirts)] == [
        "Apparel & Accessories",
        "Clothing",
    ]
    assert Category.objects.get_root_nodes().count() == 21


def test_importing_again_adds_nothing():
    category_tree_import_google(path=demo.TAXONOMY_PATH)
    assert category_tree_import_google(path=demo.TAXONOMY_PATH) == 0
    assert Category.objects.count() == 5595


def test_a_newer_taxonomy_only_adds_its_new_categories(tmp_path: Path):
    small = tmp_path / "v1.txt"
    small.write_text("1 - Animals\n2 - Animals > Pets\n")
    category_tree_import_google(path=small)
    bigger = tmp_path / "v2.txt"
    bigger.write_text("1 - Animals\n2 - Animals > Pets\n3 - Animals > Farm\n4 - Toys\n")
    assert category_tree_import_google(path=bigger) == 2
    animals = Category.objects.get(google_id=1)
    assert sorted(child.name for child in Category.objects.get_children(animals)) == [
        "Farm",
        "Pets",
    ]
    assert Category.objects.find_problems() == ([], [], [], [], [])


def test_a_malformed_line_is_named_and_nothing_is_imported(tmp_path: Path):
    bad = tmp_path / "bad.txt"
    bad.write_text("# header\n1 - Animals\nnot a category line\n")
    with pytest.raises(TaxonomyFileInvalid, match="Line 3"):
        category_tree_import_google(path=bad)
    assert Category.objects.count() == 0


def test_a_category_without_its_parent_is_refused(tmp_path: Path):
    bad = tmp_path / "orphan.txt"
    bad.write_text("1 - Animals\n5 - Toys > Dolls\n")
    with pytest.raises(TaxonomyFileInvalid, match="Toys > Dolls"):
        category_tree_import_google(path=bad)
    assert Category.objects.count() == 0


def test_seed_demo_builds_the_dataset_and_a_second_run_duplicates_nothing():
    call_command("seed_demo", "--size", "small", verbosity=0)
    counts = (
        Category.objects.count(),
        Location.objects.count(),
        Channel.objects.count(),
        User.objects.count(),
        PartnerAPIKey.objects.count(),
    )
    call_command("seed_demo", "--size", "small", verbosity=0)
    assert (
        Category.objects.count(),
        Location.objects.count(),
        Channel.objects.count(),
        User.objects.count(),
        PartnerAPIKey.objects.count(),
    ) == counts
    assert Location.objects.filter(kind="warehouse").count() == 2
    assert Location.objects.filter(kind="store").count() >= 6
    assert set(Channel.objects.values_list("kind", flat=True)) >= {
        "webshop",
        "marketplace",
        "google_feed",
        "meta_feed",
        "pos",
    }
    associate = User.objects.get(username="associate")
    assert associate.staff_member.home_location.kind == "store"
    assert associate.groups.get().name == "Store associate"


def test_the_demo_key_printed_by_run_works(client):
    call_command("seed_demo", verbosity=0)
    response = client.get(
        "/api/v1/me/", HTTP_AUTHORIZATION=f"Api-Key {demo.DEMO_KEYS['demo-webshop']}"
    )
    assert response.status_code == 200
    assert response.json()["channels"] == ["app", "webshop"]


def test_the_large_dataset_has_more_stores():
    demo.seed_locations("large")
    assert Location.objects.filter(kind="store").count() == len(demo.stores_for("large")) > 6


@pytest.mark.parametrize(
    ("gtin", "valid"),
    [
        ("4006381333931", True),  # EAN-13
        ("036000291452", True),  # UPC-A
        ("96385074", True),  # EAN-8
        ("4006381333932", False),  # wrong check digit
        ("40063813339", False),  # wrong length
        ("40063813339a", False),
    ],
)
def test_gtin_check_digits(gtin, valid):
    from catalog.models import gtin_is_valid

    assert gtin_is_valid(gtin) is valid


def test_the_bundled_demo_taxonomy_is_the_shared_one():
    shared = demo._SHARED_TAXONOMY
    if not shared.exists():
        pytest.skip("shared/ is not beside this checkout")
    assert demo._BUNDLED_TAXONOMY.read_bytes() == shared.read_bytes()


def test_demo_products_have_valid_unique_gtins_and_options():
    from catalog.models import Product, Variant, gtin_is_valid
    from demo.catalog import SIZES

    call_command("seed_demo", verbosity=0)
    products, per_product = SIZES["small"]
    assert Product.objects.filter(handle__startswith="demo-").count() == products
    variants = list(Variant.objects.values_list("gtin", "product_id", "options"))
    assert len(variants) == products * per_product
    assert all(gtin_is_valid(gtin) for gtin, _, _ in variants)
    assert len({gtin for gtin, _, _ in variants}) == len(variants)
    assert len({(pid, str(sorted(opts.items()))) for _, pid, opts in variants}) == len(variants)
    assert Product.objects.filter(category__isnull=True).count() == 0


def test_the_demo_marketplace_sees_a_buffered_quantity(client):
    call_command("seed_demo", verbosity=0)
    marketplace_key = demo.DEMO_KEYS["demo-marketplace"]
    webshop_key = demo.DEMO_KEYS["demo-webshop"]
    sku = "DEMO-000001-1"

    def available(key: str, channel: str) -> int:
        response = client.get(
            "/api/v1/availability/",
            {"sku": sku, "channel": channel},
            HTTP_AUTHORIZATION=f"Api-Key {key}",
        )
        assert response.status_code == 200, response.content
        return response.json()["results"][0]["available"]

    import math

    from inventory.models import StockLevel

    in_warehouses = sum(
        level.on_hand
        for level in StockLevel.objects.filter(variant__sku=sku, location__kind="warehouse")
    )
    assert in_warehouses > 0
    assert available(marketplace_key, "marketplace") == in_warehouses - math.ceil(
        in_warehouses * 0.2
    )
    assert available(webshop_key, "webshop") > in_warehouses
