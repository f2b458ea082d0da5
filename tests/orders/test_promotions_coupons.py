"""Promotions against the database: the loaders (rules, customer facts, lines with category
ancestors), every coupon refusal code, redeeming and releasing, bulk generation, and the sale
prices feeds announce. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import Category, Product
from customers import services as customers
from orders.exceptions import (
    CouponCustomerLimit,
    CouponError,
    CouponExhausted,
    CouponExpired,
    CouponNotApplicable,
    CouponNotStarted,
    CouponUnknown,
    CouponWrongChannel,
    PromotionInvalid,
)
from orders.models import Coupon, CouponBatch, CouponRedemption, Promotion
from orders.promotions import (
    CartItem,
    PromotionResult,
    cart_lines_build,
    cart_promotions,
    customer_facts,
    variant_sale_prices,
)
from orders.services import promotions as promo_services
from tests.factories import ChannelFactory
from tests.shop import Shop

pytestmark = pytest.mark.django_db
D = Decimal


def promotion(shop: Shop, *, channels: list[Any] | None = None, **kwargs: Any) -> Promotion:
    kwargs.setdefault("name", "Summer")
    kwargs.setdefault("kind", Promotion.Kind.PERCENT_OFF)
    kwargs.setdefault("value", D("10"))
    made = Promotion.objects.create(**kwargs)
    made.channels.set(channels if channels is not None else [shop.channel])
    return made


def price_cart(shop: Shop, codes: list[str] = (), **kwargs: Any) -> PromotionResult:  # type: ignore[assignment]
    lines = cart_lines_build(
        channel_code="webshop",
        items=[CartItem(shop.s.pk, 2), CartItem(shop.m.pk, 1)],
        at=timezone.now(),
    )
    return cart_promotions(
        channel_code=kwargs.pop("channel_code", "webshop"),
        lines=lines,
        shipping=D("4.95"),
        coupon_codes=codes,
        **kwargs,
    )


def coupon_for(promo: Promotion, code: str = "SAVE10", **kwargs: Any) -> Coupon:
    return promo_services.coupon_create(promotion_id=promo.pk, code=code, **kwargs)


# --- loaders --------------------------------------------------------------------------------------


def test_lines_are_priced_at_the_channel_price_with_the_category_ancestors(shop: Shop) -> None:
    root = Category.objects.get(full_name="Apparel & Accessories")
    child = Category.objects.add_child(
        root, {"name": "Shirts", "full_name": "Apparel & Accessories > Shirts"}
    )
    Product.objects.filter(pk=shop.s.product_id).update(category=child)
    lines = cart_lines_build(
        channel_code="webshop", items=[CartItem(shop.s.pk, 2)], at=timezone.now()
    )
    assert [(line.key, line.unit_price, line.quantity) for line in lines] == [
        ("ORGANIC-TEE-S", D("19.99"), 2)
    ]
    assert lines[0].category_ids == {root.pk, child.pk}


def test_a_category_promotion_reaches_products_in_subcategories(shop: Shop) -> None:
    root = Category.objects.get(full_name="Apparel & Accessories")
    child = Category.objects.add_child(
        root, {"name": "Shirts", "full_name": "Apparel & Accessories > Shirts"}
    )
    Product.objects.filter(pk=shop.s.product_id).update(category=child)
    promo = promotion(shop, target=Promotion.Target.CATEGORIES)
    promo.categories.set([root])
    result = price_cart(shop)
    assert result.line_discounts == {"ORGANIC-TEE-S": D("4.00"), "ORGANIC-TEE-M": D("2.00")}


def test_customer_facts_first_order_points_and_consents(shop: Shop) -> None:
    person = customers.customer_resolve(email="ann@example.org", channel_code="webshop").customer
    facts = customer_facts(customer_id=person.pk)
    assert (facts.is_first_order, facts.lifetime_points, facts.consents) == (True, 0, frozenset())
    customers.loyalty_earn(
        customer_id=person.pk,
        amount=D("250"),
        currency="EUR",
        channel_code="webshop",
        reference="O-1",
    )
    customers.consent_record(
        customer_id=person.pk,
        purpose="email_marketing",
        granted=True,
        channel_code="webshop",
        source="test",
        wording_version="v1",
    )
    facts = customer_facts(customer_id=person.pk)
    assert (facts.lifetime_points, facts.consents) == (250, frozenset({"email_marketing"}))


def test_customer_facts_not_first_order_after_an_order(shop: Shop) -> None:
    from orders import services
    from orders.services import LineInput

    shop.receive(shop.warehouse, shop.s, 1)
    services.order_place(
        channel_code="webshop",
        lines=[LineInput("ORGANIC-TEE-S", 1)],
        method="ship",
        address={"country": "NL"},
        customer=services.CustomerInput(email="Bob@Example.org"),
    )
    assert (
        customer_facts(customer_id=None, customer_email="bob@example.org").is_first_order is False
    )
    assert customer_facts(customer_id=None, customer_email="eve@example.org").is_first_order is True


def test_a_first_order_promotion_through_the_loader(shop: Shop) -> None:
    promotion(shop, customer_scope=Promotion.CustomerScope.FIRST_ORDER)
    person = customers.customer_resolve(email="ann@example.org", channel_code="webshop").customer
    assert price_cart(shop, customer_id=person.pk).lines_discount == D("6.00")


def test_a_promotion_on_another_channel_gives_nothing(shop: Shop) -> None:
    promotion(shop, channels=[ChannelFactory(code="pos")])
    assert price_cart(shop).applied == []


# --- coupon refusals ------------------------------------------------------------------------------


def refused(shop: Shop, codes: list[str], **kwargs: Any) -> CouponError:
    before = (CouponRedemption.objects.count(), list(Coupon.objects.values_list("uses", flat=True)))
    with pytest.raises(CouponError) as caught:
        price_cart(shop, codes, **kwargs)
    after = (CouponRedemption.objects.count(), list(Coupon.objects.values_list("uses", flat=True)))
    assert after == before
    return caught.value


def test_a_valid_coupon_applies_whatever_its_case(shop: Shop) -> None:
    coupon_for(promotion(shop, requires_coupon=True), "Save10")
    assert Coupon.objects.get().code == "SAVE10"
    result = price_cart(shop, [" save10 "])
    assert [(a.coupon_code, a.amount) for a in result.applied] == [("SAVE10", D("6.00"))]
    assert price_cart(shop).applied == []  # without the code: nothing


def test_coupon_unknown(shop: Shop) -> None:
    error = refused(shop, ["NOPE"])
    assert (type(error), error.code, error.extra) == (
        CouponUnknown,
        "coupon_unknown",
        {"coupon": "NOPE"},
    )


def test_coupon_not_started_and_expired(shop: Shop) -> None:
    now = timezone.now()
    later = promotion(shop, requires_coupon=True, starts_at=now + timedelta(days=1))
    coupon_for(later, "LATER")
    over = promotion(shop, requires_coupon=True, ends_at=now - timedelta(seconds=1))
    coupon_for(over, "OVER")
    off = promotion(shop, requires_coupon=True, is_active=False)
    coupon_for(off, "OFF")
    assert refused(shop, ["LATER"]).code == "coupon_not_started"
    assert refused(shop, ["OVER"]).code == "coupon_expired"
    assert isinstance(refused(shop, ["OFF"]), CouponExpired)
    disabled = coupon_for(promotion(shop, requires_coupon=True), "DISABLED")
    Coupon.objects.filter(pk=disabled.pk).update(is_active=False)
    assert refused(shop, ["DISABLED"]).code == "coupon_expired"
    assert isinstance(refused(shop, ["LATER"]), CouponNotStarted)


def test_coupon_wrong_channel(shop: Shop) -> None:
    coupon_for(promotion(shop, requires_coupon=True, channels=[ChannelFactory(code="pos")]))
    error = refused(shop, ["SAVE10"])
    assert (type(error), error.code) == (CouponWrongChannel, "coupon_wrong_channel")


def test_coupon_exhausted_per_code_and_over_the_promotion(shop: Shop) -> None:
    promo = promotion(shop, requires_coupon=True, max_uses=2)
    single = coupon_for(promo, "ONCE", max_uses=1)
    coupon_for(promo, "MANY")
    promo_services.coupon_redeem(
        codes=["once"], order_id=None, customer_id=None, channel_code="webshop"
    )
    assert refused(shop, ["ONCE"]).code == "coupon_exhausted"
    promo_services.coupon_redeem(
        codes=["MANY"], order_id=None, customer_id=None, channel_code="webshop"
    )
    error = refused(shop, ["MANY"])  # the promotion's 2 uses are gone
    assert (type(error), error.code) == (CouponExhausted, "coupon_exhausted")
    single.refresh_from_db()
    promo.refresh_from_db()
    assert (single.uses, promo.uses) == (1, 2)
    with pytest.raises(CouponExhausted):
        promo_services.coupon_redeem(
            codes=["MANY"], order_id=None, customer_id=None, channel_code="webshop"
        )
    assert CouponRedemption.objects.count() == 2


def test_coupon_customer_limit_by_id_and_by_email(shop: Shop) -> None:
    coupon_for(promotion(shop, requires_coupon=True), max_uses_per_customer=1)
    person = customers.customer_resolve(email="ann@example.org", channel_code="webshop").customer
    promo_services.coupon_redeem(
        codes=["SAVE10"],
        order_id=None,
        customer_id=person.pk,
        customer_email="Ann@Example.org",
        channel_code="webshop",
    )
    error = refused(shop, ["SAVE10"], customer_id=person.pk)
    assert (type(error), error.code) == (CouponCustomerLimit, "coupon_customer_limit")
    assert (
        refused(shop, ["SAVE10"], customer_email="ANN@example.org").code == "coupon_customer_limit"
    )
    # unknown shopper: the per-customer limit cannot be checked
    assert refused(shop, ["SAVE10"]).code == "coupon_customer_limit"
    other = customers.customer_resolve(email="bob@example.org", channel_code="webshop").customer
    assert price_cart(shop, ["SAVE10"], customer_id=other.pk).lines_discount == D("6.00")


def test_coupon_not_applicable_when_nothing_is_targeted(shop: Shop) -> None:
    promo = promotion(shop, requires_coupon=True, target=Promotion.Target.VARIANTS)
    promo.variants.set([shop.l])
    coupon_for(promo)
    error = refused(shop, ["SAVE10"])
    assert (type(error), error.code) == (CouponNotApplicable, "coupon_not_applicable")


def test_two_codes_of_one_promotion_are_not_applicable(shop: Shop) -> None:
    promo = promotion(shop, requires_coupon=True)
    coupon_for(promo, "ONE")
    coupon_for(promo, "TWO")
    assert refused(shop, ["ONE", "TWO"]).code == "coupon_not_applicable"


# --- redeeming and releasing ----------------------------------------------------------------------


def test_redeem_counts_and_release_gives_the_uses_back(shop: Shop) -> None:
    promo = promotion(shop, requires_coupon=True, max_uses=1)
    coupon = coupon_for(promo, max_uses=1)
    from orders import services
    from orders.services import LineInput

    shop.receive(shop.warehouse, shop.s, 1)
    order = services.order_place(
        channel_code="webshop",
        lines=[LineInput("ORGANIC-TEE-S", 1)],
        method="ship",
        address={"country": "NL"},
    ).order
    redeemed = promo_services.coupon_redeem(
        codes=["save10"], order_id=order.pk, customer_id=None, customer_email="A@B.example"
    )
    assert [(r.code, r.promotion_id) for r in redeemed] == [("SAVE10", promo.pk)]
    redemption = CouponRedemption.objects.get()
    assert (redemption.order_id, redemption.customer_email) == (order.pk, "a@b.example")
    coupon.refresh_from_db()
    assert coupon.uses == 1
    assert refused(shop, ["SAVE10"]).code == "coupon_exhausted"

    assert promo_services.coupon_redemption_release(order_id=order.pk) == 1
    assert promo_services.coupon_redemption_release(order_id=order.pk) == 0  # idempotent
    coupon.refresh_from_db()
    promo.refresh_from_db()
    assert (coupon.uses, promo.uses) == (0, 0)
    assert CouponRedemption.objects.get().released_at is not None
    assert price_cart(shop, ["SAVE10"]).lines_discount == D("6.00")


def test_redeem_needs_a_channel_or_an_order(shop: Shop) -> None:
    coupon_for(promotion(shop, requires_coupon=True))
    with pytest.raises(PromotionInvalid):
        promo_services.coupon_redeem(codes=["SAVE10"], order_id=None, customer_id=None)
    with pytest.raises(CouponUnknown):
        promo_services.coupon_redeem(
            codes=["NOPE"], order_id=None, customer_id=None, channel_code="webshop"
        )
    assert CouponRedemption.objects.count() == 0


# --- creating coupons -----------------------------------------------------------------------------


def test_codes_are_unique_whatever_their_case(shop: Shop) -> None:
    promo = promotion(shop)
    coupon_for(promo, "Spring")
    with pytest.raises(PromotionInvalid) as caught:
        coupon_for(promo, "SPRING")
    assert caught.value.errors[0]["code"] == "taken"
    with pytest.raises(PromotionInvalid):
        coupon_for(promo, "no spaces!")
    assert Coupon.objects.count() == 1


def test_bulk_generation_makes_unique_codes_with_the_prefix(shop: Shop) -> None:
    promo = promotion(shop, requires_coupon=True)
    coupon_for(promo, "VIP-EXISTS")
    batch = promo_services.coupon_batch_generate(promotion_id=promo.pk, prefix="vip", quantity=500)
    codes = list(batch.coupons.values_list("code", flat=True))
    assert len(codes) == len({c.upper() for c in codes}) == 500
    assert all(c.startswith("VIP-") and len(c) == 12 for c in codes)
    assert set(batch.coupons.values_list("max_uses", "max_uses_per_customer")) == {(1, 1)}
    assert price_cart(shop, [codes[0].lower()], customer_email="x@example.org").lines_discount == D(
        "6.00"
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"prefix": "bad prefix"}, "prefix"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 10_001}, "quantity"),
        ({"length": 3}, "length"),
        ({"max_uses_per_code": 0}, "max_uses_per_code"),
    ],
)
def test_bulk_generation_refuses_bad_input_and_writes_nothing(
    shop: Shop, kwargs: dict[str, Any], field: str
) -> None:
    promo = promotion(shop)
    arguments: dict[str, Any] = {"promotion_id": promo.pk, "prefix": "VIP", "quantity": 3}
    with pytest.raises(PromotionInvalid) as caught:
        promo_services.coupon_batch_generate(**(arguments | kwargs))
    assert caught.value.errors[0]["field"] == field
    assert (CouponBatch.objects.count(), Coupon.objects.count()) == (0, 0)


# --- sale prices ----------------------------------------------------------------------------------


def test_sale_prices_announce_product_promotions_with_their_dates(shop: Shop) -> None:
    now = timezone.now()
    ends = now + timedelta(days=7)
    sale = promotion(
        shop,
        value=D("25"),
        target=Promotion.Target.VARIANTS,
        starts_at=now - timedelta(days=1),
        ends_at=ends,
    )
    sale.variants.set([shop.s])
    # not announced: a coupon promotion, a customer-scoped one, a cart-level one
    promotion(shop, requires_coupon=True)
    promotion(shop, customer_scope=Promotion.CustomerScope.FIRST_ORDER)
    promotion(shop, kind=Promotion.Kind.SPEND_THRESHOLD, value=D("5"))
    prices = variant_sale_prices(channel_code="webshop", variant_ids=[shop.s.pk, shop.m.pk], at=now)
    assert list(prices) == [shop.s.pk]
    price = prices[shop.s.pk]
    assert (price.price, price.sale_price, price.currency) == (D("19.99"), D("14.99"), "EUR")
    assert (price.starts_at, price.ends_at, price.promotion_ids) == (
        sale.starts_at,
        ends,
        (sale.pk,),
    )
    assert variant_sale_prices(channel_code="webshop", variant_ids=[shop.s.pk], at=ends) == {}


def test_erasure_blanks_the_email_of_a_redemption_and_keeps_the_count(shop: Shop) -> None:
    from core.actors import SYSTEM

    coupon = coupon_for(promotion(shop, requires_coupon=True), max_uses_per_customer=1)
    person = customers.customer_resolve(email="zoe@example.org", channel_code="webshop").customer
    promo_services.coupon_redeem(
        codes=["SAVE10"],
        order_id=None,
        customer_id=person.pk,
        customer_email="zoe@example.org",
        channel_code="webshop",
    )
    customers.customer_erase(customer_id=person.pk, actor=SYSTEM)
    redemption = CouponRedemption.objects.get()
    assert (redemption.customer_email, redemption.customer_id) == ("", person.pk)
    coupon.refresh_from_db()
    assert coupon.uses == 1
    assert refused(shop, ["SAVE10"], customer_id=person.pk).code == "coupon_customer_limit"


def test_a_customer_merge_moves_the_redemptions_so_the_limit_still_holds(shop: Shop) -> None:
    from core.actors import SYSTEM

    coupon_for(promotion(shop, requires_coupon=True), max_uses_per_customer=1)
    survivor = customers.customer_resolve(email="a@example.org", channel_code="webshop").customer
    loser = customers.customer_resolve(email="b@example.org", channel_code="webshop").customer
    promo_services.coupon_redeem(
        codes=["SAVE10"], order_id=None, customer_id=loser.pk, channel_code="webshop"
    )
    customers.customer_merge(survivor_id=survivor.pk, loser_id=loser.pk, actor=SYSTEM)
    assert CouponRedemption.objects.get().customer_id == survivor.pk
    assert refused(shop, ["SAVE10"], customer_id=survivor.pk).code == "coupon_customer_limit"
