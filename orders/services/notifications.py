"""Customer emails about an order, through an outbox.

The other services call :func:`notification_queue` inside their transaction: it writes a
*pending* ``Notification`` row (once per order, kind and subject) that commits or rolls back with
the change it tells about, and kicks the worker after commit. The worker
(:func:`notifications_send_pending`, the ``orders.notifications_send`` task) sends each pending
row once and marks it sent; the same task runs every ``ORDERS_NOTIFICATIONS_SWEEP_SECONDS`` from
beat, so a notification whose kick was lost (the broker was down when the order committed) goes
out as soon as the worker runs again. A send that fails stays pending and is tried again by the
next sweep, up to ``MAX_ATTEMPTS`` times, then is marked failed with its error.

This module never imports ``orders.tasks``: ``OrdersConfig.ready()`` registers the kick with
:func:`notification_sender_register`, so the tasks import the services and not the other way
round.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from orders.models import (
    Fulfillment,
    FulfillmentMethod,
    Notification,
    Order,
    OrderTaxLine,
    Refund,
    TimelineEvent,
)
from orders.shipping import location_timezone

log = structlog.get_logger(__name__)

# hands the pending notifications to the worker after a commit
NotificationSender = Callable[[], object]
MAX_ATTEMPTS = 8

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


def _tax_line_text(tax: OrderTaxLine, *, included: bool) -> str:
    where = " on shipping" if tax.kind == OrderTaxLine.Kind.SHIPPING else ""
    return (
        f"VAT {tax.rate.normalize():f}%{where}{' included' if included else ''}: "
        f"{tax.tax} (net {tax.net})"
    )


def order_figures_text(order: Order) -> str:
    """The order's money as stored at placement or at the till (the pricing function's
    figures, never computed again): each line with its discount and VAT rate, the subtotal,
    the promotions applied, the discounts, shipping, the tax per rate (``OrderTaxLine``) and
    the total with its currency."""
    rows = []
    for line in order.lines.all():
        row = f"{line.quantity} x {line.title} ({line.sku}) @ {line.unit_price} = {line.line_total}"
        if line.discount_amount:
            row += f", discount -{line.discount_amount}"
        rows.append(row + f", VAT {line.tax_rate.normalize():f}%")
    rows.append(f"Subtotal: {order.subtotal}")
    rows += [
        f"{applied.get('name', '')}"
        + (f" ({applied['coupon']})" if applied.get("coupon") else "")
        + f": -{applied.get('amount', '0.00')}"
        for applied in order.promotions or []
        if applied.get("amount") not in (None, "0", "0.00")
    ]
    if order.discount_total:
        points = order.loyalty_points_redeemed
        rows.append(
            f"Discounts: -{order.discount_total}" + (f" ({points} points)" if points else "")
        )
    shipping = f"Shipping: {order.shipping_total}"
    if order.shipping_discount:
        shipping += f" (free-shipping promotion -{order.shipping_discount})"
    rows.append(shipping)
    rows.append(f"Total: {order.total} {order.currency}")
    rows += [
        _tax_line_text(tax, included=order.prices_include_tax) for tax in order.tax_lines.all()
    ]
    return "\n".join(rows)


def delivery_promise_text(order: Order) -> str:
    """The delivery promise of a ship order: the latest of its parcels' ``promised_at`` (set
    at placement from ``orders.shipping.delivery_promise``, the promise the availability API
    quotes), as a date in the shipping location's time zone; empty when none is promised."""
    promised = [
        fulfillment.promised_at.astimezone(location_timezone(fulfillment.location)).date()
        for fulfillment in order.fulfillments.select_related("location")
        if fulfillment.method == FulfillmentMethod.SHIP
        and fulfillment.status != Fulfillment.Status.CANCELLED
        and fulfillment.promised_at is not None
    ]
    if not promised:
        return ""
    by = max(promised)
    return f"Expected delivery: by {by:%A} {by.day} {by:%B %Y} ({by.isoformat()})."


def receipt_text(order: Order) -> str:
    """A till sale's receipt as plain text (the emailed receipt; the store page prints the same
    figures): the stored figures (:func:`order_figures_text`) and the payments with their
    tenders."""
    lines = [f"Receipt {order.number}, {order.placed_at:%Y-%m-%d %H:%M}", order_figures_text(order)]
    lines += [f"Paid by {p.get_tender_display().lower()}: {p.amount}" for p in order.payments.all()]
    return "\n".join(lines)


def _refund_text(order: Order, subject_key: str) -> str:
    refund = (
        Refund.objects.filter(order=order, pk=int(subject_key)).first()
        if subject_key.isdigit()
        else None
    )
    if refund is None:
        return ""
    return f"Refund: {refund.amount} {order.currency} (VAT {refund.tax_amount})"


FIGURES_SHOWN = (
    Notification.Kind.CONFIRMATION,
    Notification.Kind.READY_FOR_PICKUP,
    Notification.Kind.SHIPPED,
    Notification.Kind.REFUNDED,
)


def notification_sender_register(sender: NotificationSender) -> None:
    """Set what kicks the worker after a commit that queued notifications (``orders.apps``
    registers the ``orders.notifications_send`` task in ``ready()``). A second registration
    replaces the first."""
    _sender[:] = [sender]


def _kick() -> None:
    _sender[0]()


def notification_queue(
    *, order: Order, kind: str, subject_key: str = "", pickup_code: str = ""
) -> None:
    """Queue a customer email in the caller's transaction: a pending row, sent by the worker
    after commit (once, however often it is queued). The pickup code is kept on the row only
    until the email is sent. Nothing for an order without an email address."""
    if kind not in Notification.Kind.values:
        raise ValueError(f"Unknown notification kind {kind!r}")
    if not order.customer_email:
        return
    if not _sender:
        raise RuntimeError("No notification sender registered (orders.apps.OrdersConfig.ready).")
    Notification.objects.bulk_create(
        [
            Notification(
                order=order,
                kind=kind,
                subject_key=subject_key,
                recipient=order.customer_email,
                pickup_code=pickup_code,
            )
        ],
        ignore_conflicts=True,  # queued (or sent) already: once is enough
    )
    transaction.on_commit(_kick)


def notification_queue_for_order(
    *, order_id: int, kind: str, subject_key: str = "", pickup_code: str = ""
) -> None:
    """``notification_queue`` for an order given by id, in a transaction of its own."""
    with transaction.atomic():
        order = Order.objects.get(pk=order_id)
        notification_queue(order=order, kind=kind, subject_key=subject_key, pickup_code=pickup_code)


def notifications_send_pending(*, limit: int = 200) -> int:
    """Send the pending notifications, oldest first (at most ``limit``); returns how many were
    sent. Safe to run in several workers at once: each row is sent by whoever locks it. A row
    that fails to send is logged and left for the next sweep; the others still go out."""
    ids = list(
        Notification.objects.filter(status=Notification.Status.PENDING)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    sent = 0
    for pk in ids:
        try:
            sent += notification_send(notification_id=pk)
        except Exception as error:  # counted on the row by notification_send
            log.warning("orders.notification_send_failed", notification_id=pk, error=str(error))
    return sent


def _body(notification: Notification) -> str:
    """The email's text: the order timeline, as the admin and the API show it; a receipt
    first, or the refund, the delivery promise (a ship order's confirmation) and the order's
    figures; the pickup code last."""
    order = notification.order
    body = "\n".join(
        f"{event.created_at:%Y-%m-%d %H:%M} {event.message}"
        for event in order.timeline.order_by("created_at", "id")
        if event.kind != TimelineEvent.Kind.STATUS_CHANGED
    )
    if notification.kind == Notification.Kind.RECEIPT:
        body = receipt_text(order) + "\n\n" + body
    elif notification.kind in FIGURES_SHOWN:
        head = []
        if notification.kind == Notification.Kind.REFUNDED:
            head.append(_refund_text(order, notification.subject_key))
        if notification.kind == Notification.Kind.CONFIRMATION:
            head.append(delivery_promise_text(order))
        head.append(order_figures_text(order))
        body = "\n\n".join([part for part in head if part] + [body])
    if notification.pickup_code:
        body += f"\n\nYour pickup code: {notification.pickup_code}"
    return body


def notification_send(*, notification_id: int) -> bool:
    """Send one pending notification and mark it sent, in one transaction that holds its row
    lock (a second worker skips it; one that comes later finds it sent). Returns whether an
    email went out now. A failed send rolls back, is counted, and raises; after
    ``MAX_ATTEMPTS`` the row is marked failed and the sweep stops trying."""
    try:
        with transaction.atomic():
            notification = (
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("order")
                .filter(pk=notification_id, status=Notification.Status.PENDING)
                .first()
            )
            if notification is None:
                return False
            send_mail(
                SUBJECTS[notification.kind].format(number=notification.order.number),
                _body(notification),
                None,
                [notification.recipient],
            )
            notification.status = Notification.Status.SENT
            notification.sent_at = timezone.now()
            notification.pickup_code = ""
            notification.attempts = F("attempts") + 1
            notification.last_error = ""
            notification.save(
                update_fields=["status", "sent_at", "pickup_code", "attempts", "last_error"]
            )
    except Exception as error:
        failed = Notification.objects.filter(pk=notification_id, status=Notification.Status.PENDING)
        failed.update(
            attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:500]
        )
        failed.filter(attempts__gte=MAX_ATTEMPTS).update(
            status=Notification.Status.FAILED, pickup_code=""
        )
        raise
    return True
