from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from channels import selectors, services
from channels.api.serializers import (
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
from core.models import Partner
from core.scopes import Scope


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
                errors=[{"field": "partner", "code": "not_yours", "message": "not your partner"}],
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
