"""Placing orders: all or nothing, idempotent by external id, pickup and ship sourcing,
cancellation releasing stock. Given/when/then."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.models import ChangeEvent
from inventory.exceptions import InsufficientStock
from orders import services
from orders.exceptions import OrderInvalid, PickupUnavailable
from orders.models import Fulfillment, Order, TimelineEvent
from orders.services import CustomerInput, LineInput
from tests.shop import Shop

pytestmark = pytest.mark.django_db

NL = {"country": "NL", "city": "Amsterdam", "line1": "Damrak 1", "postal_code": "1012"}


def _counts() -> tuple[int, int, int]:
    return Order.objects.count(), Fulfillment.objects.count(), TimelineEvent.objects.count()


def test_a_ship_order_commits_every_line_and_snapshots_prices(shop: Shop) -> None:
    # given 5 S in the warehouse
    shop.receive(shop.warehouse, shop.s, 5)
    # when 2 S are ordered with 4.95 shipping
    result = services.order_place(
        channel_code="webshop",
        lines=[LineInput("ORGANIC-TEE-S", 2)],
        method="ship",
        address=NL,
        customer=CustomerInput(email="Ann@Example.com"),
        shipping_total=Decimal("4.95"),
        external_id="WEB-1",
    )
    # then the order is placed with exact money and stock
    order = result.order
    assert result.created is True
    assert (order.status, order.currency, order.subtotal, order.shipping_total, order.total) == (
        "placed",
        "EUR",
        Decimal("39.98"),
        Decimal("4.95"),
        Decimal("44.93"),
    )
    assert order.customer_email == "ann@example.com"
    line = order.lines.get()
    assert (line.sku, line.quantity, line.unit_price, line.line_total) == (
        "ORGANIC-TEE-S",
        2,
        Decimal("19.99"),
        Decimal("39.98"),
    )
    [fulfillment] = order.fulfillments.all()
    assert (fulfillment.location, fulfillment.status) == (shop.warehouse, "allocated")
    assert shop.level(shop.warehouse, shop.s) == (5, 2)
    assert ChangeEvent.objects.filter(topic="order.created", aggregate_id=order.number).count() == 1


def test_the_same_external_id_returns_the_first_order_and_commits_once(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 5)
    kwargs = {
        "channel_code": "webshop",
        "lines": [LineInput("ORGANIC-TEE-S", 2)],
        "method": "ship",
        "address": NL,
        "external_id": "MP-77",
    }
    first = services.order_place(**kwargs)  # type: ignore[arg-type]
    again = services.order_place(**kwargs)  # type: ignore[arg-type]
    assert (again.created, again.order.pk) == (False, first.order.pk)
    assert shop.level(shop.warehouse, shop.s) == (5, 2)
    assert Order.objects.count() == 1


def test_a_short_line_refuses_the_whole_order_and_leaves_nothing(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 5)
    shop.receive(shop.warehouse, shop.m, 1)
    before = _counts()
    with pytest.raises(InsufficientStock) as refused:
        services.order_place(
            channel_code="webshop",
            lines=[LineInput("ORGANIC-TEE-S", 2), LineInput("ORGANIC-TEE-M", 3)],
            method="ship",
            address=NL,
        )
    assert refused.value.extra["shortages"] == [
        {"variant_id": shop.m.pk, "location_id": None, "requested": 3, "available": 1}
    ]
    assert _counts() == before
    assert shop.level(shop.warehouse, shop.s) == (5, 0)
    assert shop.level(shop.warehouse, shop.m) == (1, 0)


def test_bad_input_lists_every_problem_and_changes_nothing(shop: Shop) -> None:
    before = _counts()
    with pytest.raises(OrderInvalid) as refused:
        services.order_place(
            channel_code="webshop",
            lines=[LineInput("NOPE", 1), LineInput("ORGANIC-TEE-S", 0)],
            method="pickup",
            pickup_location_code="wh-rotterdam",
        )
    assert [(e["field"], e["code"]) for e in refused.value.errors] == [
        ("lines.1.quantity", "min_value"),
        ("fulfillment.location", "does_not_exist"),
        ("lines.0.sku", "unknown_sku"),
    ]
    assert _counts() == before


def test_a_ship_order_splits_over_locations_with_fewest_parcels(shop: Shop) -> None:
    # given S only in the warehouse, M only in the Amsterdam store, L in both
    shop.receive(shop.warehouse, shop.s, 2)
    shop.receive(shop.warehouse, shop.l, 1)
    shop.receive(shop.amsterdam, shop.m, 3)
    shop.receive(shop.amsterdam, shop.l, 1)
    order = services.order_place(
        channel_code="webshop",
        lines=[
            LineInput("ORGANIC-TEE-S", 2),
            LineInput("ORGANIC-TEE-M", 1),
            LineInput("ORGANIC-TEE-L", 1),
        ],
        method="ship",
        address=NL,
    ).order
    parcels = {
        f.location.code: sorted((line.order_line.sku, line.quantity) for line in f.lines.all())
        for f in order.fulfillments.all()
    }
    # the warehouse (priority) takes S and L; the store ships M
    assert parcels == {
        "wh-rotterdam": [("ORGANIC-TEE-L", 1), ("ORGANIC-TEE-S", 2)],
        "ams-central": [("ORGANIC-TEE-M", 1)],
    }
    assert shop.level(shop.warehouse, shop.l) == (1, 1)
    assert shop.level(shop.amsterdam, shop.l) == (1, 0)
    assert shop.level(shop.amsterdam, shop.m) == (3, 1)


def test_pickup_commits_the_store_at_once(shop: Shop) -> None:
    shop.receive(shop.amsterdam, shop.s, 1)
    order = services.order_place(
        channel_code="webshop",
        lines=[LineInput("ORGANIC-TEE-S", 1)],
        method="pickup",
        pickup_location_code="ams-central",
    ).order
    [fulfillment] = order.fulfillments.all()
    assert (fulfillment.status, fulfillment.location) == ("allocated", shop.amsterdam)
    assert fulfillment.promised_at is not None
    assert (fulfillment.promised_at - order.placed_at).total_seconds() == pytest.approx(3600, abs=5)
    assert shop.level(shop.amsterdam, shop.s) == (1, 1)


def test_pickup_without_stock_or_transfer_is_refused_clearly(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 10)  # not at the store, and nothing on its way
    before = _counts()
    with pytest.raises(PickupUnavailable) as refused:
        services.order_place(
            channel_code="webshop",
            lines=[LineInput("ORGANIC-TEE-S", 1)],
            method="pickup",
            pickup_location_code="ams-central",
        )
    assert refused.value.code == "pickup_unavailable"
    assert refused.value.extra["shortages"] == [
        {"variant_id": shop.s.pk, "location_id": shop.amsterdam.pk, "requested": 1, "available": 0}
    ]
    assert _counts() == before


def test_cancel_releases_committed_units_and_records_it(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 5)
    order = services.order_place(
        channel_code="webshop", lines=[LineInput("ORGANIC-TEE-S", 2)], method="ship", address=NL
    ).order
    services.order_cancel(order_id=order.pk, reason="customer asked")
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert shop.level(shop.warehouse, shop.s) == (5, 0)
    assert order.lines.get().quantity_cancelled == 2
    assert (
        ChangeEvent.objects.filter(topic="order.cancelled", aggregate_id=order.number).count() == 1
    )
    assert list(order.timeline.values_list("kind", flat=True)) == [
        "placed",
        "fulfillment_cancelled",
        "status_changed",
    ]
