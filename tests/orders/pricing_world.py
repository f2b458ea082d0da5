"""The priced shop of the placement and cart pricing tests: a reduced-rate book, a running 10 %
promotion, a one-use coupon and a shipping method, with helpers to place and compare."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import Product, ProductType, Variant
from core.models import Channel, ChannelCountry, TaxClass
from inventory.models import StockLevel
from orders import services
from orders.models import (
    Coupon,
    CouponRedemption,
    Order,
    Promotion,
)
from orders.pricing import BasketItem, Pricing
from orders.services import promotions as promo_services
from orders.services.pricing import order_line_pricing_fields, order_pricing_fields
from tests.catalog.factories import complete_product
from tests.factories import ChannelFactory
from tests.orders.shipping_factories import method_make
from tests.shop import Shop

D = Decimal
TEE_S, TEE_M = "ORGANIC-TEE-S", "ORGANIC-TEE-M"
BOOK = "KIDS-BOOK-S"


def _promotion(channel: Channel, **kwargs: Any) -> Promotion:
    kwargs.setdefault("name", "Promo")
    made = Promotion.objects.create(**kwargs)
    made.channels.set([channel])
    return made


def _book(shop: Shop) -> Product:
    """A published 12.50 book whose product type is taxed at the reduced rate."""
    product = complete_product(shop.channel, name="Kids Book", sizes=("s",), price="12.50")
    catalog_services.product_submit(product_ids=[product.pk])
    catalog_services.product_approve(product_ids=[product.pk])
    catalog_services.product_publish(product_ids=[product.pk], channel_code=shop.channel.code)
    books = ProductType.objects.create(
        code="book", name="Book", tax_class=TaxClass.objects.get(code="reduced")
    )
    Product.objects.filter(pk=product.pk).update(product_type=books)
    return product


@pytest.fixture
def priced(shop: Shop) -> Shop:
    """The shop with stock, a book at the reduced rate, a running 10 % promotion, a coupon
    SAVE5 (5.00 off the order, one use) and the ``postnl`` method to the Netherlands."""
    ChannelCountry.objects.get_or_create(channel=shop.channel, country="NL", position=0)
    book = _book(shop)
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
    promo_services.coupon_create(promotion_id=coupon_promo.pk, code="SAVE5", max_uses=1)
    method_make("postnl", rates=((None, None, "6.95"),), transit_days=1)
    return shop


def _variant_id(sku: str) -> int:
    return Variant.objects.get(sku=sku).pk


def _items(lines: list[tuple[str, int]]) -> list[BasketItem]:
    return [BasketItem(variant_id=_variant_id(sku), quantity=q, key=sku) for sku, q in lines]


def _place(lines: list[tuple[str, int]], **kwargs: Any) -> Order:
    kwargs.setdefault("method", "ship")
    kwargs.setdefault("address", {"country": "NL", "postal_code": "1011 AB"})
    return services.order_place(
        channel_code="webshop",
        lines=[services.LineInput(sku, q) for sku, q in lines],
        customer=services.CustomerInput(email="ann@example.com"),
        **kwargs,
    ).order


def _assert_stored(order: Order, pricing: Pricing) -> None:
    order.refresh_from_db()
    fields = order_pricing_fields(pricing)
    for name, value in fields.items():
        assert getattr(order, name) == value, name
    for line in order.lines.all():
        for name, value in order_line_pricing_fields(pricing, line.sku).items():
            assert getattr(line, name) == value, (line.sku, name)


def _untouched() -> tuple[int, int, int, int]:
    committed = sum(StockLevel.objects.values_list("committed", flat=True))
    return (
        Order.objects.count(),
        committed,
        sum(Coupon.objects.values_list("uses", flat=True)),
        CouponRedemption.objects.count(),
    )


def _coupon_case(priced: Shop, case: str) -> str:
    """Set up a coupon that ``case`` refuses; returns the code to use."""
    now = timezone.now()
    kwargs: dict[str, Any] = {"kind": Promotion.Kind.AMOUNT_OFF, "value": D("1")}
    kwargs["requires_coupon"] = True
    if case == "coupon_unknown":
        return "NOPE"
    if case == "coupon_expired":
        kwargs["ends_at"] = now - timedelta(days=1)
    if case == "coupon_not_started":
        kwargs["starts_at"] = now + timedelta(days=1)
    if case == "coupon_not_applicable":
        kwargs.update(kind=Promotion.Kind.SPEND_THRESHOLD, threshold=D("1000"))
    channel = priced.channel
    if case == "coupon_wrong_channel":
        channel = ChannelFactory.create(code="outlet")
    promo = _promotion(channel, name=case, **kwargs)
    limits: dict[str, Any] = {}
    if case == "coupon_exhausted":
        limits["max_uses"] = 0
    if case == "coupon_customer_limit":
        limits["max_uses_per_customer"] = 1
    coupon = promo_services.coupon_create(promotion_id=promo.pk, code=f"C-{case}", **limits)
    if case == "coupon_customer_limit":
        CouponRedemption.objects.create(
            coupon=coupon, promotion=promo, customer_email="ann@example.com"
        )
    return coupon.code


COUPON_CASES = [
    "coupon_unknown",
    "coupon_expired",
    "coupon_not_started",
    "coupon_wrong_channel",
    "coupon_exhausted",
    "coupon_customer_limit",
    "coupon_not_applicable",
]
