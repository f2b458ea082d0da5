from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.api.schema import NOT_BLANK_PATTERN
from inventory.models import Location, StockMovement
from inventory.services import MANUAL_MOVEMENT_KINDS


class StockOutputSerializer(serializers.Serializer):
    """One variant's stock counters at one location (the resource ``If-Match`` compares)."""

    location = serializers.CharField()
    sku = serializers.CharField()
    on_hand = serializers.IntegerField()
    committed = serializers.IntegerField()
    safety_stock = serializers.IntegerField()
    incoming = serializers.IntegerField()
    damaged = serializers.IntegerField()


class StockCountInputSerializer(serializers.Serializer):
    on_hand = serializers.IntegerField(min_value=0, max_value=10_000_000)
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    reference = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    reference_type = serializers.ChoiceField(
        choices=StockMovement.ReferenceType.choices, required=False, default=""
    )


class MovementInputSerializer(serializers.Serializer):
    location = serializers.SlugField(max_length=32)
    sku = serializers.CharField(max_length=64)
    kind = serializers.ChoiceField(choices=sorted(MANUAL_MOVEMENT_KINDS))
    quantity = serializers.IntegerField(min_value=-10_000_000, max_value=10_000_000)
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    reference = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    reference_type = serializers.ChoiceField(
        choices=StockMovement.ReferenceType.choices, required=False, default=""
    )
    idempotency_key = serializers.CharField(
        max_length=255, required=False, allow_null=True, default=None
    )

    # What ``validate`` enforces, in the schema: an adjustment is signed, non-zero and gives a
    # reason; every other kind moves a positive quantity.
    openapi_request_rules = {
        "anyOf": [
            {
                "properties": {
                    "kind": {"enum": ["adjustment"]},
                    "quantity": {"not": {"enum": [0]}},
                    "reason": {"pattern": NOT_BLANK_PATTERN},
                },
                "required": ["reason"],
            },
            {
                "properties": {
                    "kind": {"enum": sorted(MANUAL_MOVEMENT_KINDS - {"adjustment"})},
                    "quantity": {"minimum": 1},
                }
            },
        ]
    }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] == "adjustment":
            if attrs["quantity"] == 0:
                raise serializers.ValidationError({"quantity": "An adjustment cannot be 0."})
            if not attrs["reason"].strip():
                raise serializers.ValidationError({"reason": "An adjustment needs a reason."})
        elif attrs["quantity"] <= 0:
            raise serializers.ValidationError({"quantity": "Must be positive for this kind."})
        return attrs


class MovementBatchInputSerializer(serializers.Serializer):
    movements = MovementInputSerializer(many=True, allow_empty=False, min_length=1)  # type: ignore[call-arg]

    def validate_movements(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > 500:
            raise serializers.ValidationError("At most 500 movements per request.")
        return value


class MovementOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    location = serializers.CharField()
    sku = serializers.CharField()
    kind = serializers.CharField()
    on_hand_delta = serializers.IntegerField()
    damaged_delta = serializers.IntegerField()
    reason = serializers.CharField()
    reference = serializers.CharField()
    reference_type = serializers.CharField()
    idempotency_key = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class MovementBatchOutputSerializer(serializers.Serializer):
    movements = MovementOutputSerializer(many=True)


class LocationOutputSerializer(serializers.ModelSerializer):
    distance_km = serializers.SerializerMethodField()

    class Meta:
        model = Location
        fields = [
            "code",
            "name",
            "kind",
            "street",
            "postal_code",
            "city",
            "country",
            "latitude",
            "longitude",
            "phone",
            "opening_hours",
            "offers_pickup",
            "ships_orders",
            "pickup_preparation_minutes",
            "distance_km",
            "updated_at",
        ]

    def get_distance_km(self, obj: Location) -> float | None:
        distance = self.context.get("distances", {}).get(obj.pk)
        return round(distance, 2) if distance is not None else None


class HoldLineSerializer(serializers.Serializer):
    location = serializers.SlugField(max_length=32)
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class HoldInputSerializer(serializers.Serializer):
    reference = serializers.RegexField(
        r"^[A-Za-z0-9._:-]{1,100}$",
        help_text="Your id for this hold (e.g. the cart token); releases name it.",
    )
    ttl_seconds = serializers.IntegerField(min_value=60, max_value=86_400, default=900)
    lines = HoldLineSerializer(many=True, allow_empty=False, min_length=1)  # type: ignore[call-arg]

    def validate_lines(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > 100:
            raise serializers.ValidationError("At most 100 lines per hold.")
        return value


class HoldOutputSerializer(serializers.Serializer):
    reference = serializers.CharField()
    expires_at = serializers.DateTimeField()
    lines = HoldLineSerializer(many=True)


class HoldReleaseOutputSerializer(serializers.Serializer):
    reference = serializers.CharField()
    released = serializers.IntegerField(help_text="Units given back to sale.")
