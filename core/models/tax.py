"""Tax classes and the rates each country charges for them (EU VAT style).

A product type names a tax class (``catalog.ProductType.tax_class``); where the goods go names the
country; the pair names one rate. The computation is ``core.tax``; the seeded classes and rates,
and how a country with fewer rates maps the classes it has no rate for, are in ``docs/orders.md``
("Tax").
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from core.countries import country_code_validate
from core.models.mixins import Timestamped
from core.tax import TAX_CLASS_STANDARD


class TaxClass(Timestamped):
    """What kind of goods, for tax: standard, reduced, zero, ... Rates are per country."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "tax classes"

    def __str__(self) -> str:
        return self.name


def tax_class_standard_id() -> int:
    """The default of ``ProductType.tax_class``: the ``standard`` class, created when missing (a
    test database flushed after the seeding migration has none). Reads the id column only, so the
    catalog migration that adds the field can call it whatever columns the class gains later."""
    pk = TaxClass.objects.filter(code=TAX_CLASS_STANDARD).values_list("pk", flat=True).first()
    if pk is None:
        pk = TaxClass.objects.create(code=TAX_CLASS_STANDARD, name="Standard rate").pk
    return pk


class TaxRate(Timestamped):
    """The rate a country charges for a tax class, under the country's own name for it."""

    country = models.CharField(
        max_length=2,
        validators=[country_code_validate],
        help_text="ISO 3166-1 alpha-2, e.g. NL.",
    )
    tax_class = models.ForeignKey(TaxClass, on_delete=models.PROTECT, related_name="rates")
    name = models.CharField(
        max_length=40, help_text='The country\'s name for the rate, e.g. "standard", "reduced".'
    )
    rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
        help_text="Percent, from 0 to 100: 21 for 21 %.",
    )

    class Meta:
        ordering = ["country", "-rate", "tax_class__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["country", "tax_class"], name="tax_rate_country_class_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(rate__gte=0) & models.Q(rate__lte=100),
                name="tax_rate_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.name} {self.rate} % ({self.tax_class.code})"
