"""Stock snapshots from the stock ledger, and the ``reports_rebuild`` command."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from inventory import services as inventory_services
from inventory.models import StockLevel
from reports.models import StockCurrent, StockSnapshot
from reports.rollups import rollups_rebuild, rollups_update
from tests.reports.history import Clock
from tests.shop import Shop

pytestmark = pytest.mark.django_db


def _snapshots() -> dict[tuple[int, int, date], tuple[int, int, date | None]]:
    return {
        (s.variant_id, s.location_id, s.day): (s.on_hand, s.received, s.last_received_on)
        for s in StockSnapshot.objects.all()
    }


def test_snapshots_follow_the_ledger_day_by_day(shop: Shop) -> None:
    clock = Clock()
    with clock.running():
        shop.receive(shop.warehouse, shop.s, 10)  # day 1: +10 received
        shop.receive(shop.warehouse, shop.s, 5)
        rollups_update()
        clock.next_day()  # day 2: nothing
        clock.next_day()  # day 3: 3 adjusted away
        inventory_services.stock_adjust(
            variant_id=shop.s.pk, location_id=shop.warehouse.pk, delta=-3, reason="count"
        )
        rollups_update()
        clock.next_day()  # day 4: received at Amsterdam
        shop.receive(shop.amsterdam, shop.s, 7)
        rollups_update()
    d1, d3, d4 = date(2026, 3, 2), date(2026, 3, 4), date(2026, 3, 5)
    expected = {
        (shop.s.pk, shop.warehouse.pk, d1): (15, 15, d1),
        (shop.s.pk, shop.warehouse.pk, d3): (12, 0, d1),
        (shop.s.pk, shop.amsterdam.pk, d4): (7, 7, d4),
    }
    assert _snapshots() == expected
    # the latest snapshot equals the level
    level = StockLevel.objects.get(variant=shop.s, location=shop.warehouse)
    assert level.on_hand == 12
    current = {
        (shop.s.pk, shop.warehouse.pk): (d3, 12, d1),
        (shop.s.pk, shop.amsterdam.pk): (d4, 7, d4),
    }
    assert _current() == current
    rollups_rebuild()
    assert _snapshots() == expected
    assert _current() == current


def _current() -> dict[tuple[int, int], tuple[date, int, date | None]]:
    """``StockCurrent``: the latest snapshot of each level."""
    return {
        (c.variant_id, c.location_id): (c.day, c.on_hand, c.last_received_on)
        for c in StockCurrent.objects.all()
    }


def test_the_command_rebuilds_and_updates(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.m, 3)
    out = StringIO()
    call_command("reports_rebuild", stdout=out)
    assert "Rebuilt the rollups from 0 orders" in out.getvalue()
    assert "1 stock snapshots" in out.getvalue()
    shop.receive(shop.warehouse, shop.l, 2)
    out = StringIO()
    call_command("reports_rebuild", "--update", stdout=out)
    assert "Applied 1 change events" in out.getvalue()
    assert StockSnapshot.objects.count() == 2
