"""Payment provider callbacks: ``POST /payments/{provider}/webhook/``.

A payment provider tells us what happened to a payment on its side (authorised, captured,
refunded, failed). The request is signed the way signed inbound orders are
(:mod:`channels.inbound`, Standard Webhooks): ``webhook-id``, ``webhook-timestamp`` (Unix seconds,
refused when more than five minutes away from our clock: the replay window) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``; several
space-separated signatures are accepted, for key rotation), keyed with the provider's secret from
the ``PAYMENT_WEBHOOK_SECRETS`` setting (environment ``PAYMENT_WEBHOOK_SECRETS=code=secret,...``).
A provider needs both a secret and a registered implementation (``orders.payments``).

The body::

    {"id": "evt_123", "type": "captured", "order": "O261129-...", "reference": "pi_42",
     "amount": "30.00"}

``amount`` is the provider's running total for the payment (authorised, captured or refunded so
far), so a callback about an operation we made ourselves changes nothing. ``id`` is unique per
provider: a redelivered event answers ``200`` with ``"status": "duplicate"`` and changes nothing.

Every failure is ``application/problem+json`` and writes nothing: ``401 invalid_signature``
(missing, wrong or stale signature, checked before the body is parsed), ``404
payment_provider_unknown``, ``413``/``400`` for a body too large or not JSON, ``422
validation_error`` or ``payment_event_invalid``, ``409 refund_exceeds_captured``. The view lives
here, not in ``orders``, because it reuses the channels' signature verification
(``channels.connectors.signature_verify``) and ``orders`` may not import ``channels``.
"""

from __future__ import annotations

from typing import Any

import structlog
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError
from django.http import JsonResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from channels.connectors import signature_verify
from channels.inbound import SIGNATURE_TOLERANCE_SECONDS
from core.actors import Actor
from core.api.parsers import BodyRefused, body_too_large, json_body_parse
from core.api.problems import flatten_errors, problem_json
from core.errors import DomainError
from orders.exceptions import PaymentProviderUnknown
from orders.payments import provider_get
from orders.services.payments import WEBHOOK_TYPES, payment_webhook_apply

logger = structlog.get_logger(__name__)


class PaymentEventSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(max_length=100, help_text="The provider's event id (unique).")
    type = serializers.ChoiceField(choices=WEBHOOK_TYPES)
    order = serializers.CharField(max_length=20, help_text="The order number.")
    reference = serializers.CharField(
        max_length=100, help_text="The provider's reference of the payment."
    )
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        help_text="The provider's running total for the payment (authorised, captured or "
        "refunded so far).",
    )


class PaymentEventResultSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(help_text="The event id, as sent.")
    status = serializers.ChoiceField(
        choices=("applied", "duplicate"), help_text="`duplicate`: delivered before; unchanged."
    )
    payment = serializers.IntegerField(help_text="The payment the event applied to.")


_SIGNATURE_HEADERS = [
    OpenApiParameter(
        "webhook-id",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        required=True,
        description="Standard Webhooks message id (signed with the body).",
    ),
    OpenApiParameter(
        "webhook-timestamp",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        required=True,
        description="Unix seconds; refused more than five minutes away from our clock.",
    ),
    OpenApiParameter(
        "webhook-signature",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        required=True,
        description='`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the provider\'s '
        "secret; several, space-separated, during a key rotation.",
    ),
]


def provider_secret(provider: str) -> str:
    """The provider's webhook secret from ``PAYMENT_WEBHOOK_SECRETS``, or ``""``."""
    secrets: dict[str, str] = getattr(settings, "PAYMENT_WEBHOOK_SECRETS", {}) or {}
    return secrets.get(provider, "")


class PaymentWebhookView(APIView):
    """A provider's signed callback (see the module docstring). No API key: the signature is
    the authentication, checked on the raw body before it is parsed."""

    authentication_classes: list[Any] = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        operation_id="payment_webhook_receive",
        summary="A payment provider's signed callback",
        description="A payment provider reports what happened to a payment on its side "
        "(`authorised`, `captured`, `refunded`, `failed`). Signed like signed inbound orders "
        "(Standard Webhooks) with the provider's secret; no API key. `amount` is the "
        "provider's running total for the payment, so a callback about our own operation "
        "changes nothing; a redelivered event id answers `duplicate`. Every refusal writes "
        "nothing.",
        tags=["payments"],
        auth=[],
        parameters=[
            OpenApiParameter(
                "provider",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                pattern=r"^[-a-zA-Z0-9_]+$",
                description="The provider's code (`orders.payments` registry).",
            ),
            *_SIGNATURE_HEADERS,
        ],
        request=PaymentEventSerializer,
        responses={
            200: PaymentEventResultSerializer,
            401: OpenApiResponse(
                description="`invalid_signature`: missing, wrong or stale signature."
            ),
            404: OpenApiResponse(
                description="`payment_provider_unknown`: no such provider, or no secret for it."
            ),
            409: OpenApiResponse(
                description="`refund_exceeds_captured`: a refund above what was captured."
            ),
            422: OpenApiResponse(
                description="`validation_error` (the body) or `payment_event_invalid` (an "
                "unknown order or payment, an amount above what was authorised)."
            ),
        },
    )
    def post(self, request: Request, provider: str) -> JsonResponse:
        return payment_webhook_receive(request, provider)


def payment_webhook_receive(request: Request, provider: str) -> JsonResponse:
    """Apply a provider's signed callback (see the module docstring)."""
    secret = provider_secret(provider)
    try:
        provider_get(provider)
    except PaymentProviderUnknown as error:
        return problem_json(error.status, error.code, error.message)
    if not secret:
        return problem_json(
            404, PaymentProviderUnknown.code, f"No webhook secret for provider {provider!r}."
        )
    try:
        body = request._request.body  # the raw bytes, as signed
    except RequestDataTooBig:
        refused = body_too_large()
        return problem_json(refused.status, refused.code, refused.detail)
    if not signature_verify(
        secret=secret,
        headers=dict(request.headers),
        body=body,
        tolerance=SIGNATURE_TOLERANCE_SECONDS,
    ):
        logger.warning(
            "payments.webhook.signature_refused",
            provider=provider,
            webhook_id=request.headers.get("webhook-id", ""),
        )
        return problem_json(
            401,
            "invalid_signature",
            "Missing, invalid or stale webhook signature (Standard Webhooks, signed with the "
            "provider's secret, timestamp within 5 minutes).",
        )
    try:
        data = json_body_parse(body)
    except BodyRefused as refused:
        return problem_json(refused.status, refused.code, refused.detail, errors=refused.errors)
    payload = PaymentEventSerializer(data=data)
    if not payload.is_valid():
        errors = flatten_errors(payload.errors)
        return problem_json(
            422,
            "validation_error",
            "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]) or "Invalid event.",
            errors=errors,
        )
    event = payload.validated_data
    apply = {
        "provider": provider,
        "event_id": event["id"],
        "event_type": event["type"],
        "order_number": event["order"],
        "reference": event["reference"],
        "amount": event["amount"],
        "actor": Actor.system(f"payments:{provider}"),
    }
    try:
        try:
            recorded, created = payment_webhook_apply(**apply)
        except IntegrityError:
            # the same event delivered twice at once: the second finds the first's record
            recorded, created = payment_webhook_apply(**apply)
    except DomainError as error:
        return problem_json(
            error.status, error.code, error.message, errors=error.errors, extra=error.extra
        )
    logger.info(
        "payments.webhook.applied" if created else "payments.webhook.duplicate",
        provider=provider,
        event_id=event["id"],
        order=event["order"],
    )
    return JsonResponse(
        {
            "id": event["id"],
            "status": "applied" if created else "duplicate",
            "payment": recorded.payment_id,
        },
        status=200,
    )


urlpatterns = [
    path("", PaymentWebhookView.as_view(), name="payment-webhook"),
]
