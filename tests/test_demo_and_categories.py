"""The demo dataset with its own category tree, and the Google taxonomy import: on files the
suite writes everywhere, and on Google's real file when the real data is present."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from catalog.exceptions import TaxonomyFileInvalid
from catalog.models import Category
from catalog.services import category_tree_import, category_tree_import_google
from core.models import Channel, PartnerAPIKey
from demo import seed as demo
from demo.categories import DEMO_CATEGORIES
from inventory.models import Location
from tests import realdata

pytestmark = [pytest.mark.django_db, pytest.mark.demo_seed]


@pytest.fixture
def no_real_data(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Seed as a clone on its own does: no real-data directory beside it."""
    settings.SHARED_DIR = tmp_path / "nothing-here"


def test_the_demo_tree_is_a_valid_tree_holding_every_demo_category():
    from demo.catalog import FAMILIES

    assert category_tree_import(entries=DEMO_CATEGORIES) == len(DEMO_CATEGORIES) >= 36
    assert Category.objects.find_problems() == ([], [], [], [], [])
    assert {f.google_id for f in FAMILIES} <= set(
        Category.objects.values_list("google_id", flat=True)
    )
    assert sorted(node.name for node in Category.objects.get_root_nodes()) == [
        "Apparel & Accessories",
        "Furniture",
        "Home & Garden",
    ]
    mugs = Category.objects.get(google_id=2169)
    assert [node.google_id for node in Category.objects.get_ancestors(mugs)] == [536, 638, 672, 674]
    assert category_tree_import(entries=DEMO_CATEGORIES) == 0


def test_import_taxonomy_command_loads_a_file_and_refuses_a_bad_one(tmp_path: Path, capsys):
    taxonomy = tmp_path / "taxonomy-with-ids.en-US.txt"
    taxonomy.write_text(
        "# Google_Product_Taxonomy_Version: test\n"
        "536 - Home & Garden\n"
        "696 - Home & Garden > Decor\n"
        "602 - Home & Garden > Decor > Vases\n"
    )
    call_command("import_taxonomy", str(taxonomy))
    assert "categories created: 3 (the tree now holds 3)" in capsys.readouterr().out
    call_command("import_taxonomy", str(taxonomy))
    assert "categories created: 0 (the tree now holds 3)" in capsys.readouterr().out

    bad = tmp_path / "bad.txt"
    bad.write_text("536 - Home & Garden\nVases without an id\n")
    with pytest.raises(CommandError, match="Line 2"):
        call_command("import_taxonomy", str(bad))
    with pytest.raises(CommandError, match="is not a file"):
        call_command("import_taxonomy", str(tmp_path / "missing.txt"))
    assert Category.objects.count() == 3


def test_seed_demo_loads_a_taxonomy_file_it_is_given(tmp_path: Path, no_real_data) -> None:  # type: ignore[no-untyped-def]
    taxonomy = tmp_path / "taxonomy.txt"
    taxonomy.write_text(
        "".join(f"{gid} - {path}\n" for gid, path in DEMO_CATEGORIES) + "4 - Arts & Entertainment\n"
    )
    demo.seed_categories(taxonomy)
    assert Category.objects.count() == len(DEMO_CATEGORIES) + 1
    with pytest.raises(CommandError, match="is not a file"):
        call_command("seed_demo", "--taxonomy", str(tmp_path / "missing.txt"), verbosity=0)


def test_on_its_own_the_demo_seeds_its_tree_and_its_feeds_are_whole(client, no_real_data) -> None:  # type: ignore[no-untyped-def]
    """A clone with no real data beside it: every demo product published on the Google and Meta
    channels is in their feeds, each variant an item, and no item is left out by a rule."""
    import csv
    import io
    from xml.etree import ElementTree

    from catalog.models import ProductPublication, Variant

    call_command("seed_demo", verbosity=0)
    assert Category.objects.count() == len(DEMO_CATEGORIES)

    def published_skus(channel: str) -> dict[str, int]:
        products = ProductPublication.objects.filter(channel__code=channel).values("product")
        return dict(
            Variant.objects.filter(product__in=products).values_list(
                "sku", "product__category__google_id"
            )
        )

    google = published_skus("google")
    assert len(google) >= 40
    response = client.get("/channels/google/feed.xml")
    assert response.status_code == 200
    ns = {"g": "http://base.google.com/ns/1.0"}
    items = ElementTree.fromstring(b"".join(response.streaming_content)).iter("item")
    in_feed = {
        item.findtext("g:id", namespaces=ns): item.findtext(
            "g:google_product_category", namespaces=ns
        )
        for item in items
    }
    assert in_feed == {sku: str(gid) for sku, gid in google.items()}

    meta = published_skus("meta")
    response = client.get("/channels/meta/feed.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["id"] for row in rows} == set(meta)

    from channels.models import Feed

    assert {
        (feed.channel.code, feed.format, feed.item_count, feed.excluded_count)
        for feed in Feed.objects.select_related("channel").filter(
            channel__code__in=["google", "meta"]
        )
    } == {
        ("google", "xml", len(google), 0),
        ("google", "tsv", len(google), 0),
        ("meta", "csv", len(meta), 0),
    }


@pytest.mark.real_data
def test_the_google_taxonomy_imports_into_a_valid_tree():
    created = category_tree_import_google(path=realdata.GOOGLE_TAXONOMY)
    assert created == Category.objects.count() == 5595
    assert Category.objects.find_problems() == ([], [], [], [], [])
    shirts = Category.objects.get(google_id=212)
    assert shirts.full_name == "Apparel & Accessories > Clothing > Shirts & Tops"
    assert [node.name for node in Category.objects.get_ancestors(shirts)] == [
        "Apparel & Accessories",
        "Clothing",
    ]
    assert Category.objects.get_root_nodes().count() == 21


@pytest.mark.real_data
def test_importing_again_adds_nothing():
    category_tree_import_google(path=realdata.GOOGLE_TAXONOMY)
    assert category_tree_import_google(path=realdata.GOOGLE_TAXONOMY) == 0
    assert Category.objects.count() == 5595


@pytest.mark.real_data
def test_the_full_taxonomy_loads_over_the_demo_tree_adding_only_the_rest():
    """The demo's tree spells its categories as Google does: the file recognises every one."""
    category_tree_import(entries=DEMO_CATEGORIES)
    demo_ids = dict(Category.objects.values_list("full_name", "google_id"))
    created = category_tree_import_google(path=realdata.GOOGLE_TAXONOMY)
    assert created == 5595 - len(DEMO_CATEGORIES)
    assert Category.objects.count() == 5595
    assert Category.objects.find_problems() == ([], [], [], [], [])
    for full_name, google_id in demo_ids.items():
        assert Category.objects.get(full_name=full_name).google_id == google_id


@pytest.mark.real_data
def test_seed_demo_loads_the_full_taxonomy_when_the_real_data_is_there():
    call_command("seed_demo", verbosity=0)
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
    assert [m.location.kind for m in associate.store_memberships.all()] == ["store"]
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
