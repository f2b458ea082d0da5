"""Money at the till (``tests/till.py``'s POS channel): a book taxed at the reduced rate next to
the tee at the standard rate, a promotion running on the till (10 % off everything) and a coupon
``TILL5`` (5.00 off a basket of at least 20.00). Used by the till pricing and receipt tests."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from catalog import services as catalog_services
from catalog.models import Product, ProductType, Variant
from core.models import Channel, TaxClass
from orders.models import Coupon, Promotion
from orders.services import promotions as promo_services
from tests.catalog.factories import complete_product
from tests.shop import Shop

BOOK_PRICE = Decimal("12.50")
BOOK_SKU = "TIDE-TABLES-S"
COUPON = "TILL5"


@dataclass
class TillMoney:
    pos: Channel
    book: Variant
    running: Promotion
    coupon: Coupon


def till_money_add(shop: Shop, pos: Channel) -> TillMoney:
    """The book (reduced rate), the running promotion and the coupon on ``pos`` (which the
    caller made with ``pos_channel_add``). Needs database access."""
    product = complete_product(pos, name="Tide Tables", sizes=("s",), price=str(BOOK_PRICE))
    books, _ = ProductType.objects.get_or_create(
        code="books", defaults={"name": "Books", "tax_class": TaxClass.objects.get(code="reduced")}
    )
    Product.objects.filter(pk=product.pk).update(product_type=books)
    catalog_services.product_submit(product_ids=[product.pk])
    catalog_services.product_approve(product_ids=[product.pk])
    catalog_services.product_publish(product_ids=[product.pk], channel_code=pos.code)
    running = Promotion.objects.create(
        name="Spring at the till", kind=Promotion.Kind.PERCENT_OFF, value=Decimal("10")
    )
    running.channels.set([pos])
    with_code = Promotion.objects.create(
        name="Five off twenty",
        kind=Promotion.Kind.SPEND_THRESHOLD,
        value=Decimal("5.00"),
        threshold=Decimal("20.00"),
        requires_coupon=True,
    )
    with_code.channels.set([pos])
    coupon = promo_services.coupon_create(promotion_id=with_code.pk, code=COUPON)
    return TillMoney(pos=pos, book=product.variants.get(), running=running, coupon=coupon)
