"""GET /api/v1/products/, /products/{id}/, /variants/ and /categories/: the channel view."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from catalog import services as catalog
from catalog.models import Category, ChannelContentRule, Product
from config import roles
from inventory.services import MovementInput, stock_movements_apply
from tests.catalog.factories import complete_product
from tests.factories import ChannelFactory, LocationFactory, UserFactory

pytestmark = pytest.mark.django_db
# the price fields of a variant no promotion lowers, on a channel whose prices include tax
NO_SALE = {"sale_amount": None, "sale_starts_at": None, "sale_ends_at": None, "includes_tax": True}


def _user(role: str) -> User:
    user = UserFactory(username=role.lower().replace(" ", "-"))
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def staff() -> dict[str, User]:
    return {"merch": _user(roles.MERCHANDISER), "approver": _user(roles.CATALOG_APPROVER)}


def live(channel: Any, staff: dict[str, User], name: str, **kwargs: Any) -> Product:
    product = complete_product(channel, name=name, **kwargs)
    catalog.product_submit(product_ids=[product.id], user=staff["merch"])
    catalog.product_approve(product_ids=[product.id], user=staff["approver"])
    catalog.product_publish(
        product_ids=[product.id], channel_code=channel.code, user=staff["merch"]
    )
    return product


@pytest.fixture
def webshop() -> Any:
    channel = ChannelFactory(code="webshop")
    store = LocationFactory(code="st-1")
    channel.locations.add(store)
    return channel


def test_products_show_the_channel_view_with_price_and_available(
    api_client_for, webshop, staff
) -> None:  # type: ignore[no-untyped-def]
    ChannelContentRule.objects.create(
        channel=webshop, title_template="{brand} {name}", title_max_length=60
    )
    tee = live(webshop, staff, "Organic Tee")
    complete_product(webshop, name="Draft Tee")  # not published
    variant = tee.variants.get(sku="ORGANIC-TEE-S")
    stock_movements_apply(
        movements=[
            MovementInput(
                variant_id=variant.id,
                location_id=webshop.locations.get().id,
                kind="receipt",
                quantity=4,
            )
        ]
    )
    client = api_client_for(scopes=["catalog:read"], channels=[webshop])

    response = client.get("/api/v1/products/")

    assert response.status_code == 200, response.json()
    [product] = response.json()["results"]
    assert (product["id"], product["channel"], product["title"]) == (
        tee.id,
        "webshop",
        "Acme Organic Tee",
    )
    assert product["category"]["google_id"] == 166
    assert product["attributes"] == {"material": "Cotton"}
    assert product["images"][0]["url"].startswith("http://testserver/media/products/")
    sizes = {v["sku"]: (v["options"], v["price"], v["available"]) for v in product["variants"]}
    assert sizes == {
        "ORGANIC-TEE-S": (
            {"size": "S", "color": "Navy"},
            {"amount": "19.99", "compare_at_amount": None, "currency": "EUR", **NO_SALE},
            4,
        ),
        "ORGANIC-TEE-M": (
            {"size": "M", "color": "Navy"},
            {"amount": "19.99", "compare_at_amount": None, "currency": "EUR", **NO_SALE},
            0,
        ),
    }
    assert client.get(f"/api/v1/products/{tee.id}/").json()["title"] == "Acme Organic Tee"
    draft = Product.objects.get(name="Draft Tee")
    assert client.get(f"/api/v1/products/{draft.id}/").status_code == 404


def test_an_edit_in_review_does_not_reach_the_channel_until_approved(
    api_client_for, webshop, staff
) -> None:  # type: ignore[no-untyped-def]
    tee = live(webshop, staff, "Organic Tee")
    catalog.product_update(product=tee, name="Renamed Tee", user=staff["merch"])
    client = api_client_for(scopes=["catalog:read"], channels=[webshop])
    assert client.get(f"/api/v1/products/{tee.id}/").json()["title"] == "Organic Tee"
    catalog.product_approve(product_ids=[tee.id], user=staff["approver"])
    assert client.get(f"/api/v1/products/{tee.id}/").json()["title"] == "Renamed Tee"


def test_another_partners_channel_is_not_found(api_client_for, webshop, staff) -> None:  # type: ignore[no-untyped-def]
    live(webshop, staff, "Organic Tee")
    outsider = api_client_for(scopes=["catalog:read"], channels=["marketplace"])
    response = outsider.get("/api/v1/products/?channel=webshop")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "channel_not_found"


def test_updated_since_search_and_pagination_with_bounded_queries(
    api_client_for, webshop, staff, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = api_client_for(scopes=["catalog:read"], channels=[webshop])
    live(webshop, staff, "Tee 0")
    with django_assert_max_num_queries(30) as few:
        assert client.get("/api/v1/products/?limit=50").status_code == 200
    for n in range(1, 8):
        live(webshop, staff, f"Tee {n}", sizes=("s", "m", "l"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/api/v1/products/?limit=50").json()
    assert len(page["results"]) == 8

    first = client.get("/api/v1/products/?limit=3").json()
    second = client.get(first["next"]).json()
    assert [p["title"] for p in first["results"] + second["results"]][:6] == [
        f"Tee {n}" for n in range(6)
    ]

    last_seen = page["results"][-1]["updated_at"]
    assert [
        p["title"]
        for p in client.get("/api/v1/products/", {"updated_since": last_seen}).json()["results"]
    ] == ["Tee 7"]
    assert [
        p["title"] for p in client.get("/api/v1/products/?search=TEE-3-M").json()["results"]
    ] == ["Tee 3"]


def test_variants_by_sku(api_client_for, webshop, staff) -> None:  # type: ignore[no-untyped-def]
    tee = live(webshop, staff, "Organic Tee")
    complete_product(webshop, name="Draft Tee")
    client = api_client_for(scopes=["catalog:read"], channels=[webshop])
    body = client.get("/api/v1/variants/?sku=ORGANIC-TEE-M,DRAFT-TEE-S,NOPE").json()
    assert [r["sku"] for r in body["results"]] == ["ORGANIC-TEE-M"]
    assert body["results"][0]["product_id"] == tee.id
    assert body["results"][0]["price"]["amount"] == "19.99"
    assert body["unknown_skus"] == ["DRAFT-TEE-S", "NOPE"]
    assert client.get("/api/v1/variants/").json()["code"] == "invalid_parameter"


def test_a_key_without_catalog_scope_is_refused(api_client_for, webshop) -> None:  # type: ignore[no-untyped-def]
    client = api_client_for(scopes=["stock:read"], channels=[webshop])
    assert client.get("/api/v1/products/").json()["code"] == "missing_scope"


def test_categories_tree_with_parents(api_client_for) -> None:  # type: ignore[no-untyped-def]
    root = Category.objects.add_root({"name": "Apparel", "full_name": "Apparel", "google_id": 166})
    child = Category.objects.add_child(
        root, {"name": "Clothing", "full_name": "Apparel > Clothing", "google_id": 1604}
    )
    client = api_client_for(scopes=["catalog:read"])
    results = client.get("/api/v1/categories/").json()["results"]
    assert [(c["name"], c["parent_id"], c["google_id"]) for c in results] == [
        ("Apparel", None, 166),
        ("Clothing", root.id, 1604),
    ]
    assert child.depth == 2


def test_nul_bytes_are_bad_input_not_a_server_error(api_client_for, webshop) -> None:  # type: ignore[no-untyped-def]
    client = api_client_for(scopes=["catalog:read"], channels=[webshop])
    assert client.get("/api/v1/variants/", {"sku": "A\x00B"}).status_code == 400
    assert client.get("/api/v1/products/", {"search": "\x00"}).status_code == 400
    # every parameter, the channel too: refused before any view looks the value up
    unknown = client.get("/api/v1/products/", {"channel": "web\x00shop"})
    assert (unknown.status_code, unknown.json()["code"]) == (400, "invalid_parameter")
