"""Coupon redemptions under concurrent checkouts, on real PostgreSQL with real threads (every
attempt on its own connection): a coupon limited to N uses is used exactly N times, also when the
limit is the promotion's over several codes, and per customer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from orders.exceptions import CouponCustomerLimit, CouponExhausted
from orders.models import Coupon, CouponRedemption, Promotion
from orders.services import promotions as promo_services
from tests.concurrency import run_concurrently
from tests.shop import Shop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _promotion(shop: Shop, **kwargs: Any) -> Promotion:
    made = Promotion.objects.create(
        name="Race", kind="percent_off", value=Decimal("10"), requires_coupon=True, **kwargs
    )
    made.channels.set([shop.channel])
    return made


def _redeem(code: str, customer_email: str = "") -> Any:
    def attempt() -> Any:
        with transaction.atomic():  # as inside the placement transaction
            return promo_services.coupon_redeem(
                codes=[code],
                order_id=None,
                customer_id=None,
                customer_email=customer_email,
                channel_code="webshop",
            )

    return attempt


def test_twenty_checkouts_on_a_coupon_limited_to_five_redeem_exactly_five(shop: Shop) -> None:
    coupon = promo_services.coupon_create(promotion_id=_promotion(shop).pk, code="FIVE", max_uses=5)
    results = run_concurrently([_redeem("five") for _ in range(20)], workers=20)
    redeemed = [r for r in results if isinstance(r, list)]
    exhausted = [r for r in results if isinstance(r, CouponExhausted)]
    assert (len(redeemed), len(exhausted)) == (5, 15), results
    coupon.refresh_from_db()
    assert coupon.uses == 5
    assert CouponRedemption.objects.filter(coupon=coupon).count() == 5


def test_the_promotion_limit_holds_over_several_codes(shop: Shop) -> None:
    promo = _promotion(shop, max_uses=3)
    for code in ("A-CODE", "B-CODE", "C-CODE"):
        promo_services.coupon_create(promotion_id=promo.pk, code=code)
    attempts = [_redeem(code) for code in ("A-CODE", "B-CODE", "C-CODE") * 4]
    results = run_concurrently(attempts, workers=12)
    assert sum(isinstance(r, list) for r in results) == 3, results
    assert sum(isinstance(r, CouponExhausted) for r in results) == 9
    promo.refresh_from_db()
    assert promo.uses == 3 == CouponRedemption.objects.count()
    assert sum(Coupon.objects.values_list("uses", flat=True)) == 3


def test_one_customer_racing_a_per_customer_code_uses_it_once(shop: Shop) -> None:
    promo_services.coupon_create(
        promotion_id=_promotion(shop).pk, code="WELCOME", max_uses_per_customer=1
    )
    results = run_concurrently(
        [_redeem("WELCOME", customer_email="ann@example.org") for _ in range(8)], workers=8
    )
    assert sum(isinstance(r, list) for r in results) == 1, results
    assert sum(isinstance(r, CouponCustomerLimit) for r in results) == 7
    assert CouponRedemption.objects.count() == 1
