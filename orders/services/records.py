"""What every change of an order goes through: the order lock, document numbers, the timeline,
the outbox event carrying the order's absolute state, and the order status derived from its
fulfilments (with the loyalty consequences of completing or cancelling an order).

These run in the caller's transaction; the services of this package own the transactions.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils import timezone

from core.actors import SYSTEM, Actor
from core.events import EventType
from core.outbox.services import event_record
from customers import services as customer_services
from orders.models import Fulfillment, Order, Payment, TimelineEvent

FS = Fulfillment.Status
CENT = Decimal("0.01")  # money is rounded to cents


def order_lock(*, order_id: int) -> Order:
    """Lock one order row: the lock every change of that order takes first, so changes to one
    order queue behind each other (with its channel loaded)."""
    return Order.objects.select_for_update(of=("self",)).select_related("channel").get(pk=order_id)


# Crockford's base32: no I, L, O or U to misread at a counter
NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def number_new(*, prefix: str) -> str:
    """A new order (``O``) or return (``R``) number: prefix, date and 10 random base32
    characters (50 bits: two numbers of one day collide with a chance of about 1 in 20 million
    at 10,000 a day; 6 hex digits, the old form, collided after a few thousand)."""
    suffix = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(10))
    return f"{prefix}{timezone.now():%y%m%d}-{suffix}"


def timeline_add(
    *,
    order: Order,
    kind: TimelineEvent.Kind,
    message: str,
    fulfillment: Fulfillment | None = None,
    data: dict[str, Any] | None = None,
    actor: Actor = SYSTEM,
) -> TimelineEvent:
    """Append to the order timeline (in the caller's transaction)."""
    return TimelineEvent.objects.create(
        order=order,
        kind=kind,
        message=message,
        fulfillment=fulfillment,
        data=data or {},
        **actor.fields(),
    )


def payment_capture_record(
    *,
    order: Order,
    tender: str = Payment.Tender.CARD,
    provider_reference: str = "",
    actor: Actor = SYSTEM,
) -> Payment | None:
    """Record the payment behind captured money that no payment row covers yet (an online
    order captured before payments were recorded, or captured in full at placement), so
    refunds can point at it. Records only the gap between ``amount_captured`` and the payments
    already recorded, so a till that records its own tenders is never counted twice. In the
    caller's transaction, which holds the order lock; returns ``None`` when nothing is left."""
    recorded = sum((p.amount_captured for p in Payment.objects.filter(order=order)), Decimal("0"))
    gap = order.amount_captured - recorded
    if gap <= 0:
        return None
    payment = Payment.objects.create(
        order=order,
        tender=tender,
        status=Payment.Status.CAPTURED,
        amount_authorised=gap,
        amount_captured=gap,
        provider_reference=provider_reference or order.external_id[:100],
    )
    timeline_add(
        order=order,
        kind=TimelineEvent.Kind.PAYMENT_RECORDED,
        message=f"Payment recorded: {gap} {order.currency} by "
        f"{payment.get_tender_display().lower()}.",
        data={"payment_id": payment.pk, "tender": payment.tender, "amount": str(gap)},
        actor=actor,
    )
    return payment


def _order_payload(
    order: Order, fulfillments: Sequence[Fulfillment] | None = None
) -> dict[str, Any]:
    if fulfillments is None:
        fulfillments = list(order.fulfillments.select_related("location").order_by("id"))
    else:
        fulfillments = sorted(fulfillments, key=lambda f: f.pk)
    return {
        "number": order.number,
        "external_id": order.external_id,
        "status": order.status,
        "payment_status": order.payment_status,
        "total": str(order.total),
        "amount_refunded": str(order.amount_refunded),
        "currency": order.currency,
        "fulfillments": [
            {
                "id": f.pk,
                "location": f.location.code,
                "method": f.method,
                "status": f.status,
                "tracking_number": f.tracking_number,
            }
            for f in fulfillments
        ],
    }


def order_event_record(
    *,
    order: Order,
    topic: str,
    extra: dict[str, Any] | None = None,
    fulfillments: Sequence[Fulfillment] | None = None,
) -> None:
    """Record an outbox event for ``order`` (its absolute state, plus ``extra``) in the caller's
    transaction; channels and webhooks get it after commit. ``fulfillments`` (every fulfilment
    of the order, with its location) saves reading them when the caller just wrote them."""
    payload = _order_payload(order, fulfillments)
    if extra:
        payload.update(extra)
    event_record(
        topic=topic,
        aggregate="order",
        aggregate_id=order.number,
        payload=payload,
        channel_code=order.channel.code,
    )


def _order_status_derive(order: Order) -> str:
    statuses = list(order.fulfillments.values_list("status", flat=True))
    live = [s for s in statuses if s != FS.CANCELLED]
    if not live:
        return Order.Status.CANCELLED
    done = {FS.PICKED_UP, FS.DELIVERED, FS.CARRIED_OUT}
    out = {FS.SHIPPED, FS.DELIVERED, FS.PICKED_UP, FS.CARRIED_OUT}
    if all(s in done for s in live):
        return Order.Status.COMPLETED
    if all(s in out for s in live):
        return Order.Status.SHIPPED
    if any(s == FS.READY_FOR_PICKUP for s in live):
        return Order.Status.READY_FOR_PICKUP
    if any(s in out for s in live):
        return Order.Status.PARTIALLY_SHIPPED
    if any(s in (FS.PICKING, FS.PACKED) for s in live):
        return Order.Status.PROCESSING
    return Order.Status.PLACED


def order_status_refresh(*, order: Order, actor: Actor = SYSTEM) -> bool:
    """Derive the order status from its fulfilments and record a change (timeline, outbox
    event; loyalty points given back on cancellation, earned on completion). The caller holds
    the order lock. Returns whether the status changed."""
    status = _order_status_derive(order)
    if status == order.status:
        return False
    previous, order.status = order.status, status
    order.save(update_fields=["status", "updated_at"])
    timeline_add(
        order=order,
        kind=TimelineEvent.Kind.STATUS_CHANGED,
        message=f"Order status {previous} -> {status}.",
        data={"from": previous, "to": status},
        actor=actor,
    )
    if status == Order.Status.CANCELLED:
        order_event_record(order=order, topic=EventType.ORDER_CANCELLED)
        if (
            order.loyalty_points_redeemed
            and not order.fulfillments.exclude(status=FS.CANCELLED).exists()
        ):
            points = customer_services.loyalty_redemption_reverse(reference=f"order:{order.number}")
            if points:
                timeline_add(
                    order=order,
                    kind=TimelineEvent.Kind.LOYALTY_RESTORED,
                    message=f"{points} loyalty points given back.",
                    actor=actor,
                )
    else:
        order_event_record(order=order, topic=EventType.ORDER_UPDATED)
    if status == Order.Status.COMPLETED and order.customer_id is not None:
        earned_on = order.total - order.shipping_total - order.amount_refunded
        points = customer_services.loyalty_earn(
            customer_id=order.customer_id,
            amount=max(earned_on, Decimal("0")),
            currency=order.currency,
            channel_code=order.channel.code,
            reference=order.number,
        )
        timeline_add(
            order=order,
            kind=TimelineEvent.Kind.LOYALTY_EARNED,
            message=f"{points} loyalty points earned.",
            actor=actor,
        )
    return True
