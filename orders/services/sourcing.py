"""Where an order's units come from, for placement, cart holds and re-sourcing missing items.

- *pickup*: the chosen store commits what it has now; a line it lacks but an open transfer brings
  is promised for the transfer's arrival; otherwise :class:`PickupUnavailable` with shortages.
- *ship*: a pluggable :class:`SourcingStrategy` splits the lines over the channel's shipping
  locations. A strategy gets plain data (what is wanted, what each candidate location has, where
  the parcel goes) and returns ``{location_id: {variant_id: quantity}}``; it never touches the
  database, so a channel or a test can pass its own.

``pickup_plan`` and ``ship_plan`` decide from availability figures they are given: placement
calls them under the stock lock with the locked, current levels
(``inventory.services.stock_commit_sourced``), so a plan is never overtaken before it is
committed. ``pickup_source`` and ``ship_source`` read availability first (cart holds, sourcing a
missing item again); inventory re-checks those plans under lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def pickup_plan(
    *,
    wanted: Mapping[int, int],
    location: Any,
    available: Mapping[int, int],
    now: datetime,
) -> Sourced:
    """Pickup at ``location`` given what it has available for each variant (``available``; under
    the stock lock at placement): a line the store covers is committed now; a line an open
    transfer covers (with what the store has) waits for that transfer's arrival, promised then
    plus the preparation time; otherwise :class:`PickupUnavailable` with per-line shortages.
    Reads the open transfers only when a line is short."""
    sourced = Sourced()
    preparation = timedelta(minutes=location.pickup_preparation_minutes)
    short = {v: q for v, q in wanted.items() if available.get(v, 0) < q}
    incoming = (
        inventory_selectors.incoming_for(variant_ids=short, location_id=location.pk)
        if short
        else {}
    )
    shortages = []
    for variant_id, quantity in sorted(wanted.items()):
        here = max(available.get(variant_id, 0), 0)
        if variant_id not in short:
            sourced.committed.setdefault(location.pk, {})[variant_id] = quantity
            continue
        ready_at = None
        covered = here
        for item in incoming.get(variant_id, []):
            covered += item.quantity
            if covered >= quantity:
                if item.expected_at is not None:
                    ready_at = max(item.expected_at, now) + preparation
                break
        if ready_at is None:
            shortages.append(
                {
                    "variant_id": variant_id,
                    "location_id": location.pk,
                    "requested": quantity,
                    "available": here,
                }
            )
            continue
        # Part of it may be here already; the whole line waits for the transfer, so the store's
        # units are not taken from walk-in shoppers before the promise date.
        sourced.awaiting.setdefault(location.pk, {})[variant_id] = quantity
        if sourced.promised_at is None or ready_at > sourced.promised_at:
            sourced.promised_at = ready_at
    if shortages:
        raise PickupUnavailable(
            f"{location.code} cannot serve {len(shortages)} line(s), not even by transfer.",
            extra={"shortages": shortages},
        )
    if sourced.committed and sourced.promised_at is None:
        sourced.promised_at = now + preparation
    return sourced


def pickup_source(
    *,
    wanted: dict[int, int],
    location: Any,
    now: datetime,
) -> Sourced:
    """:func:`pickup_plan` on the store's availability read now (no lock: inventory re-checks
    under lock when the plan is committed or held). (Units of the caller's own hold are taken
    before sourcing: ``placement._hold_take``.)"""
    here = inventory_selectors.availability_for_variants(
        variant_ids=wanted, location_ids=[location.pk], now=now
    )
    return pickup_plan(
        wanted=wanted,
        location=location,
        available={v: here[v].total for v in wanted},
        now=now,
    )


def ship_plan(
    *,
    wanted: Mapping[int, int],
    locations: Sequence[Any],
    available: Mapping[tuple[int, int], int],
    address: Mapping[str, Any],
    strategy: SourcingStrategy,
) -> Sourced:
    """Split ``wanted`` over ``locations`` with ``strategy``, given what each has available
    (``available[(variant_id, location_id)]``; under the stock lock at placement). Raises
    :class:`InsufficientStock` with per-line shortages for what no location has."""
    candidates = [
        Candidate(
            location_id=loc.pk,
            code=loc.code,
            priority=loc.sourcing_priority,
            latitude=float(loc.latitude) if loc.latitude is not None else None,
            longitude=float(loc.longitude) if loc.longitude is not None else None,
            available={v: max(available.get((v, loc.pk), 0), 0) for v in wanted},
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


def ship_source(
    *,
    wanted: dict[int, int],
    channel: Any,
    address: Mapping[str, Any],
    strategy: SourcingStrategy,
    now: datetime,
) -> Sourced:
    """:func:`ship_plan` over the channel's active shipping locations on availability read now
    (no lock: inventory re-checks under lock when the plan is committed or held)."""
    locations = list(channel.locations.filter(is_active=True, ships_orders=True))
    availability = inventory_selectors.availability_for_variants(
        variant_ids=wanted, location_ids=[loc.pk for loc in locations], now=now
    )
    return ship_plan(
        wanted=wanted,
        locations=locations,
        available={
            (v, loc.pk): availability[v].by_location.get(loc.pk, 0)
            for v in wanted
            for loc in locations
        },
        address=address,
        strategy=strategy,
    )
