"""The price write API for ERPs and PIMs (issue 19): read and set a variant's base price on a
channel with ``If-Match``, and set many at once, all or nothing. Prices take effect at once and
record ``price.changed``, as admin price edits do (``catalog.services.price_set``)."""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import transaction
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors, services
from catalog.api.price_serializers import (
    MAX_BULK_ROWS,
    PriceBulkInputSerializer,
    PriceBulkOutputSerializer,
    PriceInputSerializer,
    PriceOutputSerializer,
)
from core.api.conditional import etag_for, require_if_match
from core.api.idempotency import idempotent
from core.api.permissions import request_principal
from core.api.principal import ApiPrincipal
from core.api.problems import ApiError
from core.errors import DomainError
from core.models import Channel
from core.scopes import Scope

_NOT_FOUND = OpenApiResponse(
    description="`not_found`: an unknown SKU, or a channel that does not exist or is not the key's."
)
_INVALID = OpenApiResponse(
    description="`validation_error`: `errors[]` names each bad field (`amount`, "
    "`compare_at_amount`; in bulk `rows.<index>.<field>`). Nothing is written."
)


def _staff_user(principal: ApiPrincipal) -> Any:
    """The Django user whose permissions ``price_set`` checks: a staff member's own (their role
    must change prices); a partner key's scope was checked already."""
    return principal.user if principal.kind == "staff" else None


def _price_body(*, channel: Channel, sku: str, prices: dict[str, Any]) -> dict[str, Any]:
    return dict(PriceOutputSerializer({"channel": channel.code, "sku": sku, **prices}).data)


def _resolve(request: Request, channel_code: str, sku: str) -> tuple[Channel, int]:
    principal = request_principal(request)
    channel = selectors.price_channel_get(code=channel_code, visible_codes=principal.channel_codes)
    variant_id = selectors.variant_ids_by_sku(skus=[sku]).get(sku)
    if channel is None or variant_id is None:
        raise ApiError(
            status_code=404,
            code="not_found",
            detail=f"No channel {channel_code!r} of this key, or no variant {sku!r}.",
        )
    return channel, variant_id


class PriceDetailView(APIView):
    """One variant's base price on one channel; ``PUT`` sets it."""

    required_scopes = {"PUT": Scope.CATALOG_WRITE}

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)  # authentication, and catalog:write on PUT
        if request.method in ("GET", "HEAD") and not (
            request_principal(request).has_scope(Scope.CATALOG_READ)
            or request_principal(request).has_scope(Scope.CATALOG_WRITE)
        ):
            self.permission_denied(
                request,
                message="This API key lacks the 'catalog:read' or 'catalog:write' scope.",
                code="missing_scope",
            )

    @extend_schema(
        operation_id="prices_retrieve",
        summary="Get a SKU's base price on a channel",
        description="The base price in the channel's currency (`amount` null when there is none "
        "yet) and the dated overrides (promotions), with an `ETag` to send back as `If-Match` "
        "on `PUT`. Scope `catalog:read` or `catalog:write`; only the key's channels (any other "
        "answers 404 like an unknown one).",
        responses={200: PriceOutputSerializer, 404: _NOT_FOUND},
    )
    def get(self, request: Request, channel_code: str, sku: str) -> Response:
        channel, variant_id = _resolve(request, channel_code, sku)
        prices = selectors.variant_channel_price(variant_id=variant_id, channel=channel)
        return Response(_price_body(channel=channel, sku=sku, prices=prices))

    @extend_schema(
        operation_id="prices_update",
        summary="Set a SKU's base price on a channel",
        description="Takes effect at once and records `price.changed`, like a price edit in the "
        "admin. Send `If-Match` with the ETag of the GET to refuse the write when the price "
        "changed since you read it (412 `precondition_failed`, nothing written); without it "
        "the price is set unconditionally. Scope `catalog:write`.",
        request=PriceInputSerializer,
        responses={
            200: PriceOutputSerializer,
            400: _INVALID,
            404: _NOT_FOUND,
            412: OpenApiResponse(description="`precondition_failed`: the ETag is stale."),
        },
        examples=[
            OpenApiExample(
                "New price with a was-price",
                value={"amount": "79.95", "compare_at_amount": "99.95"},
                request_only=True,
            )
        ],
    )
    def put(self, request: Request, channel_code: str, sku: str) -> Response:
        payload = PriceInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        channel, variant_id = _resolve(request, channel_code, sku)
        principal = request_principal(request)
        with transaction.atomic():
            current = selectors.variant_channel_price(
                variant_id=variant_id, channel=channel, for_update=True
            )
            require_if_match(request, _price_body(channel=channel, sku=sku, prices=current))
            services.price_set(
                variant_id=variant_id,
                channel_code=channel.code,
                amount=payload.validated_data["amount"],
                compare_at_amount=payload.validated_data["compare_at_amount"],
                user=_staff_user(principal),
            )
            prices = selectors.variant_channel_price(variant_id=variant_id, channel=channel)
        body = _price_body(channel=channel, sku=sku, prices=prices)
        return Response(body, headers={"ETag": etag_for(body)})


class PriceBulkView(APIView):
    """Base prices in bulk, all or nothing."""

    write_scope = Scope.CATALOG_WRITE

    @extend_schema(
        operation_id="prices_bulk_set",
        summary="Set base prices in bulk",
        description=f"Up to {MAX_BULK_ROWS} rows of `channel`, `sku`, `amount` and optionally "
        "`compare_at_amount`, each setting that SKU's base price on that channel. All or "
        "nothing: any bad row (a bad amount, an unknown SKU, a channel that is not the key's, "
        "the same channel and SKU twice) answers 400 with `errors[]` naming each row and field "
        "(`rows.3.amount`) and writes nothing; otherwise every row is written in one "
        "transaction, takes effect at once and records `price.changed`. Send "
        "`Idempotency-Key` so a retry is not applied twice. Scope `catalog:write`.",
        request=PriceBulkInputSerializer,
        responses={
            200: PriceBulkOutputSerializer,
            400: _INVALID,
            422: OpenApiResponse(description="An idempotency key reused with another body."),
        },
        examples=[
            OpenApiExample(
                "Two prices",
                value={
                    "rows": [
                        {"channel": "webshop", "sku": "DEMO-000001-1", "amount": "24.95"},
                        {
                            "channel": "webshop",
                            "sku": "DEMO-000001-2",
                            "amount": "24.95",
                            "compare_at_amount": "29.95",
                        },
                    ]
                },
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        payload = PriceBulkInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        rows: list[dict[str, Any]] = payload.validated_data["rows"]
        principal = request_principal(request)
        channels = {
            code: selectors.price_channel_get(code=code, visible_codes=principal.channel_codes)
            for code in {row["channel"] for row in rows}
        }
        variants = selectors.variant_ids_by_sku(skus=[row["sku"] for row in rows])
        errors: list[dict[str, str]] = []
        seen: dict[tuple[str, str], int] = {}
        for index, row in enumerate(rows):
            channel, sku = row["channel"], row["sku"]
            if channels[channel] is None:
                errors.append(_row_error(index, "channel", "does_not_exist", "unknown channel"))
            if sku not in variants:
                errors.append(_row_error(index, "sku", "does_not_exist", "unknown sku"))
            elif channels[channel] is not None:
                if (channel, sku) in seen:
                    message = f"{sku} on {channel} is already priced in row {seen[channel, sku]}"
                    errors.append(_row_error(index, "sku", "duplicate", message))
                else:
                    seen[channel, sku] = index
        if errors:
            _refuse(errors)
        user = _staff_user(principal)
        written = []
        with transaction.atomic():
            for index, row in enumerate(rows):
                channel = channels[row["channel"]]
                assert channel is not None
                try:
                    services.price_set(
                        variant_id=variants[row["sku"]],
                        channel_code=channel.code,
                        amount=row["amount"],
                        compare_at_amount=row["compare_at_amount"],
                        user=user,
                    )
                except DomainError as error:
                    if error.status != 400:
                        raise
                    _refuse(
                        [
                            _row_error(
                                index,
                                item.get("field", ""),
                                item.get("code", error.code),
                                item.get("message", error.message),
                            )
                            for item in error.errors or [{}]
                        ]
                    )
            for row in rows:
                channel = channels[row["channel"]]
                assert channel is not None
                prices = selectors.variant_channel_price(
                    variant_id=variants[row["sku"]], channel=channel
                )
                written.append({"channel": channel.code, "sku": row["sku"], **prices})
        body = PriceBulkOutputSerializer({"rows": written}).data
        return Response(body, status=status.HTTP_200_OK)


def _row_error(index: int, field: str, code: str, message: str) -> dict[str, str]:
    return {
        "field": f"rows.{index}.{field}" if field else f"rows.{index}",
        "code": code,
        "message": message,
    }


def _refuse(errors: list[dict[str, str]]) -> NoReturn:
    raise ApiError(
        status_code=400,
        code="validation_error",
        detail="; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]),
        errors=errors,
    )
