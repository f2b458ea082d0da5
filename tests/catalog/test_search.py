"""The one product search (``catalog.search``) as the admin, the API and the store page use it:
exact SKU first, typos corrected, facets over the whole result. Runs on SQLite (the plain
fallback) and on PostgreSQL (full-text and trigram); ``test_search_pg.py`` has what only
PostgreSQL does."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from catalog import search
from catalog import services as catalog
from catalog.models import Category, Product, Variant
from catalog.selectors import product_search
from config import roles
from core.models import Channel
from inventory import services as stock
from tests.catalog.factories import complete_product
from tests.factories import ChannelFactory, LocationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _user(role: str, username: str) -> User:
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


def _live(channel: Channel, name: str, *, brand: str = "", **kwargs: Any) -> Product:
    """A product approved and published on ``channel``."""
    product = complete_product(channel, name=name, **kwargs)
    if brand:
        catalog.product_update(product=product, brand=brand)
    catalog.product_submit(product_ids=[product.id])
    catalog.product_approve(product_ids=[product.id])
    catalog.product_publish(product_ids=[product.id], channel_code=channel.code)
    return Product.objects.get(pk=product.pk)


@pytest.fixture
def channel() -> Channel:
    return ChannelFactory(code="webshop", currency="EUR")


@pytest.fixture
def catalog_world(channel: Channel) -> dict[str, Product]:
    """A jacket whose name does not contain "tee" but whose SKU starts "TEE-": searching a SKU
    or its prefix must put it above the products named "... Tee"."""
    tee = _live(channel, "Organic Tee", brand="Acme")
    linen = _live(channel, "Linen Tee Shirt", brand="Noordkust")
    jacket = _live(channel, "Rain Jacket", brand="Noordkust")
    for variant in jacket.variants.order_by("position"):
        catalog.variant_save(
            product=jacket,
            variant=variant,
            sku=f"TEE-{variant.sku}",
            gtin="4006381333931" if variant.position == 0 else "",
            options=variant.options,
        )
    return {"tee": tee, "linen": linen, "jacket": jacket}


def _names(term: str) -> list[str]:
    products, _corrected = product_search(term)
    return [p.name for p in products]


def test_an_exact_sku_or_gtin_ranks_first_then_a_sku_prefix_then_name_words(
    catalog_world: dict[str, Product],
) -> None:
    jacket_sku = catalog_world["jacket"].variants.order_by("position").first().sku  # type: ignore[union-attr]
    assert _names(jacket_sku.lower())[0] == "Rain Jacket"
    assert _names("4006381333931") == ["Rain Jacket"]
    # "tee": two names have the word, the jacket only a SKU starting with it: the SKU prefix
    # ranks first, and the names follow
    assert _names("tee") == ["Rain Jacket", "Linen Tee Shirt", "Organic Tee"] or _names("tee") == [
        "Rain Jacket",
        "Organic Tee",
        "Linen Tee Shirt",
    ]
    # every word must start a word of the name or brand
    assert _names("organic tee") == ["Organic Tee"]
    assert _names("noordkust jacket") == ["Rain Jacket"]
    assert _names("noordkust") == ["Linen Tee Shirt", "Rain Jacket"]
    assert _names("zzzz") == []


def test_a_typo_is_corrected_and_said(catalog_world: dict[str, Product]) -> None:
    products, corrected = product_search("jakcet")
    assert ([p.name for p in products], corrected) == (["Rain Jacket"], "jacket")
    products, corrected = product_search("orgnaic tee")
    assert ([p.name for p in products], corrected) == (["Organic Tee"], "organic tee")
    # a term that matches as typed is not "corrected"
    assert product_search("jacket")[1] == ""


def test_archived_products_are_not_found_by_the_store_search(
    catalog_world: dict[str, Product],
) -> None:
    catalog.product_archive(product_ids=[catalog_world["tee"].id])
    assert _names("organic") == []


def test_the_filter_keeps_the_callers_queryset_and_annotates_a_rank(
    catalog_world: dict[str, Product],
) -> None:
    only_noordkust = Product.objects.filter(brand="Noordkust")
    outcome = search.product_search_filter(only_noordkust, term="tee")
    ranked = list(outcome.queryset.order_by("-search_rank").values_list("name", "search_rank"))
    assert [name for name, _rank in ranked] == ["Rain Jacket", "Linen Tee Shirt"]
    assert ranked[0][1] >= search.PREFIX_RANK > ranked[1][1]
    # a blank term changes nothing
    assert search.product_search_filter(only_noordkust, term="  ").queryset.count() == 2


def test_variant_search_puts_the_variant_with_that_sku_first(
    catalog_world: dict[str, Product],
) -> None:
    jacket = catalog_world["jacket"]
    last = jacket.variants.order_by("-position").first()
    assert last is not None
    found = search.variant_search_filter(Variant.objects.all(), term=last.sku.lower())
    assert found.order_by("-search_rank", "pk").first() == last


def test_facets_count_products_of_the_whole_result(catalog_world: dict[str, Product]) -> None:
    other = Category.objects.add_root(
        {"name": "Outerwear", "full_name": "Outerwear", "google_id": 203}
    )
    catalog.product_update(product=catalog_world["jacket"], category=other)
    outcome = search.product_search_filter(Product.objects.all(), term="noordkust")
    facets = search.product_facets(
        product_ids=outcome.queryset.values("pk"), kinds=["category", "brand", "attribute"]
    )
    assert sorted((c.name, c.count) for c in facets["category"]) == [
        ("Apparel & Accessories", 1),
        ("Outerwear", 1),
    ]
    assert [(b.value, b.count) for b in facets["brand"]] == [("Noordkust", 2)]
    by_code = {a.code: {v.value: v.count for v in a.values} for a in facets["attribute"]}
    assert by_code["material"] == {"Cotton": 2}
    assert by_code["size"] == {"s": 2, "m": 2}  # variant options: a product counts once
    assert by_code["color"] == {"navy": 2}
    everything = search.product_facets(product_ids=Product.objects.values("pk"), kinds=["brand"])
    assert [(b.value, b.count) for b in everything["brand"]] == [("Noordkust", 2), ("Acme", 1)]
    assert set(everything) == {"brand"}


# --- the admin --------------------------------------------------------------------------------


def test_admin_product_search_finds_by_sku_gtin_words_and_typo_best_first(
    catalog_world: dict[str, Product],
) -> None:
    client = Client()
    client.force_login(_user(roles.MERCHANDISER, "merch"))
    url = reverse("admin:catalog_product_changelist")
    for term in ["TEE-RAIN-JACKET-M", "4006381333931", "rain", "jakcet"]:
        page = client.get(url, {"q": term}).content.decode()
        assert "Rain Jacket" in page and "Organic Tee" not in page, term
    assert "showing results for “jacket”" in client.get(url, {"q": "jakcet"}).content.decode()
    page = client.get(url, {"q": "tee"}).content.decode()
    assert page.index("Rain Jacket") < page.index("Organic Tee")
    # sorting by a column still works while searching
    by_name = client.get(url, {"q": "tee", "o": "2"}).content.decode()
    assert (
        by_name.index("Linen Tee Shirt")
        < by_name.index("Organic Tee")
        < by_name.index("Rain Jacket")
    )


def test_admin_variant_search_lists_the_scanned_variant_first(
    catalog_world: dict[str, Product],
) -> None:
    client = Client()
    client.force_login(_user(roles.MERCHANDISER, "merch"))
    page = client.get(
        reverse("admin:catalog_variant_changelist"), {"q": "4006381333931"}
    ).content.decode()
    assert "TEE-RAIN-JACKET-S" in page and "ORGANIC-TEE-S" not in page
    page = client.get(reverse("admin:catalog_variant_changelist"), {"q": "tee-rain-jacket-m"})
    body = page.content.decode()
    assert body.index("TEE-RAIN-JACKET-M") < body.index("TEE-RAIN-JACKET-S")


# --- the store page ---------------------------------------------------------------------------


def test_store_page_search_uses_the_ranked_search(catalog_world: dict[str, Product]) -> None:
    store = LocationFactory(code="st-1", name="Centre")
    associate = UserFactory(username="sam", is_staff=False)
    associate.groups.add(Group.objects.get(name="Store associate"))
    stock.staff_member_assign(user_id=associate.pk, location=store)
    client = Client()
    client.force_login(associate)
    page = client.get(reverse("store:home"), {"q": "tee"}).content.decode()
    assert page.index("Rain Jacket") < page.index("Organic Tee")
    typo = client.get(reverse("store:home"), {"q": "jakcet"}).content.decode()
    assert "Rain Jacket" in typo and "showing results for" in typo


# --- the API ----------------------------------------------------------------------------------


def test_api_search_orders_by_relevance_and_pages_with_the_cursor(
    api_client_for: Any, channel: Channel, catalog_world: dict[str, Product]
) -> None:
    client = api_client_for(scopes=["catalog:read"], channels=[channel])
    first = client.get("/api/v1/products/", {"search": "tee", "limit": 1}).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    titles = [page["results"][0]["title"] for page in (first, second, third)]
    assert titles[0] == "Rain Jacket"
    assert sorted(titles[1:]) == ["Linen Tee Shirt", "Organic Tee"]
    assert third["next"] is None
    assert "facets" not in first  # only when asked for
    typo = client.get("/api/v1/products/", {"search": "jakcet"}).json()
    assert [p["title"] for p in typo["results"]] == ["Rain Jacket"]
    # without search: the sync order, as before
    plain = client.get("/api/v1/products/").json()
    assert [p["id"] for p in plain["results"]] == [
        catalog_world[k].id for k in ("tee", "linen", "jacket")
    ]


def test_api_facets_count_the_filtered_result_not_the_page(
    api_client_for: Any, channel: Channel, catalog_world: dict[str, Product]
) -> None:
    client = api_client_for(scopes=["catalog:read"], channels=[channel])
    body = client.get(
        "/api/v1/products/", {"search": "tee", "limit": 1, "facets": "brand,attribute"}
    ).json()
    assert len(body["results"]) == 1
    assert set(body["facets"]) == {"brand", "attribute"}
    assert body["facets"]["brand"] == [
        {"value": "Noordkust", "label": "Noordkust", "count": 2},
        {"value": "Acme", "label": "Acme", "count": 1},
    ]
    sizes = next(a for a in body["facets"]["attribute"] if a["code"] == "size")
    assert {v["value"]: v["count"] for v in sizes["values"]} == {"s": 3, "m": 3}
    category = client.get("/api/v1/products/", {"facets": "category"}).json()["facets"]
    assert [(c["name"], c["count"]) for c in category["category"]] == [("Apparel & Accessories", 3)]
    bad = client.get("/api/v1/products/", {"facets": "brand,colour"})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_parameter")


def test_api_schema_documents_search_and_facets() -> None:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/products/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert "Ranked search" in parameters["search"]["description"]
    assert "category" in parameters["facets"]["schema"]["pattern"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(page["properties"]["facets"]["properties"]) == {"category", "brand", "attribute"}
    assert "cursor" in parameters and "limit" in parameters
