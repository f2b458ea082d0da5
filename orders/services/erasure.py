"""The orders' part of a GDPR erasure (``customers.services.customer_erase``).

``OrdersConfig.ready`` registers :func:`customer_order_values` and :func:`customer_orders_erase`
with ``customers.services.customer_erase_hook_register``: ``customers`` may not import ``orders``,
so the orders come to the erasure, not the other way round.

What goes: an order's contact fields (email, phone, name, loyalty card) and its shipping address
except the country; a cart's email; a notification's recipient, pickup code and error; and any
copy of the person's values in the order's timeline, lines' options, fulfilments, payments,
returns and refunds (replaced by ``[erased]``). What stays, unchanged: numbers, amounts, currency,
dates, statuses, lines with their SKUs and quantities, payments and refunds: the accounting
record, which the law asks us to keep. The order keeps pointing at the (now anonymous) customer.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from customers.erasure import ErasureSubject, phone_forms, queryset_scrub
from orders.models import (
    Cart,
    CouponRedemption,
    Fulfillment,
    Notification,
    Order,
    OrderLine,
    Payment,
    PaymentEvent,
    Refund,
    Return,
    ReturnLine,
    TimelineEvent,
)

ADDRESS_NEEDLES = ("name", "line1", "line2")  # identify the person on their own
ADDRESS_VALUES = ("postal_code", "city")  # only next to the others
ADDRESS_KEPT = ("country",)  # where the goods went: tax follows it


def customer_order_values(subject: ErasureSubject) -> None:
    """Add what the orders and carts of the person hold about them (as typed: an email in
    capitals, a phone in any notation, the shipping address) to ``subject``."""
    ids = subject.customer_ids
    for email, phone, name, card, address in Order.objects.filter(customer_id__in=ids).values_list(
        "customer_email", "customer_phone", "customer_name", "loyalty_card", "shipping_address"
    ):
        subject.add(email, name, card)
        if phone:
            subject.add(*phone_forms(phone))
        if isinstance(address, dict):
            subject.add(*(str(address.get(key) or "") for key in ADDRESS_NEEDLES))
            subject.add(*(str(address.get(key) or "") for key in ADDRESS_VALUES), needle=False)
    subject.add(*Cart.objects.filter(customer_id__in=ids).values_list("customer_email", flat=True))
    subject.add(
        *CouponRedemption.objects.filter(customer_id__in=ids).values_list(
            "customer_email", flat=True
        )
    )


def _orders_of(subject: ErasureSubject) -> QuerySet[Order]:
    """The person's orders: theirs by customer, and any that carries their email or phone
    without being linked (an order placed before the customer was resolved)."""
    values = sorted(subject.needles)
    return Order.objects.filter(
        Q(customer_id__in=subject.customer_ids)
        | Q(customer_email__in=[value.lower() for value in values if "@" in value])
        | Q(customer_phone__in=values)
    )


def customer_orders_erase(subject: ErasureSubject) -> dict[str, int]:
    """Scrub the person's copies in orders, carts, notifications, returns and refunds (see the
    module docstring); runs inside the erasure transaction. Returns the rows changed per model."""
    order_ids = list(_orders_of(subject).order_by("pk").values_list("pk", flat=True))
    counts: dict[str, int] = {}
    for order in Order.objects.filter(pk__in=order_ids).only("pk", "shipping_address"):
        address: Any = order.shipping_address
        kept = (
            {key: address[key] for key in ADDRESS_KEPT if key in address}
            if isinstance(address, dict)
            else {}
        )
        Order.objects.filter(pk=order.pk).update(
            customer_email="",
            customer_phone="",
            customer_name="",
            loyalty_card="",
            shipping_address=kept,
        )
    counts["orders.Order"] = len(order_ids)
    carts = Cart.objects.filter(
        Q(customer_id__in=subject.customer_ids)
        | Q(order_id__in=order_ids)
        | Q(customer_email__in=[value.lower() for value in subject.needles if "@" in value])
    )
    counts["orders.Cart"] = carts.exclude(customer_email="").update(customer_email="")
    redemptions = CouponRedemption.objects.filter(
        Q(customer_id__in=subject.customer_ids)
        | Q(order_id__in=order_ids)
        | Q(customer_email__in=[value.lower() for value in subject.needles if "@" in value])
    )
    counts["orders.CouponRedemption"] = redemptions.exclude(customer_email="").update(
        customer_email=""
    )
    notifications = Notification.objects.filter(order_id__in=order_ids)
    # a pending email has nobody to go to any more: it is failed, not sent to ""
    notifications.filter(status=Notification.Status.PENDING).update(
        status=Notification.Status.FAILED, last_error="Recipient erased (GDPR)."
    )
    counts["orders.Notification"] = notifications.update(recipient="", pickup_code="")
    queryset_scrub(notifications, subject, fields=["last_error"])
    related: list[tuple[QuerySet[Any], list[str]]] = [
        (TimelineEvent.objects.filter(order_id__in=order_ids), ["message", "data"]),
        (OrderLine.objects.filter(order_id__in=order_ids), ["title", "options"]),
        (Fulfillment.objects.filter(order_id__in=order_ids), ["carrier", "tracking_number"]),
        (Payment.objects.filter(order_id__in=order_ids), ["provider_reference"]),
        (
            PaymentEvent.objects.filter(payment__order_id__in=order_ids),
            ["provider_reference", "data"],
        ),
        (
            Return.objects.filter(
                Q(order_id__in=order_ids) | Q(customer_id__in=subject.customer_ids)
            ),
            ["reason"],
        ),
        (ReturnLine.objects.filter(return_request__order_id__in=order_ids), ["reason"]),
        (Refund.objects.filter(order_id__in=order_ids), ["reason"]),
    ]
    for queryset, fields in related:
        counts[queryset.model._meta.label] = queryset_scrub(queryset, subject, fields=fields)
    return counts
