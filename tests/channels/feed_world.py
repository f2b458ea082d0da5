"""The feed tests' shop: the tee published on a Google and a Meta feed channel, and feeds
rendered at once."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from catalog import services as catalog_services
from catalog.models import Attribute, Product, ProductTypeAttribute
from channels import relay
from core.models import Channel
from tests.factories import ChannelFactory
from tests.shop import Shop

G = "{http://base.google.com/ns/1.0}"
PRICE = re.compile(r"^\d+\.\d{2} [A-Z]{3}$")


@pytest.fixture(autouse=True)
def _render_at_once(settings: Any) -> None:
    settings.CHANNELS_FEED_MIN_SECONDS = 0
    settings.OMNIHUB_PUBLIC_URL = "https://hub.example.com"


def _feed_channel(code: str, kind: str, owner: Shop) -> Channel:
    channel: Channel = ChannelFactory(  # type: ignore[assignment]
        code=code,
        kind=kind,
        currency="EUR",
        product_url_template="https://shop.example.com/products/{handle}?variant={variant_id}",
    )
    channel.locations.set([owner.warehouse])
    return channel


def _with_apparel_attributes(product: Product) -> None:
    """Give the tee the gender and age group that Google requires of apparel, approved."""
    for code, name in (("gender", "Gender"), ("age_group", "Age group")):
        attribute, _ = Attribute.objects.get_or_create(
            code=code, defaults={"name": name, "kind": Attribute.Kind.TEXT}
        )
        ProductTypeAttribute.objects.get_or_create(
            product_type=product.product_type, attribute=attribute, defaults={"level": "product"}
        )
    product.refresh_from_db()
    catalog_services.product_update(
        product=product,
        attributes={**product.attributes, "gender": "Unisex", "age_group": "Adult"},
    )
    product.refresh_from_db()
    assert product.status == Product.Status.IN_REVIEW  # an edit of approved content
    catalog_services.product_approve(product_ids=[product.pk])


@pytest.fixture
def feed_shop(shop: Shop) -> Shop:
    """The shop's tee, published on a Google and a Meta feed channel, 7 S in the warehouse."""
    product = shop.s.product
    _with_apparel_attributes(product)
    for code, kind in (("google", Channel.Kind.GOOGLE_FEED), ("meta", Channel.Kind.META_FEED)):
        channel = _feed_channel(code, kind, shop)
        for variant in product.variants.all():
            catalog_services.price_set(
                variant_id=variant.id, channel_code=code, amount=Decimal("24.95")
            )
        catalog_services.completeness_refresh(product_ids=[product.pk])
        catalog_services.product_publish(product_ids=[product.pk], channel_code=channel.code)
    shop.receive(shop.warehouse, shop.s, 7)
    shop.receive(shop.amsterdam, shop.m, 4)  # not a location of the feed channels
    relay.relay_run()
    return shop
