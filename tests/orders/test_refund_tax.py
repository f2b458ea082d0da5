"""Refunds give back what the customer paid for the units and the tax charged on them (issue 17):
each refund line stores the tax it returns (``core.tax.tax_refund``, cumulative rounding), the
refund stores its tax (lines plus the shipping tax refunded in proportion to the shipping), and any
sequence of partial refunds of a whole order returns exactly its total and its tax. Runs on SQLite
and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from catalog import services as catalog_services
from catalog.models import Product, ProductType
from core.models import Channel, ChannelCountry, TaxClass
from orders import services
from orders.exceptions import RefundInvalid
from orders.models import Order, OrderTaxLine, Promotion, Refund, RefundLine
from orders.services import promotions as promo_services
from orders.services.refunds import RefundLineInput, refund_create
from tests.catalog.factories import complete_product
from tests.orders.shipping_factories import method_make
from tests.shop import Shop

pytestmark = pytest.mark.django_db
D = Decimal
TEE_S, TEE_M = "ORGANIC-TEE-S", "ORGANIC-TEE-M"
BOOK = "KIDS-BOOK-L"


def _promotion(channel: Channel, **kwargs: Any) -> Promotion:
    made = Promotion.objects.create(**kwargs)
    made.channels.set([channel])
    return made


@pytest.fixture
def priced(shop: Shop) -> Shop:
    """Stock, a 12.50 book at the reduced rate (9 %), a running 10 % promotion, a coupon SAVE5
    (5.00 off the order) and the ``postnl`` method (6.95) to the Netherlands."""
    ChannelCountry.objects.get_or_create(channel=shop.channel, country="NL", position=0)
    book = complete_product(shop.channel, name="Kids Book", sizes=("l",), price="12.50")
    catalog_services.product_submit(product_ids=[book.pk])
    catalog_services.product_approve(product_ids=[book.pk])
    catalog_services.product_publish(product_ids=[book.pk], channel_code=shop.channel.code)
    books = ProductType.objects.create(
        code="book", name="Book", tax_class=TaxClass.objects.get(code="reduced")
    )
    Product.objects.filter(pk=book.pk).update(product_type=books)
    for variant in (shop.s, shop.m):
        shop.receive(shop.warehouse, variant, 10)
    shop.receive(shop.warehouse, book.variants.get(), 10)
    _promotion(shop.channel, name="Ten off", kind=Promotion.Kind.PERCENT_OFF, value=D("10"))
    coupon_promo = _promotion(
        shop.channel,
        name="Five off",
        kind=Promotion.Kind.SPEND_THRESHOLD,
        value=D("5"),
        threshold=D("0"),
        requires_coupon=True,
    )
    promo_services.coupon_create(promotion_id=coupon_promo.pk, code="SAVE5", max_uses=5)
    method_make("postnl", rates=((None, None, "6.95"),), transit_days=1)
    return shop


def _place(shop: Shop, *, inclusive: bool = True) -> Order:
    """3 tees (21 %) and 3 books (9 %), 10 % off, a 5.00 coupon, 6.95 shipping: captured."""
    Channel.objects.filter(pk=shop.channel.pk).update(prices_include_tax=inclusive)
    order = services.order_place(
        channel_code="webshop",
        lines=[services.LineInput(TEE_S, 3), services.LineInput(BOOK, 3)],
        method="ship",
        address={"country": "NL", "postal_code": "1011 AB"},
        customer=services.CustomerInput(email="ann@example.com"),
        coupons=["SAVE5"],
        shipping_method="postnl",
        payment_status="captured",
    ).order
    order.refresh_from_db()
    assert order.discount_total > D("5") and order.tax_total > 0
    assert {t.rate for t in OrderTaxLine.objects.filter(order=order, kind="shipping")} == {
        D("21.00"),
        D("9.00"),
    }
    assert order.amount_captured == order.total
    return order


def _paid(line: Any, inclusive: bool) -> Decimal:
    cost: Decimal = line.line_total - line.discount_amount
    return cost if inclusive else cost + line.tax_amount


# each step: units of the tee, units of the book, shipping refunded
PLANS = {
    "one_by_one": [(1, 0, "0"), (1, 1, "1.00"), (0, 1, "0"), (1, 0, "2.33"), (0, 1, "rest")],
    "at_once": [(3, 3, "rest")],
    "odd": [(2, 0, "0.01"), (0, 2, "0"), (1, 1, "rest")],
}


@pytest.mark.parametrize("inclusive", [True, False], ids=["incl", "excl"])
@pytest.mark.parametrize("plan", sorted(PLANS))
def test_partial_refunds_return_exactly_the_total_and_the_tax(
    priced: Shop, plan: str, inclusive: bool
) -> None:
    order = _place(priced, inclusive=inclusive)
    lines = {line.sku: line for line in order.lines.all()}
    shipping_paid = sum(
        (t.gross for t in OrderTaxLine.objects.filter(order=order, kind="shipping")), D("0")
    )
    shipping_tax = sum(
        (t.tax for t in OrderTaxLine.objects.filter(order=order, kind="shipping")), D("0")
    )
    assert shipping_paid + sum(_paid(line, inclusive) for line in lines.values()) == order.total
    shipping_done = D("0")
    for step, (tees, books, shipping) in enumerate(PLANS[plan]):
        amount = shipping_paid - shipping_done if shipping == "rest" else D(shipping)
        shipping_done += amount
        refund, created = refund_create(
            order_id=order.pk,
            key=f"k{step}",
            lines=[RefundLineInput(sku, qty) for sku, qty in ((TEE_S, tees), (BOOK, books)) if qty],
            shipping_amount=amount,
        )
        assert created
        # each refund's tax: its lines' tax plus its share of the shipping tax
        line_tax = sum((r.tax_amount for r in refund.lines.all()), D("0"))
        assert refund.tax_amount >= line_tax
        assert refund.amount == sum((r.amount for r in refund.lines.all()), D("0")) + amount
    order.refresh_from_db()
    refunds = list(Refund.objects.filter(order=order))
    assert sum((r.amount for r in refunds), D("0")) == order.total == order.amount_refunded
    assert sum((r.tax_amount for r in refunds), D("0")) == order.tax_total
    assert order.payment_status == Order.PaymentStatus.REFUNDED
    for sku, line in lines.items():
        rows = RefundLine.objects.filter(order_line=line)
        assert sum((r.amount for r in rows), D("0")) == _paid(line, inclusive), sku
        assert sum((r.tax_amount for r in rows), D("0")) == line.tax_amount, sku
    shipping_refunded_tax = sum((r.tax_amount for r in refunds), D("0")) - sum(
        (r.tax_amount for r in RefundLine.objects.filter(refund__order=order)), D("0")
    )
    assert shipping_refunded_tax == shipping_tax


def test_one_unit_refunds_what_the_customer_paid_for_it_and_its_tax(priced: Shop) -> None:
    order = _place(priced)
    tee = order.lines.get(sku=TEE_S)
    refund, _ = refund_create(order_id=order.pk, key="one", lines=[RefundLineInput(TEE_S, 1)])
    (row,) = refund.lines.all()
    paid = tee.line_total - tee.discount_amount
    # a third of what the tee line cost after its own discount, and a third of its tax
    assert row.amount == (paid / 3).quantize(D("0.01"))
    assert row.tax_amount == (tee.tax_amount / 3).quantize(D("0.01"))
    assert refund.tax_amount == row.tax_amount and refund.amount == row.amount


def test_shipping_beyond_what_was_paid_for_it_is_refused_and_changes_nothing(
    priced: Shop,
) -> None:
    order = _place(priced)
    with pytest.raises(RefundInvalid) as refused:
        refund_create(order_id=order.pk, key="too-much", shipping_amount=D("6.96"))
    assert refused.value.errors[0]["field"] == "shipping_amount"
    order.refresh_from_db()
    assert order.amount_refunded == 0 and not Refund.objects.exists()


def test_an_order_without_per_line_discounts_keeps_the_proportional_spread(shop: Shop) -> None:
    """Orders placed before discounts were stored per line (discount_amount 0 on every line,
    the discount on the order) refund as before: the unit price less its share of it."""
    shop.receive(shop.warehouse, shop.s, 5)
    order = services.order_place(
        channel_code="webshop",
        lines=[services.LineInput(TEE_S, 2)],
        method="ship",
        address={"country": "NL"},
        discount_total=D("10.00"),
        payment_status="captured",
    ).order
    order.lines.update(discount_amount=D("0"), tax_amount=D("0"))
    refund, _ = refund_create(order_id=order.pk, key="old", lines=[RefundLineInput(TEE_S, 1)])
    # 19.99 x (39.98 - 10.00) / 39.98
    assert refund.amount == D("14.99") and refund.tax_amount == 0
