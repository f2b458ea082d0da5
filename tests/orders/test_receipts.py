"""Receipts and customer e-mails show the order's stored figures (what the one pricing function
gave at placement or at the till): each line's discount, subtotal, promotions and discounts,
shipping, tax per rate (``OrderTaxLine``), total and currency; nothing is computed again. The
confirmation of a ship order quotes its delivery promise (the fulfilment's ``promised_at``) and
says nothing of one when there is none."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail

from orders import services
from orders.models import Notification, Order
from orders.services.notifications import order_figures_text, receipt_text
from orders.shipping import location_timezone
from tests.shop import Shop
from tests.till import pos_channel_add
from tests.till_money import BOOK_SKU, COUPON, TillMoney, till_money_add

pytestmark = pytest.mark.django_db

TEE_M = "ORGANIC-TEE-M"
NL = {"country": "NL", "city": "Amsterdam", "line1": "Damrak 1", "postal_code": "1012"}


@pytest.fixture
def money(shop: Shop) -> TillMoney:
    made = till_money_add(shop, pos_channel_add(shop))
    shop.receive(shop.amsterdam, shop.m, 5)
    shop.receive(shop.amsterdam, made.book, 5)
    return made


def _sale(money: TillMoney, capture: Any) -> Order:
    quote = services.sale_quote(
        channel_code="pos",
        location_code="ams-central",
        lines=[services.LineInput(TEE_M, 2), services.LineInput(BOOK_SKU, 1)],
        coupons=[COUPON],
    )
    with capture(execute=True):
        sold = services.sale_record(
            channel_code="pos",
            location_code="ams-central",
            lines=[services.LineInput(TEE_M, 2), services.LineInput(BOOK_SKU, 1)],
            payments=[services.PaymentInput("card", quote.total, "T-1")],
            sale_key="receipt-1",
            coupons=[COUPON],
            customer=services.CustomerInput(email="eva@example.com", name="Eva"),
        )
    return Order.objects.get(pk=sold.order.pk)


def _assert_figures(text: object, order: Order) -> None:
    text = str(text)
    """Every stored figure of ``order`` is in ``text``."""
    for line in order.lines.all():
        assert f"{line.quantity} x {line.title} ({line.sku}) @ {line.unit_price}" in text
        assert f"= {line.line_total}" in text
        if line.discount_amount:
            assert f"discount -{line.discount_amount}" in text
    assert f"Subtotal: {order.subtotal}" in text
    for applied in order.promotions:
        coupon = f" ({applied['coupon']})" if applied["coupon"] else ""
        assert f"{applied['name']}{coupon}: -{applied['amount']}" in text
    if order.discount_total:
        assert f"Discounts: -{order.discount_total}" in text
    assert f"Shipping: {order.shipping_total}" in text
    for tax in order.tax_lines.all():
        assert f"VAT {tax.rate.normalize():f}%" in text and f": {tax.tax} (net {tax.net})" in text
    assert f"Total: {order.total} {order.currency}" in text


def test_the_receipt_shows_the_stored_figures(
    shop: Shop, money: TillMoney, django_capture_on_commit_callbacks: Any
) -> None:
    order = _sale(money, django_capture_on_commit_callbacks)
    assert order.tax_lines.count() == 2 and order.discount_total > 0
    text = receipt_text(order)
    _assert_figures(text, order)
    assert "Paid by card: " + str(order.total) in text
    # the e-mailed receipt is the same text
    (sent,) = mail.outbox
    assert sent.subject == f"Your receipt {order.number}"
    _assert_figures(sent.body, order)
    assert text in sent.body


def test_the_refund_e_mail_shows_the_refund_with_its_tax_and_the_order_figures(
    shop: Shop, money: TillMoney, django_capture_on_commit_callbacks: Any
) -> None:
    order = _sale(money, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        refund, _ = services.refund_create(
            order_id=order.pk, key="r-1", lines=[services.RefundLineInput(TEE_M, 1)]
        )
    refunded = [m for m in mail.outbox if m.subject == f"A refund for your order {order.number}"]
    assert len(refunded) == 1
    body = refunded[0].body
    assert f"Refund: {refund.amount} {order.currency} (VAT {refund.tax_amount})" in body
    _assert_figures(body, order)


def _ship_order(shop: Shop) -> Order:
    shop.receive(shop.warehouse, shop.m, 5)
    placed = services.order_place(
        channel_code="webshop",
        lines=[services.LineInput(TEE_M, 2)],
        method="ship",
        address=NL,
        customer=services.CustomerInput(email="ann@example.com"),
        shipping_total=Decimal("4.95"),
    )
    return Order.objects.get(pk=placed.order.pk)


def _confirmation(order: Order) -> str:
    services.notifications_send_pending()
    (sent,) = [m for m in mail.outbox if m.subject == f"Your order {order.number} is confirmed"]
    return str(sent.body)


def test_the_confirmation_of_a_ship_order_quotes_its_delivery_promise(shop: Shop) -> None:
    order = _ship_order(shop)
    fulfillment = order.fulfillments.get()
    by = date(2031, 3, 14)
    fulfillment.promised_at = datetime.combine(
        by, time(23, 59, 59), tzinfo=location_timezone(fulfillment.location)
    )
    fulfillment.save(update_fields=["promised_at"])
    body = _confirmation(order)
    assert "Expected delivery: by Friday 14 March 2031 (2031-03-14)." in body
    _assert_figures(body, order)
    assert order_figures_text(order) in body


def test_a_ship_order_without_a_promise_says_nothing_of_one(shop: Shop) -> None:
    order = _ship_order(shop)
    order.fulfillments.update(promised_at=None)
    body = _confirmation(order)
    assert "delivery" not in body.lower()
    _assert_figures(body, order)


def test_shipped_and_ready_for_pickup_e_mails_show_the_figures(shop: Shop) -> None:
    order = _ship_order(shop)
    fulfillment = order.fulfillments.get()
    services.fulfillment_pick(fulfillment_id=fulfillment.pk)
    services.fulfillment_pack(fulfillment_id=fulfillment.pk)
    services.fulfillment_ship(
        fulfillment_id=fulfillment.pk, carrier="PostNL", tracking_number="3S1"
    )
    services.notifications_send_pending()
    (shipped,) = [m for m in mail.outbox if m.subject == f"Your order {order.number} has shipped"]
    _assert_figures(shipped.body, order)
    shop.receive(shop.amsterdam, shop.m, 2)
    pickup = services.order_place(
        channel_code="webshop",
        lines=[services.LineInput(TEE_M, 1)],
        method="pickup",
        pickup_location_code="ams-central",
        customer=services.CustomerInput(email="bo@example.com"),
    ).order
    parcel = pickup.fulfillments.get()
    services.fulfillment_pick(fulfillment_id=parcel.pk)
    services.fulfillment_ready_for_pickup(fulfillment_id=parcel.pk)
    services.notifications_send_pending()
    (ready,) = [
        m for m in mail.outbox if m.subject == f"Your order {pickup.number} is ready for pickup"
    ]
    _assert_figures(ready.body, Order.objects.get(pk=pickup.pk))
    assert Notification.objects.filter(order=pickup, kind="ready_for_pickup").count() == 1
