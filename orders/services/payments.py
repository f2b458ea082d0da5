"""Money on the payment record: capture per shipped fulfilment, releasing what will never ship,
refunds through the record, and provider callbacks.

**Capture rule.** Money is captured when goods leave: a parcel ships or a pickup is handed over.
What the order may have captured once some fulfilments left is

    shipping charge + sum over lines of round(paid x units left / quantity)

where ``paid`` is what the customer pays for the line (``line_total - discount_amount``, with its
``tax_amount`` on top where prices exclude tax) and the shipping charge is the rest of the total
(``shipping_total``, already after a shipping discount, with its tax), captured with the first
parcel. An order placed before discounts were stored per line spreads its ``discount_total`` over
the goods in proportion to value instead. Each capture takes that figure less what the order
captured already, so roundings never add up: when the last fulfilment leaves, every line counts
its whole cost and the captures sum to the total exactly. Cancelled units never leave, so they
are never captured; once nothing is left to ship, the rest of the authorisation is released (a
``void`` on the ledger) and gift card spend the goods that left do not need goes back to the
card(s).

Everything here runs in the caller's transaction, which holds the order lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction

from core.actors import SYSTEM, Actor
from core.tax import LineTax, money_round
from orders.exceptions import PaymentEventInvalid, PaymentProviderFailed, RefundExceedsCaptured
from orders.models import (
    Fulfillment,
    FulfillmentLine,
    GiftCard,
    GiftCardEntry,
    Order,
    OrderLine,
    OrderTaxLine,
    Payment,
    PaymentEvent,
    Refund,
    TimelineEvent,
)
from orders.payments import MANUAL, provider_get
from orders.services.giftcards import giftcard_disable, giftcard_refund
from orders.services.records import CENT, order_lock, timeline_add

FS = Fulfillment.Status
PS = Payment.Status
# goods that left: a parcel shipped (or delivered) or a pickup handed over; a till's carry-out is
# paid at the till and never goes through capture
LEFT = frozenset({FS.SHIPPED, FS.DELIVERED, FS.PICKED_UP})
OPEN = frozenset({PS.AUTHORIZED, PS.PARTIALLY_CAPTURED})
ZERO = Decimal("0")


def order_discounts_per_line(*, order: Order, lines: Sequence[OrderLine]) -> bool:
    """Whether ``order`` stores its discount per line (``OrderLine.discount_amount`` adds up to
    ``discount_total``: every order priced by ``orders.pricing``). An order placed before kept
    only the order-level ``discount_total`` (its lines say 0), spread in proportion to value."""
    return sum((line.discount_amount for line in lines), ZERO) == order.discount_total


def order_line_charged(*, order: Order, line: OrderLine) -> LineTax:
    """What the customer paid for ``line`` (``gross``: its total less its own discount, with
    the tax on top where the order's prices exclude it) and the tax charged on it."""
    cost = line.line_total - line.discount_amount
    if order.prices_include_tax:
        gross, net = cost, cost - line.tax_amount
    else:
        gross, net = cost + line.tax_amount, cost
    return LineTax(key=line.sku, net=net, tax=line.tax_amount, gross=gross, rate=line.tax_rate)


def order_shipping_charged(*, order: Order) -> list[LineTax]:
    """The shipping the order charged, one part per rate (its shipping tax lines), highest
    rate first; empty for an order without (no shipping, or placed before tax was stored)."""
    return [
        LineTax(key=f"shipping@{t.rate}", net=t.net, tax=t.tax, gross=t.gross, rate=t.rate)
        for t in OrderTaxLine.objects.filter(order=order, kind=OrderTaxLine.Kind.SHIPPING).order_by(
            "-rate"
        )
    ]


def order_shipping_paid(*, order: Order) -> Decimal:
    """What the customer paid for shipping (after a shipping discount, tax included): the sum
    of the shipping tax lines, or ``shipping_total`` for an order placed before tax was
    stored."""
    charged = order_shipping_charged(order=order)
    if charged:
        return sum((part.gross for part in charged), ZERO)
    return order.shipping_total


def _lines_left(order: Order, lines: Sequence[OrderLine]) -> dict[int, int]:
    """Units per order line in fulfilments that left; once anything left, a line in no
    fulfilment (a gift card sold, issued at placement) counts as left, less cancelled units."""
    left: dict[int, int] = {}
    fulfilled: set[int] = set()
    for order_line_id, quantity, status in FulfillmentLine.objects.filter(
        fulfillment__order=order
    ).values_list("order_line_id", "quantity", "fulfillment__status"):
        fulfilled.add(order_line_id)
        if status in LEFT:
            left[order_line_id] = left.get(order_line_id, 0) + quantity
    if left:
        for line in lines:
            if line.pk not in fulfilled and line.quantity > line.quantity_cancelled:
                left[line.pk] = line.quantity - line.quantity_cancelled
    return left


def payment_capture_due(*, order: Order) -> Decimal:
    """What the order may have captured by now: its shipping charge (once anything left) plus
    what the goods of every fulfilment that left cost (see the module doc)."""
    lines = list(order.lines.all())
    left = _lines_left(order, lines)
    if not left:
        return ZERO
    if order_discounts_per_line(order=order, lines=lines):
        charged = {line.pk: order_line_charged(order=order, line=line) for line in lines}
        shipping = order.total - sum((c.gross for c in charged.values()), ZERO)
        if shipping >= 0:
            goods = ZERO
            for line in lines:
                units = min(left.get(line.pk, 0), line.quantity)
                if units:
                    goods += money_round(charged[line.pk].gross * units / line.quantity)
            return shipping + goods
    # an order placed before discounts were stored per line: the discount spread by value
    gross = sum((line.unit_price * left.get(line.pk, 0) for line in lines), ZERO)
    shipping = order.shipping_total
    goods_charge = order.total - shipping
    if order.subtotal <= 0 or gross >= order.subtotal:
        return order.total
    return shipping + (goods_charge * gross / order.subtotal).quantize(CENT)


def _authorised(payment: Payment) -> Decimal:
    """What ``payment`` may capture: its authorisation, or what it took when money was taken at
    once (no authorisation)."""
    if payment.amount_authorised is None:
        return payment.amount_captured
    return payment.amount_authorised


def _nothing_left_to_ship(order: Order) -> bool:
    return not order.fulfillments.exclude(status__in=LEFT | {FS.CANCELLED, FS.CARRIED_OUT}).exists()


def order_payment_status_derive(*, order: Order, payment: Payment | None = None) -> str:
    """The order's payment status from its amounts: refunded (in part) once money went back,
    else captured (in part while ``payment`` is still open for capture)."""
    still_open = payment is not None and payment.status in OPEN
    if order.amount_refunded > 0:
        if order.amount_refunded == order.amount_captured and not still_open:
            return Order.PaymentStatus.REFUNDED
        return Order.PaymentStatus.PARTIALLY_REFUNDED
    if order.amount_captured <= 0:
        return order.payment_status
    return Order.PaymentStatus.PARTIALLY_CAPTURED if still_open else Order.PaymentStatus.CAPTURED


def _event(
    payment: Payment,
    kind: str,
    amount: Decimal,
    *,
    fulfillment: Fulfillment | None = None,
    reference: str = "",
    event_id: str = "",
    data: dict[str, str] | None = None,
) -> PaymentEvent:
    return PaymentEvent.objects.create(
        payment=payment,
        kind=kind,
        amount=amount,
        fulfillment=fulfillment,
        provider=payment.provider,
        provider_event_id=event_id,
        provider_reference=reference[:100],
        data=data or {},
    )


def payment_open_find(*, order: Order) -> Payment | None:
    """The order's online payment still open for capture (authorised, captured in part), if
    any, locked."""
    return (
        Payment.objects.select_for_update()
        .filter(order=order, location__isnull=True, status__in=OPEN)
        .order_by("created_at", "id")
        .first()
    )


def payment_open_get(*, order: Order) -> Payment | None:
    """The online payment still open for capture (authorised, captured in part). An order
    placed as ``authorized`` before payments were recorded gets its record now: the ``manual``
    provider's card payment for what no other payment (a gift card, say) covers."""
    payment = payment_open_find(order=order)
    if payment is not None:
        return payment
    if order.payment_status not in (
        Order.PaymentStatus.AUTHORIZED,
        Order.PaymentStatus.PARTIALLY_CAPTURED,
    ):
        return None
    if (
        Payment.objects.filter(order=order, location__isnull=True)
        .exclude(tender=Payment.Tender.GIFT_CARD)
        .exists()
    ):
        return None  # its payment was settled, voided or failed: nothing is left to capture
    covered = sum((p.amount_captured for p in Payment.objects.filter(order=order)), ZERO)
    authorised = order.total - covered
    if authorised <= 0:
        return None
    payment = Payment.objects.create(
        order=order,
        tender=Payment.Tender.CARD,
        provider=MANUAL,
        status=PS.AUTHORIZED,
        amount_authorised=authorised,
        amount_captured=ZERO,
        provider_reference=order.external_id[:100],
    )
    _event(payment, PaymentEvent.Kind.AUTHORISE, authorised, reference=payment.provider_reference)
    return payment


def _release(order: Order, payment: Payment, actor: Actor) -> None:
    """Nothing is left to ship: the uncaptured rest of the authorisation is released."""
    rest = _authorised(payment) - payment.amount_captured
    payment.status = PS.CAPTURED if payment.amount_captured > 0 else PS.VOIDED
    payment.save(update_fields=["status"])
    if rest > 0:
        _event(payment, PaymentEvent.Kind.VOID, rest, reference=payment.provider_reference)
        timeline_add(
            order=order,
            kind=TimelineEvent.Kind.PAYMENT_CAPTURED,
            message=f"Payment authorisation of {rest} {order.currency} released: "
            "nothing is left to ship.",
            data={"payment_id": payment.pk, "released": str(rest)},
            actor=actor,
        )


def payment_capture_fulfillment(
    *, order: Order, fulfillment: Fulfillment, actor: Actor = SYSTEM
) -> PaymentEvent | None:
    """Capture what ``fulfillment`` (which just left) brings the order to (see the module doc)
    from the order's open payment, through its provider; release the rest when nothing is left
    to ship. Raises :class:`PaymentProviderFailed` when the provider refuses (the caller's
    transaction rolls back: nothing shipped). Returns the capture, or ``None`` when there is
    nothing to capture (no open payment, a pending or already captured order)."""
    payment = payment_open_get(order=order)
    if payment is None:
        return None
    if PaymentEvent.objects.filter(
        payment=payment, kind=PaymentEvent.Kind.CAPTURE, fulfillment=fulfillment
    ).exists():
        return None
    due = payment_capture_due(order=order)
    amount = min(due - order.amount_captured, _authorised(payment) - payment.amount_captured)
    capture: PaymentEvent | None = None
    if amount > 0:
        result = provider_get(payment.provider).capture(payment=payment, amount=amount)
        if not result.ok:
            raise PaymentProviderFailed(
                f"{payment.provider} refused to capture {amount}: {result.message}",
                extra={"provider": payment.provider, "amount": str(amount)},
            )
        payment.amount_captured += amount
        payment.status = (
            PS.CAPTURED
            if payment.amount_captured == _authorised(payment)
            else PS.PARTIALLY_CAPTURED
        )
        payment.save(update_fields=["amount_captured", "status"])
        capture = _event(
            payment,
            PaymentEvent.Kind.CAPTURE,
            amount,
            fulfillment=fulfillment,
            reference=result.reference,
        )
        first = not (
            PaymentEvent.objects.filter(payment__order=order, kind=PaymentEvent.Kind.CAPTURE)
            .exclude(pk=capture.pk)
            .exists()
        )
        order.amount_captured += amount
        timeline_add(
            order=order,
            kind=TimelineEvent.Kind.PAYMENT_CAPTURED,
            message=f"Payment captured: {amount} {order.currency} for the fulfilment at "
            f"{fulfillment.location.code}" + (" (with shipping)." if first else "."),
            fulfillment=fulfillment,
            data={
                "payment_id": payment.pk,
                "fulfillment_id": fulfillment.pk,
                "amount": str(amount),
                "captured": str(order.amount_captured),
            },
            actor=actor,
        )
    if payment.status in OPEN and _nothing_left_to_ship(order):
        _release(order, payment, actor)
    order.payment_status = order_payment_status_derive(order=order, payment=payment)
    order.save(update_fields=["amount_captured", "payment_status", "updated_at"])
    return capture


def payment_settle(*, order: Order, actor: Actor = SYSTEM) -> None:
    """After a cancellation, once nothing is left to ship: release the rest of the open
    payment's authorisation (the cancelled units are never captured), give gift card money the
    goods that left do not need back to the card(s) (:func:`payment_giftcards_return`) and, when
    the whole order is cancelled, disable the unspent cards it sold."""
    if not _nothing_left_to_ship(order):
        return
    payment = payment_open_find(order=order)
    if payment is not None:
        _release(order, payment, actor)
    returned = payment_giftcards_return(order=order, actor=actor)
    if not order.fulfillments.exclude(status=FS.CANCELLED).exists():
        giftcards_sold_disable(order=order, actor=actor)
    if payment is not None or returned:
        order.payment_status = order_payment_status_derive(order=order, payment=payment)
        order.save(update_fields=["payment_status", "updated_at"])


def payment_giftcards_return(*, order: Order, actor: Actor = SYSTEM) -> Decimal:
    """Once nothing is left to ship: gift card money spent on ``order`` beyond what the goods
    that left (and the shipping) cost goes back to the card(s), first spent first, each as a
    ``Refund`` of its ``gift_card`` payment (``orders.services.giftcards.giftcard_refund``
    credits the card). Refunds made before count as refunds of goods that left. In the caller's
    transaction (the order lock held); returns the amount given back."""
    excess = min(
        order.amount_captured - payment_capture_due(order=order),
        order.amount_captured - order.amount_refunded,
    )
    returned = ZERO
    if excess <= 0:
        return returned
    cards = Payment.objects.select_for_update().filter(order=order, tender=Payment.Tender.GIFT_CARD)
    for card_payment in cards.order_by("created_at", "id"):
        back = min(excess - returned, card_payment.amount_refundable)
        if back <= 0:
            continue
        payment_refund(payment=card_payment, amount=back)
        giftcard_refund(order=order, amount=back, payment=card_payment, actor=actor)
        Refund.objects.create(
            order=order,
            payment=card_payment,
            key=f"cancelled:{card_payment.pk}:{card_payment.amount_refunded}",
            amount=back,
            reason="Cancelled: gift card money not needed",
        )
        returned += back
    order.amount_refunded += returned
    order.save(update_fields=["amount_refunded", "updated_at"])
    return returned


def giftcards_sold_disable(*, order: Order, actor: Actor = SYSTEM) -> list[GiftCard]:
    """Disable the gift cards sold on a cancelled ``order`` that were never spent (a card
    spent in part stays usable: its holder has it). Returns the cards disabled."""
    disabled = []
    sold = GiftCard.objects.filter(sold_on__order=order, status=GiftCard.Status.ACTIVE)
    for card in sold.order_by("pk"):
        if GiftCardEntry.objects.filter(card=card).exclude(kind=GiftCardEntry.Kind.ISSUE).exists():
            continue
        disabled.append(giftcard_disable(card_id=card.pk, actor=actor))
        timeline_add(
            order=order,
            kind=TimelineEvent.Kind.LINE_CANCELLED,
            message=f"Gift card …{card.last4} sold on this order disabled: the order was "
            "cancelled.",
            data={"gift_card": card.last4, "disabled": True},
            actor=actor,
        )
    return disabled


def payment_refund(*, payment: Payment, amount: Decimal) -> PaymentEvent:
    """Give ``amount`` back through ``payment``'s provider and record it on the payment (the
    caller checked it is within what the payment captured and not yet refunded, and holds the
    order lock). Raises :class:`PaymentProviderFailed` when the provider refuses."""
    result = provider_get(payment.provider).refund(payment=payment, amount=amount)
    if not result.ok:
        raise PaymentProviderFailed(
            f"{payment.provider} refused to refund {amount}: {result.message}",
            extra={"provider": payment.provider, "amount": str(amount)},
        )
    payment.amount_refunded += amount
    payment.save(update_fields=["amount_refunded"])
    return _event(payment, PaymentEvent.Kind.REFUND, amount, reference=result.reference)


# Provider callbacks -------------------------------------------------------------------------

WEBHOOK_TYPES = ("authorised", "captured", "refunded", "failed")


def payment_webhook_apply(
    *,
    provider: str,
    event_id: str,
    event_type: str,
    order_number: str,
    reference: str,
    amount: Decimal,
    actor: Actor = SYSTEM,
) -> tuple[PaymentEvent, bool]:
    """Apply one provider callback (whose signature the caller verified) to the order's payment
    with this provider and ``reference``. Amounts are the provider's running totals for the
    payment (authorised, captured or refunded so far), so a callback for an operation we made
    ourselves changes nothing and callbacks may come in any order; a total below ours is
    ignored. ``event_id`` is unique per provider: a redelivered event returns the first one
    (``created=False``) and changes nothing. Raises :class:`PaymentEventInvalid` (unknown
    order or payment, an amount above what was authorised) or :class:`RefundExceedsCaptured`;
    nothing is written then. Locks the order; durable."""
    if not event_id.strip():
        raise PaymentEventInvalid(
            "A payment event needs its id.",
            errors=[{"field": "id", "code": "required", "message": "blank"}],
        )
    order_id = Order.objects.filter(number=order_number).values_list("pk", flat=True).first()
    if order_id is None:
        raise PaymentEventInvalid(
            f"No order {order_number!r}.",
            errors=[{"field": "order", "code": "not_found", "message": order_number}],
        )
    with transaction.atomic(durable=True):
        order = order_lock(order_id=order_id)
        return _webhook_apply(
            order=order,
            provider=provider,
            event_id=event_id,
            event_type=event_type,
            reference=reference,
            amount=amount,
            actor=actor,
        )


def _webhook_apply(
    *,
    order: Order,
    provider: str,
    event_id: str,
    event_type: str,
    reference: str,
    amount: Decimal,
    actor: Actor,
) -> tuple[PaymentEvent, bool]:
    if event_type not in WEBHOOK_TYPES:
        raise PaymentEventInvalid(
            f"Unknown event type {event_type!r}.",
            errors=[{"field": "type", "code": "invalid_choice", "message": event_type}],
        )
    seen = PaymentEvent.objects.filter(provider=provider, provider_event_id=event_id).first()
    if seen is not None:
        return seen, False
    payment = (
        Payment.objects.select_for_update()
        .filter(order=order, provider=provider, provider_reference=reference)
        .first()
    )
    data = {"type": event_type, "amount": str(amount)}
    if payment is None:
        if event_type not in ("authorised", "failed"):
            raise PaymentEventInvalid(
                f"Order {order.number} has no {provider} payment {reference!r}.",
                errors=[{"field": "reference", "code": "not_found", "message": reference}],
            )
        payment = Payment.objects.create(
            order=order,
            tender=Payment.Tender.CARD,
            provider=provider,
            provider_reference=reference,
            status=PS.FAILED if event_type == "failed" else PS.AUTHORIZED,
            amount_authorised=amount if event_type == "authorised" else ZERO,
            amount_captured=ZERO,
        )
        if event_type == "authorised" and order.payment_status == Order.PaymentStatus.PENDING:
            order.payment_status = Order.PaymentStatus.AUTHORIZED
            order.save(update_fields=["payment_status", "updated_at"])
        timeline_add(
            order=order,
            kind=TimelineEvent.Kind.PAYMENT_RECORDED,
            message=f"Payment {event_type} by {provider}: {amount} {order.currency}.",
            data={"payment_id": payment.pk, "provider": provider, **data},
            actor=actor,
        )
        return _event(
            payment,
            PaymentEvent.Kind.WEBHOOK,
            amount,
            reference=reference,
            event_id=event_id,
            data=data,
        ), True
    if event_type == "authorised":
        if amount > _authorised(payment):
            payment.amount_authorised = amount
            payment.save(update_fields=["amount_authorised"])
    elif event_type == "failed":
        if payment.amount_captured > 0:
            raise PaymentEventInvalid(
                f"Payment {reference!r} already captured {payment.amount_captured}.",
                errors=[{"field": "type", "code": "already_captured", "message": event_type}],
            )
        payment.status = PS.FAILED
        payment.save(update_fields=["status"])
        timeline_add(
            order=order,
            kind=TimelineEvent.Kind.PAYMENT_RECORDED,
            message=f"Payment failed at {provider}.",
            data={"payment_id": payment.pk, "provider": provider, **data},
            actor=actor,
        )
    elif event_type == "captured":
        _webhook_captured(order, payment, amount, actor)
    else:
        _webhook_refunded(order, payment, amount, event_id, actor)
    return _event(
        payment,
        PaymentEvent.Kind.WEBHOOK,
        amount,
        reference=reference,
        event_id=event_id,
        data=data,
    ), True


def _webhook_captured(order: Order, payment: Payment, total: Decimal, actor: Actor) -> None:
    authorised = _authorised(payment)
    if total > authorised:
        raise PaymentEventInvalid(
            f"Captured {total} is more than the {authorised} authorised.",
            errors=[{"field": "amount", "code": "exceeds_authorised", "message": str(total)}],
        )
    delta = total - payment.amount_captured
    if delta <= 0:
        return
    payment.amount_captured = total
    payment.status = PS.CAPTURED if total == authorised else PS.PARTIALLY_CAPTURED
    payment.save(update_fields=["amount_captured", "status"])
    order.amount_captured += delta
    order.payment_status = order_payment_status_derive(order=order, payment=payment)
    order.save(update_fields=["amount_captured", "payment_status", "updated_at"])
    timeline_add(
        order=order,
        kind=TimelineEvent.Kind.PAYMENT_CAPTURED,
        message=f"Payment captured by {payment.provider}: {delta} {order.currency}.",
        data={"payment_id": payment.pk, "amount": str(delta)},
        actor=actor,
    )


def _webhook_refunded(
    order: Order, payment: Payment, total: Decimal, event_id: str, actor: Actor
) -> None:
    if total > payment.amount_captured:
        raise RefundExceedsCaptured(
            f"Refunded {total} is more than the {payment.amount_captured} captured.",
            extra={"captured": str(payment.amount_captured), "refunded": str(total)},
        )
    delta = total - payment.amount_refunded
    if delta <= 0:
        return
    payment.amount_refunded = total
    payment.save(update_fields=["amount_refunded"])
    refund = Refund.objects.create(
        order=order,
        payment=payment,
        key=f"{payment.provider}:{event_id}"[:100],
        amount=delta,
        reason=f"Refunded at {payment.provider}",
    )
    order.amount_refunded += delta
    order.payment_status = order_payment_status_derive(order=order, payment=payment)
    order.save(update_fields=["amount_refunded", "payment_status", "updated_at"])
    timeline_add(
        order=order,
        kind=TimelineEvent.Kind.REFUNDED,
        message=f"Refunded {delta} {order.currency} at {payment.provider}.",
        data={"refund_id": refund.pk, "payment_id": payment.pk, "amount": str(delta)},
        actor=actor,
    )
