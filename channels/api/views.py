from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from channels import selectors, services
from channels.api.serializers import (
    AvailabilityResponseSerializer,
    ChannelOutputSerializer,
    WebhookSubscriptionCreatedSerializer,
    WebhookSubscriptionInputSerializer,
    WebhookSubscriptionOutputSerializer,
    WebhookSubscriptionPatchSerializer,
)
from channels.models import WebhookSubscription
from core.api.conditional import require_if_match
from core.api.filters import SyncFilterSet
from core.api.idempotency import idempotent
from core.api.permissions import request_principal
from core.api.problems import ApiError
from core.api.scopes import Scope
from core.models import Channel, Partner


class ChannelFilterSet(SyncFilterSet):
    class Meta:
        model = Channel
        fields = ["kind", "updated_since"]


class ChannelListView(generics.ListAPIView):
    """The sales channels this key may act for."""

    serializer_class = ChannelOutputSerializer
    filterset_class = ChannelFilterSet
    cursor_ordering = ("updated_at", "id")

    def get_queryset(self) -> QuerySet[Channel]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Channel.objects.none()
        return selectors.channel_list(visible_codes=request_principal(self.request).channel_codes)

    @extend_schema(operation_id="channels_list", summary="List your channels")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class WebhookFilterSet(SyncFilterSet):
    class Meta:
        model = WebhookSubscription
        fields = ["is_active", "updated_since"]


_WEBHOOK_EXAMPLE = {
    "url": "https://partner.example/hooks/omnihub",
    "events": ["order.created", "stock.changed"],
    "description": "Order and stock sync",
}


class WebhookSubscriptionListCreateView(generics.ListAPIView):
    """The calling partner's webhook subscriptions."""

    serializer_class = WebhookSubscriptionOutputSerializer
    filterset_class = WebhookFilterSet
    read_scope = Scope.WEBHOOKS_MANAGE
    write_scope = Scope.WEBHOOKS_MANAGE

    def get_queryset(self) -> QuerySet[WebhookSubscription]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return WebhookSubscription.objects.none()
        principal = request_principal(self.request)
        return selectors.webhook_subscription_list(
            partner_id=principal.partner.pk if principal.partner else None
        )

    @extend_schema(operation_id="webhooks_list", summary="List webhook subscriptions")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="webhooks_create",
        summary="Subscribe to events",
        description="Send `Idempotency-Key` to make retries safe. The response carries the "
        "signing `secret` once; deliveries are signed with it (Standard Webhooks).",
        request=WebhookSubscriptionInputSerializer,
        responses={
            201: WebhookSubscriptionCreatedSerializer,
            409: OpenApiResponse(description="A request with this key is still running."),
            422: OpenApiResponse(description="Idempotency-Key reused with another body."),
        },
        examples=[OpenApiExample("Subscribe", value=_WEBHOOK_EXAMPLE, request_only=True)],
    )
    @idempotent
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        principal = request_principal(request)
        payload = WebhookSubscriptionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        partner_code = data.pop("partner", None)
        partner = principal.partner
        if partner is not None and partner_code and partner_code != partner.code:
            raise ApiError(
                status_code=400,
                code="validation_error",
                detail="partner: a key can only subscribe its own partner.",
                errors=[{"field": "partner", "code": "invalid", "message": "not your partner"}],
            )
        if partner is None:
            if not partner_code:
                raise ApiError(
                    status_code=400,
                    code="validation_error",
                    detail="partner: staff must say which partner the subscription is for.",
                    errors=[{"field": "partner", "code": "required", "message": "required"}],
                )
            partner = get_object_or_404(Partner, code=partner_code)
        subscription = services.webhook_subscription_create(partner=partner, **data)
        body = WebhookSubscriptionCreatedSerializer(subscription).data
        location = request.build_absolute_uri(f"{request.path}{subscription.pk}/")
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})


class WebhookSubscriptionDetailView(generics.GenericAPIView):
    """One subscription: read it, change it (with ``If-Match``), or delete it."""

    serializer_class = WebhookSubscriptionOutputSerializer
    read_scope = Scope.WEBHOOKS_MANAGE
    write_scope = Scope.WEBHOOKS_MANAGE

    def get_queryset(self) -> QuerySet[WebhookSubscription]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return WebhookSubscription.objects.none()
        principal = request_principal(self.request)
        return selectors.webhook_subscription_list(
            partner_id=principal.partner.pk if principal.partner else None
        )

    @extend_schema(operation_id="webhooks_retrieve", summary="Get a webhook subscription")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        operation_id="webhooks_partial_update",
        summary="Change a webhook subscription",
        description="Send `If-Match` with the ETag you read to avoid overwriting a newer change.",
        request=WebhookSubscriptionPatchSerializer,
        responses={
            200: WebhookSubscriptionOutputSerializer,
            412: OpenApiResponse(description="The ETag is stale."),
        },
    )
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = WebhookSubscriptionPatchSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        with transaction.atomic():
            subscription = get_object_or_404(
                self.get_queryset().select_for_update(of=("self",)), pk=kwargs["pk"]
            )
            require_if_match(request, self.get_serializer(subscription).data)
            subscription = services.webhook_subscription_update(
                subscription=subscription, **payload.validated_data
            )
        return Response(self.get_serializer(subscription).data)

    @extend_schema(
        operation_id="webhooks_destroy",
        summary="Delete a webhook subscription",
        responses={204: None},
    )
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.webhook_subscription_delete(subscription=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


MAX_AVAILABILITY_SKUS = 100


def _parse_near(raw: str | None) -> tuple[float, float] | None:
    if not raw:
        return None
    try:
        lat_text, lng_text = raw.split(",")
        latitude, longitude = float(lat_text), float(lng_text)
    except ValueError:
        latitude = longitude = float("nan")
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ApiError(
            status_code=400,
            code="invalid_parameter",
            detail="near must be '<latitude>,<longitude>' in decimal degrees.",
            errors=[{"field": "near", "code": "invalid", "message": "e.g. 52.37,4.89"}],
        )
    return latitude, longitude


class AvailabilityView(generics.GenericAPIView):
    """Per SKU: what a channel may promise, and per location it sells from what is there."""

    read_scope = Scope.STOCK_READ
    serializer_class = AvailabilityResponseSerializer
    pagination_class = None

    @extend_schema(
        operation_id="availability_list",
        summary="Availability per SKU for a channel, per location and nearby",
        parameters=[
            OpenApiParameter("sku", str, required=True, description="Comma-separated, up to 100."),
            OpenApiParameter(
                "channel", str, description="Channel code; optional when the key has one channel."
            ),
            OpenApiParameter(
                "near", str, description="'<lat>,<lng>': adds distance_km, nearest first."
            ),
        ],
        responses={
            200: AvailabilityResponseSerializer,
            404: OpenApiResponse(description="No such channel for this caller."),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        principal = request_principal(request)
        skus = [
            sku.strip() for sku in request.query_params.get("sku", "").split(",") if sku.strip()
        ]
        if not skus or len(set(skus)) > MAX_AVAILABILITY_SKUS:
            raise ApiError(
                status_code=400,
                code="invalid_parameter",
                detail=f"sku must list 1 to {MAX_AVAILABILITY_SKUS} SKUs, comma-separated.",
                errors=[{"field": "sku", "code": "invalid", "message": "1 to 100 SKUs"}],
            )
        near = _parse_near(request.query_params.get("near"))
        code = request.query_params.get("channel")
        if not code and principal.channel_codes is not None and len(principal.channel_codes) == 1:
            [code] = principal.channel_codes
        if not code:
            raise ApiError(
                status_code=400,
                code="invalid_parameter",
                detail="channel is required: this caller acts for several channels.",
                errors=[{"field": "channel", "code": "required", "message": "a channel code"}],
            )
        channel = selectors.channel_get(code=code, visible_codes=principal.channel_codes)
        if channel is None:
            raise ApiError(
                status_code=404,
                code="channel_not_found",
                detail=f"No channel '{code}' for this caller.",
                errors=[{"field": "channel", "code": "not_found", "message": code}],
            )
        results, unknown = selectors.channel_availability(channel=channel, skus=skus, near=near)
        body = {"channel": channel.code, "results": results, "unknown_skus": unknown}
        return Response(AvailabilityResponseSerializer(body).data)
