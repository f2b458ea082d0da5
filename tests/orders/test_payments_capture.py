"""Payments (issue 17 part 5): capture per shipped fulfilment, with the discount allocated to lines
in proportion to value and shipping captured with the first parcel; cancelled units never
captured; refunds through the payment record, never above what was captured; the till's
payments recorded as captured at once."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from orders import services
from orders.exceptions import PaymentProviderFailed, RefundExceedsCaptured
from orders.models import Fulfillment, Order, Payment, PaymentEvent, Refund, TimelineEvent
from orders.payments import ProviderResult, provider_register, provider_unregister
from tests.shop import Shop
from tests.till import pos_channel_add

pytestmark = pytest.mark.django_db

FS = Fulfillment.Status
D = Decimal


def _two_parcels(shop: Shop, **kwargs: Any) -> Order:
    """S x2 from the warehouse and L x1 from the Amsterdam store (only they have it): 59.97 of
    goods, 10.00 off the order, 4.95 shipping: 54.92 authorised."""
    shop.receive(shop.warehouse, shop.s, 5)
    shop.receive(shop.amsterdam, shop.l, 5)
    order = services.order_place(
        channel_code="webshop",
        lines=[services.LineInput(shop.s.sku, 2), services.LineInput(shop.l.sku, 1)],
        method="ship",
        address={"name": "Ann", "country": "NL", "city": "Utrecht"},
        customer=services.CustomerInput(email="ann@example.com"),
        shipping_total=D("4.95"),
        discount_total=D("10.00"),
        payment_status="authorized",
        **kwargs,
    ).order
    assert (order.subtotal, order.discount_total, order.shipping_total, order.total) == (
        D("59.97"),
        D("10.00"),
        D("4.95"),
        D("54.92"),
    )
    return order


def _parcel(order: Order, location: Any) -> Fulfillment:
    return order.fulfillments.get(location=location)


def _ship(fulfillment: Fulfillment, tracking: str = "T1") -> None:
    services.fulfillment_ship(
        fulfillment_id=fulfillment.pk, carrier="PostNL", tracking_number=tracking
    )


def _captures(order: Order) -> list[tuple[int | None, Decimal]]:
    return list(
        PaymentEvent.objects.filter(payment__order=order, kind=PaymentEvent.Kind.CAPTURE)
        .order_by("id")
        .values_list("fulfillment_id", "amount")
    )


def test_two_parcels_capture_each_its_share_and_the_sum_is_the_total(shop: Shop) -> None:
    order = _two_parcels(shop)
    first, second = _parcel(order, shop.warehouse), _parcel(order, shop.amsterdam)

    _ship(first)
    order.refresh_from_db()
    # 39.98 of goods less 10.00 x 39.98 / 59.97 = 6.67 of the discount, plus all the shipping
    assert order.amount_captured == D("38.26")
    assert order.payment_status == Order.PaymentStatus.PARTIALLY_CAPTURED
    (payment,) = order.payments.all()
    assert (payment.provider, payment.status) == ("manual", Payment.Status.PARTIALLY_CAPTURED)
    assert (payment.amount_authorised, payment.amount_captured) == (D("54.92"), D("38.26"))

    _ship(second, "T2")
    order.refresh_from_db()
    payment.refresh_from_db()
    # the last parcel takes the rest: 19.99 - 3.33, and the sum is the total to the cent
    assert _captures(order) == [(first.pk, D("38.26")), (second.pk, D("16.66"))]
    assert order.amount_captured == order.total == payment.amount_captured == D("54.92")
    assert (order.payment_status, payment.status) == ("captured", "captured")
    events = order.timeline.filter(kind=TimelineEvent.Kind.PAYMENT_CAPTURED).order_by("id")
    assert [(e.fulfillment_id, e.data["amount"]) for e in events] == [
        (first.pk, "38.26"),
        (second.pk, "16.66"),
    ]
    assert "with shipping" in events[0].message and "with shipping" not in events[1].message


def test_shipping_goes_with_whichever_parcel_leaves_first(shop: Shop) -> None:
    order = _two_parcels(shop)
    _ship(_parcel(order, shop.amsterdam))
    _ship(_parcel(order, shop.warehouse), "T2")
    order.refresh_from_db()
    # 19.99 - 3.33 + 4.95 first, then the rest 33.31
    assert [amount for _f, amount in _captures(order)] == [D("21.61"), D("33.31")]
    assert order.amount_captured == order.total


def test_a_gift_card_pays_first_and_the_card_payment_captures_the_rest(shop: Shop) -> None:
    issued = services.giftcard_issue(amount=D("10.00"), currency="EUR")
    order = _two_parcels(shop, gift_cards=[services.GiftCardInput(issued.code, D("10.00"))])
    assert order.amount_captured == D("10.00")  # the card, spent at placement
    _ship(_parcel(order, shop.warehouse))
    _ship(_parcel(order, shop.amsterdam), "T2")
    order.refresh_from_db()
    card = Payment.objects.get(order=order, tender=Payment.Tender.CARD)
    assert (card.provider, card.amount_authorised) == ("manual", D("44.92"))
    # the first parcel's 38.26 less the 10.00 the gift card already paid, then the rest
    assert [amount for _f, amount in _captures(order)] == [D("28.26"), D("16.66")]
    assert card.amount_captured == D("44.92")
    assert order.amount_captured == order.total == D("54.92")
    assert order.payment_status == Order.PaymentStatus.CAPTURED


def test_cancelled_remainder_is_never_captured_and_the_rest_is_released(shop: Shop) -> None:
    order = _two_parcels(shop)
    _ship(_parcel(order, shop.warehouse))
    services.fulfillment_cancel(fulfillment_id=_parcel(order, shop.amsterdam).pk, reason="damaged")
    order.refresh_from_db()
    (payment,) = order.payments.all()
    assert order.amount_captured == payment.amount_captured == D("38.26")
    assert (order.payment_status, payment.status) == ("captured", "captured")
    void = PaymentEvent.objects.get(payment=payment, kind=PaymentEvent.Kind.VOID)
    assert void.amount == D("16.66")
    # delivering it later captures nothing more
    services.fulfillment_deliver(fulfillment_id=_parcel(order, shop.warehouse).pk)
    order.refresh_from_db()
    assert order.amount_captured == D("38.26") and len(_captures(order)) == 1


def test_cancelling_the_whole_order_captures_nothing(shop: Shop) -> None:
    order = _two_parcels(shop)
    services.order_cancel(order_id=order.pk, reason="changed my mind")
    order.refresh_from_db()
    assert order.amount_captured == 0
    assert not PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CAPTURE).exists()
    assert all(p.status == Payment.Status.VOIDED for p in order.payments.all())


def test_a_pickup_is_captured_when_handed_over(shop: Shop) -> None:
    shop.receive(shop.amsterdam, shop.m, 1)
    order = services.order_place(
        channel_code="webshop",
        lines=[services.LineInput(shop.m.sku, 1)],
        method="pickup",
        pickup_location_code=shop.amsterdam.code,
        customer=services.CustomerInput(email="bo@example.com"),
    ).order
    fulfillment = order.fulfillments.get()
    services.fulfillment_pick(fulfillment_id=fulfillment.pk)
    _f, code = services.fulfillment_ready_for_pickup(fulfillment_id=fulfillment.pk)
    order.refresh_from_db()
    assert order.amount_captured == 0
    services.fulfillment_hand_over(fulfillment_id=fulfillment.pk, code=code)
    order.refresh_from_db()
    assert order.amount_captured == order.total == D("19.99")
    assert _captures(order) == [(fulfillment.pk, D("19.99"))]


def test_a_pending_order_captures_nothing(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 1)
    order = services.order_place(
        channel_code="webshop",
        lines=[services.LineInput(shop.s.sku, 1)],
        method="ship",
        address={"name": "Ann", "country": "NL", "city": "Utrecht"},
        customer=services.CustomerInput(email="ann@example.com"),
        payment_status="pending",
    ).order
    _ship(order.fulfillments.get())
    order.refresh_from_db()
    assert (order.amount_captured, order.payment_status) == (0, "pending")
    assert not order.payments.exists()


class _Refusing:
    code = "refuser"

    def authorise(self, *, payment: Payment, amount: Decimal) -> ProviderResult:
        return ProviderResult(ok=True)

    def capture(self, *, payment: Payment, amount: Decimal) -> ProviderResult:
        return ProviderResult(ok=False, message="card expired")

    def refund(self, *, payment: Payment, amount: Decimal) -> ProviderResult:
        return ProviderResult(ok=False, message="no")


def test_a_provider_refusing_the_capture_ships_nothing(shop: Shop) -> None:
    order = _two_parcels(shop)
    Payment.objects.create(
        order=order,
        tender=Payment.Tender.CARD,
        provider="refuser",
        status=Payment.Status.AUTHORIZED,
        amount_authorised=order.total,
        amount_captured=D("0"),
    )
    provider_register(_Refusing())
    try:
        first = _parcel(order, shop.warehouse)
        with pytest.raises(PaymentProviderFailed):
            _ship(first)
    finally:
        provider_unregister("refuser")
    first.refresh_from_db()
    order.refresh_from_db()
    assert first.status != FS.SHIPPED and order.amount_captured == 0
    assert not PaymentEvent.objects.exists()


# --- refunds ---------------------------------------------------------------------------------


@pytest.fixture
def client(shop: Shop, api_client_for: Callable[..., APIClient]) -> APIClient:
    return api_client_for(channels=[shop.channel])


def test_refund_above_captured_is_refused_and_changes_nothing(
    shop: Shop, client: APIClient
) -> None:
    order = _two_parcels(shop)
    _ship(_parcel(order, shop.warehouse))  # 38.26 captured of 54.92
    before = list(Payment.objects.values_list("amount_captured", "amount_refunded"))
    response = client.post(
        f"/api/v1/orders/{order.number}/refunds/",
        {
            "lines": [{"sku": shop.s.sku, "quantity": 2}, {"sku": shop.l.sku, "quantity": 1}],
            "shipping_amount": "4.95",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="too-much",
    )
    assert response.status_code == 409, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert (body["code"], body["captured"], body["refunded"]) == (
        "refund_exceeds_captured",
        "38.26",
        "0.00",
    )
    order.refresh_from_db()
    assert (order.amount_refunded, order.payment_status) == (0, "partially_captured")
    assert Refund.objects.count() == 0
    assert list(Payment.objects.values_list("amount_captured", "amount_refunded")) == before
    assert not PaymentEvent.objects.filter(kind=PaymentEvent.Kind.REFUND).exists()
    assert order.lines.filter(quantity_refunded__gt=0).count() == 0


def test_refund_within_captured_goes_through_the_payment_record(shop: Shop) -> None:
    order = _two_parcels(shop)
    _ship(_parcel(order, shop.warehouse))
    refund, created = services.refund_create(
        order_id=order.pk,
        key="r1",
        lines=[services.RefundLineInput(shop.s.sku, 2)],
        shipping_amount=D("4.95"),
    )
    assert created and refund.amount == D("38.26")
    (payment,) = Payment.objects.filter(order=order)
    assert (payment.amount_captured, payment.amount_refunded) == (D("38.26"), D("38.26"))
    assert refund.payment == payment
    assert PaymentEvent.objects.get(kind=PaymentEvent.Kind.REFUND).amount == D("38.26")
    order.refresh_from_db()
    # all that was captured came back, but the L parcel may still ship and be captured
    assert (order.amount_refunded, order.payment_status) == (D("38.26"), "partially_refunded")
    with pytest.raises(RefundExceedsCaptured):
        services.refund_create(
            order_id=order.pk, key="r2", lines=[services.RefundLineInput(shop.l.sku, 1)]
        )
    _ship(_parcel(order, shop.amsterdam), "T2")
    order.refresh_from_db()
    assert order.amount_captured == order.total


def test_the_database_refuses_refunds_above_captured_on_a_payment(shop: Shop) -> None:
    order = _two_parcels(shop)
    payment = Payment.objects.create(
        order=order, tender="card", amount_authorised=D("5.00"), amount_captured=D("5.00")
    )
    payment.amount_refunded = D("5.01")
    with pytest.raises(IntegrityError), transaction.atomic():
        payment.save()
    payment.amount_refunded = D("0")
    payment.amount_captured = D("6.00")  # above the 5.00 authorised
    with pytest.raises(IntegrityError), transaction.atomic():
        payment.save()


# --- the till ----------------------------------------------------------------------------------


def test_till_payments_are_authorised_and_captured_at_once(shop: Shop) -> None:
    pos_channel_add(shop)
    shop.receive(shop.amsterdam, shop.s, 2)
    order = services.sale_record(
        channel_code="pos",
        location_code=shop.amsterdam.code,
        lines=[services.LineInput(shop.s.sku, 1)],
        payments=[services.PaymentInput("card", D("19.99"), "TERM-1")],
        sale_key="till-1",
    ).order
    (payment,) = order.payments.all()
    assert (payment.provider, payment.status, payment.tender) == ("manual", "captured", "card")
    assert payment.amount_captured == D("19.99")
    assert payment.amount_authorised in (None, payment.amount_captured)  # taken at once
    assert payment.amount_refunded == 0
    assert not PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CAPTURE).exists()


def test_order_detail_shows_the_payments(shop: Shop, client: APIClient) -> None:
    order = _two_parcels(shop)
    _ship(_parcel(order, shop.warehouse))
    response = client.get(f"/api/v1/orders/{order.number}/")
    assert response.status_code == 200
    (payment,) = response.json()["payments"]
    assert {k: payment[k] for k in ("provider", "status", "amount_authorised")} == {
        "provider": "manual",
        "status": "partially_captured",
        "amount_authorised": "54.92",
    }
    assert (payment["amount_captured"], payment["amount_refunded"]) == ("38.26", "0.00")


def test_the_admin_order_page_shows_the_payment_amounts(shop: Shop, admin_client: Any) -> None:
    order = _two_parcels(shop)
    _ship(_parcel(order, shop.warehouse))
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("Amount authorised", "Amount captured", "Amount refunded", "54.92", "38.26"):
        assert text in html, text
    assert "Partially captured" in html
