"""Pickup promise dates: stock in the store, else the earliest incoming transfer that covers it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory import services
from inventory.selectors import incoming_for, pickup_promise, pickup_promises
from inventory.services import StockLine
from tests.factories import LocationFactory
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db


def test_promise_from_store_stock_then_from_incoming_transfers(
    django_assert_max_num_queries,
) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    store = LocationFactory(code="st-1", pickup_preparation_minutes=60)
    warehouse = LocationFactory(code="wh-1", kind="warehouse")
    shoe, boot, hat = VariantFactory(), VariantFactory(), VariantFactory()
    services.stock_receive(
        lines=[StockLine(shoe.pk, store.pk, 2), StockLine(boot.pk, store.pk, 1)], reference="PO"
    )
    services.stock_receive(lines=[StockLine(boot.pk, warehouse.pk, 10)], reference="PO")
    late = services.transfer_create(
        source_id=warehouse.pk,
        destination_id=store.pk,
        lines={boot.pk: 5},
        expected_at=now + timedelta(days=3),
    )
    soon = services.transfer_create(
        source_id=warehouse.pk,
        destination_id=store.pk,
        lines={boot.pk: 1},
        expected_at=now + timedelta(days=1),
    )
    services.transfer_ship(transfer_id=soon.pk)

    with django_assert_max_num_queries(4):
        promises = pickup_promises(
            lines={shoe.pk: 2, boot.pk: 2, hat.pk: 1}, location_id=store.pk, now=now
        )

    assert promises[shoe.pk].ready_at == now + timedelta(hours=1)
    assert (promises[boot.pk].ready_at, promises[boot.pk].via_transfer) == (
        now + timedelta(days=1, hours=1),
        soon.pk,
    )
    assert promises[hat.pk].ready_at is None
    three = pickup_promise(variant_id=boot.pk, location_id=store.pk, quantity=4, now=now)
    assert (three.ready_at, three.via_transfer) == (now + timedelta(days=3, hours=1), late.pk)
    assert (
        pickup_promise(variant_id=boot.pk, location_id=store.pk, quantity=8, now=now).ready_at
        is None
    )
    assert [
        (i.transfer_id, i.quantity, i.status)
        for i in incoming_for(variant_ids=[boot.pk], location_id=store.pk)[boot.pk]
    ] == [
        (soon.pk, 1, "shipped"),
        (late.pk, 5, "draft"),
    ]


def test_an_overdue_or_partly_received_transfer_promises_what_is_still_coming() -> None:
    # given a shipped transfer of 5 to an empty store, due yesterday, of which 3 arrived
    now = timezone.now()
    store = LocationFactory(code="st-1", pickup_preparation_minutes=30)
    warehouse = LocationFactory(code="wh-1", kind="warehouse")
    boot = VariantFactory()
    services.stock_receive(lines=[StockLine(boot.pk, warehouse.pk, 5)], reference="PO")
    late = services.transfer_create(
        source_id=warehouse.pk,
        destination_id=store.pk,
        lines={boot.pk: 5},
        expected_at=now - timedelta(days=1),
    )
    services.transfer_ship(transfer_id=late.pk)
    services.transfer_receive(transfer_id=late.pk, received={boot.pk: 3})

    # when the store is asked for 5 (3 here, 2 still on the way) and for 6 (one too many)
    five = pickup_promise(variant_id=boot.pk, location_id=store.pk, quantity=5, now=now)
    six = pickup_promise(variant_id=boot.pk, location_id=store.pk, quantity=6, now=now)

    # then 5 are promised from now (the transfer is overdue, not in the past) plus preparation,
    # and 6 cannot be promised
    assert (five.ready_at, five.via_transfer) == (now + timedelta(minutes=30), late.pk)
    assert six.ready_at is None
    assert [
        i.quantity for i in incoming_for(variant_ids=[boot.pk], location_id=store.pk)[boot.pk]
    ] == [2]


def test_promises_for_many_lines_cost_the_same_queries(django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    # given a store with stock of 30 variants, each also coming by transfer
    store = LocationFactory(code="st-1")
    warehouse = LocationFactory(code="wh-1", kind="warehouse")
    variants = VariantFactory.create_batch(30)
    services.stock_receive(
        lines=[StockLine(v.pk, warehouse.pk, 2) for v in variants], reference="PO"
    )
    services.transfer_create(
        source_id=warehouse.pk,
        destination_id=store.pk,
        lines={v.pk: 1 for v in variants},
        expected_at=timezone.now() + timedelta(days=1),
    )

    # when one line and then thirty lines are promised
    with django_assert_num_queries(3) as one:
        pickup_promises(lines={variants[0].pk: 1}, location_id=store.pk)
    # then thirty lines take exactly as many queries as one
    with django_assert_num_queries(len(one.captured_queries)):
        promises = pickup_promises(lines={v.pk: 1 for v in variants}, location_id=store.pk)
    assert all(p.ready_at is not None for p in promises.values())
