"""Availability and store-locator reads."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inventory import selectors, services, tasks
from inventory.models import StockHold, StockLevel
from inventory.selectors import ChannelBuffer, apply_buffer
from inventory.services import StockLine
from tests.factories import LocationFactory
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db


def test_availability_for_100_variants_in_a_handful_of_queries(
    django_assert_max_num_queries: Any,
) -> None:
    store, warehouse = LocationFactory(), LocationFactory(kind="warehouse")
    variants = VariantFactory.create_batch(100)
    services.stock_receive(
        lines=[StockLine(v.pk, loc.pk, 5) for v in variants for loc in (store, warehouse)],
        reference="PO",
    )
    services.stock_reserve(
        lines=[StockLine(v.pk, store.pk, 1) for v in variants[:50]],
        reference="c",
        ttl=timedelta(hours=1),
    )

    with django_assert_max_num_queries(2):
        result = selectors.availability_for_variants(variant_ids=[v.pk for v in variants])

    assert len(result) == 100
    assert result[variants[0].pk].total == 9
    assert result[variants[0].pk].by_location == {store.pk: 4, warehouse.pk: 5}
    assert result[variants[99].pk].total == 10


def test_availability_respects_location_set_buffers_and_missing_stock() -> None:
    store, warehouse = LocationFactory(), LocationFactory()
    variant, unstocked = VariantFactory(), VariantFactory()
    services.stock_receive(
        lines=[StockLine(variant.pk, store.pk, 10), StockLine(variant.pk, warehouse.pk, 10)],
        reference="PO",
    )
    services.stock_safety_set(variant_id=variant.pk, location_id=store.pk, safety_stock=12)

    result = selectors.availability_for_variants(
        variant_ids=[variant.pk, unstocked.pk],
        location_ids=[store.pk, warehouse.pk],
        buffer=ChannelBuffer(kind="percent", value=Decimal("25")),
    )
    # the store's safety stock exceeds its units: it contributes 0, not -2
    assert result[variant.pk].by_location == {store.pk: 0, warehouse.pk: 10}
    assert result[variant.pk].total == 7  # 10 minus ceil(25 %)
    assert result[unstocked.pk].total == 0
    only_store = selectors.availability_for_variants(
        variant_ids=[variant.pk], location_ids=[store.pk]
    )
    assert only_store[variant.pk].total == 0


@pytest.mark.parametrize(
    ("available", "kind", "value", "expected"),
    [(10, "absolute", 3, 7), (2, "absolute", 3, 0), (10, "percent", 10, 9), (0, "percent", 5, 0)],
)
def test_apply_buffer(available: int, kind: str, value: int, expected: int) -> None:
    assert apply_buffer(available, ChannelBuffer(kind=kind, value=Decimal(value))) == expected


def test_locations_near_sorted_by_distance_with_stock_and_pickup() -> None:
    amsterdam = LocationFactory(code="ams", latitude=Decimal("52.37"), longitude=Decimal("4.89"))
    utrecht = LocationFactory(code="utr", latitude=Decimal("52.09"), longitude=Decimal("5.12"))
    rotterdam = LocationFactory(
        code="rtm", latitude=Decimal("51.92"), longitude=Decimal("4.48"), offers_pickup=False
    )
    LocationFactory(code="nowhere", latitude=None, longitude=None)
    variant = VariantFactory()
    services.stock_receive(
        lines=[StockLine(variant.pk, loc.pk, 1) for loc in (utrecht, rotterdam)], reference="PO"
    )

    ranked = selectors.locations_near(latitude=52.09, longitude=5.12)
    assert [loc.code for loc, _ in ranked] == ["utr", "ams", "rtm"]
    assert ranked[0][1] == pytest.approx(0.0)
    assert ranked[1][1] == pytest.approx(35.2, abs=0.5)
    pickup = selectors.locations_near(latitude=52.37, longitude=4.89, pickup_only=True)
    assert [loc.code for loc, _ in pickup] == ["ams", "utr"]
    stocked = selectors.locations_near(latitude=52.37, longitude=4.89, with_stock_of=[variant.pk])
    assert [loc.code for loc, _ in stocked] == ["utr", "rtm"]
    assert amsterdam.pk not in [loc.pk for loc, _ in stocked]


def test_stock_check_command_reports_and_repairs(capsys: Any) -> None:
    variant, location = VariantFactory(), LocationFactory()
    services.stock_receive(lines=[StockLine(variant.pk, location.pk, 4)], reference="PO")
    call_command("stock_check")
    assert "No drift" in capsys.readouterr().out

    StockLevel.objects.update(on_hand=6)
    with pytest.raises(CommandError, match="1 stock level"):
        call_command("stock_check")
    assert "on_hand 6 (ledger 4)" in capsys.readouterr().out
    assert StockLevel.objects.get().on_hand == 6

    call_command("stock_check", "--repair")
    assert "Repaired 1" in capsys.readouterr().out
    assert StockLevel.objects.get().on_hand == 4


def test_periodic_tasks_expire_holds_and_check_drift() -> None:
    variant, location = VariantFactory(), LocationFactory()
    services.stock_receive(lines=[StockLine(variant.pk, location.pk, 3)], reference="PO")
    services.stock_reserve(
        lines=[StockLine(variant.pk, location.pk, 1)], reference="old", ttl=timedelta(hours=1)
    )
    StockHold.objects.update(expires_at=StockHold.objects.get().created_at)
    services.stock_reserve(
        lines=[StockLine(variant.pk, location.pk, 1)], reference="new", ttl=timedelta(hours=1)
    )

    assert tasks.holds_expire.delay().get() == 1
    assert list(StockHold.objects.order_by("reference").values_list("reference", "status")) == [
        ("new", "active"),
        ("old", "expired"),
    ]

    StockLevel.objects.update(on_hand=1)
    assert tasks.stock_drift_check.delay().get() == 1
    assert StockLevel.objects.get().on_hand == 1
    assert tasks.stock_drift_check.delay(repair=True).get() == 1
    assert StockLevel.objects.get().on_hand == 3
    assert tasks.stock_drift_check.delay().get() == 0


def test_demo_stock_is_deterministic_and_safe_to_rerun() -> None:
    from demo.inventory import demo_quantity, seed_stock

    warehouse = LocationFactory(code="wh", kind="warehouse")
    store = LocationFactory(code="st", kind="store")
    variants = VariantFactory.create_batch(5)
    seed_stock()
    first = sorted(StockLevel.objects.values_list("variant_id", "location_id", "on_hand"))
    seed_stock()
    assert sorted(StockLevel.objects.values_list("variant_id", "location_id", "on_hand")) == first
    for variant in variants:
        assert StockLevel.objects.get(variant=variant, location=warehouse).on_hand == (
            demo_quantity(warehouse, variant.sku)
        )
    store_levels = StockLevel.objects.filter(location=store)
    assert store_levels.count() == sum(demo_quantity(store, v.sku) > 0 for v in variants)
    assert all(level.safety_stock == 1 for level in store_levels)
    assert selectors.stock_drift_list() == []
