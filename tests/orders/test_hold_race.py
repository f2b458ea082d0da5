"""The hold-then-order path under a real race (issue 14, "Must show"): 50 threads on real
PostgreSQL. Stock equals the held units; buyers without holds race against the holders; some
holds expire during the run. Every holder who paid in time gets exactly the held units at the
hold's location, nobody else gets them, nothing is reserved twice, and the levels equal the
ledger."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone

from inventory import services as inventory_services
from inventory.exceptions import HoldNotActive, InsufficientStock
from inventory.models import Location, StockHold, StockLevel, StockMovement
from inventory.services import StockLine
from orders import services
from orders.models import Fulfillment, FulfillmentLine
from orders.services import LineInput, PlaceResult
from tests.concurrency import run_concurrently
from tests.shop import Shop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

LONG = 20  # holders whose hold outlives the run: they all pay in time
SHORT_EARLY = 5  # holders whose hold expires during the run, paying at once (racing expiry)
SHORT_LATE = 5  # holders whose hold expires during the run, paying after it expired
BUYERS = 20  # shoppers without a hold, trying until the deadline
SHORT_TTL = timedelta(seconds=3)


@dataclass(frozen=True)
class Holder:
    reference: str
    location: Location
    expires_at: Any
    late: bool


def _place(hold_reference: str | None = None) -> PlaceResult:
    return services.order_place(
        channel_code="webshop",
        lines=[LineInput("ORGANIC-TEE-S", 1)],
        method="ship",
        address={"country": "NL"},
        payment_status="captured",
        hold_reference=hold_reference,
    )


def _hold(shop: Shop, reference: str, location: Location, ttl: timedelta, late: bool) -> Holder:
    [hold] = inventory_services.stock_reserve(
        lines=[StockLine(shop.s.pk, location.pk, 1)], reference=reference, ttl=ttl
    )
    return Holder(reference, location, hold.expires_at, late)


def test_fifty_threads_holders_get_their_held_units_and_nobody_else(shop: Shop) -> None:
    # given 30 units (20 in the warehouse, which the ship strategy prefers, 10 in Amsterdam),
    # every one of them held
    shop.receive(shop.warehouse, shop.s, 20)
    shop.receive(shop.amsterdam, shop.s, 10)
    places = [shop.warehouse] * 12 + [shop.amsterdam] * 8  # long holds
    holders = [
        _hold(shop, f"long-{n}", location, timedelta(minutes=10), late=False)
        for n, location in enumerate(places)
    ]
    short_places = [shop.warehouse] * 8 + [shop.amsterdam] * 2
    holders += [
        _hold(shop, f"short-{n}", location, SHORT_TTL, late=n >= SHORT_EARLY)
        for n, location in enumerate(short_places)
    ]
    assert sum(1 for _ in holders) == LONG + SHORT_EARLY + SHORT_LATE == 30
    last_expiry = max(h.expires_at for h in holders if h.reference.startswith("short"))
    deadline = last_expiry + timedelta(seconds=8)

    def pay(holder: Holder) -> Any:
        if holder.late:  # the shopper comes back after the hold lapsed
            time.sleep(max(0.0, (holder.expires_at - timezone.now()).total_seconds()) + 0.2)
        attempted_at = timezone.now()
        try:
            return _place(holder.reference)
        except HoldNotActive as exc:
            exc.extra["attempted_at"] = attempted_at
            raise

    def buy() -> Any:
        while timezone.now() < deadline:
            try:
                return _place()
            except InsufficientStock:
                time.sleep(0.1)
        return None

    attempts = [lambda h=h: pay(h) for h in holders] + [buy for _ in range(BUYERS)]
    assert len(attempts) == 50
    results = run_concurrently(attempts, workers=50)
    holder_results, buyer_results = results[: len(holders)], results[len(holders) :]

    # then every holder who paid in time got the held unit, at the hold's location
    won_by_holders: Counter[int] = Counter()
    for holder, result in zip(holders, holder_results, strict=True):
        if isinstance(result, PlaceResult):
            assert result.created
            assert result.order.placed_at < holder.expires_at, holder
            [fulfillment] = result.order.fulfillments.all()
            assert (fulfillment.location_id, fulfillment.status) == (
                holder.location.pk,
                "allocated",
            )
            won_by_holders[holder.location.pk] += 1
        else:
            # a holder who did not get it was too late, and was told so
            assert isinstance(result, HoldNotActive), (holder, result)
            assert not holder.reference.startswith("long"), (holder, result)
    long_results = holder_results[:LONG]
    assert all(isinstance(r, PlaceResult) for r in long_results), long_results
    late_results = holder_results[LONG + SHORT_EARLY :]
    assert all(isinstance(r, HoldNotActive) for r in late_results), late_results

    # and nobody else got a held unit: the buyers shared exactly the units of lapsed holds
    lapsed: Counter[int] = Counter()
    for holder, result in zip(holders, holder_results, strict=True):
        if not isinstance(result, PlaceResult):
            lapsed[holder.location.pk] += 1
    first_lapse = min(
        (
            h.expires_at
            for h, r in zip(holders, holder_results, strict=True)
            if not isinstance(r, PlaceResult)
        ),
        default=None,
    )
    buyer_orders = [r for r in buyer_results if isinstance(r, PlaceResult)]
    assert all(r is None or isinstance(r, PlaceResult) for r in buyer_results), buyer_results
    won_by_buyers: Counter[int] = Counter()
    for result in buyer_orders:
        [fulfillment] = result.order.fulfillments.all()
        won_by_buyers[fulfillment.location_id] += 1
        # a buyer found a free unit only once a hold had lapsed
        assert first_lapse is not None and result.order.placed_at >= first_lapse
    assert won_by_buyers == lapsed
    assert sum(won_by_holders.values()) + len(buyer_orders) == 30

    # no reservation is left behind and no hold was used twice
    assert not StockHold.objects.filter(status="active", expires_at__gt=timezone.now()).exists()
    consumed = set(StockHold.objects.filter(status="consumed").values_list("reference", flat=True))
    assert consumed == {
        h.reference
        for h, r in zip(holders, holder_results, strict=True)
        if isinstance(r, PlaceResult)
    }

    # and the levels equal the ledger: on hand is the sum of movements, committed the sum of
    # the allocated order lines, never above on hand
    for level in StockLevel.objects.filter(variant=shop.s):
        ledger = StockMovement.objects.filter(stock=level).aggregate(total=Sum("on_hand_delta"))
        allocated = FulfillmentLine.objects.filter(
            fulfillment__location_id=level.location_id,
            fulfillment__status=Fulfillment.Status.ALLOCATED,
            order_line__variant_id=shop.s.pk,
        ).aggregate(total=Sum("quantity"))
        assert level.on_hand == (ledger["total"] or 0), level
        assert level.committed == (allocated["total"] or 0) <= level.on_hand, level
    assert shop.level(shop.warehouse, shop.s) == (20, 20)
    assert shop.level(shop.amsterdam, shop.s) == (10, 10)


def test_one_hold_named_by_five_orders_at_once_is_used_once(shop: Shop) -> None:
    # given two units, one of them held: a double-submitted payment page names the hold 5 times
    shop.receive(shop.amsterdam, shop.s, 2)
    _hold(shop, "pay-page", shop.amsterdam, timedelta(minutes=10), late=False)
    results = run_concurrently([lambda: _place("pay-page") for _ in range(5)], workers=5)
    placed = [r for r in results if isinstance(r, PlaceResult)]
    refused = [r for r in results if isinstance(r, HoldNotActive)]
    assert (len(placed), len(refused)) == (1, 4), results
    # the unit that was never held is still on sale, the held one is committed once
    assert shop.level(shop.amsterdam, shop.s) == (2, 1)
    assert list(StockHold.objects.values_list("status", flat=True)) == ["consumed"]
