"""Where a ship order's units come from: a pluggable strategy splitting lines over locations.

A strategy gets plain data (what is wanted, what each candidate location has, where the parcel
goes) and returns ``{location_id: {variant_id: quantity}}``; it never touches the database, so a
channel or a test can pass its own. Inventory re-checks every unit under lock when the order
commits the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from inventory.selectors import haversine_km


@dataclass(frozen=True)
class Candidate:
    location_id: int
    code: str
    priority: int
    latitude: float | None
    longitude: float | None
    available: Mapping[int, int]  # variant_id -> units available now


Plan = dict[int, dict[int, int]]


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
