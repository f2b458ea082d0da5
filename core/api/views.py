from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import request_principal
from core.api.serializers import MeSerializer


class MeView(APIView):
    """The caller: which partner, which key, which scopes and which channels it may use."""

    @extend_schema(
        operation_id="me_retrieve",
        summary="Who am I",
        responses=MeSerializer,
        examples=[
            OpenApiExample(
                "Partner key",
                value={
                    "kind": "partner",
                    "partner": {"code": "acme-webshop", "name": "ACME webshop"},
                    "key_prefix": "Ab12Cd34",
                    "key_expires_at": None,
                    "scopes": ["catalog:read", "stock:read"],
                    "channels": ["webshop"],
                },
            )
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        principal = request_principal(request)
        api_key = principal.api_key
        data = {
            "kind": principal.kind,
            "partner": (
                {"code": principal.partner.code, "name": principal.partner.name}
                if principal.partner
                else None
            ),
            "key_prefix": api_key.prefix if api_key else None,
            "key_expires_at": api_key.expiry_date if api_key else None,
            "scopes": sorted(principal.scopes),
            "channels": sorted(principal.channel_codes)
            if principal.channel_codes is not None
            else None,
        }
        return Response(MeSerializer(data).data)
