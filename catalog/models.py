"""Product information: categories (and, with the catalog issue, products, variants, media)."""

from __future__ import annotations

from django.db import models
from treebeard.mp_tree import MP_Node


class Category(MP_Node):
    """A node of the category tree, usually imported from the Google product taxonomy.

    ``google_id`` is kept so that feeds can send ``google_product_category`` as Google's own id.
    """

    name = models.CharField(max_length=200)
    full_name = models.CharField(
        max_length=1000, help_text="The whole path, e.g. 'Apparel & Accessories > Clothing'."
    )
    google_id = models.PositiveIntegerField(unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    node_order_by = ["name"]

    class Meta:
        verbose_name_plural = "categories"
        indexes = [models.Index(fields=["full_name"]), models.Index(fields=["updated_at"])]

    def __str__(self) -> str:
        return self.full_name


def gtin_is_valid(value: str) -> bool:
    """GTIN-8/12/13/14 with a correct GS1 check digit."""
    if not value.isdigit() or len(value) not in (8, 12, 13, 14):
        return False
    digits = [int(char) for char in value]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def validate_gtin(value: str) -> None:
    from django.core.exceptions import ValidationError

    if not gtin_is_valid(value):
        raise ValidationError(
            "Enter a GTIN-8, -12, -13 or -14 with a correct check digit.", code="invalid_gtin"
        )


class Product(models.Model):
    """A style: what a shopper thinks of as one product, sold in one or more variants."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        ARCHIVED = "archived", "Archived"

    handle = models.SlugField(max_length=200, unique=True)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    brand = models.CharField(max_length=100, blank=True, db_index=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="products", null=True, blank=True
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    """A SKU: one purchasable option combination of a product (e.g. size 10, colour navy)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    gtin = models.CharField(
        max_length=14,
        blank=True,
        validators=[validate_gtin],
        db_index=True,
        help_text="Barcode: GTIN-8/12/13/14 with a valid check digit.",
    )
    options = models.JSONField(
        default=dict, blank=True, help_text='Option values, e.g. {"size": "10", "color": "Navy"}.'
    )
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["product_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "options"], name="variant_options_unique_per_product"
            ),
        ]

    def __str__(self) -> str:
        return self.sku
