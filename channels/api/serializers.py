from __future__ import annotations

from rest_framework import serializers

from channels.events import EventType
from channels.models import WebhookSubscription
from core.models import Channel


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


class WebhookSubscriptionOutputSerializer(serializers.ModelSerializer):
    partner = serializers.CharField(source="partner.code", read_only=True)

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "partner",
            "url",
            "events",
            "description",
            "is_active",
            "created_at",
            "updated_at",
        ]


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionOutputSerializer):
    """Returned once, on creation: the only time the signing secret is shown."""

    class Meta(WebhookSubscriptionOutputSerializer.Meta):
        fields = [*WebhookSubscriptionOutputSerializer.Meta.fields, "secret"]


class WebhookSubscriptionInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), min_length=1
    )
    description = serializers.CharField(max_length=200, required=False, default="")
    partner = serializers.SlugField(
        required=False, help_text="Staff only: the partner the subscription is for."
    )


class WebhookSubscriptionPatchSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), min_length=1, required=False
    )
    description = serializers.CharField(max_length=200, required=False)
    is_active = serializers.BooleanField(required=False)


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
