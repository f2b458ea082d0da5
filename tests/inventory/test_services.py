"""Stock services: given a level, when a service runs, then counters and ledger agree exactly."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from inventory import selectors, services
from inventory.exceptions import (
    HoldNotActive,
    InsufficientStock,
    InvalidQuantity,
    InvalidTransferState,
    MovementIdempotencyConflict,
)
from inventory.models import StockHold, StockLevel, StockMovement, Transfer
from inventory.services import MovementInput, StockLine
from tests.factories import LocationFactory
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def stocked(quantity: int, **level: int) -> tuple[Any, Any]:
    variant, location = VariantFactory(), LocationFactory()
    if quantity:
        services.stock_receive(
            lines=[StockLine(variant.pk, location.pk, quantity)], reference="PO-1"
        )
    if level:
        StockLevel.objects.filter(variant=variant, location=location).update(**level)
    return variant, location


def level_of(variant: Any, location: Any) -> StockLevel:
    return StockLevel.objects.get(variant=variant, location=location)


def available(variant: Any, location: Any) -> int:
    return selectors.availability_for_variants(
        variant_ids=[variant.pk], location_ids=[location.pk]
    )[variant.pk].total


def test_receive_creates_level_and_receipt_movement(invariants: Any) -> None:
    variant, location = stocked(7)
    level = level_of(variant, location)
    assert (level.on_hand, level.committed, level.damaged) == (7, 0, 0)
    [movement] = StockMovement.objects.all()
    assert (movement.kind, movement.on_hand_delta, movement.reference) == ("receipt", 7, "PO-1")
    invariants()


def test_reserve_then_commit_consumes_hold_and_fulfil_ships(invariants: Any) -> None:
    variant, location = stocked(5)
    line = StockLine(variant.pk, location.pk, 3)
    [hold] = services.stock_reserve(lines=[line], reference="cart-1", ttl=HOUR)
    assert available(variant, location) == 2

    services.stock_commit(lines=[line], reference="order-1", hold_reference="cart-1")
    hold.refresh_from_db()
    assert hold.status == StockHold.Status.CONSUMED
    assert level_of(variant, location).committed == 3
    assert available(variant, location) == 2

    services.stock_fulfil(lines=[line], reference="order-1")
    level = level_of(variant, location)
    assert (level.on_hand, level.committed) == (2, 0)
    assert available(variant, location) == 2
    assert StockMovement.objects.filter(kind="sale", on_hand_delta=-3).count() == 1
    invariants()


def test_reserve_short_on_one_line_reserves_nothing_and_lists_shortages() -> None:
    (v1, loc), v2 = stocked(5), VariantFactory()
    services.stock_receive(lines=[StockLine(v2.pk, loc.pk, 1)], reference="PO-2")
    with pytest.raises(InsufficientStock) as caught:
        services.stock_reserve(
            lines=[StockLine(v1.pk, loc.pk, 5), StockLine(v2.pk, loc.pk, 2)],
            reference="cart",
            ttl=HOUR,
        )
    assert caught.value.code == "insufficient_stock"
    assert caught.value.status == 409
    assert caught.value.extra == {
        "shortages": [{"variant_id": v2.pk, "location_id": loc.pk, "requested": 2, "available": 1}]
    }
    assert not StockHold.objects.exists()


def test_reserve_without_any_level_is_a_shortage() -> None:
    variant, location = VariantFactory(), LocationFactory()
    with pytest.raises(InsufficientStock):
        services.stock_reserve(
            lines=[StockLine(variant.pk, location.pk, 1)], reference="c", ttl=HOUR
        )
    assert not StockLevel.objects.exists()


def test_safety_stock_and_committed_limit_reservations() -> None:
    variant, location = stocked(10, committed=4)
    services.stock_safety_set(variant_id=variant.pk, location_id=location.pk, safety_stock=3)
    assert available(variant, location) == 3
    with pytest.raises(InsufficientStock):
        services.stock_reserve(
            lines=[StockLine(variant.pk, location.pk, 4)], reference="c", ttl=HOUR
        )
    services.stock_reserve(lines=[StockLine(variant.pk, location.pk, 3)], reference="c", ttl=HOUR)
    assert available(variant, location) == 0


def test_safety_stock_above_free_units_shows_zero_not_negative() -> None:
    variant, location = stocked(2)
    services.stock_safety_set(variant_id=variant.pk, location_id=location.pk, safety_stock=5)
    assert available(variant, location) == 0


def test_expired_hold_stops_counting_before_the_task_runs() -> None:
    variant, location = stocked(2)
    line = StockLine(variant.pk, location.pk, 2)
    [hold] = services.stock_reserve(lines=[line], reference="cart-old", ttl=HOUR)
    assert available(variant, location) == 0
    StockHold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert available(variant, location) == 2
    services.stock_reserve(lines=[line], reference="cart-new", ttl=HOUR)  # units are free again
    with pytest.raises(HoldNotActive):
        services.stock_commit(lines=[line], reference="order", hold_reference="cart-old")

    assert services.stock_holds_expire() == 1
    hold.refresh_from_db()
    assert hold.status == StockHold.Status.EXPIRED
    assert services.stock_holds_expire() == 0


def test_hold_release_frees_units_and_is_idempotent() -> None:
    variant, location = stocked(3)
    services.stock_reserve(lines=[StockLine(variant.pk, location.pk, 2)], reference="c", ttl=HOUR)
    assert services.stock_hold_release(reference="c") == 2
    assert services.stock_hold_release(reference="c") == 0
    assert available(variant, location) == 3


def test_commit_without_hold_checks_availability_and_release_returns_units() -> None:
    variant, location = stocked(2)
    with pytest.raises(InsufficientStock):
        services.stock_commit(lines=[StockLine(variant.pk, location.pk, 3)], reference="o")
    assert level_of(variant, location).committed == 0
    services.stock_commit(lines=[StockLine(variant.pk, location.pk, 2)], reference="o")
    services.stock_release(lines=[StockLine(variant.pk, location.pk, 1)], reference="o")
    assert level_of(variant, location).committed == 1
    with pytest.raises(InvalidQuantity):
        services.stock_release(lines=[StockLine(variant.pk, location.pk, 2)], reference="o")
    with pytest.raises(InvalidQuantity):
        services.stock_fulfil(lines=[StockLine(variant.pk, location.pk, 2)], reference="o")
    level = level_of(variant, location)
    assert (level.on_hand, level.committed) == (2, 1)


def test_non_positive_quantities_are_refused() -> None:
    variant, location = stocked(2)
    with pytest.raises(InvalidQuantity):
        services.stock_reserve(
            lines=[StockLine(variant.pk, location.pk, 0)], reference="c", ttl=HOUR
        )
    with pytest.raises(InvalidQuantity):
        services.stock_commit(lines=[StockLine(variant.pk, location.pk, -1)], reference="o")
    assert not StockHold.objects.exists()


def test_adjust_damage_write_off_and_count(invariants: Any) -> None:
    variant, location = stocked(10)
    services.stock_adjust(
        variant_id=variant.pk, location_id=location.pk, delta=-2, reason="shrinkage"
    )
    services.stock_damage(
        variant_id=variant.pk, location_id=location.pk, quantity=3, reason="water"
    )
    services.stock_movements_apply(
        movements=[MovementInput(variant.pk, location.pk, "write_off", 1, reason="binned")]
    )
    level = level_of(variant, location)
    assert (level.on_hand, level.damaged) == (5, 2)

    level, movement = services.stock_count(
        variant_id=variant.pk, location_id=location.pk, on_hand=9, reason="cycle count"
    )
    assert level.on_hand == 9
    assert movement is not None and (movement.kind, movement.on_hand_delta) == ("count", 4)
    _, same = services.stock_count(variant_id=variant.pk, location_id=location.pk, on_hand=9)
    assert same is None
    assert [m.kind for m in StockMovement.objects.order_by("id")] == [
        "receipt",
        "adjustment",
        "damage",
        "write_off",
        "count",
    ]
    invariants()


def test_adjustment_needs_reason_and_cannot_cut_into_committed(invariants: Any) -> None:
    variant, location = stocked(5, committed=4)
    with pytest.raises(InvalidQuantity):
        services.stock_adjust(variant_id=variant.pk, location_id=location.pk, delta=-1, reason="")
    with pytest.raises(InsufficientStock):
        services.stock_adjust(
            variant_id=variant.pk, location_id=location.pk, delta=-2, reason="lost"
        )
    with pytest.raises(InsufficientStock):
        services.stock_count(variant_id=variant.pk, location_id=location.pk, on_hand=3)
    assert level_of(variant, location).on_hand == 5
    assert StockMovement.objects.count() == 1
    invariants()


def test_bulk_movements_are_all_or_nothing() -> None:
    variant, location = stocked(1)
    other = VariantFactory()
    with pytest.raises(InsufficientStock):
        services.stock_movements_apply(
            movements=[
                MovementInput(other.pk, location.pk, "receipt", 5, idempotency_key="k1"),
                MovementInput(variant.pk, location.pk, "damage", 2, idempotency_key="k2"),
            ]
        )
    assert StockMovement.objects.count() == 1
    assert not StockMovement.objects.filter(idempotency_key__isnull=False).exists()
    assert StockLevel.objects.get(variant=variant).on_hand == 1
    assert not StockLevel.objects.filter(variant=other, on_hand__gt=0).exists()


def test_movement_idempotency_key_replays_and_rejects_other_content(invariants: Any) -> None:
    variant, location = stocked(0)
    item = MovementInput(variant.pk, location.pk, "receipt", 4, idempotency_key="erp-77")
    [first] = services.stock_movements_apply(movements=[item])
    [again] = services.stock_movements_apply(movements=[item])
    assert again.pk == first.pk
    assert level_of(variant, location).on_hand == 4
    with pytest.raises(MovementIdempotencyConflict):
        services.stock_movements_apply(
            movements=[
                MovementInput(variant.pk, location.pk, "receipt", 5, idempotency_key="erp-77")
            ]
        )
    with pytest.raises(MovementIdempotencyConflict):
        services.stock_movements_apply(movements=[item, item])
    assert level_of(variant, location).on_hand == 4
    invariants()


def test_sale_and_transfer_kinds_cannot_be_posted_directly() -> None:
    variant, location = stocked(3)
    for kind in ("sale", "transfer_in", "count"):
        with pytest.raises(InvalidQuantity):
            services.stock_movements_apply(
                movements=[MovementInput(variant.pk, location.pk, kind, 1)]
            )
    assert StockMovement.objects.count() == 1


def test_transfer_ship_partial_receipt_and_discrepancy(invariants: Any) -> None:
    variant, source = stocked(10)
    destination = LocationFactory()
    transfer = services.transfer_create(
        source_id=source.pk, destination_id=destination.pk, lines={variant.pk: 6}
    )
    assert level_of(variant, source).on_hand == 10  # a draft moves nothing

    services.transfer_ship(transfer_id=transfer.pk)
    assert level_of(variant, source).on_hand == 4
    assert level_of(variant, destination).incoming == 6
    with pytest.raises(InvalidTransferState):
        services.transfer_ship(transfer_id=transfer.pk)

    transfer = services.transfer_receive(transfer_id=transfer.pk, received={variant.pk: 4})
    assert transfer.status == Transfer.Status.PARTIALLY_RECEIVED
    dest = level_of(variant, destination)
    assert (dest.on_hand, dest.incoming) == (4, 2)
    with pytest.raises(InvalidQuantity):
        services.transfer_receive(transfer_id=transfer.pk, received={variant.pk: 3})

    transfer = services.transfer_receive(
        transfer_id=transfer.pk, received={variant.pk: 1}, close=True
    )
    assert transfer.status == Transfer.Status.RECEIVED
    line = transfer.lines.get()
    assert (line.quantity_received, line.quantity_missing) == (5, 1)
    dest = level_of(variant, destination)
    assert (dest.on_hand, dest.incoming) == (5, 0)
    assert sorted(StockMovement.objects.values_list("kind", "on_hand_delta")) == sorted(
        [("receipt", 10), ("transfer_out", -6), ("transfer_in", 4), ("transfer_in", 1)]
    )
    invariants()


def test_transfer_ship_short_moves_nothing() -> None:
    variant, source = stocked(3)
    services.stock_reserve(lines=[StockLine(variant.pk, source.pk, 2)], reference="c", ttl=HOUR)
    transfer = services.transfer_create(
        source_id=source.pk, destination_id=LocationFactory().pk, lines={variant.pk: 2}
    )
    with pytest.raises(InsufficientStock):
        services.transfer_ship(transfer_id=transfer.pk)
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.DRAFT
    assert level_of(variant, source).on_hand == 3
    assert StockLevel.objects.filter(incoming__gt=0).count() == 0
    assert StockMovement.objects.count() == 1


def test_drift_is_found_and_repaired_from_the_ledger() -> None:
    variant, location = stocked(5)
    StockLevel.objects.filter(variant=variant).update(on_hand=9, damaged=1)
    [drift] = selectors.stock_drift_list()
    assert (drift.on_hand, drift.ledger_on_hand, drift.damaged, drift.ledger_damaged) == (
        9,
        5,
        1,
        0,
    )
    assert services.stock_drift_repair(stock_ids=[drift.stock_id]) == 1
    assert selectors.stock_drift_list() == []
    level = level_of(variant, location)
    assert (level.on_hand, level.damaged) == (5, 0)


def test_drift_below_committed_is_not_repaired() -> None:
    variant, location = stocked(2)
    services.stock_commit(lines=[StockLine(variant.pk, location.pk, 2)], reference="o")
    StockMovement.objects.update(on_hand_delta=1)  # simulate a ledger that says 1
    assert services.stock_drift_repair(stock_ids=[level_of(variant, location).pk]) == 0
    level = level_of(variant, location)
    assert (level.on_hand, level.committed) == (2, 2)
    assert len(selectors.stock_drift_list()) == 1


def test_transfer_cancel_only_from_draft() -> None:
    variant, source = stocked(4)
    destination = LocationFactory()
    draft = services.transfer_create(
        source_id=source.pk, destination_id=destination.pk, lines={variant.pk: 1}
    )
    assert services.transfer_cancel(transfer_id=draft.pk).status == Transfer.Status.CANCELLED
    with pytest.raises(InvalidTransferState):
        services.transfer_ship(transfer_id=draft.pk)
    shipped = services.transfer_create(
        source_id=source.pk, destination_id=destination.pk, lines={variant.pk: 1}
    )
    services.transfer_ship(transfer_id=shipped.pk)
    with pytest.raises(InvalidTransferState):
        services.transfer_cancel(transfer_id=shipped.pk)
    shipped.refresh_from_db()
    assert shipped.status == Transfer.Status.SHIPPED
    assert level_of(variant, source).on_hand == 3


def test_transfer_create_refuses_bad_input() -> None:
    variant, source = stocked(1)
    with pytest.raises(InvalidTransferState):
        services.transfer_create(
            source_id=source.pk, destination_id=source.pk, lines={variant.pk: 1}
        )
    with pytest.raises(InvalidQuantity):
        services.transfer_create(
            source_id=source.pk, destination_id=LocationFactory().pk, lines={variant.pk: 0}
        )
    assert not Transfer.objects.exists()


def test_a_transfer_of_an_unknown_variant_is_refused_and_creates_nothing():
    from inventory.exceptions import UnknownStockItem
    from inventory.models import Transfer
    from inventory.services import transfer_create
    from tests.factories import LocationFactory

    source, destination = LocationFactory(code="t-src"), LocationFactory(code="t-dst")
    with pytest.raises(UnknownStockItem, match="variants \\[999999\\]"):
        transfer_create(source_id=source.pk, destination_id=destination.pk, lines={999999: 1})
    assert Transfer.objects.count() == 0
