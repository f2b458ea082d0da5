"""Demo shipping: three methods on the webshop and the app, the Dutch and Belgian public holidays
of this year and the next, and a 17:00 cut-off at the warehouses (see docs/orders.md, "Shipping
and delivery promises")."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

from django.utils import timezone

from inventory.models import Location
from inventory.services import location_upsert
from orders.models import ShippingMethod
from orders.shipping import RateSpec, ZoneSpec, non_working_day_upsert, shipping_method_upsert

WAREHOUSE_CUTOFF = time(17, 0)
CHANNELS = ["webshop", "app"]


def easter(year: int) -> date:
    """Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - (b - g) // 3 + 15) % 30
    i, k = c // 4, c % 4
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


def holidays(year: int) -> dict[str, list[tuple[date, str]]]:
    """The public holidays on working days that matter for parcels, per country."""
    sunday = easter(year)
    kings_day = date(year, 4, 27)
    if kings_day.weekday() == 6:
        kings_day -= timedelta(days=1)
    return {
        "NL": [
            (date(year, 1, 1), "Nieuwjaarsdag"),
            (sunday - timedelta(days=2), "Goede Vrijdag"),
            (sunday + timedelta(days=1), "Tweede Paasdag"),
            (kings_day, "Koningsdag"),
            (date(year, 5, 5), "Bevrijdingsdag"),
            (sunday + timedelta(days=39), "Hemelvaartsdag"),
            (sunday + timedelta(days=50), "Tweede Pinksterdag"),
            (date(year, 12, 25), "Eerste Kerstdag"),
            (date(year, 12, 26), "Tweede Kerstdag"),
        ],
        "BE": [
            (date(year, 1, 1), "Nieuwjaar"),
            (sunday + timedelta(days=1), "Paasmaandag"),
            (date(year, 5, 1), "Dag van de Arbeid"),
            (sunday + timedelta(days=39), "O.L.H. Hemelvaart"),
            (sunday + timedelta(days=50), "Pinkstermaandag"),
            (date(year, 7, 21), "Nationale feestdag"),
            (date(year, 8, 15), "O.L.V. Hemelvaart"),
            (date(year, 11, 1), "Allerheiligen"),
            (date(year, 11, 11), "Wapenstilstand"),
            (date(year, 12, 25), "Kerstmis"),
        ],
    }


def seed_shipping() -> None:
    """Upsert the demo methods, holidays and cut-offs; running it again changes nothing."""
    for code in Location.objects.filter(kind=Location.Kind.WAREHOUSE).values_list(
        "code", flat=True
    ):
        location_upsert(code=code, cutoff_time=WAREHOUSE_CUTOFF)
    shipping_method_upsert(
        code="postnl-standard",
        name="PostNL standard",
        carrier="PostNL",
        service="Standaard pakket",
        currency="EUR",
        rate_basis=ShippingMethod.RateBasis.WEIGHT,
        free_over=Decimal("50.00"),
        transit_days=1,
        channel_codes=CHANNELS,
        zones=[ZoneSpec("NL"), ZoneSpec("BE")],
        rates=[
            RateSpec(Decimal("4.95"), up_to_weight_grams=2_000),
            RateSpec(Decimal("6.95"), up_to_weight_grams=10_000),
            RateSpec(Decimal("13.95"), up_to_weight_grams=23_000),
        ],
    )
    shipping_method_upsert(
        code="dhl-express",
        name="DHL express",
        carrier="DHL",
        service="Express",
        currency="EUR",
        rate_basis=ShippingMethod.RateBasis.ORDER_VALUE,
        free_over=None,
        transit_days=1,
        channel_codes=CHANNELS,
        zones=[ZoneSpec("NL"), ZoneSpec("BE"), ZoneSpec("DE")],
        rates=[
            RateSpec(Decimal("12.95"), up_to_value=Decimal("100.00")),
            RateSpec(Decimal("9.95")),
        ],
    )
    shipping_method_upsert(
        code="postnl-amsterdam-evening",
        name="Amsterdam same-day evening",
        carrier="PostNL",
        service="Avondbezorging",
        currency="EUR",
        rate_basis=ShippingMethod.RateBasis.WEIGHT,
        free_over=None,
        transit_days=0,
        channel_codes=CHANNELS,
        zones=[ZoneSpec("NL", "1000", "1109")],
        rates=[RateSpec(Decimal("7.95"), up_to_weight_grams=10_000)],
    )
    year = timezone.now().year
    for this in (year, year + 1):
        for country, rows in holidays(this).items():
            for day, name in rows:
                non_working_day_upsert(country=country, day=day, name=name)
