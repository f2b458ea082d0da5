"""The sales channel: the model every layer names (prices, content, orders, partners, stock).

It sits in the bottom layer so that catalog, inventory and orders can reference it by import. Which
locations a channel sells from is inventory's business (``inventory.ChannelLocation``); how a
channel is kept in step (listings, deliveries, feeds) is the ``channels`` app's.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from core.countries import country_code_validate
from core.models.mixins import SyncTimestamped

LOCALE_PATTERN = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"  # nl, nl-NL, nl_BE, zh-Hant-TW
LOCALE_MAX_LENGTH = 35
_LOCALE = re.compile(LOCALE_PATTERN)


def locale_language(locale: str) -> str:
    """The language of a locale code, as ``settings.LANGUAGES`` names it: ``nl-NL``, ``nl_nl``,
    `` NL `` and ``nl`` are all ``nl``. The one place locale codes are normalised (channels
    store ``nl-NL``, content columns and ``?locale=`` use the language). Does not say whether
    the language is one the project writes content in (``language_supported``)."""
    return re.split(r"[-_]", locale.strip(), maxsplit=1)[0].lower()


def content_languages() -> list[str]:
    """The languages content is written in (``settings.LANGUAGES``), the default first."""
    return [code for code, _ in settings.LANGUAGES]


def language_supported(language: str) -> bool:
    return language in content_languages()


def channel_locale_validate(value: str) -> None:
    """A channel's locale: a well-formed code (``nl-NL``) whose language content is written in."""
    if not _LOCALE.match(value.strip()) or not language_supported(locale_language(value)):
        raise ValidationError(
            "%(value)s is not a locale of one of the content languages (%(languages)s), "
            "e.g. nl-NL.",
            code="invalid_locale",
            params={"value": value, "languages": ", ".join(content_languages())},
        )


def languages_parse(value: str) -> list[str]:
    """``"nl, fr"`` (commas or spaces; locales such as ``fr-BE`` are taken as their language)
    -> ``["nl", "fr"]``, in order, without repeats."""
    languages: list[str] = []
    for part in re.split(r"[,\s]+", value.strip()):
        if part and locale_language(part) not in languages:
            languages.append(locale_language(part))
    return languages


def languages_validate(value: str) -> None:
    unknown = [lang for lang in languages_parse(value) if not language_supported(lang)]
    if unknown:
        raise ValidationError(
            "Not a content language: %(unknown)s (content is written in %(languages)s).",
            code="invalid_language",
            params={"unknown": ", ".join(unknown), "languages": ", ".join(content_languages())},
        )


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
    locale = models.CharField(
        max_length=10,
        default="en-US",
        validators=[channel_locale_validate],
        help_text="The channel's default locale, e.g. nl-NL: its language is the one a product "
        "is shown in when nothing else is asked (countries may add languages).",
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

    @property
    def language(self) -> str:
        """The default language of the channel's content (``nl`` for ``nl-NL``)."""
        return locale_language(self.locale)

    @property
    def languages(self) -> list[str]:
        """Every language the channel sells in, its default first, then each country's in country
        order (``catalog.locales.channel_languages`` is the read to use; this one walks
        prefetched ``countries`` when there are)."""
        languages = [self.language]
        for country in self.countries.all():
            languages.extend(lang for lang in country.language_list if lang not in languages)
        return languages


class ChannelCountry(models.Model):
    """A country a channel sells to. The first (lowest position) is the channel's default country.
    The single definition of "where a channel sells": tax destinations and per-country feeds
    read it (``core.selectors.channel_countries``)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="countries")
    country = models.CharField(
        max_length=2, validators=[country_code_validate], help_text="ISO 3166-1 alpha-2, e.g. NL."
    )
    position = models.PositiveIntegerField(default=0, help_text="The first is the default.")
    languages = models.CharField(
        max_length=50,
        blank=True,
        default="",
        db_default="",
        validators=[languages_validate],
        help_text="Languages the channel sells in here, the country's default first, e.g. "
        "'nl, fr' for BE. Empty: the channel's own language.",
    )

    class Meta:
        ordering = ["channel_id", "position", "id"]
        verbose_name_plural = "channel countries"
        constraints = [
            models.UniqueConstraint(fields=["channel", "country"], name="channel_country_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}: {self.country}"

    @property
    def language_list(self) -> list[str]:
        """The languages named here (``languages`` parsed), possibly none."""
        return languages_parse(self.languages)
