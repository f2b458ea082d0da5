"""Shipping methods for tests (tests/orders/test_shipping*.py)."""

from __future__ import annotations

from decimal import Decimal

from orders.models import ShippingMethod, ShippingRate, ShippingZone
from tests.factories import ChannelFactory


def method_make(
    code: str,
    *,
    channels=("webshop",),
    basis=ShippingMethod.RateBasis.WEIGHT,
    zones=(("NL", "", ""),),
    rates=((2000, None, "4.95"), (None, None, "7.95")),
    free_over=None,
    transit_days=1,
    currency="EUR",
) -> ShippingMethod:
    method = ShippingMethod.objects.create(
        code=code,
        name=code.title(),
        carrier=f"{code} carrier",
        service="Standard",
        currency=currency,
        rate_basis=basis,
        free_over=None if free_over is None else Decimal(free_over),
        transit_days=transit_days,
    )
    method.channels.set([ChannelFactory.create(code=c) for c in channels])
    for country, start, end in zones:
        ShippingZone.objects.create(
            method=method, country=country, postcode_from=start, postcode_to=end
        )
    for weight, value, price in rates:
        ShippingRate.objects.create(
            method=method,
            up_to_weight_grams=weight,
            up_to_value=None if value is None else Decimal(value),
            price=Decimal(price),
        )
    return method
