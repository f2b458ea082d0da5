from __future__ import annotations

from rest_framework import serializers

from channels.events import EventType
from channels.models import WebhookSubscription


class WebhookSubscriptionOutputSerializer(serializers.ModelSerializer):
    partner = serializers.CharField(source="partner.code", read_only=True)
    # declared, not taken from the model's JSONField, so that the schema lists the event types
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        help_text=WebhookSubscription._meta.get_field("events").help_text,
    )

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
