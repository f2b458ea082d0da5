"""Reads of channel data, scoped to what the caller may see."""

from __future__ import annotations

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


def webhook_subscription_list(*, partner_id: int | None) -> QuerySet[WebhookSubscription]:
    """A partner's subscriptions; ``None`` (staff) sees every partner's."""
    queryset = WebhookSubscription.objects.select_related("partner")
    if partner_id is not None:
        queryset = queryset.filter(partner_id=partner_id)
    return queryset


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
