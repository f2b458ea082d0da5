"""Reads of orders, used by the API, the admin, the store page and tasks (joins applied)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from django.db.models import Case, Exists, OuterRef, Prefetch, Q, QuerySet, Value, When

from core.errors import DomainError
from customers.identifiers import phone_normalise
from customers.models import Customer, CustomerIdentifier, IdentifierKind
from orders.models import Cart, Fulfillment, Order, Payment, Return, TimelineEvent


def order_list(*, channel_codes: Iterable[str] | None = None) -> QuerySet[Order]:
    """Orders with everything an order page or API body shows, in a fixed number of queries.
    ``channel_codes`` None means every channel (staff)."""
    queryset = Order.objects.select_related("channel").prefetch_related(
        "lines",
        Prefetch("payments", queryset=Payment.objects.select_related("location")),
        Prefetch(
            "fulfillments",
            queryset=Fulfillment.objects.select_related("location").prefetch_related(
                "lines__order_line"
            ),
        ),
        Prefetch("timeline", queryset=TimelineEvent.objects.order_by("created_at", "id")),
        "tax_lines",
    )
    if channel_codes is not None:
        queryset = queryset.filter(channel__code__in=list(channel_codes))
    return queryset


def order_get(*, number: str, channel_codes: Iterable[str] | None = None) -> Order | None:
    return order_list(channel_codes=channel_codes).filter(number=number).first()


def order_list_with_returns(*, channel_codes: Iterable[str] | None = None) -> QuerySet[Order]:
    """:func:`order_list` with each order's returns (lines, refunds), for a customer's history:
    a fixed number of queries whatever the number of orders."""
    return order_list(channel_codes=channel_codes).prefetch_related(
        Prefetch(
            "returns",
            queryset=Return.objects.select_related("location", "order").prefetch_related(
                "lines__order_line", "refunds__payment"
            ),
        )
    )


def customer_orders(
    *, customer_id: int, channel_codes: Iterable[str] | None = None
) -> QuerySet[Order]:
    """A customer's orders on ``channel_codes`` (None: every channel), with their returns.
    Orders of merged-away duplicates were moved to the survivor by the merge."""
    return order_list_with_returns(channel_codes=channel_codes).filter(customer_id=customer_id)


def customer_recent_orders(*, customer: Customer | int, limit: int = 5) -> list[Order]:
    """The customer's latest orders on every channel (web, app, marketplace, till), newest
    first, for the till and the store page: channel, lines and returns in three queries."""
    customer_id = customer if isinstance(customer, int) else customer.pk
    return list(
        Order.objects.filter(customer_id=customer_id)
        .select_related("channel")
        .prefetch_related("lines", "returns")
        .order_by("-placed_at", "-id")[:limit]
    )


def return_list(*, channel_codes: Iterable[str] | None = None) -> QuerySet[Return]:
    queryset = Return.objects.select_related("order__channel", "location").prefetch_related(
        "lines__order_line", "refunds"
    )
    if channel_codes is not None:
        queryset = queryset.filter(order__channel__code__in=list(channel_codes))
    return queryset


def return_get(*, rma: str, channel_codes: Iterable[str] | None = None) -> Return | None:
    return return_list(channel_codes=channel_codes).filter(rma=rma).first()


def return_find(*, term: str, limit: int = 20) -> list[Return]:
    """Returns of every channel found by RMA number, order number, or the customer's e-mail or
    phone (any notation; also the customer's other known e-mails and phones): how a store finds
    an RMA that was authorised online. Open ones (still to be received) first, then newest."""
    term = term.strip()
    if not term:
        return []
    condition: Any = (
        Q(rma__iexact=term) | Q(order__number__iexact=term) | Q(order__customer_email__iexact=term)
    )
    known = [term.lower()]
    with contextlib.suppress(DomainError):  # not a phone number
        phone = phone_normalise(term)
        known.append(phone)
        condition |= Q(order__customer_phone__in=[term, phone])
    condition |= Exists(
        CustomerIdentifier.objects.filter(
            customer_id=OuterRef("order__customer_id"),
            kind__in=[IdentifierKind.EMAIL, IdentifierKind.PHONE],
            namespace="",
            value__in=known,
        )
    )
    return list(
        return_list()
        .filter(condition)
        .annotate(
            still_open=Case(When(status=Return.Status.AUTHORIZED, then=Value(0)), default=Value(1))
        )
        .order_by("still_open", "-created_at", "-id")[:limit]
    )


# --- a store's click & collect --------------------------------------------------------------------

PICKUP_TO_PICK = (
    Fulfillment.Status.AWAITING_TRANSFER,
    Fulfillment.Status.ALLOCATED,
    Fulfillment.Status.PICKING,
)


def pickup_list(*, location_id: int) -> QuerySet[Fulfillment]:
    """The pickups at one store, with their order and lines."""
    return (
        Fulfillment.objects.filter(location_id=location_id, method="pickup")
        .select_related("order")
        .prefetch_related("lines__order_line")
    )


def pickups_to_pick_count(*, location_id: int) -> int:
    """How many pickups wait to be picked at a store (the store page's badge)."""
    return Fulfillment.objects.filter(
        location_id=location_id, method="pickup", status__in=PICKUP_TO_PICK
    ).count()


# --- a store's ship-from-store parcels -----------------------------------------------------------

SHIP_FROM_STORE_QUEUE = (
    Fulfillment.Status.ALLOCATED,
    Fulfillment.Status.PICKING,
    Fulfillment.Status.PACKED,
)


def ship_from_store_list(
    *, location_id: int, statuses: Iterable[str] | None = SHIP_FROM_STORE_QUEUE
) -> QuerySet[Fulfillment]:
    """The parcels a store ships for online orders (method ``ship`` at this location), by
    default those still to pick, pack or hand to the carrier (``statuses=None``: in any state),
    oldest first, with their order and lines."""
    queryset = Fulfillment.objects.filter(location_id=location_id, method="ship")
    if statuses is not None:
        queryset = queryset.filter(status__in=list(statuses))
    return (
        queryset.select_related("order")
        .prefetch_related("lines__order_line")
        .order_by("created_at", "pk")
    )


def cart_channels_by_token(*, tokens: Iterable[str]) -> dict[str, str]:
    """``{cart token: channel name}`` for the carts that exist (one query); the store page says
    which channel's cart holds units."""
    return dict(
        Cart.objects.filter(token__in=list(set(tokens))).values_list("token", "channel__name")
    )
