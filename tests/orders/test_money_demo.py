"""The money features in the demo (demo/money.py): a running category promotion, a buy-2-get-1,
the WELCOME10 coupon and a batch of codes, gift cards with known codes, and the daily expiry of
gift cards (a beat entry and its task)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from catalog.models import Category, Product, ProductType
from core.models import Channel
from demo import money
from demo.seed import seed_categories
from orders import services
from orders.exceptions import CouponCustomerLimit, GiftCardInvalid
from orders.models import GiftCard, GiftCardEntry, ShippingMethod
from orders.models.promotions import Coupon, CouponBatch, Promotion
from orders.pricing import BasketItem, basket_price
from orders.services.giftcards import giftcard_find
from orders.tasks import giftcards_expire

pytestmark = [pytest.mark.django_db, pytest.mark.demo_seed]


def _counts() -> tuple[int, ...]:
    return (
        Promotion.objects.count(),
        Coupon.objects.count(),
        CouponBatch.objects.count(),
        GiftCard.objects.count(),
        GiftCardEntry.objects.count(),
    )


def _variant_in(google_id: int) -> int:
    category = Category.objects.get(google_id=google_id)
    product = (
        Product.objects.filter(category__path__startswith=category.path, variants__isnull=False)
        .order_by("handle")
        .first()
    )
    assert product is not None
    return int(product.variants.order_by("position").values_list("pk", flat=True)[0])


def _seed_money_on_a_shop() -> None:
    """The money step on the test shop (the webshop) plus the app and POS channels and the
    demo's category tree: a small stand-in for the whole demo."""
    for code in ("app", "pos"):
        Channel.objects.get_or_create(code=code, defaults={"name": code, "currency": "EUR"})
    seed_categories()
    money.seed_money()


def test_seed_demo_small_shows_every_money_feature_and_seeding_again_adds_nothing() -> None:
    # given a fresh database seeded with the small demo
    call_command("seed_demo", "--size", "small", verbosity=0)
    webshop = Channel.objects.get(code="webshop")
    now = timezone.now()

    # then the category promotion runs now, for 30 days, on the webshop, the app and the POS
    sale = Promotion.objects.get(name=money.CATEGORY_SALE)
    assert sale.kind == Promotion.Kind.PERCENT_OFF and sale.value == Decimal("20.00")
    assert sale.starts_at is not None and sale.starts_at <= now
    assert sale.ends_at is not None
    assert timedelta(days=29) < sale.ends_at - now <= timedelta(days=30)
    assert set(sale.channels.values_list("code", flat=True)) == {"webshop", "app", "pos"}
    assert not sale.requires_coupon
    bundle = Promotion.objects.get(name=money.BUY_2_GET_1)
    assert (bundle.kind, bundle.buy_quantity, bundle.get_quantity) == ("buy_x_get_y", 2, 1)

    # and a product of the promoted category is 20 % off in the webshop's basket
    variant_id = _variant_in(money.SALE_CATEGORY_GOOGLE_ID)
    priced = basket_price(channel=webshop, items=[BasketItem(variant_id, 2, "a")])
    line = priced.lines[0]
    assert line.discount == (line.subtotal * Decimal("0.20")).quantize(Decimal("0.01"))
    assert line.discount > 0 and priced.total == line.subtotal - line.discount
    assert [a.promotion_id for a in priced.applied] == [sale.pk]
    assert line.tax_rate == Decimal("21.00")  # the Netherlands' standard rate: tax classes set

    # and three mugs cost two
    mug = _variant_in(money.BUNDLE_CATEGORY_GOOGLE_ID)
    three = basket_price(channel=webshop, items=[BasketItem(mug, 3, "m")])
    assert three.lines[0].discount == three.lines[0].unit_price

    # and WELCOME10 takes 10 % more off a new customer's first order, once per customer
    welcome = Coupon.objects.get(code=money.WELCOME_CODE)
    assert (welcome.max_uses_per_customer, welcome.promotion.customer_scope) == (1, "first_order")
    with_code = basket_price(
        channel=webshop,
        items=[BasketItem(variant_id, 2, "a")],
        coupon_codes=["welcome10"],
        customer_email="new@example.com",
    )
    assert [c.code for c in with_code.coupons] == ["WELCOME10"]
    assert with_code.total < priced.total

    # and a batch of 20 single-use codes
    batch = CouponBatch.objects.get(prefix=money.BATCH_PREFIX)
    assert batch.coupons.count() == 20 and batch.max_uses_per_code == 1

    # and three gift cards whose codes the README prints, with their balances
    for code, amount in money.DEMO_GIFT_CARDS:
        balance = services.giftcard_balance(code=code)
        assert (balance.balance, balance.currency, balance.status) == (amount, "EUR", "active")

    # and shipping methods, countries on every channel, a tax class on every demo product type
    assert ShippingMethod.objects.filter(is_active=True).count() >= 3
    assert all(channel.default_country for channel in Channel.objects.all())
    assert not ProductType.objects.filter(tax_class__isnull=True).exists()

    # when the demo is seeded again, nothing is added
    counts = _counts()
    call_command("seed_demo", "--size", "small", verbosity=0)
    assert _counts() == counts


def test_the_money_step_renews_an_ended_sale_and_keeps_spent_gift_cards_as_they_are(
    shop,
) -> None:
    # given the money step has run once on a shop (a small stand-in for the demo)
    _seed_money_on_a_shop()
    sale = Promotion.objects.get(name=money.CATEGORY_SALE)
    Promotion.objects.filter(pk=sale.pk).update(
        starts_at=timezone.now() - timedelta(days=60), ends_at=timezone.now() - timedelta(days=1)
    )
    code, _ = money.DEMO_GIFT_CARDS[0]
    card = giftcard_find(code=code)
    assert card is not None
    GiftCard.objects.filter(pk=card.pk).update(status=GiftCard.Status.DISABLED)
    # when it runs again
    money.seed_money()
    # then the sale that ended runs again for 30 days, and the card is left as it was
    sale.refresh_from_db()
    assert sale.ends_at is not None and sale.ends_at > timezone.now() + timedelta(days=29)
    assert Promotion.objects.filter(name=money.CATEGORY_SALE).count() == 1
    assert services.giftcard_balance(code=code).status == "disabled"
    assert GiftCard.objects.count() == len(money.DEMO_GIFT_CARDS)


def test_welcome10_is_refused_the_second_time_for_the_same_customer(shop) -> None:
    _seed_money_on_a_shop()
    coupon = Coupon.objects.get(code=money.WELCOME_CODE)
    from orders.models.promotions import CouponRedemption

    CouponRedemption.objects.create(
        coupon=coupon, promotion=coupon.promotion, customer_email="once@example.com"
    )
    with pytest.raises(CouponCustomerLimit):
        basket_price(
            channel=shop.channel,
            items=[BasketItem(shop.s.pk, 1, "a")],
            coupon_codes=[money.WELCOME_CODE],
            customer_email="once@example.com",
        )


# --- a gift card with a chosen code (what the demo's known codes need) ---------------------------


def test_a_gift_card_can_be_issued_with_a_chosen_code() -> None:
    issued = services.giftcard_issue(
        amount=Decimal("25"), currency="EUR", code="demo-card-0025-test"
    )
    assert issued.code == "DEMO-CARD-0025-TEST"
    assert issued.card.last4 == "TEST"
    assert services.giftcard_balance(code="DEMOCARD0025TEST").balance == Decimal("25.00")


@pytest.mark.parametrize(
    "code", ["", "SHORT", "DEMO-CARD-0025-TOOLONG", "DEMO-CARD-0025-ÉÉÉÉ", "DEMO CARD 0025 TES!"]
)
def test_a_chosen_code_that_is_not_16_letters_or_digits_is_refused(code: str) -> None:
    with pytest.raises(GiftCardInvalid) as refused:
        services.giftcard_issue(amount=Decimal("25"), currency="EUR", code=code)
    assert refused.value.errors[0]["field"] == "code"
    assert GiftCard.objects.count() == 0 and GiftCardEntry.objects.count() == 0


def test_a_chosen_code_already_in_use_is_refused_and_changes_nothing() -> None:
    services.giftcard_issue(amount=Decimal("25"), currency="EUR", code="DEMO-CARD-0025-TEST")
    with pytest.raises(GiftCardInvalid) as refused:
        services.giftcard_issue(amount=Decimal("50"), currency="EUR", code="democard0025test")
    assert refused.value.errors[0] == {"field": "code", "code": "taken", "message": "TEST"}
    assert GiftCard.objects.count() == 1
    assert services.giftcard_balance(code="DEMO-CARD-0025-TEST").balance == Decimal("25.00")


# --- expiry: a daily periodic task ---------------------------------------------------------------


def test_gift_card_expiry_is_scheduled_daily() -> None:
    entries = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "orders.giftcards_expire"
    ]
    assert len(entries) == 1
    schedule = entries[0]["schedule"]
    assert isinstance(schedule, crontab)
    cron: Any = schedule  # the typing stubs leave out the parsed fields
    # once a day: one hour and one minute, every day of every month
    assert len(cron.hour) == 1 and len(cron.minute) == 1
    assert cron.day_of_week == set(range(7)) and cron.day_of_month == set(range(1, 32))
    assert cron.month_of_year == set(range(1, 13))


def test_the_expiry_task_closes_the_balance_of_cards_past_their_expiry() -> None:
    soon = timezone.now() + timedelta(minutes=5)
    due = services.giftcard_issue(amount=Decimal("40"), currency="EUR", expires_at=soon)
    later = services.giftcard_issue(amount=Decimal("10"), currency="EUR")
    GiftCard.objects.filter(pk=due.card.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert giftcards_expire.delay().get() == 1
    assert giftcards_expire.delay().get() == 0  # a second run does nothing
    due.card.refresh_from_db()
    later.card.refresh_from_db()
    assert (due.card.balance, later.card.balance) == (Decimal("0.00"), Decimal("10.00"))
    entry = GiftCardEntry.objects.filter(card=due.card).last()
    assert entry is not None and (entry.kind, entry.amount) == ("expire", Decimal("-40.00"))
