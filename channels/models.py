"""Sales channels and partners' webhook subscriptions.

Listings, the change-event outbox and the delivery pipeline arrive with the channels issue.
"""

from __future__ import annotations

import secrets

from django.db import models


class Channel(models.Model):
    """A place where we sell: webshop, app, marketplace, social shop, store POS or a feed."""

    class Kind(models.TextChoices):
        WEBSHOP = "webshop", "Webshop"
        APP = "app", "App"
        MARKETPLACE = "marketplace", "Marketplace"
        SOCIAL = "social", "Social shop"
        POS = "pos", "Store POS"
        GOOGLE_FEED = "google_feed", "Google Merchant feed"
        META_FEED = "meta_feed", "Meta catalog feed"
        PARTNER_WEBHOOK = "partner_webhook", "Partner webhook"

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    currency = models.CharField(max_length=3, help_text="ISO 4217, e.g. EUR.")
    locale = models.CharField(max_length=10, default="en-US")
    locations = models.ManyToManyField(
        "inventory.Location",
        related_name="channels",
        blank=True,
        help_text="The locations whose stock this channel sells.",
    )

    class BufferKind(models.TextChoices):
        NONE = "none", "No buffer"
        ABSOLUTE = "absolute", "Hold back a number of units"
        PERCENT = "percent", "Hold back a percentage"

    stock_buffer_kind = models.CharField(
        max_length=10, choices=BufferKind.choices, default=BufferKind.NONE
    )
    stock_buffer_value = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        default=0,
        help_text="Units held back (absolute), or the share held back (percent: 20 shows 80 %).",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stock_buffer_value__gte=0)
                & (~models.Q(stock_buffer_kind="percent") | models.Q(stock_buffer_value__lte=100)),
                name="channel_stock_buffer_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


def webhook_secret_generate() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookSubscription(models.Model):
    """A partner's request to be told about events, delivered signed to ``url``."""

    partner = models.ForeignKey(
        "api.Partner", on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    url = models.URLField(max_length=500)
    events = models.JSONField(help_text="Event types, e.g. ['order.created', 'stock.changed'].")
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=100, default=webhook_secret_generate, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.partner} -> {self.url}"
