"""Carts: continued from any device with the token, validated against the channel, held while
checking out, placed as an order that consumes the hold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from inventory.models import StockHold
from orders.exceptions import CartInvalid
from orders.models import Cart
from orders.services import carts
from tests.shop import Shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(shop: Shop, api_client_for: Callable[..., APIClient]) -> APIClient:
    return api_client_for(channels=[shop.channel])


def test_a_cart_is_continued_from_another_device_with_current_prices(
    shop: Shop, client: APIClient, api_client_for: Callable[..., APIClient]
) -> None:
    created = client.post(
        "/api/v1/carts/",
        {"channel": "webshop", "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 2}]},
        format="json",
    )
    assert created.status_code == 201, created.content
    token = created.json()["token"]
    assert (created.json()["subtotal"], created.json()["currency"]) == ("39.98", "EUR")
    # another device (another key on the same channel) continues it
    phone = api_client_for(channels=[shop.channel])
    response = phone.post(
        f"/api/v1/carts/{token}/lines/", {"sku": "ORGANIC-TEE-M", "quantity": 1}, format="json"
    )
    assert response.status_code == 200
    assert [(x["sku"], x["quantity"]) for x in response.json()["lines"]] == [
        ("ORGANIC-TEE-S", 2),
        ("ORGANIC-TEE-M", 1),
    ]
    removed = phone.post(
        f"/api/v1/carts/{token}/lines/", {"sku": "ORGANIC-TEE-S", "quantity": 0}, format="json"
    )
    assert [x["sku"] for x in removed.json()["lines"]] == ["ORGANIC-TEE-M"]
    patched = client.patch(f"/api/v1/carts/{token}/", {"customer_email": "A@x.org"}, format="json")
    assert patched.json()["customer_email"] == "a@x.org"
    # a key of another channel does not see it
    assert api_client_for(channels=["pos"]).get(f"/api/v1/carts/{token}/").status_code == 404


def test_an_unknown_sku_is_refused_and_nothing_is_created(shop: Shop, client: APIClient) -> None:
    response = client.post(
        "/api/v1/carts/",
        {"channel": "webshop", "lines": [{"sku": "NOPE", "quantity": 1}]},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (400, "cart_invalid")
    assert Cart.objects.count() == 0


def test_a_checkout_hold_is_consumed_by_the_order(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 2)
    cart = carts.cart_create(channel_code="webshop", customer_email="c@example.com")
    carts.cart_line_set(token=cart.token, sku="ORGANIC-TEE-S", quantity=2)
    carts.cart_hold(
        token=cart.token, method="ship", address={"country": "NL"}, ttl=timedelta(minutes=5)
    )
    assert StockHold.objects.filter(reference=cart.hold_reference, status="active").count() == 1
    # nobody else can take the held units
    other = carts.cart_create(channel_code="webshop")
    carts.cart_line_set(token=other.token, sku="ORGANIC-TEE-S", quantity=1)
    with pytest.raises(Exception) as short:
        carts.cart_hold(token=other.token, method="ship", address={"country": "NL"})
    assert getattr(short.value, "code", "") == "insufficient_stock"
    # checkout places the order with the held units
    result = carts.cart_checkout(token=cart.token, method="ship", address={"country": "NL"})
    assert (result.created, result.order.total) == (True, Decimal("39.98"))
    assert shop.level(shop.warehouse, shop.s) == (2, 2)
    assert StockHold.objects.filter(reference=cart.hold_reference, status="consumed").count() == 1
    # a second checkout is refused, naming the order (issue 14: 409 cart_converted)
    with pytest.raises(CartInvalid) as again:
        carts.cart_checkout(token=cart.token, method="ship", address={"country": "NL"})
    assert (again.value.code, again.value.extra) == (
        "cart_converted",
        {"order": result.order.number},
    )
    with pytest.raises(CartInvalid):
        carts.cart_line_set(token=cart.token, sku="ORGANIC-TEE-S", quantity=1)
