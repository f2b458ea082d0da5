"""Fulfilment actions, return receipt and refunds through the partner API (a WMS, a 3PL, a POS)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from orders.models import Fulfillment, Order
from tests.shop import Shop

pytestmark = pytest.mark.django_db

SHIP = {
    "channel": "webshop",
    "customer": {"email": "ann@example.com"},
    "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 2}],
    "fulfillment": {"method": "ship", "address": {"country": "NL", "city": "Utrecht"}},
    "shipping_total": "4.95",
    "payment_status": "authorized",
}
PICKUP = {
    "channel": "webshop",
    "customer": {"email": "bo@example.com"},
    "lines": [{"sku": "ORGANIC-TEE-M", "quantity": 1}],
    "fulfillment": {"method": "pickup", "location": "ams-central"},
}


@pytest.fixture
def client(shop: Shop, api_client_for: Callable[..., APIClient]) -> APIClient:
    return api_client_for(channels=[shop.channel])


def _place(client: APIClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def _act(client: APIClient, number: str, fulfillment_id: int, action: str, **data: Any) -> Any:
    return client.post(
        f"/api/v1/orders/{number}/fulfillments/{fulfillment_id}/{action}/", data, format="json"
    )


@pytest.mark.django_db(transaction=True)  # the emails go after commit
def test_a_wms_picks_ships_and_delivers_a_parcel(
    shop: Shop, client: APIClient, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    shop.receive(shop.warehouse, shop.s, 5)
    order = _place(client, SHIP)
    [fulfillment] = order["fulfillments"]
    number, pk = order["number"], fulfillment["id"]

    assert _act(client, number, pk, "pick").json()["status"] == "processing"
    refused = _act(client, number, pk, "ship", carrier="PostNL")
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_transition"
    shipped = _act(client, number, pk, "ship", carrier="PostNL", tracking_number="3SABC123")
    assert shipped.status_code == 200
    body = shipped.json()
    assert body["status"] == "shipped" and body["payment_status"] == "captured"
    assert body["fulfillments"][0]["tracking_number"] == "3SABC123"
    assert shop.level(shop.warehouse, shop.s) == (3, 0)  # sold: off the shelf and the books
    assert any("has shipped" in m.subject for m in mail.outbox)
    assert _act(client, number, pk, "deliver").json()["status"] == "completed"
    again = _act(client, number, pk, "deliver")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


@pytest.mark.django_db(transaction=True)
def test_a_pickup_through_the_api_needs_the_code_the_customer_got(
    shop: Shop, client: APIClient, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    shop.receive(shop.amsterdam, shop.m, 1)
    order = _place(client, PICKUP)
    number, pk = order["number"], order["fulfillments"][0]["id"]
    _act(client, number, pk, "pick")
    ready = _act(client, number, pk, "ready").json()
    assert ready["status"] == "ready_for_pickup"
    assert "code" not in str(ready["fulfillments"][0].get("pickup_code", ""))  # never echoed
    code = re.search(r"pickup code: (\d{6})", mail.outbox[-1].body).group(1)  # type: ignore[union-attr]
    wrong = _act(client, number, pk, "hand_over", code="000000" if code != "000000" else "1")
    assert wrong.status_code == 403 and wrong.json()["code"] == "pickup_code_invalid"
    done = _act(client, number, pk, "hand_over", code=code)
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert shop.level(shop.amsterdam, shop.m) == (0, 0)


def test_a_missing_item_reported_through_the_api_is_sourced_again(
    shop: Shop, client: APIClient
) -> None:
    shop.receive(shop.warehouse, shop.s, 2)
    shop.receive(shop.amsterdam, shop.s, 2)
    order = _place(client, SHIP)
    [fulfillment] = order["fulfillments"]
    assert fulfillment["location"] == shop.warehouse.code
    unknown = _act(client, order["number"], fulfillment["id"], "missing", sku="NOPE")
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "sku"
    response = _act(client, order["number"], fulfillment["id"], "missing", sku="ORGANIC-TEE-S")
    assert response.status_code == 200, response.content
    live = [f for f in response.json()["fulfillments"] if f["status"] != "cancelled"]
    assert [(f["location"], f["lines"]) for f in live] == [
        (shop.amsterdam.code, [{"sku": "ORGANIC-TEE-S", "quantity": 2}])
    ]
    assert shop.level(shop.warehouse, shop.s) == (0, 0)  # the two were not there
    assert shop.level(shop.amsterdam, shop.s) == (2, 2)


def test_actions_are_scoped_and_checked(
    shop: Shop, client: APIClient, api_client_for: Callable[..., APIClient]
) -> None:
    shop.receive(shop.warehouse, shop.s, 5)
    order = _place(client, SHIP)
    number, pk = order["number"], order["fulfillments"][0]["id"]
    assert _act(client, number, pk, "teleport").status_code == 404
    assert _act(client, number, 999999, "pick").status_code == 404
    reader = api_client_for(channels=[shop.channel], scopes=["orders:read"])
    assert _act(reader, number, pk, "pick").status_code == 403
    stranger = api_client_for(channels=[], scopes=["orders:write"])
    assert _act(stranger, number, pk, "pick").status_code == 404
    assert Fulfillment.objects.get(pk=pk).status == "allocated"


def _shipped_and_delivered(shop: Shop, client: APIClient) -> dict[str, Any]:
    shop.receive(shop.warehouse, shop.s, 5)
    order = _place(client, {**SHIP, "payment_status": "captured"})
    number, pk = order["number"], order["fulfillments"][0]["id"]
    _act(client, number, pk, "ship", carrier="DHL", tracking_number="JD0001")
    _act(client, number, pk, "deliver")
    return order


def test_a_return_is_received_and_refunded_once_through_the_api(
    shop: Shop, client: APIClient
) -> None:
    order = _shipped_and_delivered(shop, client)
    created = client.post(
        "/api/v1/returns/",
        {
            "order": order["number"],
            "location": shop.amsterdam.code,
            "reason": "too small",
            "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 2}],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    rma, [line] = created.json()["rma"], created.json()["lines"]
    bad = client.post(
        f"/api/v1/returns/{rma}/receive/",
        {"lines": [{"id": line["id"], "disposition": "resell"}]},
        format="json",
    )
    assert bad.status_code == 400 and "disposition" in str(bad.json()["errors"])
    received = client.post(
        f"/api/v1/returns/{rma}/receive/",
        {"lines": [{"id": line["id"], "disposition": "restock"}]},
        format="json",
    )
    assert received.status_code == 200, received.content
    assert received.json()["lines"][0]["disposition"] == "restock"
    assert shop.level(shop.amsterdam, shop.s) == (2, 0)  # back on the store's shelf

    refund = {"rma": rma, "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 2}], "reason": "return"}
    url = f"/api/v1/orders/{order['number']}/refunds/"
    assert client.post(url, refund, format="json").json()["code"] == "idempotency_key_required"
    first = client.post(url, refund, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    assert first.status_code == 201, first.content
    assert first.json()["amount"] == "39.98"
    retry = client.post(url, refund, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    assert (retry.status_code, retry.json()["id"]) == (200, first.json()["id"])
    more = client.post(url, refund, format="json", HTTP_IDEMPOTENCY_KEY="r-2")
    assert more.status_code == 400, more.content  # those units are refunded already
    assert more.json()["errors"][0]["code"] == "exceeds_refundable"
    paid = Order.objects.get(number=order["number"])
    assert paid.payment_status == "partially_refunded"  # the shipping is still paid


def test_a_refund_of_more_than_was_paid_is_refused_and_changes_nothing(
    shop: Shop, client: APIClient
) -> None:
    order = _shipped_and_delivered(shop, client)
    response = client.post(
        f"/api/v1/orders/{order['number']}/refunds/",
        {"shipping_amount": "100.00"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="too-much",
    )
    assert response.status_code == 400 and response["Content-Type"].startswith(
        "application/problem+json"
    )
    assert not Order.objects.get(number=order["number"]).refunds.exists()
