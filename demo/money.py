"""Demo money: promotions, coupons and gift cards to try (see docs/orders.md, "Demo").

- a running sale: 20 % off shirts and tops on the webshop, the app and the store POS, for 30
  days from the day it was seeded (seeding again after it ended runs it for 30 days more);
- buy 2 mugs, get the cheapest third free, on the same channels;
- ``WELCOME10``: 10 % off a customer's first order on the webshop and the app, once per customer;
- a batch of 20 single-use ``SPRING-XXXXXXXX`` codes (15 % off);
- three gift cards with known codes (``DEMO_GIFT_CARDS``) so a newcomer can pay with one.

Shipping needs no promotion: PostNL standard is already free over 50 EUR (``demo.shipping``).
The tax rates come from a core migration (re-created here when a flushed database lacks them);
the demo's product types (apparel, home goods) are standard-rate goods.

Every step is an upsert keyed on names and codes: running it again adds nothing. A gift card that
exists is left as it is (spent, disabled or expired), so trying a card survives a re-seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from catalog.models import Category
from core.models import Channel
from core.services import tax_rates_seed
from orders.models.promotions import Coupon, CouponBatch, Promotion
from orders.services import giftcards, promotions

CURRENCY = "EUR"
CHANNELS = ["webshop", "app", "pos"]
ONLINE_CHANNELS = ["webshop", "app"]

CATEGORY_SALE = "Shirts & tops: 20 % off"
SALE_CATEGORY_GOOGLE_ID = 212  # Apparel & Accessories > Clothing > Shirts & Tops
SALE_DAYS = 30
BUY_2_GET_1 = "Mugs: buy 2, get 1 free"
BUNDLE_CATEGORY_GOOGLE_ID = 2169  # ... > Tableware > Drinkware > Mugs
WELCOME = "Welcome: 10 % off your first order"
WELCOME_CODE = "WELCOME10"
MAILING = "Spring mailing: 15 % off"
BATCH_PREFIX = "SPRING"
BATCH_SIZE = 20

# Known codes: printed in the README, never use them outside a demo.
DEMO_GIFT_CARDS: list[tuple[str, Decimal]] = [
    ("DEMO-CARD-0025-EURO", Decimal("25.00")),
    ("DEMO-CARD-0050-EURO", Decimal("50.00")),
    ("DEMO-CARD-0100-EURO", Decimal("100.00")),
]


def _category(google_id: int) -> Category:
    category = Category.objects.filter(google_id=google_id).first()
    if category is None:
        raise LookupError(f"The demo category {google_id} is missing: seed the categories first.")
    return category


def _promotion_upsert(
    name: str,
    *,
    channel_codes: Sequence[str],
    categories: Sequence[Category] = (),
    window_days: int | None = None,
    **fields: Any,
) -> Promotion:
    """Create the promotion ``name`` or bring it back to ``fields``. With ``window_days`` it runs
    from today for that many days; a second run keeps the window unless it has ended."""
    now = timezone.now()
    promotion = Promotion.objects.filter(name=name).order_by("pk").first()
    if promotion is None:
        promotion = Promotion(name=name)
    for key, value in fields.items():
        setattr(promotion, key, value)
    if window_days is not None and (promotion.ends_at is None or promotion.ends_at <= now):
        start: datetime = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        promotion.starts_at = start
        promotion.ends_at = start + timedelta(days=window_days)
    promotion.save()
    promotion.channels.set(Channel.objects.filter(code__in=channel_codes))
    promotion.categories.set(categories)
    return promotion


def seed_promotions() -> dict[str, Promotion]:
    """The sale, the buy-2-get-1, the welcome coupon's and the mailing's promotions."""
    sale = _promotion_upsert(
        CATEGORY_SALE,
        channel_codes=CHANNELS,
        categories=[_category(SALE_CATEGORY_GOOGLE_ID)],
        window_days=SALE_DAYS,
        kind=Promotion.Kind.PERCENT_OFF,
        value=Decimal("20.00"),
        target=Promotion.Target.CATEGORIES,
        priority=100,
        stackable=True,
        requires_coupon=False,
        is_active=True,
    )
    bundle = _promotion_upsert(
        BUY_2_GET_1,
        channel_codes=CHANNELS,
        categories=[_category(BUNDLE_CATEGORY_GOOGLE_ID)],
        kind=Promotion.Kind.BUY_X_GET_Y,
        value=Decimal("100.00"),
        buy_quantity=2,
        get_quantity=1,
        target=Promotion.Target.CATEGORIES,
        priority=110,
        stackable=True,
        requires_coupon=False,
        is_active=True,
    )
    welcome = _promotion_upsert(
        WELCOME,
        channel_codes=ONLINE_CHANNELS,
        kind=Promotion.Kind.PERCENT_OFF,
        value=Decimal("10.00"),
        target=Promotion.Target.ALL,
        customer_scope=Promotion.CustomerScope.FIRST_ORDER,
        priority=200,
        stackable=True,
        requires_coupon=True,
        is_active=True,
    )
    mailing = _promotion_upsert(
        MAILING,
        channel_codes=CHANNELS,
        kind=Promotion.Kind.PERCENT_OFF,
        value=Decimal("15.00"),
        target=Promotion.Target.ALL,
        priority=210,
        stackable=True,
        requires_coupon=True,
        is_active=True,
    )
    return {"sale": sale, "bundle": bundle, "welcome": welcome, "mailing": mailing}


def seed_coupons(*, welcome: Promotion, mailing: Promotion) -> None:
    """``WELCOME10`` (once per customer) and a batch of single-use mailing codes."""
    if not Coupon.objects.filter(code__iexact=WELCOME_CODE).exists():
        promotions.coupon_create(
            promotion_id=welcome.pk, code=WELCOME_CODE, max_uses_per_customer=1
        )
    if not CouponBatch.objects.filter(promotion=mailing, prefix=BATCH_PREFIX).exists():
        promotions.coupon_batch_generate(
            promotion_id=mailing.pk,
            prefix=BATCH_PREFIX,
            quantity=BATCH_SIZE,
            max_uses_per_code=1,
            max_uses_per_customer=1,
            name="Spring mailing (demo)",
        )


def seed_gift_cards() -> None:
    """The known demo cards that are missing; an existing card is left as it is."""
    for code, amount in DEMO_GIFT_CARDS:
        if giftcards.giftcard_find(code=code) is None:
            giftcards.giftcard_issue(
                amount=amount, currency=CURRENCY, code=code, note="demo card (known code)"
            )


def seed_money() -> None:
    """Tax rates (when missing), promotions, coupons and gift cards; needs the channels and the
    categories. Idempotent."""
    tax_rates_seed()
    made = seed_promotions()
    seed_coupons(welcome=made["welcome"], mailing=made["mailing"])
    seed_gift_cards()
