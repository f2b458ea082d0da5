"""The sales channel: the model every layer names (prices, content, orders, partners, stock).

It sits in the bottom layer so that catalog, inventory and orders can reference it by import. Which
locations a channel sells from is inventory's business (``inventory.ChannelLocation``); how a
channel is kept in step (listings, deliveries, feeds) is the ``channels`` app's.
"""

from __future__ import annotations

from django.db import models

from core.countries import country_code_validate
from core.models.mixins import SyncTimestamped


class Channel(SyncTimestamped):
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
    endpoint_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="JSON push endpoint (webshop, app, marketplace, partner). Empty: nothing pushed.",
    )
    signing_secret = models.CharField(
        max_length=100,
        blank=True,
        help_text="Standard Webhooks secret (whsec_...) used to sign pushes; shown masked.",
    )
    signing_secret_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="Name of an environment variable holding the secret instead (wins when set).",
    )
    rate_limit_per_second = models.PositiveIntegerField(
        default=10, help_text="Requests per second at most (token bucket shared by the workers)."
    )
    batch_size = models.PositiveIntegerField(
        default=100, help_text="Changes sent in one request at most."
    )
    product_url_template = models.CharField(
        max_length=500,
        blank=True,
        help_text=(
            "Where a product is sold on this channel, for feeds' link attribute, e.g. "
            "https://shop.example.com/products/{handle}?variant={variant_id}. Placeholders: "
            "{handle}, {sku}, {variant_id}, {product_id}."
        ),
    )
    is_active = models.BooleanField(default=True)
    prices_include_tax = models.BooleanField(
        default=True,
        db_default=True,
        help_text="Prices on this channel include tax (EU consumer prices); off: tax is added.",
    )

    class Meta:
        db_table = "channels_channel"
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

    @property
    def default_country(self) -> str | None:
        """The first of the countries the channel sells to (its tax and feed default), or None
        when it names none. Uses prefetched ``countries`` when there are."""
        countries = list(self.countries.all())  # ordered by position
        return countries[0].country if countries else None


class ChannelCountry(models.Model):
    """A country a channel sells to. The first (lowest position) is the channel's default country.
    The single definition of "where a channel sells": tax destinations and per-country feeds
    read it (``core.selectors.channel_countries``)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="countries")
    country = models.CharField(
        max_length=2, validators=[country_code_validate], help_text="ISO 3166-1 alpha-2, e.g. NL."
    )
    position = models.PositiveIntegerField(default=0, help_text="The first is the default.")

    class Meta:
        ordering = ["channel_id", "position", "id"]
        verbose_name_plural = "channel countries"
        constraints = [
            models.UniqueConstraint(fields=["channel", "country"], name="channel_country_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}: {self.country}"
