"""Reads of channel data, scoped to what the caller may see."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from channels.models import Channel, WebhookSubscription


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
