"""The `packed` state of a parcel: picking -> packed -> shipped, through the service, the partner
API (with the state and the action in the schema) and the back office; what packing refuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core.actors import Actor
from core.models import ChangeEvent
from orders import services
from orders.exceptions import InvalidTransition
from orders.models import Fulfillment, Order, TimelineEvent
from tests.shop import Shop

pytestmark = pytest.mark.django_db

FS = Fulfillment.Status


def _parcel(shop: Shop, quantity: int = 2) -> Fulfillment:
    """An order shipped from the warehouse (the only location with stock): its one fulfilment."""
    shop.receive(shop.warehouse, shop.s, 5)
    order = services.order_place(
        channel_code="webshop",
        lines=[services.LineInput(shop.s.sku, quantity)],
        method="ship",
        address={"name": "Ann", "country": "NL", "city": "Utrecht"},
        customer=services.CustomerInput(email="ann@example.com"),
        payment_status="authorized",
    ).order
    return order.fulfillments.get()


def _pickup(shop: Shop) -> Fulfillment:
    shop.receive(shop.amsterdam, shop.m, 1)
    order = services.order_place(
        channel_code="webshop",
        lines=[services.LineInput(shop.m.sku, 1)],
        method="pickup",
        pickup_location_code=shop.amsterdam.code,
        customer=services.CustomerInput(email="bo@example.com"),
    ).order
    return order.fulfillments.get()


# --- the state machine ----------------------------------------------------------------------------


def test_every_status_has_its_transitions_and_packed_sits_between_picking_and_shipped() -> None:
    table = services.FULFILLMENT_TRANSITIONS
    assert set(table) == set(FS.values)
    assert table[FS.PACKED] == {FS.SHIPPED, FS.CANCELLED}
    assert [status for status, targets in table.items() if FS.PACKED in targets] == [FS.PICKING]
    # the existing paths still hold: a WMS may ship straight from allocated or picking
    assert {FS.PICKING, FS.SHIPPED, FS.CANCELLED} == table[FS.ALLOCATED]
    assert {FS.READY_FOR_PICKUP, FS.PACKED, FS.SHIPPED, FS.CANCELLED} == table[FS.PICKING]
    assert table[FS.SHIPPED] == {FS.DELIVERED}


def test_pick_pack_then_ship_keeps_units_committed_until_they_leave(shop: Shop) -> None:
    fulfillment = _parcel(shop)
    actor = Actor.system("wms")
    services.fulfillment_pick(fulfillment_id=fulfillment.pk, actor=actor)
    packed = services.fulfillment_pack(fulfillment_id=fulfillment.pk, actor=actor)

    assert packed.status == FS.PACKED
    order = Order.objects.get(pk=fulfillment.order_id)
    assert order.status == Order.Status.PROCESSING
    assert order.payment_status == Order.PaymentStatus.AUTHORIZED  # captured when it ships
    assert shop.level(shop.warehouse, shop.s) == (5, 2)  # still on the shelf, still committed
    event = order.timeline.get(kind=TimelineEvent.Kind.PACKED)
    assert (event.fulfillment_id, event.actor_name) == (fulfillment.pk, "wms")
    # partners hear of it: an order.updated event whose payload shows the packed fulfilment
    last = ChangeEvent.objects.filter(aggregate="order", aggregate_id=order.number).latest(
        "sequence"
    )
    assert last.topic == "order.updated"
    assert last.payload["fulfillments"][0]["status"] == "packed"

    services.fulfillment_ship(
        fulfillment_id=fulfillment.pk, carrier="PostNL", tracking_number="3S1", actor=actor
    )
    order.refresh_from_db()
    assert (order.status, order.payment_status) == (Order.Status.SHIPPED, "captured")
    assert shop.level(shop.warehouse, shop.s) == (3, 0)


def test_packing_is_refused_before_picking_twice_and_for_a_pickup(shop: Shop) -> None:
    fulfillment = _parcel(shop)
    with pytest.raises(InvalidTransition) as allocated:
        services.fulfillment_pack(fulfillment_id=fulfillment.pk)
    assert allocated.value.code == "invalid_transition"
    fulfillment.refresh_from_db()
    assert fulfillment.status == FS.ALLOCATED

    services.fulfillment_pick(fulfillment_id=fulfillment.pk)
    services.fulfillment_pack(fulfillment_id=fulfillment.pk)
    with pytest.raises(InvalidTransition):
        services.fulfillment_pack(fulfillment_id=fulfillment.pk)
    assert fulfillment.order.timeline.filter(kind=TimelineEvent.Kind.PACKED).count() == 1

    pickup = _pickup(shop)
    services.fulfillment_pick(fulfillment_id=pickup.pk)
    with pytest.raises(InvalidTransition, match="pickup becomes ready"):
        services.fulfillment_pack(fulfillment_id=pickup.pk)
    pickup.refresh_from_db()
    assert pickup.status == FS.PICKING


def test_a_packed_parcel_needs_tracking_to_ship_and_cannot_miss_items(shop: Shop) -> None:
    fulfillment = _parcel(shop)
    services.fulfillment_pick(fulfillment_id=fulfillment.pk)
    services.fulfillment_pack(fulfillment_id=fulfillment.pk)
    with pytest.raises(InvalidTransition, match="tracking number"):
        services.fulfillment_ship(fulfillment_id=fulfillment.pk, carrier="DHL", tracking_number="")
    with pytest.raises(InvalidTransition, match="being prepared"):
        services.fulfillment_report_missing(
            fulfillment_id=fulfillment.pk, line_id=fulfillment.lines.get().pk, quantity=1
        )
    fulfillment.refresh_from_db()
    assert fulfillment.status == FS.PACKED
    assert shop.level(shop.warehouse, shop.s) == (5, 2)


def test_cancelling_a_packed_parcel_gives_its_units_back(shop: Shop) -> None:
    fulfillment = _parcel(shop)
    services.fulfillment_pick(fulfillment_id=fulfillment.pk)
    services.fulfillment_pack(fulfillment_id=fulfillment.pk)
    services.order_cancel(order_id=fulfillment.order_id, reason="customer called")
    fulfillment.refresh_from_db()
    assert fulfillment.status == FS.CANCELLED
    assert Order.objects.get(pk=fulfillment.order_id).status == Order.Status.CANCELLED
    assert shop.level(shop.warehouse, shop.s) == (5, 0)


# --- the partner API ------------------------------------------------------------------------------


@pytest.fixture
def client(shop: Shop, api_client_for: Callable[..., APIClient]) -> APIClient:
    return api_client_for(channels=[shop.channel])


def _act(client: APIClient, fulfillment: Fulfillment, action: str, **data: Any) -> Any:
    number = Order.objects.get(pk=fulfillment.order_id).number
    return client.post(
        f"/api/v1/orders/{number}/fulfillments/{fulfillment.pk}/{action}/", data, format="json"
    )


def test_a_wms_packs_through_the_api_and_sees_the_packed_state(
    shop: Shop, client: APIClient
) -> None:
    fulfillment = _parcel(shop)
    early = _act(client, fulfillment, "pack")
    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"
    assert _act(client, fulfillment, "pick").status_code == 200
    packed = _act(client, fulfillment, "pack")
    assert packed.status_code == 200, packed.content
    body = packed.json()
    assert body["status"] == "processing"
    assert body["fulfillments"][0]["status"] == "packed"
    assert body["timeline"][-1]["kind"] == "packed"
    shipped = _act(client, fulfillment, "ship", carrier="PostNL", tracking_number="3S9")
    assert shipped.json()["fulfillments"][0]["status"] == "shipped"


def test_the_schema_names_the_packed_state_and_the_pack_action(client: APIClient) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    enum = schema["components"]["schemas"]["FulfillmentStatusEnum"]["enum"]
    assert enum.index("picking") < enum.index("packed") < enum.index("shipped")
    path = schema["paths"]["/api/v1/orders/{number}/fulfillments/{fulfillment_id}/{action}/"]
    [action] = [p for p in path["post"]["parameters"] if p["name"] == "action"]
    assert "pack" in action["schema"]["enum"]


# --- the back office ------------------------------------------------------------------------------


def test_the_order_page_offers_packed_once_picking_and_runs_it(
    shop: Shop, admin_client: Client
) -> None:
    fulfillment = _parcel(shop)
    url = f"/admin/orders/order/{fulfillment.order_id}/change/"
    assert b'value="pack"' not in admin_client.get(url).content  # allocated: pick first
    services.fulfillment_pick(fulfillment_id=fulfillment.pk)
    assert b'value="pack"' in admin_client.get(url).content
    admin_client.post(
        f"/admin/orders/order/{fulfillment.order_id}/action/",
        {"action": "pack", "fulfillment": fulfillment.pk},
    )
    fulfillment.refresh_from_db()
    assert fulfillment.status == FS.PACKED
    page = admin_client.get(url).content
    assert b'value="pack"' not in page and b'value="ship"' in page
