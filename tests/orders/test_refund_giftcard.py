"""Gift card money comes back to the card (issue 17): a refund that goes to a ``gift_card``
payment credits that card in the same transaction; cancelling returns the gift card spend the
goods that left do not need; cards sold on a cancelled order are disabled when unspent. Capture
per fulfilment allocates by the stored per-line discount. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from catalog import services as catalog_services
from catalog.models import Product, ProductType
from orders import services
from orders.exceptions import RefundExceedsPaid
from orders.models import GiftCard, GiftCardEntry, Order, Payment, PaymentEvent, Refund
from orders.services.refunds import RefundLineInput, refund_create
from tests.catalog.factories import complete_product
from tests.shop import Shop

pytestmark = pytest.mark.django_db
D = Decimal
TEE_S, TEE_L, GIFT_SKU = "ORGANIC-TEE-S", "ORGANIC-TEE-L", "GIFT-CARD-L"


def _card(amount: str) -> services.IssuedGiftCard:
    return services.giftcard_issue(amount=D(amount), currency="EUR")


def _balance(issued: services.IssuedGiftCard) -> Decimal:
    card = GiftCard.objects.get(pk=issued.card.pk)
    ledger = sum((e.amount for e in GiftCardEntry.objects.filter(card=card)), D("0"))
    assert ledger == card.balance
    return card.balance


def _place(shop: Shop, *cards: tuple[services.IssuedGiftCard, str], **kwargs: Any) -> Order:
    """2 x S from the warehouse and 1 x L from Amsterdam: 59.97."""
    shop.receive(shop.warehouse, shop.s, 5)
    shop.receive(shop.amsterdam, shop.l, 5)
    kwargs.setdefault("lines", [services.LineInput(TEE_S, 2), services.LineInput(TEE_L, 1)])
    return services.order_place(
        channel_code="webshop",
        method="ship",
        address={"country": "NL"},
        gift_cards=[services.GiftCardInput(c.code, D(a)) for c, a in cards],
        **kwargs,
    ).order


def _ship(order: Order, location: Any) -> None:
    fulfillment = order.fulfillments.get(location=location)
    services.fulfillment_ship(fulfillment_id=fulfillment.pk, carrier="PostNL", tracking_number="T")


def test_a_refund_going_to_a_gift_card_payment_credits_that_card(shop: Shop) -> None:
    first, second = _card("10.00"), _card("20.00")
    order = _place(shop, (first, "10.00"), (second, "20.00"), payment_status="captured")
    _gift_one, gift_two, card = Payment.objects.filter(order=order).order_by("id")
    assert (gift_two.tender, card.tender, card.amount_captured) == ("gift_card", "card", D("29.97"))

    # the first payment with 19.99 left is the second gift card's: back onto that card
    refund, _ = refund_create(order_id=order.pk, key="r1", lines=[RefundLineInput(TEE_S, 1)])
    assert refund.payment_id == gift_two.pk and refund.amount == D("19.99")
    assert (_balance(first), _balance(second)) == (0, D("19.99"))
    entry = GiftCardEntry.objects.get(card=second.card, kind="refund")
    assert (entry.payment_id, entry.order_id, entry.amount) == (gift_two.pk, order.pk, D("19.99"))
    gift_two.refresh_from_db()
    assert gift_two.amount_refunded == D("19.99")

    # naming the tender sends it to the card payment; no card is credited
    refund, _ = refund_create(
        order_id=order.pk, key="r2", lines=[RefundLineInput(TEE_S, 1)], tender="card"
    )
    assert refund.payment_id == card.pk and _balance(second) == D("19.99")

    # 19.99 more: no single payment has it left (10.00, 0.01, 9.98): refused, nothing written
    with pytest.raises(RefundExceedsPaid):
        refund_create(order_id=order.pk, key="r3", lines=[RefundLineInput(TEE_L, 1)])
    assert (_balance(first), _balance(second)) == (0, D("19.99"))
    assert Refund.objects.filter(order=order).count() == 2


def test_cancelling_the_whole_order_gives_the_gift_card_spend_back(shop: Shop) -> None:
    issued = _card("30.00")
    order = _place(shop, (issued, "30.00"), payment_status="authorized")
    assert _balance(issued) == 0
    services.order_cancel(order_id=order.pk, reason="changed my mind")
    order.refresh_from_db()
    assert _balance(issued) == D("30.00")
    assert order.amount_captured == order.amount_refunded == D("30.00")
    assert order.payment_status == Order.PaymentStatus.REFUNDED
    (refund,) = Refund.objects.filter(order=order)
    assert refund.payment is not None and refund.payment.tender == "gift_card"
    assert refund.amount == D("30.00")
    assert not PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CAPTURE).exists()


def test_a_cancelled_remainder_gives_back_what_the_goods_that_left_do_not_need(
    shop: Shop,
) -> None:
    issued = _card("60.00")
    order = _place(shop, (issued, "50.00"), payment_status="authorized")
    _ship(order, shop.warehouse)  # 39.98 of goods left: the 50.00 on the card covers them
    order.refresh_from_db()
    assert order.amount_captured == D("50.00")
    fulfillment = order.fulfillments.get(location=shop.amsterdam)
    services.fulfillment_cancel(fulfillment_id=fulfillment.pk, reason="damaged")
    order.refresh_from_db()
    assert _balance(issued) == D("10.00") + D("10.02")
    assert order.amount_captured - order.amount_refunded == D("39.98")
    card = Payment.objects.get(order=order, tender="card")
    assert (card.status, card.amount_captured) == (Payment.Status.VOIDED, 0)


def _gift_product(shop: Shop) -> Product:
    product = complete_product(shop.channel, name="Gift Card", sizes=("l",), price="25.00")
    catalog_services.product_submit(product_ids=[product.pk])
    catalog_services.product_approve(product_ids=[product.pk])
    catalog_services.product_publish(product_ids=[product.pk], channel_code=shop.channel.code)
    gift_type = ProductType.objects.create(code="gift-card", name="Gift card", is_gift_card=True)
    Product.objects.filter(pk=product.pk).update(product_type=gift_type)
    return product


def test_cards_sold_on_a_cancelled_order_are_disabled_unless_spent(shop: Shop) -> None:
    _gift_product(shop)
    lines = [services.LineInput(TEE_S, 1), services.LineInput(GIFT_SKU, 2)]
    order = _place(shop, lines=lines, payment_status="authorized")
    unspent, spent = GiftCard.objects.filter(sold_on__order=order).order_by("pk")
    other = _place(shop, lines=[services.LineInput(TEE_S, 1)])
    services.giftcard_spend(
        code=_code(order, spent.last4), amount=D("1.00"), order=other
    )  # its holder used it already
    services.order_cancel(order_id=order.pk)
    unspent.refresh_from_db()
    spent.refresh_from_db()
    assert (unspent.status, spent.status) == (GiftCard.Status.DISABLED, GiftCard.Status.ACTIVE)
    assert order.timeline.filter(message__contains=f"…{unspent.last4} sold").exists()


def _code(order: Order, last4: str) -> str:
    for event in order.timeline.filter(kind="gift_card_issued"):
        code = event.message.split("code ")[1].split(",")[0]
        if code.replace("-", "").endswith(last4):
            return code
    raise AssertionError(last4)


def test_a_sold_gift_card_line_is_captured_with_the_first_parcel(shop: Shop) -> None:
    _gift_product(shop)
    lines = [services.LineInput(TEE_S, 1), services.LineInput(GIFT_SKU, 1)]
    order = _place(shop, lines=lines, payment_status="authorized", shipping_total=D("4.95"))
    _ship(order, shop.warehouse)
    order.refresh_from_db()
    assert order.amount_captured == order.total == D("19.99") + D("25.00") + D("4.95")


def test_capture_follows_the_stored_per_line_discount_and_shipping_discount(shop: Shop) -> None:
    order = _place(
        shop, payment_status="authorized", shipping_total=D("4.95"), discount_total=D("10.00")
    )
    # as a promotion on the S tees alone stores it (and a shipping promotion took 2.00 off)
    order.lines.filter(sku=TEE_S).update(discount_amount=D("10.00"))
    order.lines.filter(sku=TEE_L).update(discount_amount=D("0"))
    Order.objects.filter(pk=order.pk).update(shipping_discount=D("2.00"))
    _ship(order, shop.warehouse)
    order.refresh_from_db()
    assert order.amount_captured == D("39.98") - D("10.00") + D("4.95")
    _ship(order, shop.amsterdam)
    order.refresh_from_db()
    assert order.amount_captured == order.total == D("54.92")
    captures = PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CAPTURE).order_by("id")
    assert [c.amount for c in captures] == [D("34.93"), D("19.99")]
