"""Cart hold and checkout endpoints, and carts tied to the signed-in customer (issue 14,
"Checkout" and "Carts and customers")."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog import services as catalog_services
from core.models import Channel
from customers import services as customer_services
from customers.models import CustomerIdentifier
from inventory.models import StockHold
from orders.models import Cart, CartLine, Order
from tests.factories import ChannelFactory
from tests.shop import Shop

pytestmark = pytest.mark.django_db

SHIP = {"method": "ship", "address": {"country": "NL", "city": "Utrecht"}}


@pytest.fixture
def client(shop: Shop, api_client_for: Callable[..., APIClient]) -> APIClient:
    return api_client_for(channels=[shop.channel])


def _cart(client: APIClient, lines: list[tuple[str, int]], channel: str = "webshop") -> str:
    response = client.post(
        "/api/v1/carts/",
        {"channel": channel, "lines": [{"sku": s, "quantity": q} for s, q in lines]},
        format="json",
    )
    assert response.status_code == 201, response.content
    return str(response.json()["token"])


def _checkout(client: APIClient, token: str, key: str | None = None, **body: Any) -> Any:
    headers: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        f"/api/v1/carts/{token}/checkout/",
        {"fulfillment": SHIP, "payment_status": "captured", **body},
        format="json",
        **headers,
    )


def test_a_held_cart_checks_out_once_at_todays_prices_and_closes(
    shop: Shop, client: APIClient
) -> None:
    shop.receive(shop.warehouse, shop.s, 2)
    token = _cart(client, [("ORGANIC-TEE-S", 2)])
    held = client.post(
        f"/api/v1/carts/{token}/hold/", {"fulfillment": SHIP, "ttl_seconds": 300}, format="json"
    )
    assert held.status_code == 200, held.content
    assert held.json()["hold_expires_at"] is not None
    cart = Cart.objects.get(token=token)
    assert StockHold.objects.get(reference=cart.hold_reference).status == "active"
    # the price changes while the shopper pays: the order takes today's price
    catalog_services.price_set(variant_id=shop.s.pk, channel_code="webshop", amount="17.50")
    response = _checkout(client, token, key="pay-1", customer={"email": "ann@example.com"})
    assert response.status_code == 201, response.content
    order = response.json()
    assert (order["subtotal"], order["total"], order["payment_status"]) == (
        "35.00",
        "35.00",
        "captured",
    )
    assert order["customer_email"] == "ann@example.com"
    assert shop.level(shop.warehouse, shop.s) == (2, 2)
    assert StockHold.objects.get(reference=cart.hold_reference).status == "consumed"
    # the cart is closed and names its order
    body = client.get(f"/api/v1/carts/{token}/").json()
    assert (body["status"], body["order"], body["hold_expires_at"]) == (
        "converted",
        order["number"],
        None,
    )
    # a retry with the same key replays the first response
    replay = _checkout(client, token, key="pay-1", customer={"email": "ann@example.com"})
    assert (replay.status_code, replay.json()["number"]) == (201, order["number"])
    assert replay["Idempotent-Replayed"] == "true"
    # any other second checkout is 409 cart_converted naming the order
    second = _checkout(client, token, key="pay-2")
    assert second.status_code == 409
    assert (second.json()["code"], second.json()["order"]) == ("cart_converted", order["number"])
    assert order["number"] in second.json()["detail"]
    assert Order.objects.count() == 1
    assert shop.level(shop.warehouse, shop.s) == (2, 2)
    # the converted cart cannot be held or changed either
    hold_again = client.post(f"/api/v1/carts/{token}/hold/", {"fulfillment": SHIP}, format="json")
    assert (hold_again.status_code, hold_again.json()["code"]) == (409, "cart_converted")


def test_a_cart_without_a_hold_is_sourced_as_usual(shop: Shop, client: APIClient) -> None:
    shop.receive(shop.amsterdam, shop.m, 1)
    token = _cart(client, [("ORGANIC-TEE-M", 1)])
    response = _checkout(client, token, fulfillment={"method": "pickup", "location": "ams-central"})
    assert response.status_code == 201, response.content
    assert [f["location"] for f in response.json()["fulfillments"]] == ["ams-central"]
    assert response.json()["fulfillment_method"] == "pickup"
    assert shop.level(shop.amsterdam, shop.m) == (1, 1)


def test_a_cart_whose_stock_is_gone_is_409_with_shortages_and_stays_open(
    shop: Shop, client: APIClient, api_client_for: Callable[..., APIClient]
) -> None:
    shop.receive(shop.warehouse, shop.s, 1)
    token = _cart(client, [("ORGANIC-TEE-S", 1), ("ORGANIC-TEE-M", 1)])
    response = _checkout(client, token)
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "insufficient_stock"
    assert [(s["sku"], s["requested"], s["available"]) for s in body["shortages"]] == [
        ("ORGANIC-TEE-M", 1, 0)
    ]
    assert Order.objects.count() == 0
    assert Cart.objects.get(token=token).status == "open"
    assert shop.level(shop.warehouse, shop.s) == (1, 0)
    # a hold is refused the same way and holds nothing
    held = client.post(f"/api/v1/carts/{token}/hold/", {"fulfillment": SHIP}, format="json")
    assert (held.status_code, held.json()["code"]) == (409, "insufficient_stock")
    assert not StockHold.objects.exists()


def test_an_empty_cart_is_a_problem_and_nothing_changes(shop: Shop, client: APIClient) -> None:
    shop.receive(shop.warehouse, shop.s, 1)
    token = _cart(client, [])
    for path in ("checkout", "hold"):
        response = client.post(
            f"/api/v1/carts/{token}/{path}/", {"fulfillment": SHIP}, format="json"
        )
        assert response.status_code == 400, response.content
        assert response["Content-Type"].startswith("application/problem+json")
        assert response.json()["code"] == "cart_empty"
    assert Order.objects.count() == 0
    assert not StockHold.objects.exists()
    assert Cart.objects.get(token=token).status == "open"


def test_bad_checkout_bodies_are_400_and_someone_elses_cart_is_404(
    shop: Shop, client: APIClient, api_client_for: Callable[..., APIClient]
) -> None:
    token = _cart(client, [("ORGANIC-TEE-S", 1)])
    bad = client.post(
        f"/api/v1/carts/{token}/checkout/", {"fulfillment": {"method": "pickup"}}, format="json"
    )
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (400, "fulfillment.location")
    till = client.post(
        f"/api/v1/carts/{token}/checkout/",
        {"fulfillment": {"method": "carry_out", "location": "ams-central"}},
        format="json",
    )
    assert till.status_code == 400
    ttl = client.post(
        f"/api/v1/carts/{token}/hold/", {"fulfillment": SHIP, "ttl_seconds": 7200}, format="json"
    )
    assert (ttl.status_code, ttl.json()["errors"][0]["field"]) == (400, "ttl_seconds")
    other = api_client_for(channels=["marketplace"])
    assert _checkout(other, token).status_code == 404
    assert (
        other.post(f"/api/v1/carts/{token}/hold/", {"fulfillment": SHIP}, format="json").status_code
        == 404
    )
    assert _checkout(client, "no-such-cart").status_code == 404
    assert Order.objects.count() == 0


def test_a_guest_cart_merges_with_the_customers_saved_cart(
    shop: Shop, api_client_for: Callable[..., APIClient]
) -> None:
    # given one partner selling on the webshop and in the app
    app: Channel = ChannelFactory(code="app", currency="EUR")  # type: ignore[assignment]
    app.locations.set([shop.warehouse, shop.amsterdam])
    product = shop.s.product
    for variant in (shop.s, shop.m, shop.l):
        catalog_services.price_set(variant_id=variant.pk, channel_code="app", amount="19.99")
    catalog_services.product_publish(product_ids=[product.pk], channel_code="app")
    partner_key = api_client_for(channels=[shop.channel, app])
    # the customer's saved cart, made in the app while signed in
    saved = _cart(partner_key, [("ORGANIC-TEE-S", 1), ("ORGANIC-TEE-M", 2)], channel="app")
    tied = partner_key.patch(
        f"/api/v1/carts/{saved}/", {"customer": "Ann@Example.com"}, format="json"
    )
    assert tied.status_code == 200, tied.content
    customer_id = tied.json()["customer_id"]
    assert (tied.json()["customer_email"], customer_id is not None) == ("ann@example.com", True)
    # and a guest cart on the webshop, where she signs in
    guest = _cart(partner_key, [("ORGANIC-TEE-M", 1), ("ORGANIC-TEE-L", 1)])
    merged = partner_key.patch(f"/api/v1/carts/{guest}/", {"customer": str(customer_id)})
    assert merged.status_code == 200, merged.content
    # then the guest cart survives with every line; a SKU in both keeps the larger quantity
    assert merged.json()["token"] == guest
    assert sorted((x["sku"], x["quantity"]) for x in merged.json()["lines"]) == [
        ("ORGANIC-TEE-L", 1),
        ("ORGANIC-TEE-M", 2),
        ("ORGANIC-TEE-S", 1),
    ]
    assert not Cart.objects.filter(token=saved).exists()
    assert partner_key.get(f"/api/v1/carts/{saved}/").status_code == 404
    # and any device of the partner finds it through the customer
    found = partner_key.get(f"/api/v1/customers/{customer_id}/cart/")
    assert (found.status_code, found.json()["token"]) == (200, guest)
    # tying it again changes nothing
    again = partner_key.patch(f"/api/v1/carts/{guest}/", {"customer": str(customer_id)})
    assert (again.status_code, len(again.json()["lines"])) == (200, 3)


def test_another_partner_never_sees_or_merges_the_customers_cart(
    shop: Shop, api_client_for: Callable[..., APIClient]
) -> None:
    mine = api_client_for(channels=[shop.channel])
    theirs = api_client_for(channels=["marketplace"])
    token = _cart(mine, [("ORGANIC-TEE-S", 1)])
    customer_id = mine.patch(f"/api/v1/carts/{token}/", {"customer": "bo@example.com"}).json()[
        "customer_id"
    ]
    # the other partner cannot see the customer at all
    hidden = theirs.get(f"/api/v1/customers/{customer_id}/cart/")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "not_found")
    # once the customer shops with them too, they still see only their own carts
    customer_services.customer_resolve(email="bo@example.com", channel_code="marketplace")
    none_there = theirs.get(f"/api/v1/customers/{customer_id}/cart/")
    assert none_there.status_code == 404
    assert "no open cart" in none_there.json()["detail"]
    assert mine.get(f"/api/v1/customers/{customer_id}/cart/").json()["token"] == token


def test_tying_a_cart_refuses_bad_customers_and_changes_nothing(
    shop: Shop, client: APIClient, api_client_for: Callable[..., APIClient]
) -> None:
    token = _cart(client, [("ORGANIC-TEE-S", 1)])
    unknown = client.patch(f"/api/v1/carts/{token}/", {"customer": "999999"}, format="json")
    assert (unknown.status_code, unknown.json()["code"]) == (400, "customer_not_found")
    # a customer of another partner's channel only is not one we may tie
    stranger = customer_services.customer_resolve(
        email="x@example.com", channel_code="marketplace"
    ).customer
    ChannelFactory(code="marketplace")
    hidden = client.patch(f"/api/v1/carts/{token}/", {"customer": str(stranger.pk)})
    assert (hidden.status_code, hidden.json()["code"]) == (400, "customer_not_found")
    not_email = client.patch(f"/api/v1/carts/{token}/", {"customer": "nobody"}, format="json")
    assert (not_email.status_code, not_email.json()["errors"][0]["field"]) == (400, "customer")
    empty = client.patch(f"/api/v1/carts/{token}/", {}, format="json")
    assert empty.status_code == 400
    assert Cart.objects.get(token=token).customer_id is None
    # a cart of one customer is not taken over by another
    client.patch(f"/api/v1/carts/{token}/", {"customer": "cy@example.com"}, format="json")
    conflict = client.patch(f"/api/v1/carts/{token}/", {"customer": "di@example.com"})
    assert (conflict.status_code, conflict.json()["code"]) == (409, "cart_customer_conflict")
    assert Cart.objects.get(token=token).customer_email == "cy@example.com"
    assert not CustomerIdentifier.objects.filter(value="di@example.com").exists()


def test_checkout_of_a_tied_cart_is_for_its_customer(shop: Shop, client: APIClient) -> None:
    shop.receive(shop.warehouse, shop.l, 1)
    token = _cart(client, [("ORGANIC-TEE-L", 1)])
    tied = client.patch(f"/api/v1/carts/{token}/", {"customer": "eve@example.com"})
    response = _checkout(client, token)
    assert response.status_code == 201, response.content
    assert (response.json()["customer_id"], response.json()["customer_email"]) == (
        tied.json()["customer_id"],
        "eve@example.com",
    )
    assert Decimal(response.json()["total"]) == Decimal("19.99")


def test_changing_a_line_releases_the_carts_hold(shop: Shop, client: APIClient) -> None:
    shop.receive(shop.warehouse, shop.s, 3)
    token = _cart(client, [("ORGANIC-TEE-S", 2)])
    client.post(f"/api/v1/carts/{token}/hold/", {"fulfillment": SHIP}, format="json")
    # a second hold replaces the first instead of holding twice
    client.post(f"/api/v1/carts/{token}/hold/", {"fulfillment": SHIP}, format="json")
    reference = Cart.objects.get(token=token).hold_reference
    assert list(
        StockHold.objects.filter(reference=reference)
        .order_by("pk")
        .values_list("status", flat=True)
    ) == ["released", "active"]
    client.post(
        f"/api/v1/carts/{token}/lines/", {"sku": "ORGANIC-TEE-S", "quantity": 1}, format="json"
    )
    assert not StockHold.objects.filter(reference=reference, status="active").exists()
    assert CartLine.objects.get(cart__token=token).quantity == 1
