from __future__ import annotations

from rest_framework import serializers


class MeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["partner", "staff"])
    partner = serializers.DictField(allow_null=True, help_text="code and name of the partner")
    key_prefix = serializers.CharField(allow_null=True)
    key_expires_at = serializers.DateTimeField(allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField())
    channels = serializers.ListField(
        child=serializers.CharField(), allow_null=True, help_text="null: every channel (staff)"
    )
