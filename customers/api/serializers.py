"""Input and output shapes of the customers API."""

from __future__ import annotations

from rest_framework import serializers

from customers.models import ConsentPurpose


class IdentifierOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    namespace = serializers.CharField(help_text="Channel of an external id, network of a handle.")
    value = serializers.CharField()


class ConsentStateOutputSerializer(serializers.Serializer):
    purpose = serializers.CharField()
    granted = serializers.BooleanField()
    at = serializers.DateTimeField(allow_null=True)
    channel_code = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    wording_version = serializers.CharField()


class CustomerOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    identifiers = IdentifierOutputSerializer(many=True)
    channels = serializers.ListField(child=serializers.CharField())
    loyalty_balance = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CustomerDetailOutputSerializer(CustomerOutputSerializer):
    consents = ConsentStateOutputSerializer(many=True)


class ConsentInputSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField()
    channel = serializers.CharField(max_length=64)
    source = serializers.CharField(max_length=100)  # type: ignore[assignment]
    wording_version = serializers.CharField(max_length=50)
    at = serializers.DateTimeField(required=False)


class ConsentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    purpose = serializers.CharField()
    granted = serializers.BooleanField()
    channel = serializers.CharField(source="channel_code")
    source = serializers.CharField()  # type: ignore[assignment]
    wording_version = serializers.CharField()
    at = serializers.DateTimeField()


class LoyaltyEntryOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    points = serializers.IntegerField()
    unrecoverable = serializers.IntegerField()
    balance_after = serializers.IntegerField()
    channel = serializers.CharField(source="channel_code")
    created_at = serializers.DateTimeField()


class LoyaltyOutputSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    balance = serializers.IntegerField()
    point_value = serializers.DecimalField(max_digits=12, decimal_places=4)
    balance_value = serializers.DecimalField(max_digits=14, decimal_places=2)
    entries = LoyaltyEntryOutputSerializer(many=True, help_text="The latest 50 ledger rows.")


class RedeemInputSerializer(serializers.Serializer):
    points = serializers.IntegerField(min_value=1, max_value=10_000_000)
    channel = serializers.CharField(max_length=64)
    reference = serializers.CharField(max_length=60, help_text="Your order or basket reference.")


class RedemptionOutputSerializer(serializers.Serializer):
    reference = serializers.CharField()
    points = serializers.IntegerField()
    value = serializers.DecimalField(max_digits=12, decimal_places=2)
    channel = serializers.CharField()
    status = serializers.CharField()
    balance = serializers.IntegerField()
