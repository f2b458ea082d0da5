"""Order, cart, refund and fulfilment inputs beyond what their columns hold are refused with a
400 naming the field, and nothing is written (no order, no committed unit, no refund)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import Price
from inventory.models import StockHold
from orders.models import Cart, Order, Refund
from tests.shop import Shop

pytestmark = pytest.mark.django_db

SHIP = {
    "channel": "webshop",
    "customer": {"email": "ann@example.com"},
    "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 2}],
    "fulfillment": {"method": "ship", "address": {"country": "NL", "city": "Utrecht"}},
}


@pytest.fixture
def client(shop: Shop, api_client_for: Callable[..., APIClient]) -> APIClient:
    shop.receive(shop.warehouse, shop.s, 20_000)
    return api_client_for(channels=[shop.channel])


def assert_refused(response: Any, field: str) -> None:
    assert response.status_code == 400, response.content[:400]
    assert response["Content-Type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]


def assert_no_order(shop: Shop) -> None:
    assert not Order.objects.exists()
    assert not StockHold.objects.exists()
    assert shop.level(shop.warehouse, shop.s) == (20_000, 0)


def test_a_shipping_total_that_overflows_the_order_total_is_400(
    shop: Shop, client: APIClient
) -> None:
    # 9,999,999,999.99 fits the column; with the goods added the total would not
    body = {**SHIP, "shipping_total": "9999999999.99"}

    response = client.post("/api/v1/orders/", body, format="json")

    assert_refused(response, "shipping_total")
    assert_no_order(shop)


def test_goods_whose_total_overflows_the_column_are_400(shop: Shop, client: APIClient) -> None:
    # given a price that is valid on its own, ten thousand units of it are not
    Price.objects.filter(variant=shop.s).update(amount=Decimal("9999999.99"))
    body = {**SHIP, "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 10_000}]}

    response = client.post("/api/v1/orders/", body, format="json")

    assert_refused(response, "lines")
    assert_no_order(shop)


def test_a_cart_checkout_whose_total_overflows_is_400(shop: Shop, client: APIClient) -> None:
    cart = client.post("/api/v1/carts/", {"channel": "webshop"}, format="json").json()["token"]
    url = f"/api/v1/carts/{cart}/"
    added = client.post(url + "lines/", {"sku": "ORGANIC-TEE-S", "quantity": 1}, format="json")
    assert added.status_code in (200, 201), added.content

    response = client.post(
        url + "checkout/",
        {"fulfillment": SHIP["fulfillment"], "shipping_total": "9999999999.99"},
        format="json",
    )

    assert_refused(response, "shipping_total")
    assert_no_order(shop)
    assert Cart.objects.get().status == "open"


def test_loyalty_points_beyond_the_maximum_are_400(shop: Shop, client: APIClient) -> None:
    response = client.post("/api/v1/orders/", {**SHIP, "loyalty_points": 10**20}, format="json")

    assert_refused(response, "loyalty_points")
    assert_no_order(shop)


@pytest.fixture
def order(client: APIClient) -> dict[str, Any]:
    placed = client.post("/api/v1/orders/", {**SHIP, "payment_status": "captured"}, format="json")
    assert placed.status_code == 201, placed.content
    body: dict[str, Any] = placed.json()
    return body


def test_a_refund_quantity_beyond_the_maximum_is_400(
    client: APIClient, order: dict[str, Any]
) -> None:
    response = client.post(
        f"/api/v1/orders/{order['number']}/refunds/",
        {"lines": [{"sku": "ORGANIC-TEE-S", "quantity": 10**20}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="r-1",
    )

    assert_refused(response, "lines.0.quantity")
    assert not Refund.objects.exists()


def test_a_missing_quantity_beyond_the_maximum_is_400(
    shop: Shop, client: APIClient, order: dict[str, Any]
) -> None:
    fulfillment = order["fulfillments"][0]["id"]

    response = client.post(
        f"/api/v1/orders/{order['number']}/fulfillments/{fulfillment}/missing/",
        {"sku": "ORGANIC-TEE-S", "quantity": 10**20},
        format="json",
    )

    assert_refused(response, "quantity")
    assert shop.level(shop.warehouse, shop.s) == (20_000, 2)
