"""``orders.pricing.basket_price`` against the database: what it reads on the plain path, that
the customer's facts are read only for a scoped promotion, gift cards sold are outside VAT, and
coupons are checked even on an empty basket. SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import services as catalog_services
from catalog.models import Product, ProductType
from core.models import ChannelCountry
from orders.exceptions import CouponUnknown
from orders.models import Promotion
from orders.pricing import BasketItem, basket_price
from tests.catalog.factories import complete_product
from tests.shop import Shop

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def nl_shop(shop: Shop) -> Shop:
    ChannelCountry.objects.get_or_create(channel=shop.channel, country="NL", position=0)
    return shop


def _tee(shop: Shop, quantity: int = 1) -> list[BasketItem]:
    return [BasketItem(variant_id=shop.m.pk, quantity=quantity, key="tee")]


def test_a_plain_basket_reads_prices_promotions_and_tax_only(nl_shop: Shop) -> None:
    basket_price(channel=nl_shop.channel, items=_tee(nl_shop), country="NL")  # warm
    with CaptureQueriesContext(connection) as queries:
        pricing = basket_price(channel=nl_shop.channel, items=_tee(nl_shop, 2), country="NL")
    # the prices, the tax classes, the country's rates (the promotion rules: cached)
    assert len(queries) == 3, [q["sql"][:80] for q in queries]
    line = pricing.lines[0]
    assert (line.subtotal, line.discount, line.tax_rate) == (D("39.98"), D("0.00"), D("21.00"))
    assert line.tax == D("6.94") and pricing.total == D("39.98")


def test_customer_facts_are_read_only_for_a_scoped_promotion(nl_shop: Shop) -> None:
    anyone = Promotion.objects.create(name="Ten", kind=Promotion.Kind.PERCENT_OFF, value=D("10"))
    anyone.channels.set([nl_shop.channel])
    with CaptureQueriesContext(connection) as queries:
        pricing = basket_price(
            channel=nl_shop.channel, items=_tee(nl_shop), customer_email="a@example.com"
        )
    assert not any('"orders_order"' in q["sql"] for q in queries)
    assert pricing.discount_total == D("2.00")
    first = Promotion.objects.create(
        name="First order",
        kind=Promotion.Kind.AMOUNT_OFF,
        value=D("1"),
        customer_scope=Promotion.CustomerScope.FIRST_ORDER,
    )
    first.channels.set([nl_shop.channel])
    with CaptureQueriesContext(connection) as queries:
        pricing = basket_price(
            channel=nl_shop.channel, items=_tee(nl_shop), customer_email="a@example.com"
        )
    assert any('"orders_order"' in q["sql"] for q in queries)
    assert pricing.discount_total == D("3.00")


def test_a_gift_card_sold_carries_no_vat(nl_shop: Shop) -> None:
    product = complete_product(nl_shop.channel, name="Gift Card", sizes=("l",), price="25.00")
    catalog_services.product_submit(product_ids=[product.pk])
    catalog_services.product_approve(product_ids=[product.pk])
    catalog_services.product_publish(product_ids=[product.pk], channel_code="webshop")
    gift_type = ProductType.objects.create(code="gift-card", name="Gift card", is_gift_card=True)
    Product.objects.filter(pk=product.pk).update(product_type=gift_type)
    card = product.variants.get()
    pricing = basket_price(
        channel=nl_shop.channel,
        items=[*_tee(nl_shop), BasketItem(variant_id=card.pk, quantity=1, key="card")],
        country="NL",
        shipping=D("5.00"),
    )
    lines = {line.key: line for line in pricing.lines}
    assert (lines["card"].tax_rate, lines["card"].tax) == (D("0"), D("0.00"))
    assert lines["tee"].tax_rate == D("21.00")
    assert pricing.tax_total == lines["tee"].tax + sum(p.tax for p in pricing.shipping_tax)


def test_no_promotion_takes_anything_off_a_gift_card_sold(nl_shop: Shop) -> None:
    everything = Promotion.objects.create(
        name="Everything -50 %", kind=Promotion.Kind.PERCENT_OFF, value=D("50")
    )
    everything.channels.set([nl_shop.channel])
    product = complete_product(nl_shop.channel, name="Gift Card", sizes=("l",), price="25.00")
    catalog_services.product_submit(product_ids=[product.pk])
    catalog_services.product_approve(product_ids=[product.pk])
    catalog_services.product_publish(product_ids=[product.pk], channel_code="webshop")
    gift_type = ProductType.objects.create(code="gift-card", name="Gift card", is_gift_card=True)
    Product.objects.filter(pk=product.pk).update(product_type=gift_type)
    card = product.variants.get()
    pricing = basket_price(
        channel=nl_shop.channel,
        items=[*_tee(nl_shop), BasketItem(variant_id=card.pk, quantity=2, key="card")],
        country="NL",
    )
    lines = {line.key: line for line in pricing.lines}
    assert (lines["card"].discount, lines["card"].total) == (D("0.00"), D("50.00"))
    assert lines["tee"].discount == (lines["tee"].subtotal / 2).quantize(D("0.01"))


def test_a_coupon_is_checked_even_on_an_empty_basket(nl_shop: Shop) -> None:
    with pytest.raises(CouponUnknown):
        basket_price(channel=nl_shop.channel, items=[], coupon_codes=["NOPE"])
