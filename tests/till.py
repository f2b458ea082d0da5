"""A store POS channel on top of the orders tests' shop (``tests/shop.py``): the tee priced for
the till and published there, selling from the two stores. Used by the till sale tests."""

from __future__ import annotations

from decimal import Decimal

from catalog import services as catalog_services
from core.models import Channel
from tests.factories import ChannelFactory
from tests.shop import Shop

POS_PRICE = Decimal("19.99")


def pos_channel_add(shop: Shop, *, code: str = "pos", price: Decimal = POS_PRICE) -> Channel:
    """Create the POS channel ``code`` selling the shop's tee at ``price`` from Amsterdam and
    Utrecht (needs database access)."""
    pos: Channel = ChannelFactory(code=code, kind=Channel.Kind.POS, currency="EUR")  # type: ignore[assignment]
    pos.locations.set([shop.amsterdam, shop.utrecht])
    for variant in (shop.s, shop.m, shop.l):
        catalog_services.price_set(variant_id=variant.pk, channel_code=code, amount=price)
    catalog_services.product_publish(product_ids=[shop.s.product_id], channel_code=code)
    return pos
