"""Refunds: money given back for units (at their snapshot price less their share of the order
discount) and shipping, never more than was captured, once per idempotency key. Loyalty points
earned on the refunded goods are taken back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce

from core.actors import SYSTEM, Actor
from core.audit import SensitiveAction, audit_record
from core.events import EventType
from customers import services as customer_services
from customers.exceptions import UnknownLoyaltyReference
from orders.exceptions import RefundExceedsPaid, RefundInvalid
from orders.models import (
    Notification,
    Order,
    OrderLine,
    Payment,
    Refund,
    RefundLine,
    TimelineEvent,
)
from orders.services.notifications import notification_queue
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
    ``tender`` when given) with at least ``amount`` not yet refunded. Captured money that no
    payment row covers (an online order captured before payments were recorded) is recorded
    first as the provider's card payment. Raises :class:`RefundInvalid` (``tender`` not paid
    with) or :class:`RefundExceedsPaid` (no single payment covers the amount: refund each
    tender separately). The caller holds the order lock."""
    payment_capture_record(order=order)
    payments = list(
        Payment.objects.filter(order=order)
        .annotate(refunded=Coalesce(Sum("refunds__amount"), Decimal("0")))
        .order_by("created_at", "id")
    )
    if tender:
        payments = [p for p in payments if p.tender == tender]
        if not payments:
            raise RefundInvalid(
                f"Order {order.number} was not paid by {tender}.",
                errors=[{"field": "tender", "code": "not_paid_with", "message": tender}],
            )
    for payment in payments:
        if payment.amount - payment.refunded >= amount:  # type: ignore[attr-defined]
            return payment
    left = {f"{p.tender}#{p.pk}": str(p.amount - p.refunded) for p in payments}  # type: ignore[attr-defined]
    raise RefundExceedsPaid(
        f"No single payment of {order.number} has {amount} left to refund ({left}); "
        "refund each tender separately.",
        extra={"payments": left},
    )


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
    by_sku = {line.sku: line for line in order.lines.all()}
    errors: list[dict[str, str]] = []
    amount = Decimal("0")
    refund_lines: list[tuple[OrderLine, int, Decimal]] = []
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
        share = Decimal("1")
        if order.subtotal:
            share = (order.subtotal - order.discount_total) / order.subtotal
        line_amount = (order_line.unit_price * item.quantity * share).quantize(CENT)
        refund_lines.append((order_line, item.quantity, line_amount))
        amount += line_amount
    if shipping_amount < 0:
        errors.append({"field": "shipping_amount", "code": "min_value", "message": ">= 0"})
    refunded_shipping = sum((r.shipping_amount for r in order.refunds.all()), Decimal("0"))
    if shipping_amount + refunded_shipping > order.shipping_total:
        errors.append(
            {
                "field": "shipping_amount",
                "code": "exceeds_refundable",
                "message": f"{order.shipping_total - refunded_shipping} shipping left",
            }
        )
    if errors:
        raise RefundInvalid(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors
        )
    amount += shipping_amount
    if amount <= 0:
        raise RefundInvalid("A refund needs lines or a shipping amount.")
    if order.amount_refunded + amount > order.amount_captured:
        raise RefundExceedsPaid(
            f"{amount} would exceed what was paid ({order.amount_captured}, "
            f"{order.amount_refunded} already refunded).",
            extra={
                "captured": str(order.amount_captured),
                "refunded": str(order.amount_refunded),
            },
        )
    payment = refund_payment_choose(order=order, amount=amount, tender=tender)
    refund = Refund.objects.create(
        order=order,
        return_request_id=return_id,
        payment=payment,
        key=key,
        amount=amount,
        shipping_amount=shipping_amount,
        reason=reason,
    )
    RefundLine.objects.bulk_create(
        RefundLine(refund=refund, order_line=ol, quantity=q, amount=a) for ol, q, a in refund_lines
    )
    for ol, q, _a in refund_lines:
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
    order.payment_status = (
        Order.PaymentStatus.REFUNDED
        if order.amount_refunded == order.amount_captured
        else Order.PaymentStatus.PARTIALLY_REFUNDED
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
