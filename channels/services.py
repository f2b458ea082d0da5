"""Writes to channels and webhook subscriptions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from channels.events import EventType
from channels.exceptions import UnknownEventType
from channels.models import WebhookSubscription
from core.models import Channel, Partner
from core.net import url_public_check
from inventory import services as inventory_services


def _validated_events(events: Iterable[str]) -> list[str]:
    chosen = sorted(set(events))
    unknown = [event for event in chosen if event not in EventType.values]
    if unknown or not chosen:
        raise UnknownEventType(
            f"Unknown event types: {', '.join(unknown)}."
            if unknown
            else "Choose at least one event type.",
            errors=[
                {"field": "events", "code": "invalid_choice", "message": f"'{event}' is unknown"}
                for event in unknown
            ]
            or [{"field": "events", "code": "required", "message": "at least one event type"}],
        )
    return chosen


def webhook_subscription_create(
    *, partner: Partner, url: str, events: Iterable[str], description: str = ""
) -> WebhookSubscription:
    """Raises ``UrlNotAllowed`` unless ``url`` reaches public addresses (``core.net``)."""
    url_public_check(url, field="url")
    return WebhookSubscription.objects.create(
        partner=partner, url=url, events=_validated_events(events), description=description
    )


@transaction.atomic
def webhook_subscription_update(
    *, subscription: WebhookSubscription, **changes: Any
) -> WebhookSubscription:
    """Apply ``changes`` (url, events, description, is_active) to a subscription; a new ``url``
    must reach public addresses (``core.net``)."""
    if "url" in changes:
        url_public_check(changes["url"], field="url")
    if "events" in changes:
        changes["events"] = _validated_events(changes["events"])
    for field, value in changes.items():
        setattr(subscription, field, value)
    subscription.save()
    return subscription


def webhook_subscription_delete(*, subscription: WebhookSubscription) -> None:
    subscription.delete()


@transaction.atomic
def channel_upsert(
    *, code: str, location_ids: Iterable[int] | None = None, **fields: Any
) -> tuple[Channel, bool]:
    """Create the channel ``code`` or update it; ``location_ids`` replaces the locations it sells
    from when given. A push ``endpoint_url`` must reach public addresses (``core.net``)."""
    if fields.get("endpoint_url"):
        url_public_check(fields["endpoint_url"], field="endpoint_url")
    channel, created = Channel.objects.update_or_create(code=code, defaults=fields)
    channel.full_clean()
    if location_ids is not None:
        inventory_services.channel_locations_set(channel_id=channel.pk, location_ids=location_ids)
    return channel, created
