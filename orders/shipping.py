"""Shipping prices and delivery promises: the one place the API, the emails and checkout quote
them from (see docs/orders.md, "Shipping and delivery promises").

- :func:`shipping_options` / :func:`shipping_quote`: which of a channel's methods serve an address
  (zones: countries and postcode ranges) and what each costs for a parcel (rate tiers by weight or
  by goods value, free from ``free_over``).
- :func:`delivery_promise`: when a parcel leaves a location and arrives with a method, from the
  location's cut-off time (its local time), the dispatch country's and the destination country's
  non-working days and weekends, and the method's transit business days.
- :func:`delivery_promise_for`: the promise per method for a SKU on a channel, from the location
  the ship sourcing planner (``orders.services.sourcing.ship_source``) would pick, read only.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch

from catalog import selectors as catalog_selectors
from catalog.models import Variant
from core.models import Channel
from inventory.exceptions import InsufficientStock
from orders.exceptions import (
    ShippingAddressInvalid,
    ShippingMethodUnknown,
    ShippingRateMissing,
    ShippingZoneUnserved,
)
from orders.models import NonWorkingDay, ShippingMethod, ShippingRate, ShippingZone
from orders.models.shipping import COUNTRY_PATTERN, POSTCODE_PATTERN, postcode_normalise

WEEKEND: frozenset[int] = frozenset({5, 6})
"""Weekdays (Monday 0) no carrier delivers and no warehouse ships: Saturday and Sunday. Public
holidays are ``NonWorkingDay`` rows per country."""

UNKNOWN_WEIGHT_GRAMS = 1000
"""The weight a variant without ``weight_grams`` counts for: one kilogram, so a parcel of
unweighed goods is not quoted the lightest tier (set the weight on the variant to quote it
exactly)."""

HORIZON_DAYS = 366
"""How far ahead a promise looks for working days; no promise is further away."""

COUNTRY_TIMEZONES: Mapping[str, str] = {
    "NL": "Europe/Amsterdam",
    "BE": "Europe/Brussels",
    "LU": "Europe/Luxembourg",
    "DE": "Europe/Berlin",
    "FR": "Europe/Paris",
    "AT": "Europe/Vienna",
    "DK": "Europe/Copenhagen",
    "ES": "Europe/Madrid",
    "IT": "Europe/Rome",
    "PL": "Europe/Warsaw",
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
    "PT": "Europe/Lisbon",
}
"""A location's local time is its country's (these countries have one zone each in mainland
Europe); any other country falls back to ``settings.TIME_ZONE``."""

POSTCODE_FORMATS: Mapping[str, str] = {
    "NL": r"^[1-9][0-9]{3}[A-Z]{2}$",
    "BE": r"^[1-9][0-9]{3}$",
    "LU": r"^[0-9]{4}$",
    "AT": r"^[1-9][0-9]{3}$",
    "DK": r"^[0-9]{4}$",
    "DE": r"^[0-9]{5}$",
    "FR": r"^[0-9]{5}$",
    "ES": r"^[0-9]{5}$",
    "IT": r"^[0-9]{5}$",
}
"""The shape of a normalised postcode per country; other countries take any 1 to 10 letters and
digits (``POSTCODE_PATTERN``)."""


@dataclass(frozen=True)
class ShippingOption:
    method_code: str
    name: str
    carrier: str
    service: str
    price: Decimal
    currency: str
    free: bool


@dataclass(frozen=True)
class DeliveryPromise:
    ships_on: date
    delivered_by: date
    carrier: str
    service: str


@dataclass(frozen=True)
class MethodPromise:
    """One method's quote and promise for a SKU: ``option.price`` for the quantity asked,
    ``promise`` from the location(s) sourcing would pick (the latest parcel when split)."""

    option: ShippingOption
    promise: DeliveryPromise
    locations: tuple[str, ...]


def address_normalise(*, country: str, postcode: str | None) -> tuple[str, str]:
    """``(country, postcode)`` as zones compare them: ``("NL", "1011AB")``; the postcode is ""
    when none is given. :class:`ShippingAddressInvalid` names each bad field."""
    errors = []
    if not re.fullmatch(COUNTRY_PATTERN, country or ""):
        errors.append(
            {"field": "country", "code": "invalid", "message": "ISO 3166-1 alpha-2, e.g. NL"}
        )
    code = postcode_normalise(postcode or "")
    if postcode is not None and not errors:
        shape = POSTCODE_FORMATS.get(country, POSTCODE_PATTERN)
        if not re.fullmatch(shape, code):
            errors.append(
                {
                    "field": "postcode",
                    "code": "invalid_postcode",
                    "message": f"not a postcode of {country}",
                }
            )
    if errors:
        raise ShippingAddressInvalid("The delivery address is not valid.", errors=errors)
    return country, code


def zone_serves(zone: ShippingZone, *, country: str, postcode: str) -> bool:
    """Whether ``zone`` serves a normalised address (the range rule is on ``ShippingZone``). A zone
    with a postcode range never serves an address without a postcode."""
    if zone.country != country:
        return False
    if not zone.postcode_from and not zone.postcode_to:
        return True
    if not postcode:
        return False
    if zone.postcode_from and postcode[: len(zone.postcode_from)] < zone.postcode_from:
        return False
    return not (zone.postcode_to and postcode[: len(zone.postcode_to)] > zone.postcode_to)


def shipping_methods_serving(
    *, channel_code: str, country: str, postcode: str | None, currency: str
) -> list[ShippingMethod]:
    """The channel's active methods in ``currency`` with a zone serving the address (checked by
    :func:`address_normalise`), their zones and rates loaded. Two queries."""
    country, code = address_normalise(country=country, postcode=postcode)
    methods = ShippingMethod.objects.filter(
        channels__code=channel_code, is_active=True, currency=currency
    ).prefetch_related(
        Prefetch("zones", queryset=ShippingZone.objects.filter(country=country)),
        Prefetch("rates", queryset=ShippingRate.objects.order_by("id")),
    )
    return [
        method
        for method in methods.order_by("code")
        if any(zone_serves(zone, country=country, postcode=code) for zone in method.zones.all())
    ]


def _rate(method: ShippingMethod, *, weight_grams: int, goods_value: Decimal) -> Decimal | None:
    """The price of the smallest tier that covers the parcel, None when no tier does."""
    tiers: list[tuple[Decimal | int | None, Decimal]]
    if method.rate_basis == ShippingMethod.RateBasis.WEIGHT:
        tiers = [(rate.up_to_weight_grams, rate.price) for rate in method.rates.all()]
        amount: Decimal | int = weight_grams
    else:
        tiers = [(rate.up_to_value, rate.price) for rate in method.rates.all()]
        amount = goods_value
    bounded = sorted(
        ((bound, price) for bound, price in tiers if bound is not None), key=lambda t: t[0]
    )
    for bound, price in bounded:
        if amount <= bound:
            return price
    open_ended = [price for bound, price in tiers if bound is None]
    return min(open_ended) if open_ended else None


def _option(
    method: ShippingMethod, *, weight_grams: int, goods_value: Decimal
) -> ShippingOption | None:
    price = _rate(method, weight_grams=weight_grams, goods_value=goods_value)
    if price is None:
        return None
    free = method.free_over is not None and goods_value >= method.free_over
    return ShippingOption(
        method_code=method.code,
        name=method.name,
        carrier=method.carrier,
        service=method.service,
        price=Decimal("0.00") if free else price,
        currency=method.currency,
        free=free,
    )


def _check_parcel(*, weight_grams: int, goods_value: Decimal) -> None:
    errors = []
    if weight_grams < 0:
        errors.append({"field": "weight_grams", "code": "invalid", "message": "not negative"})
    if goods_value < 0:
        errors.append({"field": "goods_value", "code": "invalid", "message": "not negative"})
    if errors:
        raise ShippingAddressInvalid("The parcel is not valid.", errors=errors)


def shipping_options(
    *,
    channel_code: str,
    country: str,
    postcode: str | None,
    weight_grams: int,
    goods_value: Decimal,
    currency: str,
) -> list[ShippingOption]:
    """What each of the channel's methods that serves the address and can carry the parcel
    costs, cheapest first (then by code). Empty when none does."""
    _check_parcel(weight_grams=weight_grams, goods_value=goods_value)
    methods = shipping_methods_serving(
        channel_code=channel_code, country=country, postcode=postcode, currency=currency
    )
    options = [
        option
        for method in methods
        if (option := _option(method, weight_grams=weight_grams, goods_value=goods_value))
    ]
    return sorted(options, key=lambda option: (option.price, option.method_code))


def shipping_quote(
    *,
    channel_code: str,
    country: str,
    postcode: str | None,
    weight_grams: int,
    goods_value: Decimal,
    currency: str,
    method_code: str,
) -> ShippingOption:
    """The price of one method for the parcel (see :func:`shipping_method_quote`)."""
    option, _method = shipping_method_quote(
        channel_code=channel_code,
        country=country,
        postcode=postcode,
        weight_grams=weight_grams,
        goods_value=goods_value,
        currency=currency,
        method_code=method_code,
    )
    return option


def shipping_method_quote(
    *,
    channel_code: str,
    country: str,
    postcode: str | None,
    weight_grams: int,
    goods_value: Decimal,
    currency: str,
    method_code: str,
) -> tuple[ShippingOption, ShippingMethod]:
    """The price of one method for the parcel, and the method: :class:`ShippingMethodUnknown`
    when the channel has no such active method in ``currency``, :class:`ShippingZoneUnserved`
    when none of its zones serves the address, :class:`ShippingRateMissing` when no tier covers
    the parcel. Three queries (the method, its zones in the country, its rates)."""
    _check_parcel(weight_grams=weight_grams, goods_value=goods_value)
    country, code = address_normalise(country=country, postcode=postcode)
    method = (
        ShippingMethod.objects.filter(
            code=method_code, channels__code=channel_code, is_active=True, currency=currency
        )
        .prefetch_related(
            Prefetch("zones", queryset=ShippingZone.objects.filter(country=country)),
            Prefetch("rates", queryset=ShippingRate.objects.order_by("id")),
        )
        .first()
    )
    if method is None:
        raise ShippingMethodUnknown(
            f"No shipping method '{method_code}' on {channel_code} in {currency}.",
            errors=[{"field": "method", "code": "does_not_exist", "message": method_code}],
        )
    if not any(zone_serves(zone, country=country, postcode=code) for zone in method.zones.all()):
        raise ShippingZoneUnserved(
            f"{method_code} does not deliver to {country} {postcode or ''}".strip() + ".",
            extra={"method": method_code, "country": country},
        )
    option = _option(method, weight_grams=weight_grams, goods_value=goods_value)
    if option is None:
        raise ShippingRateMissing(
            f"{method_code} has no rate for {weight_grams} g worth {goods_value}.",
            extra={"method": method_code},
        )
    return option, method


@dataclass(frozen=True)
class ZoneSpec:
    country: str
    postcode_from: str = ""
    postcode_to: str = ""


@dataclass(frozen=True)
class RateSpec:
    price: Decimal
    up_to_weight_grams: int | None = None
    up_to_value: Decimal | None = None


@transaction.atomic
def shipping_method_upsert(
    *,
    code: str,
    channel_codes: Iterable[str],
    zones: Iterable[ZoneSpec],
    rates: Iterable[RateSpec],
    **fields: Any,
) -> ShippingMethod:
    """Create the method ``code`` or update it; its channels, zones and rates become exactly the
    ones given. Every row is validated (``full_clean``: a backwards postcode range, a bad
    country)."""
    method = ShippingMethod.objects.filter(code=code).first() or ShippingMethod(code=code)
    for name, value in fields.items():
        setattr(method, name, value)
    method.full_clean()
    method.save()
    method.channels.set(Channel.objects.filter(code__in=list(channel_codes)))
    method.zones.all().delete()
    method.rates.all().delete()
    for zone in zones:
        row = ShippingZone(
            method=method,
            country=zone.country,
            postcode_from=zone.postcode_from,
            postcode_to=zone.postcode_to,
        )
        row.full_clean()
        row.save()
    for rate in rates:
        tier = ShippingRate(
            method=method,
            price=rate.price,
            up_to_weight_grams=rate.up_to_weight_grams,
            up_to_value=rate.up_to_value,
        )
        tier.full_clean()
        tier.save()
    return method


def non_working_day_upsert(*, country: str, day: date, name: str) -> NonWorkingDay:
    """Record (or rename) a day ``country`` neither ships nor delivers."""
    row, _ = NonWorkingDay.objects.update_or_create(
        country=country, date=day, defaults={"name": name}
    )
    row.full_clean()
    return row


def location_timezone(location: Any) -> ZoneInfo:
    """The time zone a location's cut-off is read in: its country's (``COUNTRY_TIMEZONES``), else
    ``settings.TIME_ZONE``."""
    return ZoneInfo(COUNTRY_TIMEZONES.get(location.country, settings.TIME_ZONE))


def non_working_days(*, countries: Iterable[str], start: date, end: date) -> dict[str, set[date]]:
    """Per country, its ``NonWorkingDay`` dates from ``start`` to ``end`` (inclusive). One query."""
    wanted = sorted(set(countries))
    days: dict[str, set[date]] = {country: set() for country in wanted}
    rows = NonWorkingDay.objects.filter(
        country__in=wanted, date__gte=start, date__lte=end
    ).values_list("country", "date")
    for country, day in rows:
        days[country].add(day)
    return days


def _working(day: date, closed: Collection[date]) -> bool:
    return day.weekday() not in WEEKEND and day not in closed


def _next_working(day: date, closed: Collection[date], *, last: date) -> date:
    while not _working(day, closed):
        if day >= last:
            break
        day += timedelta(days=1)
    return day


def delivery_promise(
    *,
    location: Any,
    method: ShippingMethod,
    country: str,
    now: datetime,
    closed: Mapping[str, Collection[date]] | None = None,
) -> DeliveryPromise:
    """When a parcel from ``location`` with ``method`` to ``country`` leaves and arrives.

    *Ships on*: today (the location's local date) when today is a working day of the location's
    country and the local time is before ``location.cutoff_time``; otherwise the next working day
    there. A location without a cut-off never ships the same day. *Delivered by*: ships on plus
    ``method.transit_days`` working days of the destination country (0: the same day).
    ``closed`` (per country, from :func:`non_working_days`) saves the query when promising many.
    """
    local = now.astimezone(location_timezone(location))
    today = local.date()
    last = today + timedelta(days=HORIZON_DAYS)
    if closed is None:
        closed = non_working_days(countries={location.country, country}, start=today, end=last)
    dispatch_closed = closed.get(location.country, set())
    delivery_closed = closed.get(country, set())
    same_day = (
        location.cutoff_time is not None
        and local.time() < location.cutoff_time
        and _working(today, dispatch_closed)
    )
    ships_on = (
        today if same_day else _next_working(today + timedelta(days=1), dispatch_closed, last=last)
    )
    delivered_by = ships_on
    for _ in range(method.transit_days):
        delivered_by = _next_working(delivered_by + timedelta(days=1), delivery_closed, last=last)
    return DeliveryPromise(
        ships_on=ships_on, delivered_by=delivered_by, carrier=method.carrier, service=method.service
    )


def variant_weight_grams(variant: Variant) -> int:
    """A variant's shipping weight: ``weight_grams``, or ``UNKNOWN_WEIGHT_GRAMS`` when unset."""
    return weight_or_default(variant.weight_grams)


def weight_or_default(weight_grams: int | None) -> int:
    """A known shipping weight, or ``UNKNOWN_WEIGHT_GRAMS`` (an item not weighed is never
    quoted the lightest tier)."""
    return weight_grams if weight_grams is not None else UNKNOWN_WEIGHT_GRAMS


def delivery_promise_for(
    *,
    channel_code: str,
    sku: str,
    quantity: int,
    country: str,
    postcode: str | None,
    now: datetime,
) -> list[MethodPromise]:
    """Per method the channel offers to the address, the price of ``quantity`` units of ``sku``
    (at the channel's current price and the variant's weight) and the delivery promise from the
    location(s) the ship sourcing planner would take them from (``ship_source`` with its default
    strategy; the latest parcel when it splits). Earliest delivery first, then cheapest.

    :class:`ShippingAddressInvalid` for a bad address; :class:`ShippingZoneUnserved` when no method
    of the channel serves it. Empty when the SKU is not for sale on the channel, no method can
    carry the parcel, or the channel's shipping locations do not have ``quantity`` units."""
    # Imported here: placement (in orders.services) may quote shipping from this module.
    from orders.services.sourcing import FewestParcelsStrategy, ship_source

    if quantity < 1:
        raise ShippingAddressInvalid(
            "The quantity must be at least 1.",
            errors=[{"field": "quantity", "code": "invalid", "message": "at least 1"}],
        )
    offer = catalog_selectors.channel_variant_offers(channel_code=channel_code, skus=[sku]).get(sku)
    channel = Channel.objects.filter(code=channel_code, is_active=True).first()
    currency = offer.currency if offer is not None else (channel.currency if channel else "")
    methods = shipping_methods_serving(
        channel_code=channel_code, country=country, postcode=postcode, currency=currency
    )
    if not methods:
        raise ShippingZoneUnserved(
            f"No shipping method of {channel_code} delivers to {country} {postcode or ''}".strip()
            + ".",
            extra={"country": country},
        )
    if channel is None or offer is None or not offer.sellable or offer.price is None:
        return []
    variant = Variant.objects.only("id", "weight_grams").get(pk=offer.variant_id)
    try:
        sourced = ship_source(
            wanted={variant.pk: quantity},
            channel=channel,
            address={},
            strategy=FewestParcelsStrategy(),
            now=now,
        )
    except InsufficientStock:
        return []
    location_ids = list(sourced.committed)
    locations = list(channel.locations.filter(pk__in=location_ids).order_by("code"))
    if not locations:
        return []
    weight = variant_weight_grams(variant) * quantity
    goods_value = offer.price * quantity
    start = min(now.astimezone(location_timezone(loc)).date() for loc in locations)
    closed = non_working_days(
        countries={country, *(loc.country for loc in locations)},
        start=start,
        end=start + timedelta(days=HORIZON_DAYS + 1),
    )
    found = []
    for method in methods:
        option = _option(method, weight_grams=weight, goods_value=goods_value)
        if option is None:
            continue
        promises = [
            delivery_promise(location=loc, method=method, country=country, now=now, closed=closed)
            for loc in locations
        ]
        last = max(promises, key=lambda p: (p.delivered_by, p.ships_on))
        found.append(
            MethodPromise(
                option=option, promise=last, locations=tuple(loc.code for loc in locations)
            )
        )
    return sorted(
        found,
        key=lambda item: (item.promise.delivered_by, item.option.price, item.option.method_code),
    )
