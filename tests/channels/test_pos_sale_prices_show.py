"""The POS change feed and promotions: a product-level promotion starting, ending or being saved
is announced as ``price.changed`` (``orders.promotions_announce``), and every price payload a
till reads carries the sale price with its dates, from ``orders.pricing.display_prices``."""

# ruff: noqa: F811 (the fixtures imported from the neighbouring test module are the parameters)

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import Category
from core.models import ChangeEvent, Channel
from orders.models import Promotion
from orders.services.promotion_prices import promotion_announce, promotion_prices_announce
from tests.channels.pos_world import Pos, _changes, latest_position, pos  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
D = Decimal


def category_sale(channels: list[Channel], **kwargs: Any) -> Promotion:
    promo = Promotion.objects.create(
        name="Apparel sale",
        kind=kwargs.pop("kind", Promotion.Kind.PERCENT_OFF),
        value=D("20"),
        target=Promotion.Target.CATEGORIES,
        **kwargs,
    )
    promo.categories.set([Category.objects.get(full_name="Apparel & Accessories")])
    promo.channels.set(channels)
    return promo


def price_changes(pos: Pos, after: int) -> list[dict[str, Any]]:
    page = _changes(pos.client, location="ams-central", after=after)
    return [c for c in page["changes"] if c["type"] == "price.changed"]


def test_a_promotion_starting_is_announced_with_its_sale_price_and_dates(
    pos: Pos, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.now()
    starts, ends = now + timedelta(minutes=5), now + timedelta(days=2)
    promo = category_sale([pos.nl], starts_at=starts, ends_at=ends)
    Promotion.objects.filter(pk=promo.pk).update(updated_at=now - timedelta(hours=1))
    # nothing to announce before it starts, nor on a channel it does not run on
    assert promotion_prices_announce(since=now, until=starts - timedelta(seconds=1)) == 0
    assert price_changes(pos, pos.start) == []

    # one product on one channel, once the window covers the start
    assert promotion_prices_announce(since=starts - timedelta(seconds=1), until=starts) == 1
    event = ChangeEvent.objects.filter(topic="price.changed").order_by("-id").first()
    assert event is not None and event.channel_code == "pos-nl"

    # the till reads it once the sale runs
    later = starts + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    [change] = price_changes(pos, pos.start)
    price = change["data"]["prices"]["ORGANIC-TEE-S"]
    assert price == {
        "amount": "17.50",
        "compare_at_amount": None,
        "currency": "EUR",
        "sale_amount": "14.00",  # 17.50 - 20 %
        "sale_starts_at": starts.isoformat(),
        "sale_ends_at": ends.isoformat(),
    }


def test_a_promotion_saved_or_ending_is_announced_and_the_sale_goes(
    pos: Pos, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.now()
    ends = now + timedelta(hours=1)
    promo = category_sale([pos.nl, pos.be], ends_at=ends)
    # saved just now: both channels hear of it
    assert promotion_prices_announce(since=now - timedelta(minutes=1), until=timezone.now()) == 2
    [change] = price_changes(pos, pos.start)
    assert change["data"]["prices"]["ORGANIC-TEE-M"]["sale_amount"] == "14.00"
    assert change["data"]["prices"]["ORGANIC-TEE-M"]["sale_ends_at"] == ends.isoformat()
    cursor = latest_position()

    # it ends: announced again, and the till reads no sale
    monkeypatch.setattr(timezone, "now", lambda: ends + timedelta(seconds=1))
    assert promotion_prices_announce(since=ends - timedelta(seconds=30), until=ends) == 2
    [ended] = price_changes(pos, cursor)
    assert ended["data"]["prices"]["ORGANIC-TEE-M"]["amount"] == "17.50"
    assert ended["data"]["prices"]["ORGANIC-TEE-M"]["sale_amount"] is None
    assert ended["sequence"] > change["sequence"]
    assert promo.is_active


def test_promotions_that_make_no_sale_price_are_not_announced_at_their_bounds(pos: Pos) -> None:
    now = timezone.now()
    for extra in (
        {"requires_coupon": True},
        {"customer_scope": Promotion.CustomerScope.FIRST_ORDER},
        {"kind": Promotion.Kind.FREE_SHIPPING},
    ):
        promo = category_sale([pos.nl], starts_at=now + timedelta(minutes=1), **extra)
        Promotion.objects.filter(pk=promo.pk).update(updated_at=now - timedelta(hours=1))
    window = {"since": now, "until": now + timedelta(minutes=2)}
    assert promotion_prices_announce(**window) == 0


def test_a_saved_promotion_can_be_announced_at_once(pos: Pos) -> None:
    promo = category_sale([pos.nl])
    assert promotion_announce(promotion_id=promo.pk) == 1
    [change] = price_changes(pos, pos.start)
    assert change["data"]["prices"]["ORGANIC-TEE-L"]["sale_amount"] == "14.00"
    assert change["data"]["prices"]["ORGANIC-TEE-L"]["sale_starts_at"] is None


def test_the_sale_prices_cost_a_fixed_number_of_queries_per_page(pos: Pos) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog import services as catalog

    category_sale([pos.nl])
    _changes(pos.client, location="ams-central")  # the key's first use is recorded once
    catalog.price_set(variant_id=pos.shop.s.pk, channel_code="pos-nl", amount=D("15.00"))
    with CaptureQueriesContext(connection) as one:
        assert len(price_changes(pos, pos.start)) == 1
    from tests.catalog.factories import complete_product

    for n in range(3):
        product = complete_product(pos.nl, name=f"Sale Tee {n}", sizes=("s", "m"))
        catalog.product_submit(product_ids=[product.pk])
        catalog.product_approve(product_ids=[product.pk])
        catalog.product_publish(product_ids=[product.pk], channel_code="pos-nl")
        catalog.price_set(
            variant_id=product.variants.all()[0].pk, channel_code="pos-nl", amount=D("10.00")
        )
    promotion_announce(promotion_id=Promotion.objects.get().pk)
    with CaptureQueriesContext(connection) as many:
        changes = price_changes(pos, pos.start)
    assert len(changes) == 4
    assert len(many) == len(one)
