"""A till's sale posted to ``POST /api/v1/orders/`` (fulfilment method ``carry_out``): the body
becomes one call of ``orders.services.sale_record``; ``views.OrderListCreateView`` answers it."""

from __future__ import annotations

import hashlib
from typing import Any

from rest_framework.request import Request

from core.api.permissions import request_principal
from core.api.problems import ApiError
from orders import services

SALE_KEY_MAX = 100  # Order.external_id


def sale_key(request: Request, external_id: str) -> str:
    """What makes a till's retry land once: its ``external_id`` (unique per channel), else its
    ``Idempotency-Key`` scoped to the caller. A sale with neither could be recorded twice by a
    retry, so it is refused (400 ``idempotency_key_required``)."""
    if external_id:
        return external_id
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        raise ApiError(
            status_code=400,
            code="idempotency_key_required",
            detail="A carry_out sale needs an Idempotency-Key header or an external_id, so "
            "that a retry records it once.",
        )
    principal = request_principal(request)
    owner = (
        f"partner:{principal.partner.code}"
        if principal.partner is not None
        else f"user:{getattr(principal.user, 'username', '')}"
    )
    scoped = f"idem:{owner}:{key}"
    if len(scoped) > SALE_KEY_MAX:
        scoped = f"idem:{hashlib.sha256(scoped.encode()).hexdigest()}"
    return scoped


def sale_record_from_request(request: Request, data: dict[str, Any]) -> services.PlaceResult:
    """Record the validated body of ``POST /api/v1/orders/`` with method ``carry_out``."""
    customer = data.get("customer") or {}
    return services.sale_record(
        channel_code=data["channel"],
        location_code=data["fulfillment"]["location"],
        lines=[services.LineInput(row["sku"], row["quantity"]) for row in data["lines"]],
        payments=[
            services.PaymentInput(row["tender"], row["amount"], row["reference"])
            for row in data["payments"]
        ],
        sale_key=sale_key(request, data["external_id"]),
        customer=services.CustomerInput(**customer),
        loyalty_points=data["loyalty_points"],
        gift_cards=[
            services.GiftCardInput(row["code"], row["amount"]) for row in data["gift_cards"]
        ],
        coupons=data.get("coupons") or [],
        actor=request_principal(request).actor,
    )
