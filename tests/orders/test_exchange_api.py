"""Exchanges through the partner API (``POST /api/v1/orders/{number}/exchanges/``): another size
taken from a store's shelf, shipped, or received later anywhere; every refusal is problem+json
with a stable code and leaves nothing behind."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from orders import services
from orders.models import Order, Payment, Refund, Return
from tests.journeys.steps import staff_user
from tests.shop import Shop

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/{}/exchanges/"


@pytest.fixture
def client(shop: Shop, api_client_for: Callable[..., APIClient]) -> APIClient:
    return api_client_for(channels=[shop.channel])


def _delivered(shop: Shop, quantity: int = 1) -> Order:
    """A web order of ``quantity`` x S, paid (captured) and delivered."""
    shop.receive(shop.warehouse, shop.s, quantity)
    order = services.order_place(
        channel_code="webshop",
        lines=[services.LineInput("ORGANIC-TEE-S", quantity)],
        method="ship",
        address={"country": "NL", "city": "Utrecht", "line1": "Oudegracht 1"},
        customer=services.CustomerInput(email="ex@example.com", name="Ex"),
        payment_status="captured",
    ).order
    fulfillment = order.fulfillments.get()
    services.fulfillment_ship(fulfillment_id=fulfillment.pk, carrier="UPS", tracking_number="1Z")
    services.fulfillment_deliver(fulfillment_id=fulfillment.pk)
    return order


def _nothing_changed(shop: Shop, order: Order) -> None:
    assert Return.objects.count() == 0
    assert Order.objects.count() == 1
    assert shop.level(shop.amsterdam, shop.m) == (1, 0)
    order.refresh_from_db()
    assert order.timeline.filter(kind="exchange").count() == 0


def test_swap_a_size_from_the_store_shelf(shop: Shop, client: APIClient) -> None:
    order = _delivered(shop)
    shop.receive(shop.amsterdam, shop.m, 1)
    response = client.post(
        URL.format(order.number),
        {
            "return_sku": "ORGANIC-TEE-S",
            "new_sku": "ORGANIC-TEE-M",
            "location": "ams-central",
            "fulfillment": {"method": "carry_out"},
            "disposition": "restock",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="swap-1",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["return"]["order"], body["return"]["status"], body["return"]["location"]) == (
        order.number,
        "received",
        "ams-central",
    )
    assert [(x["sku"], x["quantity"], x["disposition"]) for x in body["return"]["lines"]] == [
        ("ORGANIC-TEE-S", 1, "restock")
    ]
    new = body["order"]
    assert (new["fulfillment_method"], new["status"], new["total"], new["payment_status"]) == (
        "carry_out",
        "completed",
        "0.00",
        "captured",
    )
    assert [(f["location"], f["status"]) for f in new["fulfillments"]] == [
        ("ams-central", "carried_out")
    ]
    assert new["customer_id"] == order.customer_id
    # the M left the store's shelf, the returned S is back on it; nothing refunded
    assert shop.level(shop.amsterdam, shop.m) == (0, 0)
    assert shop.level(shop.amsterdam, shop.s) == (1, 0)
    assert Refund.objects.count() == 0

    replay = client.post(
        URL.format(order.number),
        {
            "return_sku": "ORGANIC-TEE-S",
            "new_sku": "ORGANIC-TEE-M",
            "location": "ams-central",
            "fulfillment": {"method": "carry_out"},
            "disposition": "restock",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="swap-1",
    )
    assert (replay.status_code, replay.json()["order"]["number"]) == (201, new["number"])
    assert Order.objects.count() == 2


def test_shipped_exchange_is_received_later_in_a_store_without_a_refund(
    shop: Shop, client: APIClient
) -> None:
    order = _delivered(shop)
    shop.receive(shop.warehouse, shop.m, 1)
    response = client.post(
        URL.format(order.number),
        {
            "return_sku": "ORGANIC-TEE-S",
            "new_sku": "ORGANIC-TEE-M",
            "location": "utr-oudegracht",
            "fulfillment": {"method": "ship"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["return"]["status"] == "authorized"
    new = Order.objects.get(number=body["order"]["number"])
    assert (new.fulfillment_method, new.shipping_address["city"]) == ("ship", "Utrecht")
    assert shop.level(shop.warehouse, shop.m) == (1, 1)
    rma = body["return"]["rma"]
    line_id = body["return"]["lines"][0]["id"]
    received = client.post(
        f"/api/v1/returns/{rma}/receive/",
        {"lines": [{"id": line_id, "disposition": "damaged"}]},
        format="json",
    )
    assert received.status_code == 200, received.content
    assert received.json()["refunds"] == []
    assert Refund.objects.count() == 0


def test_unknown_new_sku_is_refused_and_changes_nothing(shop: Shop, client: APIClient) -> None:
    order = _delivered(shop)
    shop.receive(shop.amsterdam, shop.m, 1)
    response = client.post(
        URL.format(order.number),
        {
            "return_sku": "ORGANIC-TEE-S",
            "new_sku": "NO-SUCH-SKU",
            "location": "ams-central",
            "fulfillment": {"method": "carry_out"},
            "disposition": "restock",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "exchange_invalid"
    assert problem["errors"] == [
        {"field": "new_sku", "code": "unknown_sku", "message": "NO-SUCH-SKU"}
    ]
    _nothing_changed(shop, order)


def test_more_than_was_bought_is_refused_and_changes_nothing(shop: Shop, client: APIClient) -> None:
    order = _delivered(shop)
    shop.receive(shop.amsterdam, shop.m, 1)
    response = client.post(
        URL.format(order.number),
        {
            "return_sku": "ORGANIC-TEE-S",
            "new_sku": "ORGANIC-TEE-M",
            "quantity": 2,
            "location": "ams-central",
            "fulfillment": {"method": "carry_out"},
        },
        format="json",
    )
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "return_invalid"
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        ("lines.0.quantity", "exceeds_returnable")
    ]
    _nothing_changed(shop, order)


def test_an_empty_shelf_is_a_409_and_changes_nothing(shop: Shop, client: APIClient) -> None:
    order = _delivered(shop)
    shop.receive(shop.amsterdam, shop.m, 1)
    services.order_place(  # someone else's pickup commits the last M
        channel_code="webshop",
        lines=[services.LineInput("ORGANIC-TEE-M", 1)],
        method="pickup",
        pickup_location_code="ams-central",
    )
    response = client.post(
        URL.format(order.number),
        {
            "return_sku": "ORGANIC-TEE-S",
            "new_sku": "ORGANIC-TEE-M",
            "location": "ams-central",
            "fulfillment": {"method": "carry_out"},
        },
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert Return.objects.count() == 0
    assert Order.objects.count() == 2
    assert shop.level(shop.amsterdam, shop.m) == (1, 1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"new_sku": "ORGANIC-TEE-M", "location": "ams-central"}, "return_sku"),
        (
            {
                "return_sku": "ORGANIC-TEE-S",
                "new_sku": "ORGANIC-TEE-M",
                "location": "ams-central",
                "fulfillment": {"method": "teleport"},
            },
            "fulfillment",
        ),
        (
            {
                "return_sku": "ORGANIC-TEE-S",
                "new_sku": "ORGANIC-TEE-M",
                "location": "ams-central",
                "fulfillment": {"method": "carry_out"},
                "quantity": 0,
            },
            "quantity",
        ),
    ],
)
def test_malformed_bodies_are_validation_problems(
    shop: Shop, client: APIClient, body: dict[str, Any], field: str
) -> None:
    order = _delivered(shop)
    shop.receive(shop.amsterdam, shop.m, 1)
    response = client.post(URL.format(order.number), body, format="json")
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert any(e["field"].startswith(field) for e in problem["errors"])
    _nothing_changed(shop, order)


def test_another_partners_order_is_404(
    shop: Shop, api_client_for: Callable[..., APIClient]
) -> None:
    order = _delivered(shop)
    stranger = api_client_for(channels=["marketplace"])
    response = stranger.post(
        URL.format(order.number),
        {
            "return_sku": "ORGANIC-TEE-S",
            "new_sku": "ORGANIC-TEE-M",
            "location": "ams-central",
            "fulfillment": {"method": "carry_out"},
        },
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert Return.objects.count() == 0


def test_refunds_point_at_the_original_payment(shop: Shop, client: APIClient) -> None:
    """The online capture recorded a card payment; a refund through the API goes back to it."""
    order = _delivered(shop)
    payment = Payment.objects.get(order=order)
    assert (payment.tender, payment.amount, payment.location) == ("card", Decimal("19.99"), None)
    response = client.post(
        f"/api/v1/orders/{order.number}/refunds/",
        {"lines": [{"sku": "ORGANIC-TEE-S", "quantity": 1}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="r1",
    )
    assert response.status_code == 201, response.content
    assert Refund.objects.get().payment == payment


def test_admin_exchange_action(shop: Shop) -> None:
    """Customer service swaps a size from the order page; a refusal changes nothing."""
    order = _delivered(shop)
    shop.receive(shop.warehouse, shop.m, 1)
    service = Client()
    service.force_login(staff_user("cs", "Customer service"))
    page = service.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert 'id="exchange-form"' in page
    url = f"/admin/orders/order/{order.pk}/action/"
    form = {
        "action": "exchange",
        "return_sku": "ORGANIC-TEE-S",
        "new_sku": "NOPE",
        "quantity": "1",
        "location": "ams-central",
        "method": "ship",
    }
    refused = service.post(url, form, follow=True).content.decode()
    assert "sells no SKU &#x27;NOPE&#x27;: nothing was exchanged." in refused
    assert (Return.objects.count(), Order.objects.count()) == (0, 1)
    done = service.post(url, {**form, "new_sku": "ORGANIC-TEE-M"}, follow=True).content.decode()
    assert "Exchange made: return R" in done
    new = Order.objects.get(external_id__startswith="exchange:")
    assert (new.fulfillment_method, new.shipping_address["city"]) == ("ship", "Utrecht")
    assert Return.objects.get().status == "authorized"
