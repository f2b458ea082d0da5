"""End to end through the public API and the services, with exact stock and money at every step:
the click & collect journey, a split ship order, and a return in store of an online order.

Run on PostgreSQL with ``DATABASE_URL=postgres://...`` (the suite runs them on SQLite too)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import ChangeEvent
from inventory import services as inventory_services
from inventory.models import StockLevel
from orders import services
from orders.exceptions import InvalidTransition, PickupCodeInvalid, RefundExceedsPaid
from orders.models import Fulfillment, Notification, Order, Return
from orders.services import RefundLineInput
from tests.shop import Shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(shop: Shop, api_client_for: Callable[..., APIClient]) -> APIClient:
    return api_client_for(channels=[shop.channel])


def _topics(number: str) -> list[str]:
    return list(
        ChangeEvent.objects.filter(aggregate="order", aggregate_id=number)
        .order_by("sequence")
        .values_list("topic", flat=True)
    )


def test_bopis_journey(
    shop: Shop, client: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    # given 1 S in the Amsterdam store, none of M but 2 M on a transfer arriving tomorrow
    shop.receive(shop.amsterdam, shop.s, 1)
    shop.receive(shop.warehouse, shop.m, 5)
    arrival = timezone.now() + timedelta(days=1)
    transfer = inventory_services.transfer_create(
        source_id=shop.warehouse.pk,
        destination_id=shop.amsterdam.pk,
        lines={shop.m.pk: 2},
        expected_at=arrival,
    )
    # when the customer orders S and M for pickup in Amsterdam
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/orders/",
            {
                "channel": "webshop",
                "customer": {"email": "bo@example.com"},
                "lines": [
                    {"sku": "ORGANIC-TEE-S", "quantity": 1},
                    {"sku": "ORGANIC-TEE-M", "quantity": 1},
                ],
                "fulfillment": {"method": "pickup", "location": "ams-central"},
                "payment_status": "authorized",
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    number = body["number"]
    # then S is committed at the store now, M waits for the transfer with a later promise
    by_status = {f["status"]: f for f in body["fulfillments"]}
    assert sorted(by_status) == ["allocated", "awaiting_transfer"]
    assert by_status["awaiting_transfer"]["lines"] == [{"sku": "ORGANIC-TEE-M", "quantity": 1}]
    promised = by_status["awaiting_transfer"]["promised_at"]
    assert promised.startswith((arrival + timedelta(minutes=60)).strftime("%Y-%m-%dT%H:%M"))
    assert shop.level(shop.amsterdam, shop.s) == (1, 1)
    assert shop.level(shop.amsterdam, shop.m) == (0, 0)
    assert (body["total"], body["amount_captured"]) == ("39.98", "0.00")
    assert [m.subject for m in mail.outbox] == [f"Your order {number} is confirmed"]

    # when the transfer arrives and both parts are picked and made ready
    inventory_services.transfer_ship(transfer_id=transfer.pk)
    inventory_services.transfer_receive(transfer_id=transfer.pk, received={shop.m.pk: 2})
    allocated = Fulfillment.objects.get(pk=by_status["allocated"]["id"])
    awaiting = Fulfillment.objects.get(pk=by_status["awaiting_transfer"]["id"])
    services.fulfillment_pick(fulfillment_id=awaiting.pk)
    assert shop.level(shop.amsterdam, shop.m) == (2, 1)
    services.fulfillment_pick(fulfillment_id=allocated.pk)
    codes = []
    with django_capture_on_commit_callbacks(execute=True):
        for fulfillment in (allocated, awaiting):
            codes.append(services.fulfillment_ready_for_pickup(fulfillment_id=fulfillment.pk)[1])
    assert client.get(f"/api/v1/orders/{number}/").json()["status"] == "ready_for_pickup"
    ready_mails = [m for m in mail.outbox if "ready for pickup" in m.subject]
    assert len(ready_mails) == 2 and codes[0] in ready_mails[0].body
    # the code is not stored in clear anywhere
    assert not Fulfillment.objects.filter(pickup_code_hash=codes[0]).exists()

    # when the customer comes with a wrong code, then nothing changes
    with pytest.raises(PickupCodeInvalid):
        services.fulfillment_hand_over(fulfillment_id=allocated.pk, code="000000x")
    assert shop.level(shop.amsterdam, shop.s) == (1, 1)

    # when both are handed over with the right codes
    services.fulfillment_hand_over(fulfillment_id=allocated.pk, code=codes[0])
    services.fulfillment_hand_over(fulfillment_id=awaiting.pk, code=codes[1])
    # then the units left the store, the payment is captured, the order is completed
    assert shop.level(shop.amsterdam, shop.s) == (0, 0)
    assert shop.level(shop.amsterdam, shop.m) == (1, 0)
    final = client.get(f"/api/v1/orders/{number}/").json()
    assert (final["status"], final["payment_status"], final["amount_captured"]) == (
        "completed",
        "captured",
        "39.98",
    )
    assert _topics(number) == [
        "order.created",
        "order.updated",  # processing
        "order.updated",  # ready for pickup
        "fulfillment.ready_for_pickup",
        "fulfillment.ready_for_pickup",
        "fulfillment.picked_up",
        "order.updated",  # completed
        "fulfillment.picked_up",
    ]
    with pytest.raises(InvalidTransition):
        services.fulfillment_hand_over(fulfillment_id=allocated.pk, code=codes[0])


def test_unclaimed_pickup_is_cancelled_after_the_hold_and_the_customer_told_once(
    shop: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    shop.receive(shop.amsterdam, shop.s, 2)
    order = services.order_place(
        channel_code="webshop",
        lines=[services.LineInput("ORGANIC-TEE-S", 2)],
        method="pickup",
        pickup_location_code="ams-central",
        customer=services.CustomerInput(email="late@example.com"),
    ).order
    fulfillment = order.fulfillments.get()
    services.fulfillment_pick(fulfillment_id=fulfillment.pk)
    services.fulfillment_ready_for_pickup(fulfillment_id=fulfillment.pk)
    fulfillment.refresh_from_db()
    assert fulfillment.hold_until is not None
    # not yet due: nothing happens
    assert services.pickups_expire(now=fulfillment.hold_until - timedelta(minutes=1)) == []
    with django_capture_on_commit_callbacks(execute=True):
        assert services.pickups_expire(now=fulfillment.hold_until) == [order.number]
        assert services.pickups_expire(now=fulfillment.hold_until) == []
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert shop.level(shop.amsterdam, shop.s) == (2, 0)
    # the emails queued before (confirmation, ready for pickup) and the cancellation, each once
    assert [m.subject for m in mail.outbox] == [
        f"Your order {order.number} is confirmed",
        f"Your order {order.number} is ready for pickup",
        f"Your order {order.number} was cancelled",
    ]
    # a retried task sends nothing more
    cancelled = Notification.objects.get(
        order=order, kind="cancelled", subject_key=str(fulfillment.pk)
    )
    assert not services.notification_send(notification_id=cancelled.pk)
    assert services.notifications_send_pending() == 0
    assert len(mail.outbox) == 3


def test_split_ship_order(
    shop: Shop, client: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    # given S in the warehouse only, M in the Amsterdam store only
    shop.receive(shop.warehouse, shop.s, 4)
    shop.receive(shop.amsterdam, shop.m, 2)
    response = client.post(
        "/api/v1/orders/",
        {
            "channel": "webshop",
            "external_id": "WEB-SPLIT",
            "customer": {"email": "sam@example.com"},
            "lines": [
                {"sku": "ORGANIC-TEE-S", "quantity": 3},
                {"sku": "ORGANIC-TEE-M", "quantity": 2},
            ],
            "fulfillment": {
                "method": "ship",
                "address": {
                    "country": "NL",
                    "city": "Utrecht",
                    "latitude": 52.09,
                    "longitude": 5.12,
                },
            },
            "shipping_total": "5.00",
            "payment_status": "captured",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    number = body["number"]
    # then two parcels, and exact money: 5 x 19.99 + 5.00
    assert (body["subtotal"], body["total"], body["amount_captured"]) == (
        "99.95",
        "104.95",
        "104.95",
    )
    parcels = {f["location"]: f for f in body["fulfillments"]}
    assert {k: v["lines"] for k, v in parcels.items()} == {
        "wh-rotterdam": [{"sku": "ORGANIC-TEE-S", "quantity": 3}],
        "ams-central": [{"sku": "ORGANIC-TEE-M", "quantity": 2}],
    }
    assert shop.level(shop.warehouse, shop.s) == (4, 3)
    assert shop.level(shop.amsterdam, shop.m) == (2, 2)

    # when the warehouse ships
    with django_capture_on_commit_callbacks(execute=True):
        services.fulfillment_ship(
            fulfillment_id=parcels["wh-rotterdam"]["id"], carrier="PostNL", tracking_number="3S123"
        )
    detail = client.get(f"/api/v1/orders/{number}/").json()
    assert detail["status"] == "partially_shipped"
    assert shop.level(shop.warehouse, shop.s) == (1, 0)
    # and the store ships from store, then both are delivered
    services.fulfillment_pick(fulfillment_id=parcels["ams-central"]["id"])
    with django_capture_on_commit_callbacks(execute=True):
        services.fulfillment_ship(
            fulfillment_id=parcels["ams-central"]["id"], carrier="DHL", tracking_number="JD1"
        )
    assert client.get(f"/api/v1/orders/{number}/").json()["status"] == "shipped"
    assert shop.level(shop.amsterdam, shop.m) == (0, 0)
    for parcel in parcels.values():
        services.fulfillment_deliver(fulfillment_id=parcel["id"])
    final = client.get(f"/api/v1/orders/{number}/").json()
    assert final["status"] == "completed"
    assert sorted((f["carrier"], f["tracking_number"]) for f in final["fulfillments"]) == [
        ("DHL", "JD1"),
        ("PostNL", "3S123"),
    ]
    shipped = [m for m in mail.outbox if m.subject == f"Your order {number} has shipped"]
    assert len(shipped) == 2
    assert "with PostNL, tracking 3S123" in shipped[0].body  # the timeline, as the admin shows it
    assert "with DHL, tracking JD1" in shipped[1].body
    assert _topics(number).count("fulfillment.shipped") == 2


def test_return_in_store_of_an_online_order(shop: Shop, client: APIClient) -> None:
    # given an online order of 2 S + 1 M shipped from the warehouse, paid 64.92 with 4.95 shipping
    shop.receive(shop.warehouse, shop.s, 2)
    shop.receive(shop.warehouse, shop.m, 1)
    number = client.post(
        "/api/v1/orders/",
        {
            "channel": "webshop",
            "customer": {"email": "rita@example.com"},
            "lines": [
                {"sku": "ORGANIC-TEE-S", "quantity": 2},
                {"sku": "ORGANIC-TEE-M", "quantity": 1},
            ],
            "fulfillment": {"method": "ship", "address": {"country": "NL"}},
            "shipping_total": "4.95",
            "payment_status": "captured",
        },
        format="json",
    ).json()["number"]
    order = Order.objects.get(number=number)
    assert order.amount_captured == Decimal("64.92")
    services.fulfillment_ship(
        fulfillment_id=order.fulfillments.get().pk, carrier="PostNL", tracking_number="X1"
    )
    assert shop.level(shop.warehouse, shop.s) == (0, 0)

    # when she brings 2 S to the Amsterdam store: one fine, and (a second RMA) one damaged
    response = client.post(
        "/api/v1/returns/",
        {
            "order": number,
            "location": "ams-central",
            "reason": "too small",
            "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 2}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    rma = response.json()["rma"]
    assert response.json()["status"] == "authorized"
    # more than was shipped is refused
    refused = client.post(
        "/api/v1/returns/",
        {
            "order": number,
            "location": "ams-central",
            "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 1}],
        },
        format="json",
    )
    assert refused.status_code == 400
    return_request = Return.objects.get(rma=rma)
    [line] = return_request.lines.all()
    services.return_receive(return_id=return_request.pk, dispositions={line.pk: "restock"})
    # then the units are on hand in the store, not in the warehouse
    assert shop.level(shop.amsterdam, shop.s) == (2, 0)
    assert shop.level(shop.warehouse, shop.s) == (0, 0)

    # when staff refund the 2 S (retried, and pressed twice)
    refund, created = services.refund_create(
        order_id=order.pk,
        key=f"return:{rma}",
        lines=[RefundLineInput("ORGANIC-TEE-S", 2)],
        return_id=return_request.pk,
    )
    retry, retry_created = services.refund_create(
        order_id=order.pk,
        key=f"return:{rma}",
        lines=[RefundLineInput("ORGANIC-TEE-S", 2)],
        return_id=return_request.pk,
    )
    assert (created, retry_created, retry.pk, refund.amount) == (
        True,
        False,
        refund.pk,
        Decimal("39.98"),
    )
    with pytest.raises(Exception) as twice:
        services.refund_create(
            order_id=order.pk, key="another-press", lines=[RefundLineInput("ORGANIC-TEE-S", 1)]
        )
    assert getattr(twice.value, "code", "") == "refund_invalid"
    # and shipping, but never more than paid
    services.refund_create(order_id=order.pk, key="ship", shipping_amount=Decimal("4.95"))
    with pytest.raises(Exception) as over:
        services.refund_create(order_id=order.pk, key="ship2", shipping_amount=Decimal("0.01"))
    assert getattr(over.value, "code", "") == "refund_invalid"
    order.refresh_from_db()
    assert (order.amount_refunded, order.payment_status) == (Decimal("44.93"), "partially_refunded")
    services.refund_create(order_id=order.pk, key="m", lines=[RefundLineInput("ORGANIC-TEE-M", 1)])
    order.refresh_from_db()
    assert (order.amount_refunded, order.payment_status) == (Decimal("64.92"), "refunded")
    detail = client.get(f"/api/v1/returns/{rma}/").json()
    assert detail["status"] == "received"
    assert detail["lines"][0]["disposition"] == "restock"
    assert [r["amount"] for r in detail["refunds"]] == ["39.98"]
    kinds = [e["kind"] for e in client.get(f"/api/v1/orders/{number}/").json()["timeline"]]
    assert kinds.count("refunded") == 3 and "return_received" in kinds
    assert "return.received" in _topics(number)


def test_a_damaged_return_goes_to_damaged_stock(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 1)
    order = services.order_place(
        channel_code="webshop",
        lines=[services.LineInput("ORGANIC-TEE-S", 1)],
        method="ship",
        address={"country": "NL"},
        payment_status="captured",
    ).order
    services.fulfillment_ship(
        fulfillment_id=order.fulfillments.get().pk, carrier="UPS", tracking_number="1Z"
    )
    return_request = services.return_create(
        order_id=order.pk,
        location_code="utr-oudegracht",
        lines=[services.ReturnLineInput("ORGANIC-TEE-S", 1)],
    )
    line = return_request.lines.get()
    services.return_receive(return_id=return_request.pk, dispositions={line.pk: "damaged"})
    level = StockLevel.objects.get(location=shop.utrecht, variant=shop.s)
    assert (level.on_hand, level.damaged) == (0, 1)
    with pytest.raises(InvalidTransition):
        services.return_receive(return_id=return_request.pk, dispositions={line.pk: "damaged"})


def test_refund_never_exceeds_what_was_captured(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 1)
    order = services.order_place(
        channel_code="webshop",
        lines=[services.LineInput("ORGANIC-TEE-S", 1)],
        method="ship",
        address={"country": "NL"},
    ).order  # authorised only: nothing captured yet
    with pytest.raises(RefundExceedsPaid):
        services.refund_create(
            order_id=order.pk, key="k", lines=[RefundLineInput("ORGANIC-TEE-S", 1)]
        )
    order.refresh_from_db()
    assert (order.amount_refunded, order.refunds.count()) == (Decimal("0"), 0)
