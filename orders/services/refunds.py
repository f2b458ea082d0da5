"""Refunds: money given back for units (what the customer paid for them: the line's total less its
own discount, tax included) and shipping, with the tax charged on them returned pro rata (stored
on the refund and its lines), never more than was captured (409 ``refund_exceeds_captured``),
once per idempotency key; the money goes back through the payment's provider and is recorded on
it, and to the gift card when it goes to a gift card payment. Loyalty points earned on the
refunded goods are taken back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from core.actors import SYSTEM, Actor
from core.audit import SensitiveAction, audit_record
from core.events import EventType
from core.tax import LineTax, TaxableLine, shipping_split, tax_refund, tax_refund_amount
from customers import services as customer_services
from customers.exceptions import UnknownLoyaltyReference
from orders.exceptions import RefundExceedsCaptured, RefundExceedsPaid, RefundInvalid
from orders.models import (
    Notification,
    Order,
    OrderLine,
    Payment,
    Refund,
    RefundLine,
    TimelineEvent,
)
from orders.services.giftcards import giftcard_refund
from orders.services.notifications import notification_queue
from orders.services.payments import (
    order_discounts_per_line,
    order_line_charged,
    order_payment_status_derive,
    order_shipping_charged,
    order_shipping_paid,
    payment_open_find,
    payment_refund,
)
from orders.services.records import (
    CENT,
    order_event_record,
    order_lock,
    payment_capture_record,
    timeline_add,
)


@dataclass(frozen=True)
class RefundLineInput:
    sku: str
    quantity: int


def refund_create(
    *,
    order_id: int,
    key: str,
    lines: Sequence[RefundLineInput] = (),
    shipping_amount: Decimal = Decimal("0"),
    return_id: int | None = None,
    reason: str = "",
    tender: str = "",
    actor: Actor = SYSTEM,
) -> tuple[Refund, bool]:
    """Refund units at their snapshot price (minus their share of the order discount) and
    shipping, never more than was captured in total. ``key`` (e.g. the button's form token or
    an Idempotency-Key) makes a retry return the first refund (``created=False``); two presses
    at once queue on the order lock and the second sees what the first refunded. The money goes
    back to the original payment (:func:`refund_payment_choose`; ``tender`` narrows it to one
    tender). Locks the order; durable."""
    with transaction.atomic(durable=True):
        return refund_create_in(
            order_id=order_id,
            key=key,
            lines=lines,
            shipping_amount=shipping_amount,
            return_id=return_id,
            reason=reason,
            tender=tender,
            actor=actor,
        )


def refund_payment_choose(*, order: Order, amount: Decimal, tender: str = "") -> Payment:
    """The payment a refund of ``amount`` goes back to: the order's first payment (of
    ``tender`` when given) whose captured money not yet refunded covers ``amount``. Captured
    money that no payment row covers (an online order captured before payments were recorded)
    is recorded first as the provider's card payment. Raises :class:`RefundInvalid` (``tender``
    not paid with) or :class:`RefundExceedsPaid` (no single payment covers the amount: refund
    each tender separately). The caller holds the order lock."""
    payment_capture_record(order=order)
    payments = list(
        Payment.objects.select_for_update().filter(order=order).order_by("created_at", "id")
    )
    if tender:
        payments = [p for p in payments if p.tender == tender]
        if not payments:
            raise RefundInvalid(
                f"Order {order.number} was not paid by {tender}.",
                errors=[{"field": "tender", "code": "not_paid_with", "message": tender}],
            )
    for payment in payments:
        if payment.amount_refundable >= amount:
            return payment
    left = {f"{p.tender}#{p.pk}": str(p.amount_refundable) for p in payments}
    raise RefundExceedsPaid(
        f"No single payment of {order.number} has {amount} left to refund ({left}); "
        "refund each tender separately.",
        extra={"payments": left},
    )


def _shipping_tax_back(*, order: Order, before: Sequence[Decimal], amount: Decimal) -> Decimal:
    """The shipping tax a refund of ``amount`` of shipping returns, after the shipping refunds
    ``before`` (in their order). The shipping charged is the order's shipping tax lines (one per
    rate); each refund is split over them in proportion to what is left of each (whole cents,
    largest remainder: ``core.tax.shipping_split``), and each part returns its tax
    cumulatively (``core.tax.tax_refund_amount``), so refunding all the shipping, in any steps,
    returns exactly the shipping tax charged."""
    charged = order_shipping_charged(order=order)
    if not charged:
        return Decimal("0")
    done = {part.rate: Decimal("0") for part in charged}
    tax = Decimal("0")
    for step in [*before, amount]:
        left = [
            TaxableLine(key=str(part.rate), amount=part.gross - done[part.rate], rate=part.rate)
            for part in charged
        ]
        split = shipping_split(
            shipping=min(step, sum((t.amount for t in left), Decimal("0"))), lines=left
        )
        tax = Decimal("0")
        for rate, share in split:
            if share <= 0:
                continue
            part: LineTax = next(p for p in charged if p.rate == rate)
            back = tax_refund_amount(charged=part, refunded_before=done[rate], amount=share)
            done[rate] += share
            tax += back.tax
    return tax


def refund_create_in(
    *,
    order_id: int,
    key: str,
    lines: Sequence[RefundLineInput] = (),
    shipping_amount: Decimal = Decimal("0"),
    return_id: int | None = None,
    reason: str = "",
    tender: str = "",
    actor: Actor = SYSTEM,
) -> tuple[Refund, bool]:
    """:func:`refund_create` in the caller's transaction (locks the order)."""
    if not key.strip():
        raise RefundInvalid("A refund needs an idempotency key.")
    order = order_lock(order_id=order_id)
    existing = Refund.objects.filter(order=order, key=key).first()
    if existing is not None:
        return existing, False
    order_lines = list(order.lines.all())
    by_sku = {line.sku: line for line in order_lines}
    per_line = order_discounts_per_line(order=order, lines=order_lines)
    errors: list[dict[str, str]] = []
    amount = Decimal("0")
    tax_amount = Decimal("0")
    refund_lines: list[tuple[OrderLine, int, Decimal, Decimal]] = []
    for index, item in enumerate(lines):
        order_line = by_sku.get(item.sku)
        if order_line is None or item.quantity <= 0:
            errors.append({"field": f"lines.{index}", "code": "invalid", "message": item.sku})
            continue
        if order_line.quantity_refunded + item.quantity > order_line.quantity:
            errors.append(
                {
                    "field": f"lines.{index}.quantity",
                    "code": "exceeds_refundable",
                    "message": f"{order_line.quantity - order_line.quantity_refunded} "
                    f"unit(s) of {item.sku} left to refund",
                }
            )
            continue
        back = tax_refund(
            charged=order_line_charged(order=order, line=order_line),
            quantity_charged=order_line.quantity,
            quantity_refunded_before=order_line.quantity_refunded,
            quantity=item.quantity,
        )
        line_amount = back.gross
        if not per_line:  # placed before discounts were stored per line: the old spread
            share = Decimal("1")
            if order.subtotal:
                share = (order.subtotal - order.discount_total) / order.subtotal
            line_amount = (order_line.unit_price * item.quantity * share).quantize(CENT)
        refund_lines.append((order_line, item.quantity, line_amount, back.tax))
        order_line.quantity_refunded += item.quantity  # a SKU named twice sees the first
        amount += line_amount
        tax_amount += back.tax
    if shipping_amount < 0 or shipping_amount != shipping_amount.quantize(CENT):
        errors.append(
            {"field": "shipping_amount", "code": "min_value", "message": ">= 0, in cents"}
        )
    previous = list(order.refunds.order_by("created_at", "id"))
    refunded_shipping = sum((r.shipping_amount for r in previous), Decimal("0"))
    shipping_paid = order_shipping_paid(order=order)
    if not errors and shipping_amount + refunded_shipping > shipping_paid:
        errors.append(
            {
                "field": "shipping_amount",
                "code": "exceeds_refundable",
                "message": f"{shipping_paid - refunded_shipping} shipping left",
            }
        )
    if errors:
        raise RefundInvalid(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors
        )
    if shipping_amount > 0:
        tax_amount += _shipping_tax_back(
            order=order,
            before=[r.shipping_amount for r in previous if r.shipping_amount > 0],
            amount=shipping_amount,
        )
    amount += shipping_amount
    if amount <= 0:
        raise RefundInvalid("A refund needs lines or a shipping amount.")
    if order.amount_refunded + amount > order.amount_captured:
        raise RefundExceedsCaptured(
            f"{amount} would exceed what was captured ({order.amount_captured}, "
            f"{order.amount_refunded} already refunded).",
            extra={
                "captured": str(order.amount_captured),
                "refunded": str(order.amount_refunded),
            },
        )
    payment = refund_payment_choose(order=order, amount=amount, tender=tender)
    payment_refund(payment=payment, amount=amount)
    if payment.tender == Payment.Tender.GIFT_CARD:
        giftcard_refund(order=order, amount=amount, payment=payment, actor=actor)
    refund = Refund.objects.create(
        order=order,
        return_request_id=return_id,
        payment=payment,
        key=key,
        amount=amount,
        shipping_amount=shipping_amount,
        tax_amount=tax_amount,
        reason=reason,
    )
    RefundLine.objects.bulk_create(
        RefundLine(refund=refund, order_line=ol, quantity=q, amount=a, tax_amount=t)
        for ol, q, a, t in refund_lines
    )
    for ol, q, _a, _t in refund_lines:
        OrderLine.objects.filter(pk=ol.pk).update(quantity_refunded=F("quantity_refunded") + q)
    goods = amount - shipping_amount
    if goods > 0 and order.customer_id is not None:
        try:
            taken = customer_services.loyalty_earn_reverse(reference=order.number, amount=goods)
        except UnknownLoyaltyReference:
            taken = 0  # refunded before completion: nothing was earned yet
        if taken:
            timeline_add(
                order=order,
                kind=TimelineEvent.Kind.LOYALTY_REVERSED,
                message=f"{taken} loyalty points taken back for the refund.",
                actor=actor,
            )
    order.amount_refunded += amount
    order.payment_status = order_payment_status_derive(
        order=order, payment=payment_open_find(order=order)
    )
    order.save(update_fields=["amount_refunded", "payment_status", "updated_at"])
    timeline_add(
        order=order,
        kind=TimelineEvent.Kind.REFUNDED,
        message=f"Refunded {amount} {order.currency} to {payment.get_tender_display().lower()}.",
        data={
            "refund_id": refund.pk,
            "amount": str(amount),
            "payment_id": payment.pk,
            "tender": payment.tender,
        },
        actor=actor,
    )
    order_event_record(
        order=order, topic=EventType.REFUND_CREATED, extra={"refund_amount": str(amount)}
    )
    notification_queue(order=order, kind=Notification.Kind.REFUNDED, subject_key=str(refund.pk))
    audit_record(
        action=SensitiveAction.REFUND,
        actor=actor,
        target=refund,
        data={
            "order_id": order.pk,
            "amount": amount,
            "payment_id": payment.pk,
            "return_id": return_id,
        },
    )
    return refund, True
