"""Deterministic demo stock: a receipt per variant per active location, safe to run again."""

from __future__ import annotations

import zlib

from catalog.models import Variant
from core.actors import Actor
from inventory.models import Location
from inventory.services import (
    MovementInput,
    stock_movements_apply,
    stock_safety_set_for_locations,
)

_CHUNK = 2_000  # movements per call


def demo_quantity(location: Location, sku: str) -> int:
    """Stable pseudo-random units: warehouses hold 20-79, stores 0-7 (some sold out)."""
    roll = zlib.crc32(f"{location.code}:{sku}".encode())
    return 20 + roll % 60 if location.kind == Location.Kind.WAREHOUSE else roll % 8


def seed_stock(*, store_safety_stock: int = 1, max_variants: int | None = None) -> None:
    """Receive demo stock for every variant (or the first ``max_variants`` by id) at every
    active location.

    Each receipt carries the idempotency key ``demo:<location>:<sku>``, so running it again
    receives nothing twice. Stores keep ``store_safety_stock`` units back for walk-in shoppers.
    """
    skus = list(Variant.objects.order_by("pk").values_list("pk", "sku")[:max_variants])
    locations = list(Location.objects.filter(is_active=True).order_by("code"))
    # every location of a slice of variants in one call: each variant's availability (and its
    # change event) is worked out once per slice, not once per location
    per_call = max(1, _CHUNK // max(1, len(locations)))
    for start in range(0, len(skus), per_call):
        items = [
            MovementInput(
                variant_id=variant_id,
                location_id=location.pk,
                kind="receipt",
                quantity=qty,
                reference="demo opening stock",
                reference_type="import",
                idempotency_key=f"demo:{location.code}:{sku}",
            )
            for variant_id, sku in skus[start : start + per_call]
            for location in locations
            if (qty := demo_quantity(location, sku)) > 0
        ]
        if items:
            stock_movements_apply(movements=items, actor=Actor.system("demo_seed"))
    stores = [location.pk for location in locations if location.kind == Location.Kind.STORE]
    stock_safety_set_for_locations(location_ids=stores, safety_stock=store_safety_stock)
