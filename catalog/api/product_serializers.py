"""Serializers of the product and variant write API (``catalog.api.product_views``).

The input serializers check only the shape of a request (types, lengths, patterns); what the admin
checks (attributes of the product type, option values the axes know, GTIN check digits, unique
handles and SKUs, categories and product types that exist) is checked by the catalog services the
views call, so the API and the admin refuse exactly the same things.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.api.price_serializers import AmountField
from catalog.models import Product, SkuValidator, Variant

MAX_ID = 2**63 - 1
MAX_COUNT = 2**31 - 1
GTIN_PATTERN = r"^([0-9]{8}|[0-9]{12,14})?$"


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "example": {"material": "Cotton", "sleeve_length": {"value": "61.5", "unit": "cm"}},
        "description": "Attribute values by attribute code, as the product type defines them: "
        "text, a number (or `{value, unit}`), yes/no, a date (YYYY-MM-DD), an option code, or "
        "a list of option codes. Empty values are dropped.",
    }
)
class AttributeValuesField(serializers.DictField):
    """Attribute values; the product type decides what each may be (``catalog.attributes``)."""


class KnownFieldsSerializer(serializers.Serializer):
    """Refuses members the request does not take, each with ``unknown_field``: a misspelt field
    (``nme``) or one that cannot be written (``status``, a variant's ``sku`` on ``PATCH``) would
    otherwise be dropped in silence and the caller told ``200``. The schema says so too
    (``additionalProperties: false``)."""

    openapi_request_rules: ClassVar[dict[str, Any]] = {"additionalProperties": False}
    unknown_field_messages: ClassVar[dict[str, str]] = {}

    def to_internal_value(self, data: Any) -> Any:
        writable = {name for name, field in self.fields.items() if not field.read_only}
        unknown = sorted(set(data) - writable) if isinstance(data, Mapping) else []
        errors: dict[str, Any] = {}
        value: Any = None
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as refused:
            if not isinstance(refused.detail, dict):
                raise
            errors.update(refused.detail)
        takes = ", ".join(sorted(writable))
        for name in unknown:
            message = self.unknown_field_messages.get(name, f"Not a field here; it takes {takes}.")
            errors[str(name)] = [serializers.ErrorDetail(message, code="unknown_field")]
        if errors:
            raise serializers.ValidationError(errors)
        return value


class ProductInputSerializer(KnownFieldsSerializer):
    """A product: ``POST`` needs ``handle`` and ``name``; ``PATCH`` takes any of the fields."""

    handle = serializers.SlugField(
        max_length=200, help_text="Unique, URL-safe: letters, digits, `-` and `_`."
    )
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True)
    brand = serializers.CharField(max_length=100, required=False, allow_blank=True)
    category = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="A category id (`GET /api/v1/categories/`), or null for none.",
    )
    product_type = serializers.SlugField(
        max_length=64,
        required=False,
        allow_null=True,
        help_text="A product type code, or null for none; it decides the attributes and the "
        "variant axes.",
    )
    attributes = AttributeValuesField(
        required=False,
        help_text="Product-level attribute values; replaces the product's whole set.",
    )


class VariantInputSerializer(KnownFieldsSerializer):
    """A variant: ``POST`` needs ``sku``; ``PATCH`` takes any field but ``sku``."""

    sku = serializers.CharField(
        max_length=64,
        validators=[SkuValidator()],
        help_text="Unique across the catalog. It is part of URLs: no `/` or control "
        "characters, and not `.` or `..`.",
    )
    gtin = serializers.RegexField(
        GTIN_PATTERN,
        max_length=14,
        required=False,
        allow_blank=True,
        help_text="GTIN-8, -12, -13 or -14 with a correct check digit (`invalid_gtin`), or "
        "empty for none.",
    )
    options = serializers.DictField(
        child=serializers.CharField(max_length=100, allow_blank=True),
        required=False,
        help_text='Option values by variant axis, e.g. `{"size": "m", "color": "navy"}` '
        "(option codes of the product type's axes); unique within the product.",
    )
    attributes = AttributeValuesField(
        required=False, help_text="Variant-level attribute values that are not axes."
    )
    weight_grams = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=MAX_COUNT
    )
    position = serializers.IntegerField(required=False, min_value=0, max_value=MAX_COUNT)
    cost_price = AmountField(
        required=False,
        allow_null=True,
        help_text="What one unit costs you, in the base currency (`cost_currency`); null when "
        "unknown. Never shown to customers: changing it alone needs no review.",
    )


class VariantPatchSerializer(VariantInputSerializer):
    """``PATCH /catalog/variants/{sku}/``: the SKU is the address, not a field."""

    sku = None  # type: ignore[assignment]
    unknown_field_messages: ClassVar[dict[str, str]] = {
        "sku": "The SKU is the variant's address and cannot be changed here.",
    }


class CatalogVariantOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    gtin = serializers.CharField()
    options = serializers.DictField(child=serializers.CharField())
    attributes = serializers.DictField()
    weight_grams = serializers.IntegerField(allow_null=True)
    position = serializers.IntegerField()
    cost_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    cost_currency = serializers.SerializerMethodField(
        help_text="ISO 4217: the base currency that cost prices are in."
    )
    updated_at = serializers.DateTimeField()

    def get_cost_currency(self, variant: Variant) -> str:
        return str(settings.BASE_CURRENCY)


class CatalogVariantDetailSerializer(CatalogVariantOutputSerializer):
    product = serializers.CharField(source="product.handle", help_text="The product's handle.")


class CatalogProductOutputSerializer(serializers.Serializer):
    """A product as it is being edited: its current content, which the channels see only once
    it is approved (``status``; ``approved_at`` is the version they show)."""

    id = serializers.IntegerField()
    handle = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    brand = serializers.CharField()
    category = serializers.IntegerField(source="category_id", allow_null=True)
    product_type = serializers.CharField(source="product_type.code", allow_null=True)
    attributes = serializers.DictField()
    status = serializers.ChoiceField(choices=Product.Status.choices)
    approved_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    variants = CatalogVariantOutputSerializer(many=True)
