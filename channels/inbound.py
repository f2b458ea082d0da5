"""Inbound orders from channels: ``POST /channels/{code}/orders/``.

A marketplace (or any channel that takes orders itself) sends each order it took as a webhook,
signed with the channel's Standard Webhooks secret: ``webhook-id``, ``webhook-timestamp`` (Unix
seconds, refused when more than five minutes away from our clock) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed with the bytes after ``whsec_``; several
space-separated signatures are accepted, for key rotation). The secret is the one the channel's
pushes are signed with (``channels.delivery.channel_secret``: the ``signing_secret_env``
environment variable when named, else ``signing_secret``); a channel without one accepts nothing.

The signature is the only authentication (no API key, no session, no CSRF token: a marketplace
has none of them). The body is the order shape of ``POST /api/v1/orders/`` without ``channel``
(the URL names it) and with ``external_id`` required: the order goes through
``orders.services.order_place``, all lines or nothing, idempotent by (channel, ``external_id``):
``201`` with the order the first time, ``200`` with the same order for a redelivery (whatever the
redelivered body says; changing an order is not done through this endpoint).

Every failure is ``application/problem+json`` and leaves nothing behind: ``401`` for a missing,
wrong or stale signature (checked before the body is even parsed), ``404`` for an unknown or
inactive channel, ``413`` for a body above ``DATA_UPLOAD_MAX_MEMORY_SIZE``, ``400`` for a body
that is not JSON or is nested too deeply (the API's limits, ``core.api.parsers``), ``422`` for a
body that is not a valid order (``errors`` names each field), ``409`` ``insufficient_stock`` /
``pickup_unavailable`` with per-line ``shortages`` and nothing reserved.
"""

from __future__ import annotations

import structlog
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers

from channels.connectors import signature_verify
from channels.delivery import channel_secret
from core.actors import Actor
from core.api.parsers import BodyRefused, body_too_large, json_body_parse
from core.api.problems import flatten_errors, problem_json
from core.errors import DomainError
from core.models import Channel
from orders import selectors as order_selectors
from orders import services as order_services
from orders.api.serializers import OrderInputSerializer, OrderOutputSerializer
from orders.exceptions import OrderInvalid

logger = structlog.get_logger("omnihub.channels.inbound")

SIGNATURE_TOLERANCE_SECONDS = 300


class InboundOrderSerializer(OrderInputSerializer):
    """``POST /api/v1/orders/``'s body (the same serializer, so the two cannot drift apart),
    without ``channel`` and with ``external_id`` required: it is what makes redelivery safe."""

    channel = None  # type: ignore[assignment]
    external_id = serializers.CharField(max_length=100)


@csrf_exempt
def channel_order_receive(request: HttpRequest, code: str) -> JsonResponse:
    """Place the order a channel sent (see the module docstring)."""
    if request.method != "POST":
        response = problem_json(405, "method_not_allowed", f"Method {request.method} not allowed.")
        response["Allow"] = "POST"
        return response
    channel = Channel.objects.filter(code=code, is_active=True).first()
    if channel is None:
        return problem_json(404, "channel_not_found", f"No active channel {code!r}.")
    secret = channel_secret(channel)
    try:
        body = request.body
    except RequestDataTooBig:
        refused = body_too_large()
        return problem_json(refused.status, refused.code, refused.detail)
    if not secret or not signature_verify(
        secret=secret,
        headers=dict(request.headers),
        body=body,
        tolerance=SIGNATURE_TOLERANCE_SECONDS,
    ):
        logger.warning(
            "channels.inbound_order.signature_refused",
            channel=code,
            webhook_id=request.headers.get("webhook-id", ""),
            has_secret=bool(secret),
        )
        return problem_json(
            401,
            "invalid_signature",
            "Missing, invalid or stale webhook signature (Standard Webhooks, signed with the "
            "channel's secret, timestamp within 5 minutes).",
        )
    try:
        data = json_body_parse(body)
    except BodyRefused as refused:
        return problem_json(refused.status, refused.code, refused.detail, errors=refused.errors)
    payload = InboundOrderSerializer(data=data)
    if not payload.is_valid():
        errors = flatten_errors(payload.errors)
        return problem_json(
            422,
            "validation_error",
            "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]) or "Invalid order.",
            errors=errors,
        )
    order_data = payload.validated_data
    fulfillment = order_data["fulfillment"]
    try:
        result = order_services.order_place(
            channel_code=channel.code,
            external_id=order_data["external_id"],
            lines=[
                order_services.LineInput(row["sku"], row["quantity"]) for row in order_data["lines"]
            ],
            method=fulfillment["method"],
            pickup_location_code=fulfillment["location"],
            address=fulfillment.get("address") or {},
            customer=order_services.CustomerInput(**(order_data.get("customer") or {})),
            shipping_total=order_data["shipping_total"],
            payment_status=order_data["payment_status"],
            loyalty_points=order_data["loyalty_points"],
            actor=Actor.system(f"channel:{channel.code}"),
        )
    except OrderInvalid as error:
        return problem_json(
            422,
            error.code,
            error.message,
            errors=error.errors,
            extra=error.extra,
            title=error.title,
        )
    except DomainError as error:
        return problem_json(
            error.status,
            error.code,
            error.message,
            errors=error.errors,
            extra=error.extra,
            title=error.title,
        )
    order = order_selectors.order_get(number=result.order.number, channel_codes=[channel.code])
    logger.info(
        "channels.inbound_order.placed" if result.created else "channels.inbound_order.replayed",
        channel=code,
        external_id=order_data["external_id"],
        order=result.order.number,
    )
    return JsonResponse(OrderOutputSerializer(order).data, status=201 if result.created else 200)
