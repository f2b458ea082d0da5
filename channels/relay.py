"""The relay: from committed change events (the outbox) to delivery work.

``relay_run`` claims pending events (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
several relays never take the same events; a plain select inside the transaction on SQLite),
works out which channels and webhook subscriptions each concerns, turns each into what that
target reads (a channel's own available-to-sell, its price), coalesces per target, object and
stream (a hundred edits of one SKU become one delivery of the latest state), and marks the events
relayed, all in one transaction: if the process dies, nothing was relayed and nothing is lost.
Feed channels are not pushed to: the products the events touch are marked stale for them
(``channels.feeds``) in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from catalog import selectors as catalog_selectors
from channels.feeds.services import feeds_mark_from_events
from channels.models import Delivery, Listing, WebhookSubscription
from core import bulk
from core.events import EventType
from core.models import ChangeEvent, Channel
from core.outbox.services import event_positions_assign
from inventory.selectors import apply_buffer, channel_buffer

# Kinds that receive JSON pushes (feeds and POS read instead).
PUSH_KINDS = frozenset(
    {
        Channel.Kind.WEBSHOP,
        Channel.Kind.APP,
        Channel.Kind.MARKETPLACE,
        Channel.Kind.SOCIAL,
        Channel.Kind.PARTNER_WEBHOOK,
    }
)

# Topics that coalesce together: the latest of a stream is the whole truth for that object.
STREAMS: dict[str, str] = {
    EventType.PRODUCT_UPDATED: "product",
    EventType.PRODUCT_DELETED: "product",
    EventType.PRICE_CHANGED: "price",
    EventType.STOCK_CHANGED: "stock",
}


@dataclass
class Item:
    """What one channel should get for one object and stream (the latest event wins)."""

    channel: Channel
    stream: str
    event: ChangeEvent
    payload: dict[str, Any]


def push_channels() -> list[Channel]:
    """Active channels that receive pushes, with their locations."""
    return list(
        Channel.objects.filter(is_active=True, kind__in=PUSH_KINDS)
        .exclude(endpoint_url="")
        .prefetch_related("locations")
    )


def _channel_payload(channel: Channel, event: ChangeEvent) -> dict[str, Any]:
    """The event's absolute values as ``channel`` reads them."""
    payload = dict(event.payload)
    if event.topic == EventType.STOCK_CHANGED:
        per_location = payload.get("locations") or {}
        codes = [loc.code for loc in channel.locations.all() if loc.is_active]
        total = sum(int(per_location.get(code, 0)) for code in codes)
        return {
            "sku": payload.get("sku", ""),
            "variant_id": payload.get("variant_id"),
            "available": apply_buffer(total, channel_buffer(channel)),
            "locations": {code: int(per_location.get(code, 0)) for code in codes},
        }
    return payload


def _listing_channels(
    events: Sequence[ChangeEvent], channels: Sequence[Channel]
) -> dict[tuple[str, str], set[int]]:
    """Which push channels show each (aggregate, id) of ``events``: the channels the product is
    published on (for a variant, its product's). One query per push channel plus one."""
    variant_ids = {int(e.aggregate_id) for e in events if e.aggregate == "variant"}
    product_ids = {int(e.aggregate_id) for e in events if e.aggregate == "product"}
    product_of_variant: dict[int, int] = {}
    if variant_ids:
        product_of_variant = dict(
            catalog_selectors.variant_list()
            .filter(id__in=variant_ids)
            .values_list("id", "product_id")
        )
    wanted = product_ids | set(product_of_variant.values())
    channels_of_product: dict[int, set[int]] = defaultdict(set)
    if wanted:
        for channel in channels:
            published = catalog_selectors.published_product_list(channel_code=channel.code).filter(
                product_id__in=wanted
            )
            for product_id in published.values_list("product_id", flat=True):
                channels_of_product[product_id].add(channel.pk)
    result: dict[tuple[str, str], set[int]] = {}
    for event in events:
        key = (event.aggregate, event.aggregate_id)
        if event.aggregate == "variant":
            owner = product_of_variant.get(int(event.aggregate_id))
            result[key] = set(channels_of_product.get(owner, set())) if owner else set()
        elif event.aggregate == "product":
            result[key] = set(channels_of_product.get(int(event.aggregate_id), set()))
    return result


def channel_items(
    events: Sequence[ChangeEvent], channels: Sequence[Channel] | None = None
) -> list[Item]:
    """The coalesced channel work for ``events``: per channel, object and stream, the event with
    the highest sequence, in the channel's form."""
    channels = push_channels() if channels is None else list(channels)
    by_code = {channel.code: channel for channel in channels}
    by_id = {channel.pk: channel for channel in channels}
    relevant = [e for e in events if e.topic in STREAMS]
    broadcast = [e for e in relevant if not e.channel_code]
    listing = _listing_channels(broadcast, channels) if broadcast else {}
    latest: dict[tuple[int, str, str, str], Item] = {}
    for event in relevant:
        if event.channel_code:
            targets = [by_code[event.channel_code]] if event.channel_code in by_code else []
        else:
            targets = [
                by_id[pk] for pk in listing.get((event.aggregate, event.aggregate_id), set())
            ]
        stream = STREAMS[event.topic]
        for channel in targets:
            key = (channel.pk, stream, event.aggregate, event.aggregate_id)
            current = latest.get(key)
            if current is None or current.event.sequence < event.sequence:
                latest[key] = Item(channel, stream, event, _channel_payload(channel, event))
    return list(latest.values())


def _subscriptions_for(
    events: Sequence[ChangeEvent],
) -> list[tuple[WebhookSubscription, ChangeEvent]]:
    topics = {event.topic for event in events}
    subscriptions = list(
        WebhookSubscription.objects.filter(is_active=True, partner__is_active=True)
        .select_related("partner")
        .prefetch_related("partner__channels")
    )
    pairs = []
    for subscription in subscriptions:
        wanted = set(subscription.events) & topics
        if not wanted:
            continue
        partner_channels = {channel.code for channel in subscription.partner.channels.all()}
        for event in events:
            if event.topic not in wanted:
                continue
            if (
                event.channel_code
                and partner_channels
                and event.channel_code not in partner_channels
            ):
                continue
            pairs.append((subscription, event))
    return pairs


def deliveries_enqueue(items: Iterable[Item]) -> set[int]:
    """Merge each item into its channel's pending delivery for the object and stream (a newer
    sequence replaces the payload; an older one is dropped) or create one; bump the listing.
    Returns the channel ids that got work. Locks the pending rows it merges into."""
    items = list(items)
    if not items:
        return set()
    now = timezone.now()
    groups: dict[tuple[int, str, str], set[str]] = defaultdict(set)
    for item in items:  # one term per channel, stream and aggregate (not one per object)
        groups[(item.channel.pk, item.stream, item.event.aggregate)].add(item.event.aggregate_id)
    keys = Q()
    for (channel_id, stream, aggregate), aggregate_ids in groups.items():
        keys |= Q(
            channel_id=channel_id,
            stream=stream,
            aggregate=aggregate,
            aggregate_id__in=sorted(aggregate_ids),
        )
    pending = {
        (d.channel_id, d.stream, d.aggregate, d.aggregate_id): d
        for d in Delivery.objects.select_for_update()
        .filter(keys, state=Delivery.State.PENDING)
        .order_by("pk")
    }
    new: list[Delivery] = []
    changed: list[Delivery] = []
    for item in items:
        event = item.event
        key = (item.channel.pk, item.stream, event.aggregate, event.aggregate_id)
        delivery = pending.get(key)
        if delivery is None:
            new.append(
                Delivery(
                    channel=item.channel,
                    stream=item.stream,
                    topic=event.topic,
                    aggregate=event.aggregate,
                    aggregate_id=event.aggregate_id,
                    event_id=event.pk,
                    sequence=event.sequence,
                    payload=item.payload,
                    next_attempt_at=now,
                )
            )
        elif delivery.sequence < event.sequence:
            delivery.topic = event.topic
            delivery.event_id = event.pk
            delivery.sequence = event.sequence
            delivery.payload = item.payload
            delivery.updated_at = now
            changed.append(delivery)
    bulk.create(new, Delivery, history=False)  # COPY on PostgreSQL
    bulk.update(
        changed,
        Delivery,
        ["topic", "event_id", "sequence", "payload", "updated_at"],
        history=False,
    )
    _listings_bump(items)
    return {item.channel.pk for item in items}


def _listings_bump(items: Sequence[Item]) -> None:
    highest: dict[tuple[int, str, str], int] = {}
    for item in items:
        key = (item.channel.pk, item.event.aggregate, item.event.aggregate_id)
        highest[key] = max(highest.get(key, 0), item.event.sequence)
    groups: dict[tuple[int, str], set[str]] = defaultdict(set)
    for channel_id, aggregate, aggregate_id in highest:
        groups[(channel_id, aggregate)].add(aggregate_id)
    keys = Q()
    for (channel_id, aggregate), aggregate_ids in groups.items():
        keys |= Q(
            channel_id=channel_id, aggregate=aggregate, aggregate_id__in=sorted(aggregate_ids)
        )
    existing = {
        (row.channel_id, row.aggregate, row.aggregate_id): row
        for row in Listing.objects.select_for_update().filter(keys).order_by("pk")
    }
    new = []
    changed = []
    for (channel_id, aggregate, aggregate_id), sequence in highest.items():
        row = existing.get((channel_id, aggregate, aggregate_id))
        if row is None:
            new.append(
                Listing(
                    channel_id=channel_id,
                    aggregate=aggregate,
                    aggregate_id=aggregate_id,
                    last_sequence=sequence,
                )
            )
        elif sequence > row.last_sequence:
            row.last_sequence = sequence
            row.state = Listing.State.PENDING
            row.updated_at = timezone.now()
            changed.append(row)
    bulk.create_ignore_conflicts(new, Listing)
    bulk.update(changed, Listing, ["last_sequence", "state", "updated_at"], history=False)


def _webhook_deliveries_create(events: Sequence[ChangeEvent]) -> set[int]:
    now = timezone.now()
    rows = [
        Delivery(
            subscription=subscription,
            stream="event",
            topic=event.topic,
            aggregate=event.aggregate,
            aggregate_id=event.aggregate_id,
            event_id=event.pk,
            sequence=event.sequence,
            payload=dict(event.payload),
            next_attempt_at=now,
        )
        for subscription, event in _subscriptions_for(events)
    ]
    Delivery.objects.bulk_create(rows)
    return {row.subscription_id for row in rows if row.subscription_id is not None}


@dataclass(frozen=True)
class RelayResult:
    events: int
    channel_ids: set[int]
    subscription_ids: set[int]
    feed_channel_ids: set[int] = field(default_factory=set)


def relay_run(*, limit: int | None = None) -> RelayResult:
    """Relay one batch of pending events (oldest first) in one transaction; see the module.
    Events committed since the last run are given their feed positions first (own transaction)."""
    limit = limit or int(getattr(settings, "CHANNELS_RELAY_BATCH", 1000))
    event_positions_assign()
    with transaction.atomic():
        claimed = ChangeEvent.objects.filter(relayed_at__isnull=True).order_by("id")
        if connection.vendor == "postgresql":
            claimed = claimed.select_for_update(skip_locked=True)
        events = list(claimed[:limit])
        if not events:
            return RelayResult(0, set(), set())
        channel_ids = deliveries_enqueue(channel_items(events))
        subscription_ids = _webhook_deliveries_create(events)
        feed_channel_ids = feeds_mark_from_events(events)
        ChangeEvent.objects.filter(pk__in=[event.pk for event in events]).update(
            relayed_at=timezone.now()
        )
    return RelayResult(len(events), channel_ids, subscription_ids, feed_channel_ids)


def listings_reconcile(*, older_than_seconds: float = 60.0, limit: int = 1000) -> int:
    """Re-queue what a channel is behind on: listings whose acknowledged sequence is below the
    last relayed one, not refused, with no pending delivery, untouched for ``older_than_seconds``
    (a lost task, a delivery marked done by hand). For each, the latest relayed event of each
    stream newer than the acknowledgement is merged into the delivery queue again. Returns how
    many listings were re-queued."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    pending = Delivery.objects.filter(
        state=Delivery.State.PENDING,
        channel_id=OuterRef("channel_id"),
        aggregate=OuterRef("aggregate"),
        aggregate_id=OuterRef("aggregate_id"),
    )
    behind = list(
        Listing.objects.filter(
            acked_sequence__lt=F("last_sequence"),
            state__in=[Listing.State.PENDING, Listing.State.SYNCED],
            updated_at__lt=cutoff,
            channel__is_active=True,
        )
        .exclude(Exists(pending))
        .order_by("pk")[:limit]
    )
    if not behind:
        return 0
    channels = {channel.pk: channel for channel in push_channels()}
    items: list[Item] = []
    for listing in behind:
        channel = channels.get(listing.channel_id)
        if channel is None:
            continue
        events = ChangeEvent.objects.filter(
            aggregate=listing.aggregate,
            aggregate_id=listing.aggregate_id,
            sequence__gt=listing.acked_sequence,
            relayed_at__isnull=False,
        ).filter(Q(channel_code="") | Q(channel_code=channel.code))
        items.extend(channel_items(list(events), [channel]))
    with transaction.atomic():
        deliveries_enqueue(items)
    return len({(i.channel.pk, i.event.aggregate, i.event.aggregate_id) for i in items})
