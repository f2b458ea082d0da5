"""Feed prices from ``orders.pricing.display_prices``: the sale price and its window of a running
product-level promotion (Google and Meta), and Google's EU rule: prices shown with VAT, added
at the feed country's rate when the channel's prices exclude tax."""

# ruff: noqa: F811 (the fixtures imported from the neighbouring test module are the parameters)

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import Category
from channels import relay
from channels.feeds import services as feeds
from channels.models import FeedItem
from core import services as core_services
from core.models import Channel
from orders.models import Promotion
from tests.channels.feed_world import _render_at_once, feed_shop  # noqa: F401 (fixtures)
from tests.shop import Shop

pytestmark = pytest.mark.django_db
D = Decimal


def category_sale(channels: list[Channel], **kwargs: Any) -> Promotion:
    promo = Promotion.objects.create(
        name="Apparel sale",
        kind=Promotion.Kind.PERCENT_OFF,
        value=D("20"),
        target=Promotion.Target.CATEGORIES,
        **kwargs,
    )
    promo.categories.set([Category.objects.get(full_name="Apparel & Accessories")])
    promo.channels.set(channels)
    return promo


def window(starts: datetime, ends: datetime) -> str:
    return f"{starts.isoformat(timespec='seconds')}/{ends.isoformat(timespec='seconds')}"


def fields_of(code: str, shop: Shop) -> dict[str, Any]:
    channel = Channel.objects.get(code=code)
    feeds.feed_rebuild(channel)
    return FeedItem.objects.get(channel=channel, variant_id=shop.s.pk).fields


def test_a_running_category_promotion_is_the_sale_price_with_its_window(
    feed_shop: Shop,
) -> None:
    starts = timezone.now() - timedelta(hours=1)
    ends = timezone.now() + timedelta(days=3)
    category_sale(
        list(Channel.objects.filter(code__in=["google", "meta"])), starts_at=starts, ends_at=ends
    )

    google, meta = fields_of("google", feed_shop), fields_of("meta", feed_shop)

    # 24.95 - 20 % (4.99) = 19.96
    assert (google["price"], google["sale_price"]) == ("24.95 EUR", "19.96 EUR")
    assert google["sale_price_effective_date"] == window(starts, ends)
    assert (meta["price"], meta["sale_price"]) == ("24.95 EUR", "19.96 EUR")
    assert meta["sale_price_effective_date"] == window(starts, ends)
    assert FeedItem.objects.get(channel__code="google", variant_id=feed_shop.s.pk).problems == []


def test_a_promotion_on_another_channel_or_ended_is_no_sale(feed_shop: Shop) -> None:
    now = timezone.now()
    category_sale([feed_shop.channel])  # the webshop only
    category_sale(
        [Channel.objects.get(code="google")],
        starts_at=now - timedelta(days=2),
        ends_at=now - timedelta(days=1),
    )
    google = fields_of("google", feed_shop)
    assert google["price"] == "24.95 EUR" and "sale_price" not in google


def test_a_promotion_over_a_dated_override_sells_at_the_engines_price_in_both_windows(
    feed_shop: Shop,
) -> None:
    now = timezone.now()
    override_ends = now + timedelta(days=2)
    catalog_services.price_set(
        variant_id=feed_shop.s.pk,
        channel_code="google",
        amount=D("20.00"),
        compare_at_amount=D("24.95"),
        starts_at=now - timedelta(days=1),
        ends_at=override_ends,
    )
    promo_starts = now - timedelta(hours=2)
    category_sale(
        [Channel.objects.get(code="google")],
        starts_at=promo_starts,
        ends_at=now + timedelta(days=5),
    )
    google = fields_of("google", feed_shop)
    # the promotion takes 20 % of the override's 20.00; the regular price is the compare-at
    assert (google["price"], google["sale_price"]) == ("24.95 EUR", "16.00 EUR")
    assert google["sale_price_effective_date"] == window(promo_starts, override_ends)


def test_google_prices_for_an_eu_country_include_vat_when_the_channel_excludes_tax(
    feed_shop: Shop,
) -> None:
    google = Channel.objects.get(code="google")
    google.prices_include_tax = False
    google.save()
    core_services.channel_countries_set(channel=google, countries=["NL", "DE"])
    category_sale([google], ends_at=timezone.now() + timedelta(days=1))

    fields = fields_of("google", feed_shop)

    # NL (the default country, the first) standard VAT 21 %: 24.95 + 5.24, 19.96 + 4.19
    assert (fields["price"], fields["sale_price"]) == ("30.19 EUR", "24.15 EUR")
    assert "sale_price_effective_date" not in fields  # no start: no window to state

    # the country is a parameter of the builder (per-country feeds come later): DE 19 %
    feeds.feed_items_refresh(google, [feed_shop.s.product_id], country="DE")
    fields = FeedItem.objects.get(channel=google, variant_id=feed_shop.s.pk).fields
    assert (fields["price"], fields["sale_price"]) == ("29.69 EUR", "23.75 EUR")
    # outside the EU Google wants prices without tax: nothing added
    feeds.feed_items_refresh(google, [feed_shop.s.product_id], country="US")
    fields = FeedItem.objects.get(channel=google, variant_id=feed_shop.s.pk).fields
    assert (fields["price"], fields["sale_price"]) == ("24.95 EUR", "19.96 EUR")


def test_a_channel_including_tax_keeps_its_prices_in_the_eu(feed_shop: Shop) -> None:
    google = Channel.objects.get(code="google")
    core_services.channel_countries_set(channel=google, countries=["NL"])
    assert google.prices_include_tax
    fields = fields_of("google", feed_shop)
    assert fields["price"] == "24.95 EUR" and "sale_price" not in fields


def test_the_feed_follows_the_relay_after_a_promotion_is_announced(feed_shop: Shop) -> None:
    google = Channel.objects.get(code="google")
    feeds.feed_refresh(google)
    category_sale([google], ends_at=timezone.now() + timedelta(days=1))
    relay.relay_run()
    feeds.feed_refresh(google)
    item = FeedItem.objects.get(channel=google, variant_id=feed_shop.s.pk)
    assert "sale_price" not in item.fields  # nothing told the feed yet
    from orders.services.promotion_prices import promotion_prices_announce

    promotion_prices_announce(
        since=timezone.now() - timedelta(minutes=1), until=timezone.now() + timedelta(seconds=1)
    )
    relay.relay_run()
    feeds.feed_refresh(google)
    item.refresh_from_db()
    assert item.fields["sale_price"] == "19.96 EUR"
