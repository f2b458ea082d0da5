"""Reads of orders, used by the API, the admin, the store page and tasks (joins applied)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch, QuerySet

from orders.models import Fulfillment, Order, Return, TimelineEvent


def order_list(*, channel_codes: Iterable[str] | None = None) -> QuerySet[Order]:
    """Orders with everything an order page or API body shows, in a fixed number of queries.
    ``channel_codes`` None means every channel (staff)."""
    queryset = Order.objects.select_related("channel").prefetch_related(
        "lines",
        Prefetch(
            "fulfillments",
            queryset=Fulfillment.objects.select_related("location").prefetch_related(
                "lines__order_line"
            ),
        ),
        Prefetch("timeline", queryset=TimelineEvent.objects.order_by("created_at", "id")),
    )
    if channel_codes is not None:
        queryset = queryset.filter(channel__code__in=list(channel_codes))
    return queryset


def order_get(*, number: str, channel_codes: Iterable[str] | None = None) -> Order | None:
    return order_list(channel_codes=channel_codes).filter(number=number).first()


def return_list(*, channel_codes: Iterable[str] | None = None) -> QuerySet[Return]:
    queryset = Return.objects.select_related("order__channel", "location").prefetch_related(
        "lines__order_line", "refunds"
    )
    if channel_codes is not None:
        queryset = queryset.filter(order__channel__code__in=list(channel_codes))
    return queryset


def return_get(*, rma: str, channel_codes: Iterable[str] | None = None) -> Return | None:
    return return_list(channel_codes=channel_codes).filter(rma=rma).first()


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
