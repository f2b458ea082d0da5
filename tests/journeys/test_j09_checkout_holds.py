"""Journey 9, checkout that keeps its promise: the webshop holds the last unit while the shopper
pays, nobody else can buy it meanwhile, and the order then commits exactly that held unit, where
it was held; a cart saved on the phone is checked out on the laptop by the signed-in customer, at
today's prices, once.

Only public interfaces: the partner API with real keys (the webshop's, a marketplace's and an
ERP's count of the shelves). The price change is the merchandiser's (journey 1 shows it made in
the admin); here it is set through the catalog service before the laptop checks out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog import services as catalog_services
from tests.shop import Shop

pytestmark = pytest.mark.django_db

SHIP = {"method": "ship", "address": {"country": "NL", "city": "Utrecht"}}


def _available(client: APIClient, sku: str) -> int:
    body = client.get("/api/v1/availability/", {"sku": sku, "channel": "webshop"}).json()
    return int(body["results"][0]["available"])


def _stock(client: APIClient, location: str, sku: str) -> tuple[int, int]:
    body = client.get(f"/api/v1/stock/{location}/{sku}/").json()
    return body["on_hand"], body["committed"]


def _order(client: APIClient, **extra: Any) -> Any:
    return client.post(
        "/api/v1/orders/",
        {
            "channel": "webshop",
            "customer": {"email": "ann@example.com"},
            "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 1}],
            "fulfillment": SHIP,
            "payment_status": "captured",
            **extra,
        },
        format="json",
    )


def test_the_held_unit_is_the_one_the_order_gets(
    shop: Shop, api_client_for: Callable[..., APIClient]
) -> None:
    webshop = api_client_for(channels=[shop.channel])
    other_partner = api_client_for(channels=[shop.channel])  # a second front-end, same channel
    # Given the last S on the Amsterdam shelf (the ERP's count) and none in the warehouse
    counted = webshop.put(
        "/api/v1/stock/ams-central/ORGANIC-TEE-S/", {"on_hand": 1, "reason": "count"}, format="json"
    )
    assert counted.status_code == 200, counted.content
    assert _available(webshop, "ORGANIC-TEE-S") == 1

    # 1. The shopper reaches the payment page: the webshop holds the unit
    held = webshop.post(
        "/api/v1/stock/holds/",
        {
            "reference": "checkout-ann",
            "ttl_seconds": 600,
            "lines": [{"location": "ams-central", "sku": "ORGANIC-TEE-S", "quantity": 1}],
        },
        format="json",
    )
    assert held.status_code == 201, held.content
    assert _available(webshop, "ORGANIC-TEE-S") == 0

    # 2. While she pays, nobody else can buy it, and nobody else can use her hold
    assert (_order(other_partner).status_code, _order(other_partner).json()["code"]) == (
        409,
        "insufficient_stock",
    )
    stolen = _order(other_partner, hold="checkout-ann")
    assert (stolen.status_code, stolen.json()["code"]) == (404, "hold_not_found")

    # 3. Paid: the order names the hold and gets exactly that unit, in Amsterdam
    placed = _order(webshop, hold="checkout-ann", external_id="WEB-9001")
    assert placed.status_code == 201, placed.content
    order = placed.json()
    assert [(f["location"], f["status"]) for f in order["fulfillments"]] == [
        ("ams-central", "allocated")
    ]
    assert _stock(webshop, "ams-central", "ORGANIC-TEE-S") == (1, 1)
    assert _available(webshop, "ORGANIC-TEE-S") == 0

    # 4. The hold is used up: a double submit of the payment page places nothing more
    double = _order(webshop, hold="checkout-ann")
    assert (double.status_code, double.json()["code"]) == (409, "hold_not_active")
    assert webshop.get(f"/api/v1/orders/{order['number']}/").json()["status"] == "placed"
    assert _stock(webshop, "ams-central", "ORGANIC-TEE-S") == (1, 1)


def test_a_cart_saved_on_the_phone_is_checked_out_on_the_laptop_once(
    shop: Shop, api_client_for: Callable[..., APIClient]
) -> None:
    webshop = api_client_for(channels=[shop.channel])
    webshop.put("/api/v1/stock/wh-rotterdam/ORGANIC-TEE-M/", {"on_hand": 3}, format="json")

    # 1. On the phone, the signed-in customer saves a cart
    cart = webshop.post(
        "/api/v1/carts/",
        {"channel": "webshop", "lines": [{"sku": "ORGANIC-TEE-M", "quantity": 2}]},
        format="json",
    ).json()
    assert cart["subtotal"] == "39.98"
    tied = webshop.patch(f"/api/v1/carts/{cart['token']}/", {"customer": "bo@example.com"})
    customer_id = tied.json()["customer_id"]

    # 2. The price drops before she comes back
    catalog_services.price_set(variant_id=shop.m.pk, channel_code="webshop", amount="15.00")

    # 3. On the laptop she signs in; the webshop finds her cart and holds it while she pays
    laptop_cart = webshop.get(f"/api/v1/customers/{customer_id}/cart/").json()
    assert (laptop_cart["token"], laptop_cart["subtotal"]) == (cart["token"], "30.00")
    token = laptop_cart["token"]
    held = webshop.post(
        f"/api/v1/carts/{token}/hold/", {"fulfillment": SHIP, "ttl_seconds": 300}, format="json"
    )
    assert held.status_code == 200, held.content
    assert held.json()["hold_expires_at"] is not None
    assert _available(webshop, "ORGANIC-TEE-M") == 1

    # 4. She pays: the cart becomes her order at today's price, using the held units
    checkout = webshop.post(
        f"/api/v1/carts/{token}/checkout/",
        {"fulfillment": SHIP, "payment_status": "captured"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="laptop-pay-1",
    )
    assert checkout.status_code == 201, checkout.content
    order = checkout.json()
    assert (order["customer_id"], order["subtotal"], order["total"]) == (
        customer_id,
        "30.00",
        "30.00",
    )
    assert [(x["sku"], x["quantity"], x["unit_price"]) for x in order["lines"]] == [
        ("ORGANIC-TEE-M", 2, "15.00")
    ]
    assert _stock(webshop, "wh-rotterdam", "ORGANIC-TEE-M") == (3, 2)
    assert _available(webshop, "ORGANIC-TEE-M") == 1

    # 5. Once: the browser's retry replays the same order, the phone's late tap is refused
    retry = webshop.post(
        f"/api/v1/carts/{token}/checkout/",
        {"fulfillment": SHIP, "payment_status": "captured"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="laptop-pay-1",
    )
    assert (retry.status_code, retry.json()["number"]) == (201, order["number"])
    late = webshop.post(
        f"/api/v1/carts/{token}/checkout/",
        {"fulfillment": SHIP},
        format="json",
        HTTP_IDEMPOTENCY_KEY="phone-pay-1",
    )
    assert late.status_code == 409
    assert (late.json()["code"], late.json()["order"]) == ("cart_converted", order["number"])
    assert _stock(webshop, "wh-rotterdam", "ORGANIC-TEE-M") == (3, 2)
    orders = webshop.get("/api/v1/orders/").json()["results"]
    assert [o["number"] for o in orders] == [order["number"]]
