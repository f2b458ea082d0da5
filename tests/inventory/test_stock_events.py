"""Every change of a variant's available-to-sell records ``stock.changed`` in the same
transaction: absolute values, one event per variant, numbered per variant."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from core.models import ChangeEvent
from inventory import services
from inventory.exceptions import InsufficientStock
from inventory.services import StockLine
from tests.factories import LocationFactory
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db


def _events(variant) -> list[tuple[int, int, dict[str, int]]]:  # type: ignore[no-untyped-def]
    return [
        (e.sequence, e.payload["available"], e.payload["locations"])
        for e in ChangeEvent.objects.filter(
            topic="stock.changed", aggregate="variant", aggregate_id=str(variant.pk)
        ).order_by("id")
    ]


def test_each_change_of_available_to_sell_is_an_event_with_absolute_values() -> None:
    store, warehouse = LocationFactory(code="st-1"), LocationFactory(code="wh-1", kind="warehouse")
    shoe = VariantFactory(sku="SHOE-42")
    services.stock_receive(lines=[StockLine(shoe.pk, store.pk, 5)], reference="PO-1")
    services.stock_receive(lines=[StockLine(shoe.pk, warehouse.pk, 10)], reference="PO-2")
    services.stock_reserve(
        lines=[StockLine(shoe.pk, store.pk, 2)], reference="cart-1", ttl=timedelta(hours=1)
    )
    services.stock_hold_release(reference="cart-1")
    services.stock_commit(lines=[StockLine(shoe.pk, warehouse.pk, 3)], reference="order-1")
    services.stock_fulfil(
        lines=[StockLine(shoe.pk, warehouse.pk, 3)], reference="order-1"
    )  # no change
    services.stock_safety_set(variant_id=shoe.pk, location_id=store.pk, safety_stock=1)

    assert _events(shoe) == [
        (1, 5, {"st-1": 5}),
        (2, 15, {"st-1": 5, "wh-1": 10}),
        (3, 13, {"st-1": 3, "wh-1": 10}),
        (4, 15, {"st-1": 5, "wh-1": 10}),
        (5, 12, {"st-1": 5, "wh-1": 7}),
        (6, 11, {"st-1": 4, "wh-1": 7}),
    ]
    assert ChangeEvent.objects.filter(topic="stock.changed").first().payload["sku"] == "SHOE-42"


def test_a_refused_reservation_records_nothing() -> None:
    store = LocationFactory(code="st-1")
    shoe, sock = VariantFactory(), VariantFactory()
    services.stock_receive(
        lines=[StockLine(shoe.pk, store.pk, 1), StockLine(sock.pk, store.pk, 1)], reference="PO"
    )
    before = ChangeEvent.objects.count()
    with pytest.raises(InsufficientStock):
        services.stock_reserve(
            lines=[StockLine(shoe.pk, store.pk, 1), StockLine(sock.pk, store.pk, 2)],
            reference="cart",
            ttl=timedelta(hours=1),
        )
    assert ChangeEvent.objects.count() == before


def test_one_event_per_variant_for_multi_line_changes_and_for_expiry() -> None:
    store, other = LocationFactory(code="st-1"), LocationFactory(code="st-2")
    shoe = VariantFactory()
    services.stock_receive(
        lines=[StockLine(shoe.pk, store.pk, 2), StockLine(shoe.pk, other.pk, 2)], reference="PO"
    )
    assert len(_events(shoe)) == 1
    services.stock_reserve(
        lines=[StockLine(shoe.pk, store.pk, 1), StockLine(shoe.pk, other.pk, 1)],
        reference="cart",
        ttl=timedelta(minutes=5),
    )
    assert _events(shoe)[-1] == (2, 2, {"st-1": 1, "st-2": 1})
    services.stock_holds_expire(now=timezone.now() + timedelta(minutes=10))
    assert _events(shoe)[-1] == (3, 4, {"st-1": 2, "st-2": 2})


def test_a_shipped_transfer_changes_the_source() -> None:
    warehouse, store = LocationFactory(code="wh-1", kind="warehouse"), LocationFactory(code="st-1")
    shoe = VariantFactory()
    services.stock_receive(lines=[StockLine(shoe.pk, warehouse.pk, 6)], reference="PO")
    transfer = services.transfer_create(
        source_id=warehouse.pk, destination_id=store.pk, lines={shoe.pk: 4}
    )
    services.transfer_ship(transfer_id=transfer.pk)
    assert _events(shoe)[-1][1:] == (2, {"st-1": 0, "wh-1": 2})  # in transit counts nowhere
    services.transfer_receive(transfer_id=transfer.pk, received={shoe.pk: 4})
    assert _events(shoe)[-1][1:] == (6, {"st-1": 4, "wh-1": 2})


def test_inactive_locations_are_left_out_and_the_sku_is_still_named() -> None:
    # given a variant stocked only at a location that has been closed
    closed = LocationFactory(code="st-closed", is_active=False)
    shoe = VariantFactory(sku="SHOE-CLOSED")

    # when units are received there
    services.stock_receive(lines=[StockLine(shoe.pk, closed.pk, 4)], reference="PO")

    # then the event says nothing is available, and still names the variant
    event = ChangeEvent.objects.get(topic="stock.changed", aggregate_id=str(shoe.pk))
    assert event.payload == {
        "variant_id": shoe.pk,
        "sku": "SHOE-CLOSED",
        "available": 0,
        "locations": {},
    }


def test_adjustments_damage_counts_and_released_commitments_are_events() -> None:
    # given 10 units at a store, 4 committed to an order
    store = LocationFactory(code="st-1")
    shoe = VariantFactory()
    services.stock_receive(lines=[StockLine(shoe.pk, store.pk, 10)], reference="PO")
    services.stock_commit(lines=[StockLine(shoe.pk, store.pk, 4)], reference="order-1")

    # when stock is corrected, damaged, counted, and the order line cancelled
    services.stock_adjust(variant_id=shoe.pk, location_id=store.pk, delta=-1, reason="lost")
    services.stock_damage(variant_id=shoe.pk, location_id=store.pk, quantity=2, reason="torn")
    services.stock_count(variant_id=shoe.pk, location_id=store.pk, on_hand=9, reason="shelf")
    services.stock_count(variant_id=shoe.pk, location_id=store.pk, on_hand=9, reason="again")
    services.stock_release(lines=[StockLine(shoe.pk, store.pk, 4)], reference="order-1")

    # then each change is one event with the new absolute figure; the matching count is none
    assert _events(shoe) == [
        (1, 10, {"st-1": 10}),
        (2, 6, {"st-1": 6}),
        (3, 5, {"st-1": 5}),
        (4, 3, {"st-1": 3}),
        (5, 5, {"st-1": 5}),
        (6, 9, {"st-1": 9}),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_service_leaves_no_event_and_no_gap_in_the_sequence() -> None:
    # given a variant with one recorded change
    store = LocationFactory(code="st-1")
    shoe = VariantFactory()
    services.stock_receive(lines=[StockLine(shoe.pk, store.pk, 3)], reference="PO")

    # when a receipt succeeds inside a caller's transaction that then fails
    with pytest.raises(RuntimeError), transaction.atomic():
        services.stock_receive(lines=[StockLine(shoe.pk, store.pk, 5)], reference="PO-2")
        raise RuntimeError("the caller failed after the receipt")

    # then neither the stock nor the event survived, and the next change is number 2
    assert _events(shoe) == [(1, 3, {"st-1": 3})]
    services.stock_receive(lines=[StockLine(shoe.pk, store.pk, 1)], reference="PO-3")
    assert _events(shoe) == [(1, 3, {"st-1": 3}), (2, 4, {"st-1": 4})]
