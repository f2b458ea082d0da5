"""Shipping methods: zones (countries, postcode ranges), rates by weight and by value, the
free-over threshold, and delivery promises (cut-off, weekends, holidays) (orders.shipping)."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from orders import shipping
from orders.exceptions import (
    ShippingAddressInvalid,
    ShippingMethodUnknown,
    ShippingRateMissing,
    ShippingZoneUnserved,
)
from orders.models import NonWorkingDay, ShippingMethod, ShippingZone
from tests.factories import LocationFactory
from tests.orders.shipping_factories import method_make
from tests.shop import Shop

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")


def options(**kwargs):
    query = {
        "channel_code": "webshop",
        "country": "NL",
        "postcode": "1011 AB",
        "weight_grams": 500,
        "goods_value": Decimal("20.00"),
        "currency": "EUR",
        **kwargs,
    }
    return shipping.shipping_options(**query)


# --- zones -------------------------------------------------------------------------------------


def test_a_country_zone_serves_every_postcode_of_the_country_only():
    method_make("postnl")
    assert [o.method_code for o in options(postcode="9999 ZZ")] == ["postnl"]
    assert [o.method_code for o in options(postcode=None)] == ["postnl"]
    assert options(country="BE", postcode="1000") == []


def test_postcode_ranges_compare_normalised_postcodes_by_prefix():
    method_make("amsterdam", zones=(("NL", "1000", "1099"),))
    method_make("exact", zones=(("NL", "1011 aa", "1011-AZ"),))
    assert ShippingZone.objects.get(method__code="exact").postcode_from == "1011AA"
    assert [o.method_code for o in options(postcode="1011 ab")] == ["amsterdam", "exact"]
    assert [o.method_code for o in options(postcode="1099ZZ")] == ["amsterdam"]
    assert [o.method_code for o in options(postcode="1000AA")] == ["amsterdam"]
    assert options(postcode="1100AA") == []
    assert options(postcode="9999ZZ") == []
    # A range needs a postcode to match.
    assert options(postcode=None) == []


def test_open_ended_ranges():
    method_make("north", zones=(("NL", "8000", ""),))
    method_make("south", zones=(("NL", "", "5999"),))
    assert [o.method_code for o in options(postcode="9711AB")] == ["north"]
    assert [o.method_code for o in options(postcode="5611AB")] == ["south"]
    assert options(postcode="7000AB") == []


def test_zone_validation_refuses_a_backwards_range_and_bad_postcodes():
    method = method_make("x", zones=())
    with pytest.raises(ValidationError) as backwards:
        ShippingZone(method=method, country="NL", postcode_from="2000", postcode_to="1000").clean()
    assert "postcode_to" in backwards.value.message_dict
    with pytest.raises(ValidationError) as bad:
        ShippingZone(method=method, country="NL", postcode_from="10*1").clean()
    assert "postcode_from" in bad.value.message_dict


def test_unserved_address_and_unknown_method_quotes_raise_stable_codes():
    method_make("postnl")
    method_make("elsewhere", channels=("app",))
    query: dict[str, Any] = {
        "channel_code": "webshop",
        "postcode": "10115",
        "weight_grams": 500,
        "goods_value": Decimal("20"),
        "currency": "EUR",
    }
    with pytest.raises(ShippingZoneUnserved) as unserved:
        shipping.shipping_quote(country="DE", method_code="postnl", **query)
    assert unserved.value.code == "shipping_zone_unserved"
    assert unserved.value.status == 422
    for code in ("nope", "elsewhere"):  # unknown, and not on this channel
        with pytest.raises(ShippingMethodUnknown) as unknown:
            shipping.shipping_quote(country="DE", method_code=code, **query)
        assert unknown.value.code == "shipping_method_unknown"
    with pytest.raises(ShippingMethodUnknown):  # another currency
        shipping.shipping_quote(
            country="NL", method_code="postnl", **{**query, "postcode": None, "currency": "GBP"}
        )


def test_inactive_methods_and_other_channels_are_not_offered():
    method_make("postnl")
    ShippingMethod.objects.filter(code="postnl").update(is_active=False)
    method_make("app-only", channels=("app",))
    assert options() == []


@pytest.mark.parametrize(
    ("country", "postcode", "field"),
    [
        ("nl", "1011AB", "country"),
        ("NLD", None, "country"),
        ("NL", "10115", "postcode"),
        ("NL", "0123AB", "postcode"),
        ("BE", "1011AB", "postcode"),
        ("DE", "1011", "postcode"),
        ("XX", "#1", "postcode"),
    ],
)
def test_a_bad_address_is_refused_with_the_field_named(country, postcode, field):
    method_make("postnl")
    with pytest.raises(ShippingAddressInvalid) as error:
        options(country=country, postcode=postcode)
    assert error.value.code == "invalid_address"
    assert [e["field"] for e in error.value.errors] == [field]


def test_a_negative_parcel_is_refused():
    method_make("postnl")
    with pytest.raises(ShippingAddressInvalid):
        options(weight_grams=-1)
    with pytest.raises(ShippingAddressInvalid):
        options(goods_value=Decimal("-0.01"))


# --- rates -------------------------------------------------------------------------------------


def test_weight_tiers_take_the_smallest_tier_that_covers_the_parcel():
    method_make("postnl", rates=((1000, None, "3.00"), (5000, None, "6.00"), (20000, None, "9.00")))
    price = {w: options(weight_grams=w)[0].price for w in (0, 1000, 1001, 5000, 19999, 20000)}
    assert price == {
        0: Decimal("3.00"),
        1000: Decimal("3.00"),
        1001: Decimal("6.00"),
        5000: Decimal("6.00"),
        19999: Decimal("9.00"),
        20000: Decimal("9.00"),
    }
    # Heavier than the last tier: the method cannot carry it.
    assert options(weight_grams=20001) == []
    with pytest.raises(ShippingRateMissing) as missing:
        shipping.shipping_quote(
            channel_code="webshop",
            country="NL",
            postcode="1011AB",
            weight_grams=20001,
            goods_value=Decimal("1"),
            currency="EUR",
            method_code="postnl",
        )
    assert missing.value.code == "shipping_rate_missing"


def test_an_open_tier_covers_everything_above_the_bounded_ones():
    method_make("postnl", rates=((1000, None, "3.00"), (None, None, "12.00")))
    assert options(weight_grams=999_999)[0].price == Decimal("12.00")


def test_value_tiers_price_by_goods_value():
    method_make(
        "dhl",
        basis=ShippingMethod.RateBasis.ORDER_VALUE,
        rates=((None, "25.00", "6.95"), (None, "100.00", "4.95"), (None, None, "2.95")),
    )
    price = {
        v: options(goods_value=Decimal(v), weight_grams=99_000)[0].price
        for v in ("0", "25.00", "25.01", "100.00", "100.01")
    }
    assert price == {
        "0": Decimal("6.95"),
        "25.00": Decimal("6.95"),
        "25.01": Decimal("4.95"),
        "100.00": Decimal("4.95"),
        "100.01": Decimal("2.95"),
    }


def test_free_over_threshold_is_inclusive():
    method_make("postnl", free_over="50.00")
    below = options(goods_value=Decimal("49.99"))[0]
    at = options(goods_value=Decimal("50.00"))[0]
    assert (below.price, below.free) == (Decimal("4.95"), False)
    assert (at.price, at.free) == (Decimal("0.00"), True)


def test_options_are_cheapest_first_and_quote_matches_the_option():
    method_make("postnl", rates=((None, None, "4.95"),))
    method_make("dhl", rates=((None, None, "3.95"),))
    found = options()
    assert [(o.method_code, o.price) for o in found] == [
        ("dhl", Decimal("3.95")),
        ("postnl", Decimal("4.95")),
    ]
    quote = shipping.shipping_quote(
        channel_code="webshop",
        country="NL",
        postcode="1011AB",
        weight_grams=500,
        goods_value=Decimal("20.00"),
        currency="EUR",
        method_code="postnl",
    )
    assert quote == found[1]
    assert (quote.carrier, quote.service, quote.currency) == ("postnl carrier", "Standard", "EUR")


# --- delivery promises -------------------------------------------------------------------------


@pytest.fixture
def warehouse():
    return LocationFactory(
        code="wh", kind="warehouse", ships_orders=True, country="NL", cutoff_time=time(17, 0)
    )


def promise(location, *, at, transit_days=1, country="NL"):
    method = ShippingMethod.objects.filter(code=f"m{transit_days}").first() or method_make(
        f"m{transit_days}", transit_days=transit_days
    )
    return shipping.delivery_promise(location=location, method=method, country=country, now=at)


def test_before_the_cut_off_ships_today_after_it_the_next_working_day(warehouse):
    thursday_before = datetime(2027, 4, 22, 16, 59, tzinfo=AMS)
    thursday_after = datetime(2027, 4, 22, 17, 0, tzinfo=AMS)
    before = promise(warehouse, at=thursday_before)
    assert (before.ships_on, before.delivered_by) == (date(2027, 4, 22), date(2027, 4, 23))
    after = promise(warehouse, at=thursday_after)
    assert (after.ships_on, after.delivered_by) == (date(2027, 4, 23), date(2027, 4, 26))
    assert (after.carrier, after.service) == ("m1 carrier", "Standard")


def test_the_cut_off_is_read_in_the_locations_local_time(warehouse):
    # 15:30 UTC is 17:30 in Amsterdam (summer time): past the cut-off.
    at = datetime(2027, 4, 22, 15, 30, tzinfo=ZoneInfo("UTC"))
    assert promise(warehouse, at=at).ships_on == date(2027, 4, 23)
    # 14:30 UTC is 16:30 there: before it.
    at = datetime(2027, 4, 22, 14, 30, tzinfo=ZoneInfo("UTC"))
    assert promise(warehouse, at=at).ships_on == date(2027, 4, 22)


def test_no_cut_off_means_no_same_day_dispatch():
    store = LocationFactory(code="st", ships_orders=True, cutoff_time=None)
    early = promise(store, at=datetime(2027, 4, 22, 8, 0, tzinfo=AMS))
    assert early.ships_on == date(2027, 4, 23)


def test_weekends_neither_ship_nor_deliver(warehouse):
    friday_late = promise(warehouse, at=datetime(2027, 4, 23, 18, 0, tzinfo=AMS))
    assert friday_late.ships_on == date(2027, 4, 26)  # Monday
    saturday = promise(warehouse, at=datetime(2027, 4, 24, 10, 0, tzinfo=AMS))
    assert saturday.ships_on == date(2027, 4, 26)
    friday_early = promise(warehouse, at=datetime(2027, 4, 23, 9, 0, tzinfo=AMS), transit_days=2)
    assert (friday_early.ships_on, friday_early.delivered_by) == (
        date(2027, 4, 23),
        date(2027, 4, 27),
    )


def test_holidays_of_the_dispatch_country_stop_shipping(warehouse):
    NonWorkingDay.objects.create(country="NL", date=date(2027, 4, 27), name="Koningsdag")
    monday_late = promise(warehouse, at=datetime(2027, 4, 26, 18, 0, tzinfo=AMS))
    assert monday_late.ships_on == date(2027, 4, 28)
    holiday = promise(warehouse, at=datetime(2027, 4, 27, 9, 0, tzinfo=AMS))
    assert holiday.ships_on == date(2027, 4, 28)


def test_holidays_of_the_destination_country_stop_delivery(warehouse):
    NonWorkingDay.objects.create(country="BE", date=date(2027, 4, 23), name="Belgian day off")
    NonWorkingDay.objects.create(country="DE", date=date(2027, 4, 22), name="Not counted")
    to_be = promise(warehouse, at=datetime(2027, 4, 22, 9, 0, tzinfo=AMS), country="BE")
    assert (to_be.ships_on, to_be.delivered_by) == (date(2027, 4, 22), date(2027, 4, 26))
    to_nl = promise(warehouse, at=datetime(2027, 4, 22, 9, 0, tzinfo=AMS), country="NL")
    assert to_nl.delivered_by == date(2027, 4, 23)


def test_zero_transit_days_delivers_on_the_dispatch_day(warehouse):
    same = promise(warehouse, at=datetime(2027, 4, 22, 9, 0, tzinfo=AMS), transit_days=0)
    assert same.ships_on == same.delivered_by == date(2027, 4, 22)


# --- the promise for a SKU ---------------------------------------------------------------------


def test_promise_for_a_sku_comes_from_the_location_sourcing_would_pick(shop: Shop):
    Location = type(shop.warehouse)
    Location.objects.filter(pk=shop.warehouse.pk).update(cutoff_time=time(17, 0))
    Location.objects.filter(pk=shop.amsterdam.pk).update(cutoff_time=time(12, 0))
    shop.receive(shop.warehouse, shop.m, 1)
    shop.receive(shop.amsterdam, shop.m, 5)
    type(shop.m).objects.filter(pk=shop.m.pk).update(weight_grams=3000)
    method_make("postnl", rates=((2000, None, "4.95"), (10000, None, "6.95")), free_over="50")
    method_make("dhl", transit_days=0, rates=((None, None, "9.95"),))
    at = datetime(2027, 4, 22, 14, 0, tzinfo=AMS)

    one = shipping.delivery_promise_for(
        channel_code="webshop", sku=shop.m.sku, quantity=1, country="NL", postcode="1011AB", now=at
    )
    # The warehouse has priority and has the unit: ships today (before its 17:00 cut-off).
    assert [(p.option.method_code, p.locations) for p in one] == [
        ("dhl", ("wh-rotterdam",)),
        ("postnl", ("wh-rotterdam",)),
    ]
    assert one[0].promise.ships_on == one[0].promise.delivered_by == date(2027, 4, 22)
    assert one[1].promise.delivered_by == date(2027, 4, 23)
    assert one[1].option.price == Decimal("6.95")  # 3 kg
    # Three units: only Amsterdam has them, and it is past its 12:00 cut-off; 60 EUR is free.
    three = shipping.delivery_promise_for(
        channel_code="webshop", sku=shop.m.sku, quantity=3, country="NL", postcode="1011AB", now=at
    )
    by_code = {p.option.method_code: p for p in three}
    assert by_code["postnl"].locations == ("ams-central",)
    assert by_code["postnl"].promise.ships_on == date(2027, 4, 23)
    assert by_code["postnl"].option.free is True
    assert "dhl" in by_code
    # More than the channel has: no promise.
    assert (
        shipping.delivery_promise_for(
            channel_code="webshop", sku=shop.m.sku, quantity=7, country="NL", postcode=None, now=at
        )
        == []
    )


def test_a_variant_without_weight_counts_as_one_kilogram(shop: Shop):
    shop.receive(shop.warehouse, shop.s, 1)
    assert shop.s.weight_grams is None
    method_make("postnl", rates=((999, None, "1.00"), (1000, None, "2.00"), (None, None, "3.00")))
    [found] = shipping.delivery_promise_for(
        channel_code="webshop",
        sku=shop.s.sku,
        quantity=1,
        country="NL",
        postcode="1011AB",
        now=datetime(2027, 4, 22, 9, 0, tzinfo=AMS),
    )
    assert found.option.price == Decimal("2.00")


def test_promise_for_an_unserved_address_raises(shop: Shop):
    shop.receive(shop.warehouse, shop.s, 1)
    method_make("postnl")
    with pytest.raises(ShippingZoneUnserved):
        shipping.delivery_promise_for(
            channel_code="webshop",
            sku=shop.s.sku,
            quantity=1,
            country="FR",
            postcode="75001",
            now=datetime(2027, 4, 22, 9, 0, tzinfo=AMS),
        )
