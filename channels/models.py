"""Sales channels, partners' webhook subscriptions, listings and the delivery pipeline.

Change events come from the outbox (``core.outbox``); the relay (``channels.relay``) turns them
into ``Delivery`` rows, one outstanding row per channel, object and stream (coalesced), or one per
event for a partner's webhook subscription; ``channels.delivery`` pushes them and logs every
attempt in ``DeliveryAttempt``. ``Listing`` keeps what each channel has acknowledged per object.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from core.models import Channel
from core.models.mixins import SyncTimestamped, Timestamped


def webhook_secret_generate() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookSubscription(SyncTimestamped):
    """A partner's request to be told about events, delivered signed to ``url``."""

    partner = models.ForeignKey(
        "core.Partner", on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    url = models.URLField(max_length=500)
    events = models.JSONField(help_text="Event types, e.g. ['order.created', 'stock.changed'].")
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=100, default=webhook_secret_generate, editable=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.partner} -> {self.url}"


class Feed(models.Model):
    """A generated product feed file of a feed channel (Google: xml and tsv; Meta: csv), stored
    whole and served with its ETag and Last-Modified; re-rendered only when an item changed."""

    class Format(models.TextChoices):
        XML = "xml", "RSS 2.0 (Google)"
        TSV = "tsv", "Tab-separated (Google)"
        CSV = "csv", "CSV (Meta)"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="feeds")
    format = models.CharField(max_length=3, choices=Format.choices)
    path = models.CharField(max_length=300, blank=True, help_text="File in the media storage.")
    etag = models.CharField(max_length=64, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    item_count = models.PositiveIntegerField(default=0)
    excluded_count = models.PositiveIntegerField(
        default=0, help_text="Items left out because they break the channel's field rules."
    )
    size_bytes = models.PositiveBigIntegerField(default=0)
    seconds = models.FloatField(default=0, help_text="How long the last generation took.")
    dirty = models.BooleanField(default=True, help_text="An item changed since the last file.")

    class Meta:
        ordering = ["channel_id", "format"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "format"], name="feed_unique_format")
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}.{self.format}"


class FeedItem(models.Model):
    """One variant as a feed channel lists it: the attributes in Google's names (the Meta feed
    maps them), and the field rules it breaks (an item with problems is left out of the file)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="feed_items")
    product_id = models.PositiveBigIntegerField(db_index=True)
    variant_id = models.PositiveBigIntegerField()
    fields = models.JSONField(default=dict)
    problems = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel_id", "variant_id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "variant_id"], name="feeditem_unique")
        ]

    def __str__(self) -> str:
        return f"{self.fields.get('id', self.variant_id)} on {self.channel_id}"


class FeedStale(models.Model):
    """A product whose feed items must be recomputed for a feed channel: written by the relay in
    its transaction (so a lost task loses nothing), consumed by ``channels.feeds.feeds_refresh``."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    product_id = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "product_id"], name="feedstale_unique")
        ]

    def __str__(self) -> str:
        return f"product {self.product_id} on {self.channel_id}"


class Listing(models.Model):
    """An object (product or variant) as a channel has it: what we relayed last, what the channel
    acknowledged, and the sync state."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SYNCED = "synced", "Synced"
        FAILED = "failed", "Failed (refused by the channel)"
        DEAD = "dead", "Dead (gave up after retries)"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="listings")
    aggregate = models.CharField(max_length=32)
    aggregate_id = models.CharField(max_length=64)
    last_sequence = models.PositiveBigIntegerField(
        default=0, help_text="Highest sequence relayed to this channel."
    )
    acked_sequence = models.PositiveBigIntegerField(
        default=0, help_text="Highest sequence the channel acknowledged."
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    last_error = models.TextField(blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel_id", "aggregate", "aggregate_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "aggregate", "aggregate_id"], name="listing_unique_object"
            )
        ]
        indexes = [models.Index(fields=["channel", "state"], name="listing_channel_state")]

    def __str__(self) -> str:
        return f"{self.aggregate}:{self.aggregate_id} on {self.channel_id} ({self.state})"


class Delivery(Timestamped):
    """Work for one target: a channel (latest state of one object and stream, coalesced) or a
    partner's webhook subscription (one event)."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (refused, not retried)"
        DEAD = "dead", "Dead (gave up after retries)"
        SUPERSEDED = "superseded", "Superseded by a newer change"

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    subscription = models.ForeignKey(
        WebhookSubscription,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    stream = models.CharField(
        max_length=16, help_text="product, price, stock or event: what coalesces together."
    )
    topic = models.CharField(max_length=64)
    aggregate = models.CharField(max_length=32)
    aggregate_id = models.CharField(max_length=64)
    event_id = models.PositiveBigIntegerField(help_text="The outbox event carried (the latest).")
    sequence = models.PositiveBigIntegerField()
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(channel__isnull=True) ^ models.Q(subscription__isnull=True),
                name="delivery_one_target",
            ),
            models.UniqueConstraint(
                fields=["channel", "stream", "aggregate", "aggregate_id"],
                condition=models.Q(state="pending", channel__isnull=False),
                name="delivery_one_pending_per_object",
            ),
        ]
        indexes = [
            models.Index(
                fields=["channel", "next_attempt_at"],
                condition=models.Q(state="pending"),
                name="delivery_channel_due",
            ),
            models.Index(
                fields=["subscription", "id"],
                condition=models.Q(state="pending"),
                name="delivery_subscription_due",
            ),
            models.Index(fields=["state", "updated_at"], name="delivery_state_updated"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.topic} {self.aggregate}:{self.aggregate_id} ({self.state})"


class DeliveryAttempt(models.Model):
    """One try at delivering: the HTTP status (or the error) and how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    sequence = models.PositiveBigIntegerField()
    message_id = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=12)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"delivery {self.delivery_id}: {self.outcome} ({self.status_code})"


class StoreAcknowledgement(models.Model):
    """How far a store's POS has applied its channel's changes: every change up to and including
    feed position ``acked_event_id`` (``ChangeEvent.position``, the cursor of
    ``GET /api/v1/pos/{channel}/changes/``; the field keeps its name from when the cursor was the
    event id, and the positions of those events equal their ids). The cursor only moves forwards
    (``channels.pos.store_ack_record``)."""

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="store_acknowledgements"
    )
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    acked_event_id = models.PositiveBigIntegerField(
        default=0, help_text="Feed position up to which the store applied every change."
    )
    acked_at = models.DateTimeField(
        default=timezone.now, help_text="When the cursor last moved forwards."
    )
    updated_at = models.DateTimeField(
        auto_now=True, help_text="When the store last acknowledged (even an older cursor)."
    )

    class Meta:
        ordering = ["channel_id", "location_id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "location"], name="store_ack_unique_store")
        ]

    def __str__(self) -> str:
        return f"{self.location_id} on {self.channel_id} at event {self.acked_event_id}"
