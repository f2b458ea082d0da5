"""Serializers of the price write API (``catalog.api.prices_views``)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MAX_BULK_ROWS = 1000
AMOUNT_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
"""An amount as text: at most 10 digits before the point and 2 after, never negative (the
``Price`` columns are ``DECIMAL(12, 2)``, zero or more)."""

_AMOUNT = re.compile(AMOUNT_PATTERN)


@extend_schema_field(
    {
        "type": "string",
        "pattern": AMOUNT_PATTERN,
        "maxLength": 13,
        "example": "19.99",
        "description": "Zero or more, at most 10 digits before the point and 2 after.",
    }
)
class AmountField(serializers.DecimalField):
    """A money amount: decimal text such as ``"19.99"`` (a JSON number is read as its text)."""

    default_error_messages = {
        "invalid": "Enter an amount such as 19.99: zero or more, at most two decimals.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=12, decimal_places=2, min_value=Decimal("0"), **kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid")
        text = data if isinstance(data, str) else str(data)
        if isinstance(data, str) and not _AMOUNT.fullmatch(text):
            self.fail("invalid")
        return super().to_internal_value(text)  # type: ignore[no-any-return]


class _PriceFields(serializers.Serializer):
    amount = AmountField()
    compare_at_amount = AmountField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The 'was' price: above `amount`, or null for none.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        compare_at = attrs.get("compare_at_amount")
        if compare_at is not None and compare_at <= attrs["amount"]:
            raise serializers.ValidationError(
                {
                    "compare_at_amount": serializers.ErrorDetail(
                        "Must be above the amount.", code="not_above_amount"
                    )
                }
            )
        return attrs


class PriceInputSerializer(_PriceFields):
    """``PUT /prices/{channel}/{sku}/``: the variant's base price on the channel."""


class PriceRowInputSerializer(_PriceFields):
    channel = serializers.SlugField(max_length=32)
    sku = serializers.CharField(max_length=64, trim_whitespace=False)


class PriceBulkInputSerializer(serializers.Serializer):
    rows = PriceRowInputSerializer(  # type: ignore[call-arg]
        many=True, allow_empty=False, min_length=1, max_length=MAX_BULK_ROWS
    )


class PriceOverrideOutputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    compare_at_amount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    starts_at = serializers.DateTimeField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)


class PriceOutputSerializer(serializers.Serializer):
    channel = serializers.CharField()
    sku = serializers.CharField()
    currency = serializers.CharField(help_text="ISO 4217, the channel's currency.")
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="The base price; null when the variant has none on the channel yet.",
    )
    compare_at_amount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    overrides = PriceOverrideOutputSerializer(
        many=True,
        help_text="Dated prices (promotions) that win over the base price while they run.",
    )


class PriceBulkOutputSerializer(serializers.Serializer):
    rows = PriceOutputSerializer(many=True)
