"""The orders and returns API: placement, idempotency, scoping, listing, cancel, returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from orders import services
from orders.models import Order
from tests.shop import Shop

pytestmark = pytest.mark.django_db

PICKUP = {
    "channel": "webshop",
    "external_id": "WEB-1",
    "customer": {"email": "ann@example.com", "name": "Ann"},
    "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 2}],
    "fulfillment": {"method": "pickup", "location": "ams-central"},
}
SHIP = {
    "channel": "webshop",
    "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 1}],
    "fulfillment": {"method": "ship", "address": {"country": "NL", "city": "Utrecht"}},
    "shipping_total": "4.95",
}


@pytest.fixture
def client(shop: Shop, api_client_for: Callable[..., APIClient]) -> APIClient:
    return api_client_for(channels=[shop.channel])


def test_placing_a_pickup_order_returns_it_with_stock_committed(
    shop: Shop, client: APIClient
) -> None:
    shop.receive(shop.amsterdam, shop.s, 3)
    response = client.post("/api/v1/orders/", PICKUP, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["total"], body["currency"], body["external_id"]) == (
        "placed",
        "39.98",
        "EUR",
        "WEB-1",
    )
    assert [(f["location"], f["status"], f["pickup_code_set"]) for f in body["fulfillments"]] == [
        ("ams-central", "allocated", False)
    ]
    assert [e["kind"] for e in body["timeline"]] == ["placed"]
    assert shop.level(shop.amsterdam, shop.s) == (3, 2)

    # a retry with the same key replays; the same external id without a key returns the order
    replay = client.post("/api/v1/orders/", PICKUP, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert (replay.status_code, replay.json()["number"]) == (201, body["number"])
    again = client.post("/api/v1/orders/", PICKUP, format="json")
    assert (again.status_code, again.json()["number"]) == (200, body["number"])
    assert shop.level(shop.amsterdam, shop.s) == (3, 2)
    assert Order.objects.count() == 1


def test_a_shortage_is_a_409_problem_listing_lines_and_nothing_is_committed(
    shop: Shop, client: APIClient
) -> None:
    shop.receive(shop.amsterdam, shop.s, 1)
    response = client.post("/api/v1/orders/", PICKUP, format="json")
    assert response.status_code == 409
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "pickup_unavailable"
    assert body["shortages"] == [
        {"variant_id": shop.s.pk, "location_id": shop.amsterdam.pk, "requested": 2, "available": 1}
    ]
    assert Order.objects.count() == 0
    assert shop.level(shop.amsterdam, shop.s) == (1, 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "ORGANIC-TEE-S", "quantity": 0}]}, "lines.0.quantity"),
        ({"fulfillment": {"method": "pickup"}}, "fulfillment.location"),
        ({"fulfillment": {"method": "fly"}}, "fulfillment.method"),
        ({"lines": [{"sku": "UNKNOWN", "quantity": 1}]}, "lines.0.sku"),
    ],
)
def test_bad_orders_are_400_problems_naming_the_field(
    shop: Shop, client: APIClient, change: dict[str, Any], field: str
) -> None:
    shop.receive(shop.amsterdam, shop.s, 5)
    response = client.post("/api/v1/orders/", {**PICKUP, **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in [e["field"] for e in response.json()["errors"]]
    assert Order.objects.count() == 0


def test_a_key_sees_only_its_channels_orders(
    shop: Shop, client: APIClient, api_client_for: Callable[..., APIClient]
) -> None:
    shop.receive(shop.warehouse, shop.s, 5)
    number = client.post("/api/v1/orders/", SHIP, format="json").json()["number"]
    other = api_client_for(channels=["marketplace"])
    assert other.get(f"/api/v1/orders/{number}/").status_code == 404
    assert other.post(f"/api/v1/orders/{number}/cancel/", {}, format="json").status_code == 404
    assert other.get("/api/v1/orders/").json()["results"] == []
    hidden = other.get("/api/v1/orders/?channel=webshop")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "channel_not_found")
    assert other.post("/api/v1/orders/", SHIP, format="json").status_code == 404
    assert client.get(f"/api/v1/orders/{number}/").status_code == 200


def test_scopes_are_enforced(shop: Shop, api_client_for: Callable[..., APIClient]) -> None:
    reader = api_client_for(channels=[shop.channel], scopes=["orders:read"])
    assert reader.post("/api/v1/orders/", SHIP, format="json").status_code == 403
    assert reader.get("/api/v1/orders/").status_code == 200


def test_the_list_takes_a_fixed_number_of_queries(
    shop: Shop, client: APIClient, django_assert_max_num_queries: Any
) -> None:
    shop.receive(shop.warehouse, shop.s, 50)
    shop.receive(shop.amsterdam, shop.m, 50)
    for n in range(12):
        services.order_place(
            channel_code="webshop",
            lines=[services.LineInput("ORGANIC-TEE-S", 1), services.LineInput("ORGANIC-TEE-M", 1)],
            method="ship",
            address={"country": "NL"},
            external_id=f"E{n}",
        )
    with django_assert_max_num_queries(14):
        small = client.get("/api/v1/orders/?limit=2")
    with django_assert_max_num_queries(14):
        large = client.get("/api/v1/orders/?limit=12&channel=webshop")
    assert (len(small.json()["results"]), len(large.json()["results"])) == (2, 12)
    assert len(large.json()["results"][0]["fulfillments"]) == 2


def test_cancel_releases_stock_and_a_second_cancel_is_409(shop: Shop, client: APIClient) -> None:
    shop.receive(shop.warehouse, shop.s, 5)
    number = client.post("/api/v1/orders/", SHIP, format="json").json()["number"]
    assert shop.level(shop.warehouse, shop.s) == (5, 1)
    response = client.post(f"/api/v1/orders/{number}/cancel/", {"reason": "oops"}, format="json")
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert shop.level(shop.warehouse, shop.s) == (5, 0)
    again = client.post(f"/api/v1/orders/{number}/cancel/", {}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")


def test_a_return_of_an_unshipped_order_is_refused(shop: Shop, client: APIClient) -> None:
    shop.receive(shop.warehouse, shop.s, 5)
    number = client.post("/api/v1/orders/", SHIP, format="json").json()["number"]
    response = client.post(
        "/api/v1/returns/",
        {
            "order": number,
            "location": "ams-central",
            "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 1}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "exceeds_returnable"
    assert client.get("/api/v1/returns/R-NOPE/").status_code == 404
