"""Race tests on real PostgreSQL with real threads (row locks do not exist on SQLite)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections

from inventory import services
from inventory.exceptions import InsufficientStock
from inventory.models import StockHold, StockLevel, StockMovement
from inventory.services import MovementInput, StockLine
from tests.concurrency import run_concurrently
from tests.factories import LocationFactory
from tests.inventory.factories import VariantFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_fifty_concurrent_holds_on_ten_units_sell_exactly_ten(invariants: Any) -> None:
    variant, location = VariantFactory(), LocationFactory()
    services.stock_receive(lines=[StockLine(variant.pk, location.pk, 10)], reference="PO")
    line = StockLine(variant.pk, location.pk, 1)

    results = run_concurrently(
        [
            (
                lambda n=n: services.stock_reserve(
                    lines=[line], reference=f"c{n}", ttl=timedelta(hours=1)
                )
            )
            for n in range(50)
        ],
        workers=10,
    )

    won = [r for r in results if isinstance(r, list)]
    lost = [r for r in results if isinstance(r, InsufficientStock)]
    assert (len(won), len(lost)) == (10, 40)
    assert StockHold.objects.filter(status="active").count() == 10
    invariants()


def test_fifty_concurrent_commits_and_fulfilments_sell_exactly_ten(invariants: Any) -> None:
    variant, location = VariantFactory(), LocationFactory()
    services.stock_receive(lines=[StockLine(variant.pk, location.pk, 10)], reference="PO")
    line = StockLine(variant.pk, location.pk, 1)

    def sell(n: int) -> None:
        services.stock_commit(lines=[line], reference=f"o{n}")
        services.stock_fulfil(lines=[line], reference=f"o{n}")

    results = run_concurrently([(lambda n=n: sell(n)) for n in range(50)], workers=10)

    assert sum(r is None for r in results) == 10
    assert sum(isinstance(r, InsufficientStock) for r in results) == 40
    level = StockLevel.objects.get(variant=variant, location=location)
    assert (level.on_hand, level.committed) == (0, 0)
    assert StockMovement.objects.filter(kind="sale").count() == 10
    invariants()


def test_multi_line_requests_in_opposite_orders_never_deadlock(invariants: Any) -> None:
    location = LocationFactory()
    a, b = VariantFactory(), VariantFactory()
    services.stock_receive(
        lines=[StockLine(a.pk, location.pk, 60), StockLine(b.pk, location.pk, 60)], reference="PO"
    )

    def attempt(n: int) -> Any:
        first, second = (a, b) if n % 2 else (b, a)
        services.stock_commit(
            lines=[StockLine(first.pk, location.pk, 1), StockLine(second.pk, location.pk, 1)],
            reference=f"o{n}",
        )
        # relative movements in the opposite order too, creating a level on the way
        services.stock_movements_apply(
            movements=[
                MovementInput(second.pk, location.pk, "receipt", 1),
                MovementInput(first.pk, location.pk, "adjustment", -1, reason="recount"),
            ]
        )

    results = run_concurrently([(lambda n=n: attempt(n)) for n in range(30)], workers=10)

    failures = [r for r in results if r is not None]
    assert failures == []  # a deadlock would surface here as OperationalError
    for variant in (a, b):
        level = StockLevel.objects.get(variant=variant, location=location)
        assert (level.on_hand, level.committed) == (60, 30)
    invariants()


def test_concurrent_transfer_ship_and_sales_never_oversell(invariants: Any) -> None:
    variant, source, destination = VariantFactory(), LocationFactory(), LocationFactory()
    services.stock_receive(lines=[StockLine(variant.pk, source.pk, 5)], reference="PO")
    transfer = services.transfer_create(
        source_id=source.pk, destination_id=destination.pk, lines={variant.pk: 3}
    )
    line = StockLine(variant.pk, source.pk, 1)
    attempts: list[Callable[[], Any]] = [lambda: services.transfer_ship(transfer_id=transfer.pk)]
    attempts += [
        (lambda n=n: services.stock_commit(lines=[line], reference=f"o{n}")) for n in range(6)
    ]

    results = run_concurrently(attempts, workers=7)

    level = StockLevel.objects.get(variant=variant, location=source)
    shipped = not isinstance(results[0], Exception)
    sold = sum(r is None for r in results[1:])
    assert level.committed == sold
    assert level.on_hand == (2 if shipped else 5)
    # whichever wins, every one of the 5 units went exactly once: to the transfer or a sale
    assert shipped or isinstance(results[0], InsufficientStock)
    assert sold + (3 if shipped else 0) == 5
    assert sum(isinstance(r, InsufficientStock) for r in results[1:]) == 6 - sold
    invariants()


def test_lock_helper_locks_exactly_the_requested_levels() -> None:
    from django.db import DatabaseError, transaction

    from inventory.services import _stock_levels_lock

    (v1, v2), (l1, l2) = VariantFactory.create_batch(2), LocationFactory.create_batch(2)
    services.stock_receive(
        lines=[StockLine(v.pk, loc.pk, 1) for v in (v1, v2) for loc in (l1, l2)], reference="PO"
    )

    def try_lock(variant: Any, location: Any) -> bool:
        try:
            with transaction.atomic():
                StockLevel.objects.select_for_update(nowait=True).get(
                    variant=variant, location=location
                )
            return True
        except DatabaseError:
            return False
        finally:
            connections.close_all()

    with transaction.atomic():
        locked = _stock_levels_lock(pairs=[(v1.pk, l1.pk), (v2.pk, l2.pk)], create=False)
        with ThreadPoolExecutor(max_workers=1) as pool:
            free = {
                pair: pool.submit(try_lock, *pair).result()
                for pair in [(v1, l1), (v2, l2), (v1, l2), (v2, l1)]
            }
    assert set(locked) == {(v1.pk, l1.pk), (v2.pk, l2.pk)}
    assert [free[(v1, l1)], free[(v2, l2)], free[(v1, l2)], free[(v2, l1)]] == [
        False,
        False,
        True,
        True,
    ]


def test_the_newest_stock_event_sees_a_concurrent_change_at_another_location() -> None:
    # given a variant at two stores, and a receipt at the first that has not committed yet
    from django.db import transaction

    from core.models import ChangeEvent

    variant = VariantFactory()
    first, second = LocationFactory(code="st-a"), LocationFactory(code="st-b")
    services.stock_receive(
        lines=[StockLine(variant.pk, first.pk, 1), StockLine(variant.pk, second.pk, 1)],
        reference="PO",
    )
    received, release = threading.Event(), threading.Event()

    def slow_receipt() -> None:
        try:
            with transaction.atomic():
                services.stock_receive(lines=[StockLine(variant.pk, first.pk, 5)], reference="A")
                received.set()
                release.wait(timeout=10)
        finally:
            connections.close_all()

    worker = threading.Thread(target=slow_receipt)
    worker.start()
    assert received.wait(timeout=10)

    # when a receipt at the second store runs meanwhile (the first commits half a second later)
    threading.Timer(0.5, release.set).start()
    services.stock_receive(lines=[StockLine(variant.pk, second.pk, 2)], reference="B")
    worker.join(timeout=10)

    # then the event with the highest sequence carries both receipts: channels keep the newest
    newest = (
        ChangeEvent.objects.filter(topic="stock.changed", aggregate_id=str(variant.pk))
        .order_by("-sequence")
        .first()
    )
    assert newest is not None
    assert (newest.sequence, newest.payload["available"], newest.payload["locations"]) == (
        3,
        9,
        {"st-a": 6, "st-b": 3},
    )
