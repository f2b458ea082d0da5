"""What a channel's shoppers see: approved content, channel price and channel availability."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.models import Channel


class MoneySerializer(serializers.Serializer):
    """One unit's price on the channel (``orders.pricing.display_prices``)."""

    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="The channel's price: its base price, or a running dated price override.",
    )
    compare_at_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, source="compare_at"
    )
    currency = serializers.CharField()
    sale_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        default=None,
        help_text="What a running product-level promotion (percent or amount off, no coupon, "
        "anyone) lowers `amount` to; null when none runs. What one unit costs now is "
        "`sale_amount` when set, else `amount`.",
    )
    sale_starts_at = serializers.DateTimeField(
        allow_null=True, default=None, help_text="When the sale began; null: no start set."
    )
    sale_ends_at = serializers.DateTimeField(
        allow_null=True, default=None, help_text="When the sale ends; null: open-ended."
    )
    includes_tax = serializers.BooleanField(
        default=True,
        help_text="The channel's prices include tax (VAT); false: tax is added at checkout "
        "at the delivery country's rate.",
    )


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


class _MediaFileUrls(serializers.Serializer):
    def _url(self, path: str | None) -> str | None:
        if not path:
            return None
        request = self.context.get("request")
        url = default_storage.url(path)
        return request.build_absolute_uri(url) if request is not None else url


class SpinFrameSerializer(_MediaFileUrls):
    url = serializers.SerializerMethodField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    renditions = serializers.SerializerMethodField()

    def get_url(self, frame: dict[str, Any]) -> str | None:
        return self._url(frame.get("path"))

    def get_renditions(self, frame: dict[str, Any]) -> dict[str, str]:
        return {
            name: str(self._url(path)) for name, path in (frame.get("renditions") or {}).items()
        }


class VideoInfoSerializer(serializers.Serializer):
    provider = serializers.CharField(
        help_text="Where a video URL plays (`youtube`, `vimeo`, or the host); empty for an "
        "uploaded file."
    )
    embed_url = serializers.CharField(
        help_text="The player URL to put in an iframe (YouTube, Vimeo); empty otherwise."
    )
    content_type = serializers.CharField(help_text="`video/mp4` or `video/webm` for a file.")
    size_bytes = serializers.IntegerField(allow_null=True)


class SpinInfoSerializer(serializers.Serializer):
    frame_count = serializers.IntegerField()
    frames = SpinFrameSerializer(many=True, help_text="In turning order.")


class DocumentInfoSerializer(serializers.Serializer):
    content_type = serializers.CharField(help_text="`application/pdf`.")
    page_count = serializers.IntegerField(allow_null=True)
    size_bytes = serializers.IntegerField(allow_null=True)


class MediaSerializer(_MediaFileUrls):
    """One media of any kind, in display order. ``url`` is what to link to: the image, the
    video (its file, or its page on the provider), the PDF, or a 360° view's first frame; the
    object named like the kind carries the rest and is null for the other kinds."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["image", "video", "spin", "document"])
    url = serializers.SerializerMethodField()
    alt_text = serializers.CharField(help_text="Alt text of a picture; title of a document.")
    variant_id = serializers.IntegerField(allow_null=True)
    width = serializers.SerializerMethodField()
    height = serializers.SerializerMethodField()
    renditions = serializers.SerializerMethodField()
    video = serializers.SerializerMethodField()
    spin = serializers.SerializerMethodField()
    document = serializers.SerializerMethodField()

    def _picture(self, item: dict[str, Any]) -> dict[str, Any]:
        if item.get("kind", "image") == "spin":
            return (item.get("frames") or [{}])[0]
        return item

    def get_url(self, item: dict[str, Any]) -> str | None:
        if item.get("kind") == "video" and not item.get("path"):
            return str(item.get("url") or "") or None
        return self._url(self._picture(item).get("path"))

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_width(self, item: dict[str, Any]) -> int | None:
        return self._picture(item).get("width")

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_height(self, item: dict[str, Any]) -> int | None:
        return self._picture(item).get("height")

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_renditions(self, item: dict[str, Any]) -> dict[str, str]:
        renditions = self._picture(item).get("renditions") or {}
        return {name: str(self._url(path)) for name, path in renditions.items()}

    @extend_schema_field(VideoInfoSerializer(allow_null=True))
    def get_video(self, item: dict[str, Any]) -> dict[str, Any] | None:
        if item.get("kind") != "video":
            return None
        return {
            "provider": item.get("provider") or "",
            "embed_url": item.get("embed_url") or "",
            "content_type": item.get("content_type") or "",
            "size_bytes": item.get("size_bytes"),
        }

    @extend_schema_field(SpinInfoSerializer(allow_null=True))
    def get_spin(self, item: dict[str, Any]) -> dict[str, Any] | None:
        if item.get("kind") != "spin":
            return None
        frames = item.get("frames") or []
        return {
            "frame_count": len(frames),
            "frames": SpinFrameSerializer(frames, many=True, context=self.context).data,
        }

    @extend_schema_field(DocumentInfoSerializer(allow_null=True))
    def get_document(self, item: dict[str, Any]) -> dict[str, Any] | None:
        if item.get("kind") != "document":
            return None
        return {
            "content_type": item.get("content_type") or "",
            "page_count": item.get("page_count"),
            "size_bytes": item.get("size_bytes"),
        }


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
    media = MediaSerializer(
        many=True,
        source="media_all",
        help_text="Every media in display order: images, videos, 360° views and PDF documents "
        "(`images` lists the images alone, as before).",
    )
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


class DeliveryPromiseSerializer(serializers.Serializer):
    """One shipping method's price and dates for one unit (``orders.shipping``)."""

    method = serializers.CharField(help_text="Shipping method code.")
    name = serializers.CharField()
    carrier = serializers.CharField()
    service = serializers.CharField()
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Shipping for one unit; 0.00 when free."
    )
    currency = serializers.CharField()
    free = serializers.BooleanField(help_text="The free-over threshold applies.")
    ships_on = serializers.DateField(help_text="Dispatch day at the sourcing location.")
    delivered_by = serializers.DateField(help_text="Delivery day at the address.")
    ships_from = serializers.ListField(
        child=serializers.CharField(), help_text="The location(s) sourcing would take it from."
    )


class SkuAvailabilitySerializer(serializers.Serializer):
    sku = serializers.CharField()
    available = serializers.IntegerField(help_text="What the channel may promise (buffer applied).")
    locations = LocationAvailabilitySerializer(many=True)
    delivery = DeliveryPromiseSerializer(
        many=True,
        required=False,
        help_text="Only with ?country=: per shipping method serving the address, earliest "
        "delivery first; empty when no method can ship this SKU there now (out of stock, too "
        "heavy, not for sale, or no method serves the address: `delivery_to.served`).",
    )


class DeliveryAddressSerializer(serializers.Serializer):
    country = serializers.CharField()
    postcode = serializers.CharField(help_text="Normalised: 1011AB; empty when not given.")
    served = serializers.BooleanField(
        help_text="Whether any shipping method of the channel delivers to this address."
    )
    code = serializers.ChoiceField(
        choices=["shipping_zone_unserved"],
        allow_null=True,
        help_text="`shipping_zone_unserved` when no method serves the address (checkout refuses "
        "it with the same code); null otherwise.",
    )


class AvailabilityResponseSerializer(serializers.Serializer):
    channel = serializers.CharField()
    results = SkuAvailabilitySerializer(many=True)
    unknown_skus = serializers.ListField(child=serializers.CharField())
    delivery_to = DeliveryAddressSerializer(
        required=False, help_text="Only with ?country=: the address the promises are for."
    )


# --- facets of the products list (``?facets=``, catalog.search.product_facets) -----------------


class FacetValueSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="The stored value (a brand, an option code).")
    label = serializers.CharField(  # type: ignore[assignment]  # a field, not Field.label
        help_text="What to show (an option's label, else the value)."
    )
    count = serializers.IntegerField(help_text="Products in the filtered result with it.")


class CategoryFacetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    full_name = serializers.CharField()
    count = serializers.IntegerField(help_text="Products in the filtered result in it.")


class AttributeFacetSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The attribute's code, e.g. `size`.")
    name = serializers.CharField()
    values = FacetValueSerializer(many=True)


class FacetsSerializer(serializers.Serializer):
    """Only the kinds asked for in ``?facets=`` are present."""

    category = CategoryFacetSerializer(many=True, required=False)
    brand = FacetValueSerializer(many=True, required=False)
    attribute = AttributeFacetSerializer(many=True, required=False)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {
            kind: self.fields[kind].to_representation(values) for kind, values in instance.items()
        }


_COUNT = {"type": "integer", "minimum": 0}
_VALUE = {
    "type": "object",
    "required": ["value", "label", "count"],
    "properties": {"value": {"type": "string"}, "label": {"type": "string"}, "count": _COUNT},
}
FACETS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Present when `facets` is asked for; only the kinds asked for. Product "
    "counts over the whole filtered result, most frequent first, at most 50 values each.",
    "properties": {
        "category": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "name", "full_name", "count"],
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "full_name": {"type": "string"},
                    "count": _COUNT,
                },
            },
        },
        "brand": {"type": "array", "items": _VALUE},
        "attribute": {
            "type": "array",
            "description": "Product attribute values and variant options (a product counts "
            "once per value).",
            "items": {
                "type": "object",
                "required": ["code", "name", "values"],
                "properties": {
                    "code": {"type": "string"},
                    "name": {"type": "string"},
                    "values": {"type": "array", "items": _VALUE},
                },
            },
        },
    },
}
