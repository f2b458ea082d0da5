"""What a channel's shoppers see: approved content, channel price and channel availability."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from rest_framework import serializers

from core.models import Channel


class MoneySerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    compare_at_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, source="compare_at"
    )
    currency = serializers.CharField()


class ImageSerializer(serializers.Serializer):
    url = serializers.SerializerMethodField()
    alt_text = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    variant_id = serializers.IntegerField(allow_null=True)
    renditions = serializers.SerializerMethodField()

    def _url(self, path: str) -> str:
        request = self.context.get("request")
        url = default_storage.url(path)
        return request.build_absolute_uri(url) if request is not None else url

    def get_url(self, image: dict[str, Any]) -> str:
        return self._url(image["path"])

    def get_renditions(self, image: dict[str, Any]) -> dict[str, str]:
        return {name: self._url(path) for name, path in (image.get("renditions") or {}).items()}


class CategoryRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    full_name = serializers.CharField()
    google_id = serializers.IntegerField(allow_null=True)


class ChannelVariantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    gtin = serializers.CharField()
    title = serializers.CharField()
    options = serializers.DictField(child=serializers.CharField())
    attributes = serializers.DictField(child=serializers.CharField())
    weight_grams = serializers.IntegerField(allow_null=True)
    price = MoneySerializer(allow_null=True)
    available = serializers.SerializerMethodField()

    def get_available(self, variant: Any) -> int:
        return int(self.context.get("available", {}).get(variant.sku, 0))


class ChannelProductSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    handle = serializers.CharField()
    channel = serializers.CharField(source="channel_code")
    title = serializers.CharField()
    description = serializers.CharField()
    brand = serializers.CharField()
    category = CategoryRefSerializer(allow_null=True)
    attributes = serializers.DictField(child=serializers.CharField())
    images = ImageSerializer(many=True, source="media")
    variants = ChannelVariantSerializer(many=True)
    version = serializers.DateTimeField(
        allow_null=True, help_text="When this content was approved."
    )
    published_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(
        allow_null=True, help_text="Last change this channel can see (content, price, listing)."
    )


class VariantResultSerializer(ChannelVariantSerializer):
    product_id = serializers.IntegerField()
    product_title = serializers.CharField()


class VariantLookupSerializer(serializers.Serializer):
    channel = serializers.CharField()
    results = VariantResultSerializer(many=True)
    unknown_skus = serializers.ListField(child=serializers.CharField())


class ChannelOutputSerializer(serializers.ModelSerializer):
    locations = serializers.SerializerMethodField()

    class Meta:
        model = Channel
        fields = [
            "code",
            "name",
            "kind",
            "currency",
            "locale",
            "is_active",
            "locations",
            "updated_at",
        ]

    def get_locations(self, channel: Channel) -> list[str]:
        return [location.code for location in channel.locations.all()]


class LocationAvailabilitySerializer(serializers.Serializer):
    code = serializers.CharField(source="location.code")
    name = serializers.CharField(source="location.name")
    kind = serializers.CharField(source="location.kind")
    available = serializers.IntegerField()
    pickup_available = serializers.BooleanField()
    distance_km = serializers.FloatField(allow_null=True)


class SkuAvailabilitySerializer(serializers.Serializer):
    sku = serializers.CharField()
    available = serializers.IntegerField(help_text="What the channel may promise (buffer applied).")
    locations = LocationAvailabilitySerializer(many=True)


class AvailabilityResponseSerializer(serializers.Serializer):
    channel = serializers.CharField()
    results = SkuAvailabilitySerializer(many=True)
    unknown_skus = serializers.ListField(child=serializers.CharField())
