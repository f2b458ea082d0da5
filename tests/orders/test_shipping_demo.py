"""The demo's shipping: methods, Dutch and Belgian holidays, warehouse cut-offs (demo.shipping)."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.utils import timezone

from demo.shipping import easter, holidays, seed_shipping
from inventory.models import Location
from orders.models import NonWorkingDay, ShippingMethod, ShippingZone
from tests.factories import ChannelFactory, LocationFactory

pytestmark = pytest.mark.django_db


def test_easter_dates():
    assert [easter(y) for y in (2024, 2025, 2026, 2027)] == [
        date(2024, 3, 31),
        date(2025, 4, 20),
        date(2026, 4, 5),
        date(2027, 3, 28),
    ]
    nl = dict((name, day) for day, name in holidays(2025)["NL"])
    assert nl["Koningsdag"] == date(2025, 4, 26)  # the 27th is a Sunday
    assert nl["Hemelvaartsdag"] == date(2025, 5, 29)


def test_seed_shipping_is_idempotent_and_sets_warehouse_cut_offs():
    ChannelFactory(code="webshop")
    ChannelFactory(code="app")
    LocationFactory(code="wh-x", kind=Location.Kind.WAREHOUSE, ships_orders=True)
    LocationFactory(code="st-x", kind=Location.Kind.STORE)
    seed_shipping()
    counts = (ShippingMethod.objects.count(), NonWorkingDay.objects.count())
    seed_shipping()
    assert (ShippingMethod.objects.count(), NonWorkingDay.objects.count()) == counts
    assert counts[0] == 3 and counts[1] >= 2 * (9 + 10) - 4  # some holidays coincide
    assert ShippingZone.objects.filter(method__code="dhl-express").count() == 3
    year = timezone.now().year
    assert NonWorkingDay.objects.filter(country="NL", date=date(year + 1, 12, 25)).exists()
    assert NonWorkingDay.objects.filter(country="BE", date=date(year, 7, 21)).exists()
    assert Location.objects.get(code="wh-x").cutoff_time == time(17, 0)
    assert Location.objects.get(code="st-x").cutoff_time is None
    assert set(
        ShippingMethod.objects.get(code="postnl-standard").channels.values_list("code", flat=True)
    ) == {"webshop", "app"}
