"""The store page's stock lookup shows what a variant costs at the till now: its price, and when
a promotion runs the sale price with its end (``orders.pricing.display_prices``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog import services as catalog
from catalog.models import Product
from core.models import Channel
from orders.models import Promotion
from tests.catalog.factories import category
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def till(shop: dict[str, Any], settings: Any) -> Channel:
    """The store channel, with the tee at 25.00 (S navy has no price there)."""
    settings.STORE_CHANNEL_CODE = "pos-stores"
    channel: Channel = ChannelFactory(code="pos-stores", kind=Channel.Kind.POS)  # type: ignore[assignment]
    channel.locations.set([shop["centre"], shop["zuid"]])
    for sku, variant in shop["variants"].items():
        if sku != "HARBOUR-S-NAVY":
            catalog.price_set(variant_id=variant.pk, channel_code="pos-stores", amount="25.00")
    Product.objects.filter(pk=shop["product"].pk).update(category=category())
    return channel


def page(shop: dict[str, Any]) -> str:
    client = Client()
    client.force_login(shop["associate"])
    return client.get(reverse("store:product", args=[shop["product"].pk])).content.decode()


def price_of(html: str, sku: str) -> str:
    start = html.index(f'data-testid="price-{sku}"')
    return html[html.index(">", start) + 1 : html.index("</p>", start)]


def test_the_lookup_shows_the_price_and_no_price(shop: dict[str, Any], till: Channel) -> None:
    html = page(shop)
    assert price_of(html, "HARBOUR-M-WHITE") == "Price: 25.00 EUR"
    assert price_of(html, "HARBOUR-S-NAVY") == "No price at the till"


def test_a_running_promotion_shows_the_sale_price_and_its_end(
    shop: dict[str, Any], till: Channel, django_assert_max_num_queries: Any
) -> None:
    ends = (timezone.now() + timedelta(days=3)).replace(hour=18, minute=0, second=0)
    promo = Promotion.objects.create(
        name="Tee days",
        kind=Promotion.Kind.PERCENT_OFF,
        value=Decimal("20"),
        target=Promotion.Target.CATEGORIES,
        ends_at=ends,
    )
    promo.categories.set([category()])
    promo.channels.set([till])
    client = Client()
    client.force_login(shop["associate"])
    url = reverse("store:product", args=[shop["product"].pk])
    # the grid's pin (tests/store/test_store_page.py) plus the promotions, read once per page
    with django_assert_max_num_queries(28):
        html = client.get(url).content.decode()

    until = ends.astimezone(UTC).strftime("%a %-d %b, %H:%M")
    assert price_of(html, "HARBOUR-M-WHITE") == (
        f"Price: <s>25.00 EUR</s> <strong>20.00 EUR</strong> on sale until {until}"
    )
    assert price_of(html, "HARBOUR-S-NAVY") == "No price at the till"

    # ended: the plain price again
    promo.ends_at = datetime.now(UTC) - timedelta(minutes=1)
    promo.save(update_fields=["ends_at"])
    assert price_of(page(shop), "HARBOUR-M-WHITE") == "Price: 25.00 EUR"
