"""Where an order's units come from, for placement, cart holds and re-sourcing missing items.

- *pickup*: the chosen store commits what it has now; a line it lacks but an open transfer brings
  is promised for the transfer's arrival; otherwise :class:`PickupUnavailable` with shortages.
- *ship*: a pluggable :class:`SourcingStrategy` splits the lines over the channel's shipping
  locations. A strategy gets plain data (what is wanted, what each candidate location has, where
  the parcel goes) and returns ``{location_id: {variant_id: quantity}}``; it never touches the
  database, so a channel or a test can pass its own.

Sourcing only reads availability: inventory re-checks every unit under lock when the order
commits the plan (``inventory.services.stock_commit``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from inventory import selectors as inventory_selectors
from inventory.exceptions import InsufficientStock
from inventory.selectors import haversine_km
from orders.exceptions import PickupUnavailable

Plan = dict[int, dict[int, int]]  # location_id -> variant_id -> units


@dataclass(frozen=True)
class Candidate:
    location_id: int
    code: str
    priority: int
    latitude: float | None
    longitude: float | None
    available: Mapping[int, int]  # variant_id -> units available now


class SourcingStrategy(Protocol):
    def plan(
        self,
        *,
        wanted: Mapping[int, int],
        candidates: list[Candidate],
        destination: tuple[float, float] | None,
    ) -> tuple[Plan, dict[int, int]]:
        """Return the plan and the units that could not be placed (variant_id -> missing)."""
        ...


class FewestParcelsStrategy:
    """Prefer one location that has everything (by priority, then distance); otherwise take the
    location covering the most remaining units, ties by priority then distance, and repeat.
    Ship-from-store is just a store among the candidates."""

    def _rank(
        self, candidate: Candidate, destination: tuple[float, float] | None
    ) -> tuple[int, float, str]:
        distance = 0.0
        if destination is not None and candidate.latitude is not None:
            assert candidate.longitude is not None
            distance = haversine_km(
                destination[0], destination[1], candidate.latitude, candidate.longitude
            )
        return (candidate.priority, distance, candidate.code)

    def plan(
        self,
        *,
        wanted: Mapping[int, int],
        candidates: list[Candidate],
        destination: tuple[float, float] | None,
    ) -> tuple[Plan, dict[int, int]]:
        remaining = {v: q for v, q in wanted.items() if q > 0}
        ranked = sorted(candidates, key=lambda c: self._rank(c, destination))
        stock = {c.location_id: dict(c.available) for c in ranked}
        plan: Plan = {}
        while remaining:
            best, best_cover = None, 0
            for candidate in ranked:
                have = stock[candidate.location_id]
                cover = sum(min(q, have.get(v, 0)) for v, q in remaining.items())
                if cover > best_cover:
                    best, best_cover = candidate, cover
                if cover == sum(remaining.values()):
                    best, best_cover = candidate, cover
                    break
            if best is None:
                break
            have = stock[best.location_id]
            for variant_id, quantity in list(remaining.items()):
                take = min(quantity, have.get(variant_id, 0))
                if take:
                    plan.setdefault(best.location_id, {})[variant_id] = take
                    have[variant_id] -= take
                    remaining[variant_id] -= take
                    if remaining[variant_id] == 0:
                        del remaining[variant_id]
        return plan, remaining


@dataclass
class Sourced:
    """Per location: units to commit now, or units promised through a transfer."""

    committed: Plan = field(default_factory=dict)
    awaiting: Plan = field(default_factory=dict)
    promised_at: datetime | None = None


def held_units(*, hold_reference: str | None, now: datetime) -> dict[tuple[int, int], int]:
    """Units the caller's own active hold keeps aside, by (variant, location): they count as
    available to the order that consumes the hold."""
    if not hold_reference:
        return {}
    held: dict[tuple[int, int], int] = defaultdict(int)
    holds = inventory_selectors.stock_hold_list().filter(
        reference=hold_reference, status="active", expires_at__gt=now
    )
    for variant_id, location_id, quantity in holds.values_list(
        "stock__variant_id", "stock__location_id", "quantity"
    ):
        held[(variant_id, location_id)] += quantity
    return held


def pickup_source(
    *,
    wanted: dict[int, int],
    location: Any,
    now: datetime,
    held: Mapping[tuple[int, int], int] | None = None,
) -> Sourced:
    """Commit what the store has now; promise the rest when an open transfer brings it
    (``inventory.selectors.pickup_promises``); otherwise refuse with per-line shortages."""
    sourced = Sourced()
    held = held or {}
    for variant_id, quantity in list(wanted.items()):
        if held.get((variant_id, location.pk), 0) >= quantity:  # kept aside by the cart's hold
            sourced.committed.setdefault(location.pk, {})[variant_id] = quantity
    wanted = {v: q for v, q in wanted.items() if v not in sourced.committed.get(location.pk, {})}
    if not wanted:
        sourced.promised_at = now + timedelta(minutes=location.pickup_preparation_minutes)
        return sourced
    promises = inventory_selectors.pickup_promises(lines=wanted, location_id=location.pk, now=now)
    here = inventory_selectors.availability_for_variants(
        variant_ids=wanted, location_ids=[location.pk], now=now
    )
    shortages = []
    for variant_id, quantity in sorted(wanted.items()):
        promise = promises[variant_id]
        if promise.via_transfer is None and promise.ready_at is not None:
            sourced.committed.setdefault(location.pk, {})[variant_id] = quantity
            continue
        if promise.ready_at is None:
            shortages.append(
                {
                    "variant_id": variant_id,
                    "location_id": location.pk,
                    "requested": quantity,
                    "available": here[variant_id].total,
                }
            )
            continue
        # Part of it may be here already; the whole line waits for the transfer, so the store's
        # units are not taken from walk-in shoppers before the promise date.
        sourced.awaiting.setdefault(location.pk, {})[variant_id] = quantity
        if sourced.promised_at is None or promise.ready_at > sourced.promised_at:
            sourced.promised_at = promise.ready_at
    if shortages:
        raise PickupUnavailable(
            f"{location.code} cannot serve {len(shortages)} line(s), not even by transfer.",
            extra={"shortages": shortages},
        )
    if sourced.committed and sourced.promised_at is None:
        sourced.promised_at = now + timedelta(minutes=location.pickup_preparation_minutes)
    return sourced


def ship_source(
    *,
    wanted: dict[int, int],
    channel: Any,
    address: Mapping[str, Any],
    strategy: SourcingStrategy,
    now: datetime,
    held: Mapping[tuple[int, int], int] | None = None,
) -> Sourced:
    """Split ``wanted`` over the channel's active shipping locations with ``strategy``; raises
    :class:`InsufficientStock` with per-line shortages for what no location has."""
    held = held or {}
    locations = list(channel.locations.filter(is_active=True, ships_orders=True))
    availability = inventory_selectors.availability_for_variants(
        variant_ids=wanted, location_ids=[loc.pk for loc in locations], now=now
    )
    candidates = [
        Candidate(
            location_id=loc.pk,
            code=loc.code,
            priority=loc.sourcing_priority,
            latitude=float(loc.latitude) if loc.latitude is not None else None,
            longitude=float(loc.longitude) if loc.longitude is not None else None,
            available={
                v: availability[v].by_location.get(loc.pk, 0) + held.get((v, loc.pk), 0)
                for v in wanted
            },
        )
        for loc in locations
    ]
    destination = None
    if address.get("latitude") is not None and address.get("longitude") is not None:
        destination = (float(address["latitude"]), float(address["longitude"]))
    plan, missing = strategy.plan(wanted=wanted, candidates=candidates, destination=destination)
    if missing:
        raise InsufficientStock(
            f"Not enough stock for {len(missing)} line(s).",
            extra={
                "shortages": [
                    {
                        "variant_id": v,
                        "location_id": None,
                        "requested": wanted[v],
                        "available": wanted[v] - q,
                    }
                    for v, q in sorted(missing.items())
                ]
            },
        )
    return Sourced(committed=plan)
