"""Customer emails about an order: queued after commit by the other services, sent at most once
per (order, kind, subject) by :func:`notification_send` (the ``orders.tasks`` Celery task).

This module never imports ``orders.tasks``: ``OrdersConfig.ready()`` registers the function that
hands a notification to Celery with :func:`notification_sender_register`, so the tasks import the
services and not the other way round.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from orders.models import Notification, Order, TimelineEvent

# (order_id, kind, subject_key, pickup_code) -> queued
NotificationSender = Callable[[int, str, str, str], object]

_sender: list[NotificationSender] = []

SUBJECTS: dict[str, str] = {
    Notification.Kind.CONFIRMATION: "Your order {number} is confirmed",
    Notification.Kind.READY_FOR_PICKUP: "Your order {number} is ready for pickup",
    Notification.Kind.SHIPPED: "Your order {number} has shipped",
    Notification.Kind.CANCELLED: "Your order {number} was cancelled",
    Notification.Kind.REFUNDED: "A refund for your order {number}",
    Notification.Kind.CHANGED: "Your order {number} has changed",
    Notification.Kind.RECEIPT: "Your receipt {number}",
}


def receipt_text(order: Order) -> str:
    """A till sale's receipt as plain text (the emailed receipt; the store page prints the same
    figures): lines, discount, total and the payments with their tenders."""
    lines = [f"Receipt {order.number}, {order.placed_at:%Y-%m-%d %H:%M}"]
    lines += [
        f"{line.quantity} x {line.title} ({line.sku}) @ {line.unit_price} = {line.line_total}"
        for line in order.lines.all()
    ]
    if order.discount_total:
        points = order.loyalty_points_redeemed
        lines.append(
            f"Discount: -{order.discount_total}" + (f" ({points} points)" if points else "")
        )
    lines.append(f"Total: {order.total} {order.currency}")
    lines += [f"Paid by {p.get_tender_display().lower()}: {p.amount}" for p in order.payments.all()]
    return "\n".join(lines)


def notification_sender_register(sender: NotificationSender) -> None:
    """Set what hands a queued notification to the worker (``orders.apps`` registers the
    ``orders.notification_send`` task in ``ready()``). A second registration replaces the first."""
    _sender[:] = [sender]


def notification_queue(
    *, order: Order, kind: str, subject_key: str = "", pickup_code: str = ""
) -> None:
    """Queue a customer email after commit (the task sends it at most once). The pickup code
    travels only in the task message: the database keeps its hash. Nothing for an order without
    an email address."""
    if not order.customer_email:
        return
    if not _sender:
        raise RuntimeError("No notification sender registered (orders.apps.OrdersConfig.ready).")
    send, order_id = _sender[0], order.pk
    transaction.on_commit(lambda: send(order_id, kind, subject_key, pickup_code))


def notification_send(
    *, order_id: int, kind: str, subject_key: str = "", pickup_code: str = ""
) -> bool:
    """Email the customer about ``kind`` once: the sent-notification row and the email go
    together (a failed send rolls the row back so a retry sends; a row already there means it
    was sent). The body is the order timeline, as the admin and the API show it. Returns whether
    an email was sent now."""
    if kind not in Notification.Kind.values:
        raise ValueError(f"Unknown notification kind {kind!r}")
    order = Order.objects.get(pk=order_id)
    if not order.customer_email:
        return False
    try:
        with transaction.atomic():
            Notification.objects.create(
                order=order, kind=kind, subject_key=subject_key, recipient=order.customer_email
            )
            lines = [
                f"{event.created_at:%Y-%m-%d %H:%M} {event.message}"
                for event in order.timeline.order_by("created_at", "id")
                if event.kind != TimelineEvent.Kind.STATUS_CHANGED
            ]
            body = "\n".join(lines)
            if kind == Notification.Kind.RECEIPT:
                body = receipt_text(order) + "\n\n" + body
            if pickup_code:
                body += f"\n\nYour pickup code: {pickup_code}"
            send_mail(
                SUBJECTS[kind].format(number=order.number),
                body,
                None,
                [order.customer_email],
            )
    except IntegrityError:
        return False
    return True
