"""The pure promotion engine (``orders.promotions.promotions_apply``): each rule type, scoping
by channel, schedule and customer, priority and stacking, and the allocation of money to lines.
No database: the engine takes plain data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from orders.exceptions import CouponNotApplicable
from orders.promotions import (
    CheckedCoupon,
    CustomerFacts,
    PromoLine,
    PromotionRule,
    promotions_apply,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
D = Decimal
TEE = PromoLine(
    "TEE",
    variant_id=1,
    product_id=10,
    category_ids=frozenset({100, 101}),
    unit_price=D("20.00"),
    quantity=2,
)
CAP = PromoLine(
    "CAP",
    variant_id=2,
    product_id=20,
    category_ids=frozenset({200}),
    unit_price=D("10.00"),
    quantity=1,
)
SOCK = PromoLine(
    "SOCK",
    variant_id=3,
    product_id=30,
    category_ids=frozenset({100}),
    unit_price=D("5.00"),
    quantity=3,
)
ANYONE = CustomerFacts()


def rule(id: int = 1, **kwargs: Any) -> PromotionRule:
    kwargs.setdefault("name", f"promo {id}")
    kwargs.setdefault("kind", "percent_off")
    kwargs.setdefault("value", D("10"))
    kwargs.setdefault("channel_codes", frozenset({"webshop"}))
    return PromotionRule(id=id, **kwargs)


def apply(
    rules: list[PromotionRule],
    lines: list[PromoLine] | None = None,
    *,
    shipping: str = "4.95",
    customer: CustomerFacts = ANYONE,
    coupons: list[CheckedCoupon] | None = None,
    channel: str = "webshop",
    at: datetime = NOW,
) -> Any:
    return promotions_apply(
        channel_code=channel,
        customer=customer,
        lines=lines if lines is not None else [TEE, CAP],
        shipping=D(shipping),
        rules=rules,
        coupons=coupons or [],
        at=at,
    )


# --- rule types ---------------------------------------------------------------------------------


def test_percent_off_everything_takes_the_percentage_of_every_line() -> None:
    result = apply([rule(value=D("15"))])
    assert result.line_discounts == {"TEE": D("6.00"), "CAP": D("1.50")}
    assert result.shipping_discount == D("0")
    assert [(a.promotion_id, a.amount) for a in result.applied] == [(1, D("7.50"))]


def test_percent_off_rounds_half_up_per_line() -> None:
    line = PromoLine("X", 1, 1, frozenset(), D("0.99"), 1)
    result = apply([rule(value=D("50"))], [line])
    assert result.line_discounts == {"X": D("0.50")}  # 0.495 -> 0.50


def test_amount_off_is_per_unit_and_never_below_zero() -> None:
    result = apply([rule(kind="amount_off", value=D("12.00"))])
    # tee: 2 x 12 = 24 capped at the line's 40? no: 24 <= 40; cap: 12 capped at 10
    assert result.line_discounts == {"TEE": D("24.00"), "CAP": D("10.00")}


def test_amount_off_chosen_products_only() -> None:
    result = apply(
        [rule(kind="amount_off", value=D("3"), target="products", product_ids=frozenset({20}))]
    )
    assert result.line_discounts == {"TEE": D("0"), "CAP": D("3.00")}


def test_percent_off_categories_reaches_lines_in_the_category_or_below() -> None:
    result = apply([rule(target="categories", category_ids=frozenset({100}))], [TEE, CAP, SOCK])
    assert result.line_discounts == {"TEE": D("4.00"), "CAP": D("0"), "SOCK": D("1.50")}


def test_percent_off_chosen_variants() -> None:
    result = apply([rule(target="variants", variant_ids=frozenset({2}))])
    assert result.line_discounts == {"TEE": D("0"), "CAP": D("1.00")}


def test_buy_two_get_one_free_discounts_the_cheapest_units() -> None:
    # 2 tees at 20 and 3 socks at 5: 5 units -> one group of 3 -> the cheapest unit (a sock)
    result = apply(
        [rule(kind="buy_x_get_y", value=D("100"), buy_quantity=2, get_quantity=1)], [TEE, SOCK]
    )
    assert result.line_discounts == {"TEE": D("0"), "SOCK": D("5.00")}


def test_buy_one_get_one_half_price_over_six_units() -> None:
    lines = [
        PromoLine("A", 1, 1, frozenset(), D("10.00"), 3),
        PromoLine("B", 2, 2, frozenset(), D("4.00"), 3),
    ]
    result = apply([rule(kind="buy_x_get_y", value=D("50"), buy_quantity=1, get_quantity=1)], lines)
    # 6 units -> 3 discounted, the three cheapest: the B units, at half price
    assert result.line_discounts == {"A": D("0"), "B": D("6.00")}


def test_buy_x_get_y_needs_a_full_group() -> None:
    result = apply(
        [rule(kind="buy_x_get_y", value=D("100"), buy_quantity=2, get_quantity=1)], [TEE]
    )
    assert result.applied == []
    assert result.discount_total == D("0")


def test_spend_threshold_is_allocated_to_lines_in_proportion_to_value() -> None:
    # 40 + 10 = 50 >= 50: 10 off, 8 on the tee and 2 on the cap
    result = apply([rule(kind="spend_threshold", value=D("10"), threshold=D("50"))])
    assert result.line_discounts == {"TEE": D("8.00"), "CAP": D("2.00")}


def test_spend_threshold_cents_left_by_rounding_go_somewhere_exactly() -> None:
    lines = [PromoLine(k, i, i, frozenset(), D("1.00"), 1) for i, k in enumerate("ABC")]
    result = apply([rule(kind="spend_threshold", value=D("1.00"))], lines)
    assert sum(result.line_discounts.values()) == D("1.00")
    assert sorted(result.line_discounts.values()) == [D("0.33"), D("0.33"), D("0.34")]


def test_spend_threshold_below_the_threshold_gives_nothing() -> None:
    result = apply([rule(kind="spend_threshold", value=D("10"), threshold=D("50.01"))])
    assert result.applied == []


def test_spend_threshold_never_takes_more_than_the_lines() -> None:
    result = apply([rule(kind="spend_threshold", value=D("500"))])
    assert result.line_discounts == {"TEE": D("40.00"), "CAP": D("10.00")}


def test_free_shipping_from_a_threshold() -> None:
    free = rule(kind="free_shipping", value=D("0"), threshold=D("50"))
    assert apply([free]).shipping_discount == D("4.95")
    assert apply([free], [TEE]).shipping_discount == D("0")  # 40 < 50


# --- scoping --------------------------------------------------------------------------------------


def test_a_promotion_runs_only_on_its_channels() -> None:
    assert apply([rule()], channel="pos").applied == []
    assert apply([rule(channel_codes=frozenset())]).applied == []  # no channel: nowhere


def test_the_schedule_is_start_inclusive_end_exclusive() -> None:
    scheduled = rule(starts_at=NOW, ends_at=NOW + timedelta(days=1))
    assert apply([scheduled], at=NOW - timedelta(seconds=1)).applied == []
    assert len(apply([scheduled], at=NOW).applied) == 1
    assert apply([scheduled], at=NOW + timedelta(days=1)).applied == []
    assert apply([rule(is_active=False)]).applied == []


def test_first_order_scope() -> None:
    first = rule(customer_scope="first_order")
    assert len(apply([first], customer=CustomerFacts(customer_id=7, is_first_order=True)).applied)
    assert apply([first], customer=CustomerFacts(customer_id=7, is_first_order=False)).applied == []


def test_loyalty_scope_needs_the_lifetime_points() -> None:
    gold = rule(customer_scope="loyalty", min_lifetime_points=1000)
    assert apply([gold], customer=CustomerFacts(customer_id=7, lifetime_points=999)).applied == []
    assert len(apply([gold], customer=CustomerFacts(customer_id=7, lifetime_points=1000)).applied)
    assert apply([gold], customer=ANYONE).applied == []  # a guest is no member


def test_consent_scope_needs_the_granted_purpose() -> None:
    segment = rule(customer_scope="consent", consent_purpose="email_marketing")
    granted = CustomerFacts(customer_id=7, consents=frozenset({"email_marketing"}))
    other = CustomerFacts(customer_id=7, consents=frozenset({"sms_marketing"}))
    assert len(apply([segment], customer=granted).applied) == 1
    assert apply([segment], customer=other).applied == []


def test_a_coupon_promotion_needs_its_coupon() -> None:
    coupon_rule = rule(requires_coupon=True)
    assert apply([coupon_rule]).applied == []
    result = apply([coupon_rule], coupons=[CheckedCoupon("SAVE10", 5, 1)])
    assert [(a.promotion_id, a.coupon_code) for a in result.applied] == [(1, "SAVE10")]


# --- priority and stacking ------------------------------------------------------------------------


def test_stackable_promotions_apply_in_priority_order_each_on_what_is_left() -> None:
    amount = rule(1, kind="amount_off", value=D("5"), priority=20)
    percent = rule(2, value=D("10"), priority=10)
    result = apply([amount, percent], [CAP])
    # percent first (priority 10): 10 -> 9; then 5 off: 9 -> 4
    assert [(a.promotion_id, a.amount) for a in result.applied] == [(2, D("1.00")), (1, D("5.00"))]
    assert result.line_discounts == {"CAP": D("6.00")}


def test_equal_priorities_go_by_id() -> None:
    result = apply([rule(2, priority=5), rule(1, priority=5)], [CAP])
    assert [a.promotion_id for a in result.applied] == [1, 2]


def test_an_exclusive_promotion_first_in_line_stops_the_rest() -> None:
    exclusive = rule(1, value=D("30"), priority=1, stackable=False)
    result = apply([exclusive, rule(2, priority=2), rule(3, kind="free_shipping", priority=3)])
    assert [a.promotion_id for a in result.applied] == [1]
    assert result.shipping_discount == D("0")


def test_an_exclusive_promotion_after_an_applied_one_is_skipped() -> None:
    result = apply([rule(1, priority=1), rule(2, value=D("50"), priority=2, stackable=False)])
    assert [a.promotion_id for a in result.applied] == [1]


def test_an_exclusive_promotion_that_takes_nothing_does_not_block() -> None:
    exclusive = rule(1, priority=1, stackable=False, target="products", product_ids=frozenset({99}))
    result = apply([exclusive, rule(2, priority=2)])
    assert [a.promotion_id for a in result.applied] == [2]


def test_discounts_never_take_a_line_below_zero() -> None:
    rules = [rule(1, kind="amount_off", value=D("15"), priority=1), rule(2, value=D("100"))]
    result = apply(rules, [CAP])
    assert result.line_discounts == {"CAP": D("10.00")}
    assert [a.promotion_id for a in result.applied] == [1]  # nothing left for the second


# --- coupons the engine refuses -------------------------------------------------------------------


def test_a_coupon_outside_the_customer_scope_is_not_applicable() -> None:
    with pytest.raises(CouponNotApplicable) as caught:
        apply(
            [rule(requires_coupon=True, customer_scope="first_order")],
            customer=CustomerFacts(customer_id=3, is_first_order=False),
            coupons=[CheckedCoupon("WELCOME", 5, 1)],
        )
    assert (caught.value.code, caught.value.extra) == (
        "coupon_not_applicable",
        {"coupon": "WELCOME"},
    )


def test_a_coupon_that_gives_nothing_is_not_applicable() -> None:
    with pytest.raises(CouponNotApplicable, match="gives nothing"):
        apply(
            [rule(requires_coupon=True, kind="spend_threshold", value=D("5"), threshold=D("100"))],
            coupons=[CheckedCoupon("BIG", 5, 1)],
        )


def test_a_coupon_behind_an_exclusive_promotion_is_not_applicable() -> None:
    with pytest.raises(CouponNotApplicable, match="cannot be combined"):
        apply(
            [rule(1, priority=1, stackable=False), rule(2, priority=2, requires_coupon=True)],
            coupons=[CheckedCoupon("EXTRA", 5, 2)],
        )


def test_a_coupon_whose_promotion_is_not_among_the_rules_is_not_applicable() -> None:
    with pytest.raises(CouponNotApplicable):
        apply([rule(1)], coupons=[CheckedCoupon("GHOST", 5, 99)])
