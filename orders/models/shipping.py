"""Shipping methods, the zones they serve, their rate tiers, and the days nobody ships or delivers
(see docs/orders.md, "Shipping and delivery promises"). The computations live in
``orders.shipping``; these are plain rows.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

COUNTRY_PATTERN = r"^[A-Z]{2}$"
POSTCODE_PATTERN = r"^[A-Z0-9]{1,10}$"
"""A normalised postcode: upper case letters and digits, no space or hyphen ("1011AB")."""

validate_country = RegexValidator(COUNTRY_PATTERN, "An ISO 3166-1 alpha-2 code in capitals.")


def postcode_normalise(raw: str) -> str:
    """``"1011 ab"`` -> ``"1011AB"``: capitals, without spaces and hyphens. Ranges and addresses
    are compared in this form (``orders.shipping``)."""
    return re.sub(r"[\s-]", "", raw).upper()


class ShippingMethod(models.Model):
    """A carrier service sold on some channels, priced by weight or by order value."""

    class RateBasis(models.TextChoices):
        WEIGHT = "weight", "Weight (grams)"
        ORDER_VALUE = "order_value", "Order value"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100, help_text="What the shopper sees.")
    carrier = models.CharField(max_length=60, help_text="Carrier name, e.g. PostNL.")
    service = models.CharField(max_length=60, help_text="The carrier's service, e.g. Standard.")
    channels = models.ManyToManyField(
        "core.Channel", related_name="+", blank=True, help_text="Channels that offer it."
    )
    currency = models.CharField(max_length=3, help_text="ISO 4217 of the rates, e.g. EUR.")
    rate_basis = models.CharField(max_length=12, choices=RateBasis.choices)
    free_over = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Goods value from which shipping is free (inclusive); empty: never free.",
    )
    transit_days = models.PositiveSmallIntegerField(
        default=1, help_text="Business days from dispatch to delivery (0: delivered the same day)."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(free_over__isnull=True) | models.Q(free_over__gte=0),
                name="orders_shippingmethod_free_over_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class ShippingZone(models.Model):
    """Where a method delivers: a country, optionally narrowed to a postcode range.

    A zone without ``postcode_from``/``postcode_to`` serves the whole country. With a range, a
    normalised postcode P is inside when ``postcode_from <= P[:len(postcode_from)]`` and
    ``P[:len(postcode_to)] <= postcode_to`` (plain string order on the normalised forms): a bound
    shorter than the postcode compares with its prefix, so NL ``1000``-``1099`` covers ``1011AB``
    and ``1099ZZ``. Either bound may be left empty (open). A method serves an address when any of
    its zones does."""

    method = models.ForeignKey(ShippingMethod, on_delete=models.CASCADE, related_name="zones")
    country = models.CharField(max_length=2, validators=[validate_country])
    postcode_from = models.CharField(
        max_length=10, blank=True, help_text="Normalised (1011AB); empty: from the lowest."
    )
    postcode_to = models.CharField(
        max_length=10, blank=True, help_text="Normalised (1099ZZ); empty: to the highest."
    )

    class Meta:
        ordering = ["country", "postcode_from", "id"]

    def __str__(self) -> str:
        if self.postcode_from or self.postcode_to:
            return f"{self.country} {self.postcode_from or '…'}-{self.postcode_to or '…'}"
        return self.country

    def save(self, *args: object, **kwargs: object) -> None:
        self.country = self.country.upper()
        self.postcode_from = postcode_normalise(self.postcode_from)
        self.postcode_to = postcode_normalise(self.postcode_to)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self) -> None:
        self.country = (self.country or "").upper()
        self.postcode_from = postcode_normalise(self.postcode_from or "")
        self.postcode_to = postcode_normalise(self.postcode_to or "")
        errors = {}
        for name in ("postcode_from", "postcode_to"):
            value = getattr(self, name)
            if value and not re.fullmatch(POSTCODE_PATTERN, value):
                errors[name] = "Letters and digits only, at most 10."
        if (
            not errors
            and self.postcode_from
            and self.postcode_to
            and self.postcode_from[: len(self.postcode_to)] > self.postcode_to
        ):
            errors["postcode_to"] = "The range ends before it starts."
        if errors:
            raise ValidationError(errors)


class ShippingRate(models.Model):
    """One price tier. A weight-based method reads ``up_to_weight_grams``, a value-based one
    ``up_to_value`` (both inclusive); the smallest tier that covers the parcel applies, and a tier
    with an empty bound covers everything above the others. Nothing covers it: the method cannot
    carry the parcel."""

    method = models.ForeignKey(ShippingMethod, on_delete=models.CASCADE, related_name="rates")
    up_to_weight_grams = models.PositiveIntegerField(
        null=True, blank=True, help_text="Weight-based methods: up to and including; empty: any."
    )
    up_to_value = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Value-based methods: goods value up to and including; empty: any.",
    )
    price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["method", "up_to_weight_grams", "up_to_value", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="orders_shippingrate_price_positive"
            ),
        ]

    def __str__(self) -> str:
        bound = self.up_to_weight_grams if self.up_to_weight_grams is not None else self.up_to_value
        return f"up to {bound if bound is not None else 'any'}: {self.price}"


class NonWorkingDay(models.Model):
    """A day a country's carriers do not deliver and its warehouses do not ship (a public
    holiday). Weekends need no rows (``orders.shipping.WEEKEND``)."""

    country = models.CharField(max_length=2, validators=[validate_country])
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["country", "date"]
        constraints = [
            models.UniqueConstraint(fields=["country", "date"], name="orders_nonworkingday_once"),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.date}: {self.name}"
