"""Reads of channel data, scoped to what the caller may see."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    F,
    IntegerField,
    Min,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from channels.models import Delivery, DeliveryAttempt, Feed, WebhookSubscription
from core.models import ChangeEvent, Channel
from inventory import selectors as inventory_selectors
from inventory.models import Location
from inventory.selectors import ChannelBuffer, haversine_km


def channel_get(*, code: str, visible_codes: Iterable[str] | None) -> Channel | None:
    """The active channel ``code`` with its locations, if the caller may see it."""
    return channel_list(visible_codes=visible_codes).filter(code=code, is_active=True).first()


def channel_list(*, visible_codes: Iterable[str] | None) -> QuerySet[Channel]:
    """Channels, restricted to ``visible_codes`` unless it is ``None`` (staff: all of them)."""
    queryset = Channel.objects.prefetch_related("locations")
    if visible_codes is not None:
        queryset = queryset.filter(code__in=list(visible_codes))
    return queryset


def webhook_subscription_list(*, partner_id: int | None) -> QuerySet[WebhookSubscription]:
    """A partner's subscriptions; ``None`` (staff) sees every partner's."""
    queryset = WebhookSubscription.objects.select_related("partner")
    if partner_id is not None:
        queryset = queryset.filter(partner_id=partner_id)
    return queryset


@dataclass(frozen=True)
class LocationAvailability:
    location: Location
    available: int
    distance_km: float | None

    @property
    def pickup_available(self) -> bool:
        return self.available > 0 and self.location.offers_pickup


@dataclass(frozen=True)
class SkuAvailability:
    sku: str
    available: int
    locations: list[LocationAvailability]


def channel_buffer(channel: Channel) -> ChannelBuffer | None:
    if channel.stock_buffer_kind == Channel.BufferKind.NONE:
        return None
    return ChannelBuffer(kind=channel.stock_buffer_kind, value=channel.stock_buffer_value)


def channel_availability(
    *, channel: Channel, skus: Sequence[str], near: tuple[float, float] | None = None
) -> tuple[list[SkuAvailability], list[str]]:
    """What ``channel`` may promise per SKU, and per location it sells from.

    The channel total is the sum over its active locations with the channel's buffer applied; per
    location figures are the location's own available units (its safety stock already kept
    back). With ``near``, locations carry ``distance_km`` and come nearest first. Returns the
    results in the order asked and the SKUs that do not exist. A fixed number of queries,
    whatever the number of SKUs.
    """
    ids_by_sku = inventory_selectors.variant_ids_by_sku(skus=skus)
    locations = [loc for loc in channel.locations.all() if loc.is_active]
    distances: dict[int, float] = {}
    if near is not None:
        distances = {
            loc.pk: round(
                haversine_km(near[0], near[1], float(loc.latitude), float(loc.longitude)), 2
            )
            for loc in locations
            if loc.latitude is not None and loc.longitude is not None
        }
        locations.sort(key=lambda loc: (distances.get(loc.pk, float("inf")), loc.code))
    availability = inventory_selectors.availability_for_variants(
        variant_ids=ids_by_sku.values(),
        location_ids=[loc.pk for loc in locations],
        buffer=channel_buffer(channel),
    )
    results = []
    for sku in dict.fromkeys(skus):
        variant_id = ids_by_sku.get(sku)
        if variant_id is None:
            continue
        per_location = availability[variant_id].by_location
        results.append(
            SkuAvailability(
                sku=sku,
                available=availability[variant_id].total,
                locations=[
                    LocationAvailability(
                        location=loc,
                        available=per_location.get(loc.pk, 0),
                        distance_km=distances.get(loc.pk),
                    )
                    for loc in locations
                ],
            )
        )
    unknown = [sku for sku in dict.fromkeys(skus) if sku not in ids_by_sku]
    return results, unknown


# --- sync operations -------------------------------------------------------------------------


def channel_sync_overview(*, window: timedelta = timedelta(hours=1)) -> QuerySet[Channel]:
    """Channels annotated with their sync health, one query whatever the number of channels:
    ``sync_backlog`` (pending deliveries), ``sync_oldest_pending`` (when the oldest pending one was
    created: the sync lag), ``sync_pushes`` / ``sync_failures`` (attempts delivered / not in
    ``window``) and ``sync_dead`` (deliveries given up, waiting for an operator)."""
    since = timezone.now() - window

    def count(queryset: QuerySet[Any]) -> Subquery:
        return Subquery(
            queryset.order_by().values("channel_id").annotate(n=Count("pk")).values("n")[:1],
            output_field=IntegerField(),
        )

    pending = Delivery.objects.filter(channel_id=OuterRef("pk"), state=Delivery.State.PENDING)
    attempts = DeliveryAttempt.objects.filter(
        delivery__channel_id=OuterRef("pk"), created_at__gte=since
    ).annotate(channel_id=F("delivery__channel_id"))
    return Channel.objects.annotate(
        sync_backlog=Coalesce(count(pending), 0),
        sync_oldest_pending=Subquery(
            pending.order_by("created_at").values("created_at")[:1],
            output_field=DateTimeField(),
        ),
        sync_pushes=Coalesce(count(attempts.filter(outcome="ok")), 0),
        sync_failures=Coalesce(count(attempts.exclude(outcome="ok")), 0),
        sync_dead=Coalesce(
            count(Delivery.objects.filter(channel_id=OuterRef("pk"), state=Delivery.State.DEAD)),
            0,
        ),
        feed_generated_at=Subquery(
            Feed.objects.filter(channel_id=OuterRef("pk"), generated_at__isnull=False)
            .order_by("-generated_at")
            .values("generated_at")[:1],
            output_field=DateTimeField(),
        ),
    )


def sync_lag() -> dict[str, Any]:
    """For ``/healthz``: change events not yet relayed, pending deliveries and the age in seconds
    of the oldest of each (0 when none). Two queries."""
    now = timezone.now()
    events = ChangeEvent.objects.filter(relayed_at__isnull=True).aggregate(
        n=Count("pk"), oldest=Min("created_at")
    )
    deliveries = Delivery.objects.filter(state=Delivery.State.PENDING).aggregate(
        n=Count("pk"), oldest=Min("created_at")
    )

    def age(oldest: Any) -> float:
        return round((now - oldest).total_seconds(), 1) if oldest else 0.0

    return {
        "events_pending": events["n"],
        "oldest_event_seconds": age(events["oldest"]),
        "deliveries_pending": deliveries["n"],
        "oldest_delivery_seconds": age(deliveries["oldest"]),
        "dead_deliveries": Delivery.objects.filter(state=Delivery.State.DEAD).count(),
    }


def delivery_list() -> QuerySet[Delivery]:
    return Delivery.objects.select_related("channel", "subscription__partner")


def sync_health() -> dict[str, Any]:
    """The ``sync`` check of ``/healthz``: the lag figures, and ``lagging`` when the oldest
    pending event or delivery is older than ``CHANNELS_SYNC_LAG_ALERT_SECONDS``. A lag is for
    alerting, not for taking web nodes out of a load balancer: ``ok`` stays true."""
    from django.conf import settings

    lag = sync_lag()
    threshold = float(getattr(settings, "CHANNELS_SYNC_LAG_ALERT_SECONDS", 300))
    lag["lagging"] = max(lag["oldest_event_seconds"], lag["oldest_delivery_seconds"]) > threshold
    return {"ok": True, **lag}
