"""The till on the one pricing function: ``sale_quote`` and ``sale_record`` price a basket with
``orders.pricing.basket_price`` (the store's country, the running promotions, coupons, the
customer's facts, points as an order-level discount), store its figures, redeem the coupons in
the sale's transaction, and want tenders covering the priced total. A bad coupon writes nothing.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from core.models import Channel
from customers import services as customer_services
from inventory.models import StockMovement
from orders import services
from orders.exceptions import CouponExhausted, CouponUnknown, PaymentShort
from orders.models import Coupon, CouponRedemption, Order, OrderTaxLine, Payment
from orders.pricing import BasketItem, Pricing, basket_price
from orders.services.pricing import order_line_pricing_fields, order_pricing_fields
from tests.shop import Shop
from tests.till import pos_channel_add
from tests.till_money import BOOK_SKU, COUPON, TillMoney, till_money_add

pytestmark = pytest.mark.django_db

TEE_M = "ORGANIC-TEE-M"
BASKET = [services.LineInput(TEE_M, 2), services.LineInput(BOOK_SKU, 1)]


@pytest.fixture
def money(shop: Shop) -> TillMoney:
    made = till_money_add(shop, pos_channel_add(shop))
    shop.receive(shop.amsterdam, shop.m, 5)
    shop.receive(shop.amsterdam, made.book, 5)
    return made


def _priced(money: TillMoney, shop: Shop, **kwargs: Any) -> Pricing:
    return basket_price(
        channel=Channel.objects.get(code="pos"),
        items=[BasketItem(shop.m.pk, 2, TEE_M), BasketItem(money.book.pk, 1, BOOK_SKU)],
        country="NL",
        **kwargs,
    )


def _sell(total: Decimal, **overrides: Any) -> services.PlaceResult:
    fields: dict[str, Any] = {
        "channel_code": "pos",
        "location_code": "ams-central",
        "lines": BASKET,
        "payments": [services.PaymentInput("card", total, "TERM-1")],
        "sale_key": "till-money-1",
        "coupons": [COUPON],
    }
    fields.update(overrides)
    return services.sale_record(**fields)


TaxRow = tuple[str, str, Decimal, Decimal, Decimal, Decimal]


def _tax_rows(order: Order) -> list[TaxRow]:
    return [
        (row.kind, row.country, row.rate, row.net, row.tax, row.gross)
        for row in order.tax_lines.all()
    ]


def _expected_tax_rows(pricing: Pricing) -> list[TaxRow]:
    by_rate: dict[Decimal, list[Decimal]] = {}
    for line in pricing.lines:
        sums = by_rate.setdefault(line.tax_rate, [Decimal(0)] * 3)
        sums[0] += line.net
        sums[1] += line.tax
        sums[2] += line.gross
    return [
        ("goods", pricing.country, rate, *sums)  # type: ignore[misc]
        for rate, sums in sorted(by_rate.items(), reverse=True)
    ]


def _snapshot(shop: Shop, money: TillMoney) -> tuple[int, ...]:
    coupon = Coupon.objects.get(pk=money.coupon.pk)
    return (
        Order.objects.count(),
        Payment.objects.count(),
        OrderTaxLine.objects.count(),
        StockMovement.objects.filter(kind="sale").count(),
        shop.level(shop.amsterdam, shop.m)[0],
        coupon.uses,
        coupon.promotion.uses,
        CouponRedemption.objects.count(),
    )


def test_a_sale_stores_the_figures_of_the_pricing_function(shop: Shop, money: TillMoney) -> None:
    # given the basket priced by the one pricing function at the Amsterdam store (NL rates)
    expected = _priced(money, shop, coupon_codes=[COUPON])
    assert expected.promotion_discount > 0 and len({line.tax_rate for line in expected.lines}) == 2
    assert {applied.name for applied in expected.applied} == {
        "Spring at the till",
        "Five off twenty",
    }
    # when the sale is paid exactly by card with the coupon
    order = Order.objects.get(pk=_sell(expected.total).order.pk)
    # then the order, each line and the tax per rate are the pricing's figures
    stored = {name: getattr(order, name) for name in order_pricing_fields(expected)}
    assert stored == order_pricing_fields(expected)
    assert order.total == expected.total and order.amount_captured == expected.total
    for line in order.lines.all():
        fields = order_line_pricing_fields(expected, line.sku)
        assert {name: getattr(line, name) for name in fields} == fields
    assert _tax_rows(order) == _expected_tax_rows(expected)
    assert [row.rate for row in order.tax_lines.all()] == [Decimal("21.00"), Decimal("9.00")]
    # the coupon was redeemed once, for this order
    (redemption,) = CouponRedemption.objects.all()
    assert (redemption.order_id, redemption.coupon.code) == (order.pk, COUPON)
    assert Coupon.objects.get(pk=money.coupon.pk).uses == 1
    (payment,) = order.payments.all()
    assert payment.amount == expected.total


def test_the_quote_is_what_the_sale_records(shop: Shop, money: TillMoney) -> None:
    quote = services.sale_quote(
        channel_code="pos", location_code="ams-central", lines=BASKET, coupons=[COUPON]
    )
    order = _sell(quote.due).order
    assert (quote.subtotal, quote.discount, quote.tax_total, quote.total, quote.currency) == (
        order.subtotal,
        order.discount_total,
        order.tax_total,
        order.total,
        order.currency,
    )
    assert [
        (q.sku, q.unit_price, q.line_total, q.discount, q.tax_rate, q.tax) for q in quote.lines
    ] == [
        (
            line.sku,
            line.unit_price,
            line.line_total,
            line.discount_amount,
            line.tax_rate,
            line.tax_amount,
        )
        for line in order.lines.all()
    ]
    assert [(t.rate, t.net, t.tax, t.gross) for t in quote.tax_lines] == [
        (t.rate, t.net, t.tax, t.gross) for t in order.tax_lines.all()
    ]
    assert [(p["name"], p["amount"]) for p in order.promotions] == [
        (p.name, str(p.amount)) for p in quote.promotions
    ]


def test_points_are_an_order_level_discount_after_the_promotions(
    shop: Shop, money: TillMoney
) -> None:
    customer = customer_services.customer_resolve(
        email="eva@example.com", name="Eva", channel_code="pos"
    ).customer
    customer_services.loyalty_earn(
        customer_id=customer.pk,
        amount=Decimal("300"),
        currency="EUR",
        channel_code="pos",
        reference="WEB-1",
    )
    expected = _priced(
        money, shop, customer_id=customer.pk, extra_discount=Decimal("2.00")
    )  # 200 points at 0.01
    quote = services.sale_quote(
        channel_code="pos",
        location_code="ams-central",
        lines=BASKET,
        loyalty_points=200,
        customer_id=customer.pk,
    )
    assert (quote.total, quote.discount, quote.tax_total) == (
        expected.total,
        expected.discount_total,
        expected.tax_total,
    )
    order = _sell(expected.total, coupons=[], customer_id=customer.pk, loyalty_points=200).order
    assert (order.total, order.discount_total, order.tax_total, order.loyalty_points_redeemed) == (
        expected.total,
        expected.discount_total,
        expected.tax_total,
        200,
    )
    assert _tax_rows(order) == _expected_tax_rows(expected)


def test_the_tenders_must_cover_the_priced_total(shop: Shop, money: TillMoney) -> None:
    total = _priced(money, shop, coupon_codes=[COUPON]).total
    before = _snapshot(shop, money)
    with pytest.raises(PaymentShort):
        _sell(total - Decimal("0.01"))
    assert _snapshot(shop, money) == before


@pytest.mark.parametrize("case", ["unknown", "exhausted"])
def test_a_bad_coupon_is_refused_and_writes_nothing(
    shop: Shop, money: TillMoney, case: str
) -> None:
    if case == "exhausted":
        Coupon.objects.filter(pk=money.coupon.pk).update(max_uses=1, uses=1)
    before = _snapshot(shop, money)
    error = CouponUnknown if case == "unknown" else CouponExhausted
    code = "NOPE-99" if case == "unknown" else COUPON
    with pytest.raises(error):
        services.sale_quote(
            channel_code="pos", location_code="ams-central", lines=BASKET, coupons=[code]
        )
    with pytest.raises(error):
        _sell(Decimal("100.00"), coupons=[code])
    assert _snapshot(shop, money) == before


# --- the API -------------------------------------------------------------------------------------


@pytest.fixture
def till(money: TillMoney, api_client_for: Callable[..., APIClient]) -> APIClient:
    return api_client_for(channels=[money.pos])


def _body(amount: Decimal, coupons: list[str]) -> dict[str, Any]:
    return {
        "channel": "pos",
        "lines": [{"sku": TEE_M, "quantity": 2}, {"sku": BOOK_SKU, "quantity": 1}],
        "fulfillment": {"method": "carry_out", "location": "ams-central"},
        "payments": [{"tender": "card", "amount": str(amount), "reference": "T-1"}],
        "coupons": coupons,
    }


def test_the_till_api_takes_coupons(shop: Shop, money: TillMoney, till: APIClient) -> None:
    expected = _priced(money, shop, coupon_codes=[COUPON])
    created = till.post(
        "/api/v1/orders/", _body(expected.total, [COUPON]), format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert created.status_code == 201, created.json()
    order = Order.objects.get(number=created.json()["number"])
    assert (order.total, order.discount_total, order.coupon_codes) == (
        expected.total,
        expected.discount_total,
        [COUPON],
    )
    assert created.json()["total"] == str(expected.total)


def test_the_till_api_refuses_a_bad_coupon_with_its_problem(
    shop: Shop, money: TillMoney, till: APIClient
) -> None:
    before = _snapshot(shop, money)
    refused = till.post(
        "/api/v1/orders/",
        _body(Decimal("100.00"), ["NOPE-99"]),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k2",
    )
    assert refused.status_code == 400
    assert refused["Content-Type"].startswith("application/problem+json")
    assert refused.json()["code"] == "coupon_unknown"
    assert _snapshot(shop, money) == before
