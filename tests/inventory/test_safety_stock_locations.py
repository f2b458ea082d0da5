"""Safety stock set for several locations at once (the demo's stores): every level there
changes, and each variant's availability is announced once, not once per location."""

from __future__ import annotations

import pytest

from core.models import ChangeEvent
from inventory import services
from inventory.exceptions import InvalidQuantity
from inventory.models import StockLevel
from inventory.services import StockLine
from tests.factories import LocationFactory
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db


def _stock_events(variant_id: int) -> list[dict[str, object]]:
    return list(
        ChangeEvent.objects.filter(
            topic="stock.changed", aggregate="variant", aggregate_id=str(variant_id)
        )
        .order_by("sequence")
        .values_list("payload", flat=True)
    )


def test_safety_stock_for_several_stores_announces_each_variant_once() -> None:
    first, second = LocationFactory(code="st-a"), LocationFactory(code="st-b")
    warehouse = LocationFactory(code="wh", kind="warehouse")
    variants = VariantFactory.create_batch(3)
    services.stock_receive(
        lines=[StockLine(v.pk, loc.pk, 5) for v in variants for loc in (first, second, warehouse)],
        reference="PO",
    )
    before = {v.pk: len(_stock_events(v.pk)) for v in variants}

    changed = services.stock_safety_set_for_locations(
        location_ids=[first.pk, second.pk], safety_stock=2
    )

    assert changed == 6
    levels = StockLevel.objects.values_list("location__code", "safety_stock")
    assert sorted(set(levels)) == [("st-a", 2), ("st-b", 2), ("wh", 0)]
    for variant in variants:
        events = _stock_events(variant.pk)
        assert len(events) == before[variant.pk] + 1
        assert events[-1]["locations"] == {"st-a": 3, "st-b": 3, "wh": 5}
    # the same again changes nothing and announces nothing
    assert (
        services.stock_safety_set_for_locations(location_ids=[first.pk, second.pk], safety_stock=2)
        == 0
    )
    assert {v.pk: len(_stock_events(v.pk)) for v in variants} == {
        v.pk: before[v.pk] + 1 for v in variants
    }


def test_negative_safety_stock_for_several_locations_is_refused() -> None:
    store = LocationFactory()
    variant = VariantFactory()
    services.stock_receive(lines=[StockLine(variant.pk, store.pk, 5)], reference="PO")

    with pytest.raises(InvalidQuantity):
        services.stock_safety_set_for_locations(location_ids=[store.pk], safety_stock=-1)

    assert StockLevel.objects.get().safety_stock == 0
