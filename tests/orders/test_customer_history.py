"""The customer's whole history: ``GET /api/v1/customers/{id}/orders/`` (orders of the key's
channels with their returns), ``GET /api/v1/orders/?customer=``, and the orders selector the
till shows (every channel)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog import services as catalog_services
from core.models import Channel
from orders import selectors, services
from orders.models import Order
from tests.factories import ChannelFactory
from tests.shop import Shop

pytestmark = pytest.mark.django_db

EMAIL = "mia@example.com"


def _sell_on(shop: Shop, code: str, kind: str) -> Channel:
    """Publish the shop's tee on another channel, selling from the same locations."""
    channel: Channel = ChannelFactory(code=code, kind=kind, currency="EUR")  # type: ignore[assignment]
    channel.locations.set([shop.warehouse, shop.amsterdam, shop.utrecht])
    for variant in (shop.s, shop.m, shop.l):
        catalog_services.price_set(
            variant_id=variant.pk, channel_code=code, amount=Decimal("19.99")
        )
    catalog_services.product_publish(product_ids=[shop.s.product_id], channel_code=code)
    return channel


def _shipped(shop: Shop, channel: str, external_id: str, **customer: str) -> Order:
    shop.receive(shop.warehouse, shop.m, 1)
    order = services.order_place(
        channel_code=channel,
        external_id=external_id,
        lines=[services.LineInput("ORGANIC-TEE-M", 1)],
        method="ship",
        address={"country": "NL"},
        customer=services.CustomerInput(**customer),
        payment_status="captured",
    ).order
    fulfillment = order.fulfillments.get()
    services.fulfillment_ship(fulfillment_id=fulfillment.pk, carrier="UPS", tracking_number="1")
    return order


@pytest.fixture
def history(shop: Shop) -> dict[str, Order]:
    """Mia buys on the webshop (by email), the app (email and phone) and a marketplace (phone);
    Noah buys on the webshop. The web order has a return."""
    _sell_on(shop, "app", Channel.Kind.APP)
    _sell_on(shop, "marketplace", Channel.Kind.MARKETPLACE)
    web = _shipped(shop, "webshop", "W-1", email=EMAIL)
    app = _shipped(shop, "app", "A-1", email=EMAIL, phone="+31 6 11112222")
    market = _shipped(shop, "marketplace", "M-1", phone="0611112222")
    other = _shipped(shop, "webshop", "W-2", email="noah@example.com")
    services.return_create(
        order_id=web.pk,
        lines=[services.ReturnLineInput("ORGANIC-TEE-M", 1)],
        location_code="ams-central",
    )
    return {"web": web, "app": app, "market": market, "other": other}


def test_one_customer_across_channels(history: dict[str, Order]) -> None:
    ids = {order.customer_id for key, order in history.items() if key != "other"}
    assert len(ids) == 1 and None not in ids
    assert history["other"].customer_id not in ids


def test_customer_orders_are_those_of_the_keys_channels_with_returns(
    history: dict[str, Order], api_client_for: Callable[..., APIClient]
) -> None:
    client = api_client_for(channels=["webshop", "app"])
    customer_id = history["web"].customer_id
    response = client.get(f"/api/v1/customers/{customer_id}/orders/")
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [(r["number"], r["channel"]) for r in rows] == [
        (history["app"].number, "app"),
        (history["web"].number, "webshop"),
    ]  # newest first; the marketplace's order is not this partner's
    web = rows[1]
    assert [
        (r["status"], [(x["sku"], x["quantity"]) for x in r["lines"]]) for r in web["returns"]
    ] == [("authorized", [("ORGANIC-TEE-M", 1)])]
    assert rows[0]["returns"] == []


def test_the_marketplace_sees_its_own_order_of_the_same_customer(
    history: dict[str, Order], api_client_for: Callable[..., APIClient]
) -> None:
    client = api_client_for(channels=["marketplace"])
    response = client.get(f"/api/v1/customers/{history['market'].customer_id}/orders/")
    assert [r["number"] for r in response.json()["results"]] == [history["market"].number]


def test_a_customer_not_on_the_keys_channels_is_404(
    history: dict[str, Order], api_client_for: Callable[..., APIClient]
) -> None:
    client = api_client_for(channels=["marketplace"])
    response = client.get(f"/api/v1/customers/{history['other'].customer_id}/orders/")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert response["Content-Type"].startswith("application/problem+json")
    missing = client.get("/api/v1/customers/999999/orders/")
    assert missing.status_code == 404


def test_orders_filter_by_customer(
    history: dict[str, Order], api_client_for: Callable[..., APIClient]
) -> None:
    client = api_client_for(channels=["webshop", "app"])
    customer_id = history["web"].customer_id
    response = client.get("/api/v1/orders/", {"customer": str(customer_id)})
    assert response.status_code == 200
    assert sorted(r["number"] for r in response.json()["results"]) == sorted(
        [history["web"].number, history["app"].number]
    )
    other = client.get("/api/v1/orders/", {"customer": str(history["other"].customer_id)})
    assert [r["number"] for r in other.json()["results"]] == [history["other"].number]
    bad = client.get("/api/v1/orders/", {"customer": "mia"})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_parameter")


def test_customer_orders_need_orders_read(
    history: dict[str, Order], api_client_for: Callable[..., APIClient]
) -> None:
    client = api_client_for(channels=["webshop"], scopes=["customers:read"])
    response = client.get(f"/api/v1/customers/{history['web'].customer_id}/orders/")
    assert response.status_code == 403


def test_customer_orders_queries_do_not_grow_with_orders(
    shop: Shop, history: dict[str, Order], api_client_for: Callable[..., APIClient]
) -> None:
    client = api_client_for(channels=["webshop", "app", "marketplace"])
    url = f"/api/v1/customers/{history['web'].customer_id}/orders/"
    client.get(url)  # the key's lookup is cached after the first request
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(url).json()["results"]) == 3
    for index in range(4):
        _shipped(shop, "webshop", f"W-more-{index}", email=EMAIL)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(url).json()["results"]) == 7
    assert len(many.captured_queries) == len(few.captured_queries)


def test_recent_orders_for_the_till_span_every_channel(history: dict[str, Order]) -> None:
    customer = history["web"].customer
    assert customer is not None
    with CaptureQueriesContext(connection) as queries:
        recent = selectors.customer_recent_orders(customer=customer, limit=2)
        for order in recent:
            list(order.lines.all()), list(order.returns.all()), order.channel.code
    assert [o.number for o in recent] == [history["market"].number, history["app"].number]
    assert len(queries.captured_queries) == 3
    everything = selectors.customer_recent_orders(customer=customer.pk, limit=10)
    assert {o.channel.code for o in everything} == {"webshop", "app", "marketplace"}
