"""Store POS: the changes a till applies, and its acknowledgements."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from channels.pos import MAX_BIGINT


class PosObjectSerializer(serializers.Serializer[Any]):
    type = serializers.CharField(source="object_type", help_text="`product` or `variant`.")
    id = serializers.CharField(source="object_id")


class PosChangeSerializer(serializers.Serializer[Any]):
    event_id = serializers.IntegerField(
        help_text="This change's feed position: the cursor up to and including it (increasing "
        "in commit order; not the webhook event id)."
    )
    type = serializers.CharField(
        help_text="`price.changed`, `product.updated`, `product.deleted` or `stock.changed`."
    )
    stream = serializers.CharField(
        help_text="`price`, `product` or `stock`: apply a change only when its `sequence` is "
        "above the last one you applied for the same object and stream."
    )
    object = PosObjectSerializer(source="*")
    sequence = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    data = serializers.DictField(  # type: ignore[assignment]
        help_text="Absolute values. Stock: `variant_id`, `sku`, `location`, `available` at "
        "this store. Price: `product_id` and `prices` per SKU (`amount`, `compare_at_amount`, "
        "`currency`, and the running promotion's `sale_amount`, `sale_starts_at`, "
        "`sale_ends_at`, null when not on sale). Product: the approved snapshot."
    )


class PosChangesSerializer(serializers.Serializer[Any]):
    channel = serializers.CharField()
    location = serializers.CharField()
    after = serializers.IntegerField(help_text="The cursor this page starts after.")
    changes = PosChangeSerializer(many=True)
    next_cursor = serializers.IntegerField(
        help_text="Ask with `after=next_cursor` next; acknowledge it once applied."
    )
    has_more = serializers.BooleanField()
    acked_cursor = serializers.IntegerField(
        allow_null=True, help_text="What this store acknowledged last (null: never)."
    )


class PosAckInputSerializer(serializers.Serializer[Any]):
    location = serializers.CharField(max_length=32, help_text="The store's location code.")
    cursor = serializers.IntegerField(
        min_value=0,
        max_value=MAX_BIGINT,
        help_text="Every change up to and including this position (`event_id`, `next_cursor`) "
        "is applied.",
    )


class PosAckOutputSerializer(serializers.Serializer[Any]):
    channel = serializers.CharField(source="acknowledgement.channel.code")
    location = serializers.CharField(source="acknowledgement.location.code")
    cursor = serializers.IntegerField(
        source="acknowledgement.acked_event_id", help_text="The store's cursor now."
    )
    acked_at = serializers.DateTimeField(
        source="acknowledgement.acked_at", help_text="When the cursor last moved."
    )
    moved = serializers.BooleanField(
        help_text="False when the cursor sent was not beyond the recorded one (nothing changed)."
    )
    detail = serializers.CharField()
