"""Store POS endpoints: ``/api/v1/pos/{channel}/changes/`` and ``/api/v1/pos/{channel}/acks/``.

A till reads its store's changes and acknowledges what it applied. Both need ``catalog:read``
and ``stock:read`` (a till reads prices, products and stock; an acknowledgement is the reader's
own bookkeeping, like a consumer committing its offset, and changes nothing anyone else sees).
A key sees only its own POS channels; any other channel is ``404 channel_not_found``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from channels import pos
from channels.api.pos_serializers import (
    PosAckInputSerializer,
    PosAckOutputSerializer,
    PosChangesSerializer,
)
from core.api.permissions import request_principal
from core.api.problems import ApiError
from core.models import Channel
from core.scopes import Scope
from inventory import selectors as inventory_selectors

POS_SCOPES = (Scope.CATALOG_READ, Scope.STOCK_READ)

_CHANNEL_NOT_FOUND = OpenApiResponse(
    description="`channel_not_found`: not one of your active POS channels."
)
_OUT_OF_RANGE = OpenApiResponse(
    description="`cursor_out_of_range`: the cursor is beyond the latest change "
    "(`latest_cursor` says where the outbox is)."
)


class PosView(APIView):
    """Resolves the POS channel of the URL for the calling key and checks both scopes."""

    required_scopes = {"GET": Scope.CATALOG_READ, "POST": Scope.CATALOG_READ}

    def pos_channel(self, request: Request, channel_code: str) -> Channel:
        principal = request_principal(request)
        for scope in POS_SCOPES:
            if not principal.has_scope(scope):
                raise exceptions.PermissionDenied(
                    detail=f"This API key lacks the '{scope}' scope.", code="missing_scope"
                )
        channel = inventory_selectors.channel_get(
            code=channel_code, visible_codes=principal.channel_codes
        )
        if channel is None or channel.kind != Channel.Kind.POS:
            raise ApiError(
                status_code=404,
                code="channel_not_found",
                detail=f"No POS channel {channel_code!r} for this caller.",
            )
        return channel


def _int_param(request: Request, name: str, *, default: int | None, code: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) > pos.MAX_BIGINT:
        raise ApiError(
            status_code=400,
            code=code,
            detail=f"{name} must be a non-negative integer.",
            errors=[{"field": name, "code": "invalid", "message": "a non-negative integer"}],
        )
    return int(raw)


class PosChangesView(PosView):
    """The changes a store's till must apply, oldest first."""

    @extend_schema(
        operation_id="pos_changes_list",
        summary="Changes a store's POS must apply",
        description="Price, product and stock changes for the channel in the order they were "
        "committed, with absolute values (stock: `available` at this store). The cursor is "
        "the change's feed position (`event_id`): opaque and increasing, not the webhook event "
        "id. Page with `after=next_cursor` "
        "until `has_more` is false; within a page only the latest change per object and "
        "stream is kept. Drop a change whose `sequence` is not above the last you applied for "
        "the same object and stream. Without `after`, reading resumes after the store's "
        "acknowledged cursor. Gap-free: a change whose transaction commits late is positioned "
        "after everything already served, so no cursor passes it; changes are served as soon "
        "as they are committed. Needs `catalog:read` and `stock:read`.",
        parameters=[
            OpenApiParameter("location", str, required=True, description="The store's code."),
            OpenApiParameter(
                "after",
                int,
                description="Cursor (feed position) to read after; default: the store's "
                "acknowledged cursor, or the start.",
            ),
            OpenApiParameter("limit", int, description="1 to 200 changes (default 100)."),
        ],
        responses={
            200: PosChangesSerializer,
            404: OpenApiResponse(
                description="`channel_not_found`, or `location_not_found`: the store is not "
                "one of the channel's locations."
            ),
            422: _OUT_OF_RANGE,
        },
    )
    def get(self, request: Request, channel_code: str) -> Response:
        channel = self.pos_channel(request, channel_code)
        code = request.query_params.get("location", "")
        if not code:
            raise ApiError(
                status_code=400,
                code="invalid_parameter",
                detail="location is required: the store's location code.",
                errors=[{"field": "location", "code": "required", "message": "a store code"}],
            )
        location = pos.pos_store_get(channel=channel, code=code)
        if location is None:
            raise ApiError(
                status_code=404,
                code="location_not_found",
                detail=f"{code!r} is not a location of channel {channel.code!r}.",
                errors=[{"field": "location", "code": "not_found", "message": code}],
            )
        after = _int_param(request, "after", default=None, code="invalid_cursor")
        limit = _int_param(request, "limit", default=pos.DEFAULT_LIMIT, code="invalid_parameter")
        assert limit is not None
        if not 1 <= limit <= pos.MAX_LIMIT:
            raise ApiError(
                status_code=400,
                code="invalid_parameter",
                detail=f"limit must be 1 to {pos.MAX_LIMIT}.",
                errors=[{"field": "limit", "code": "invalid", "message": "1 to 200"}],
            )
        page = pos.pos_changes(channel=channel, location=location, after=after, limit=limit)
        body = {
            "channel": channel.code,
            "location": location.code,
            "after": after if after is not None else (page.acked_cursor or 0),
            "changes": page.changes,
            "next_cursor": page.next_cursor,
            "has_more": page.has_more,
            "acked_cursor": page.acked_cursor,
        }
        return Response(PosChangesSerializer(body).data)


class PosAckView(PosView):
    """Record how far a store's till has applied the changes."""

    @extend_schema(
        operation_id="pos_acks_create",
        summary="Acknowledge a store's applied changes",
        description="The store applied every change up to and including `cursor`. The "
        "recorded cursor never moves backwards: an older one is accepted with `moved: false` "
        "and changes nothing, so retries are safe. Needs `catalog:read` and `stock:read`.",
        request=PosAckInputSerializer,
        responses={
            200: PosAckOutputSerializer,
            404: _CHANNEL_NOT_FOUND,
            422: OpenApiResponse(
                description="`validation_error` (the store is not one of the channel's "
                "locations) or `cursor_out_of_range`."
            ),
        },
        examples=[
            OpenApiExample(
                "Applied up to position 1234",
                value={"location": "st-ams-kalverstraat", "cursor": 1234},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, channel_code: str) -> Response:
        channel = self.pos_channel(request, channel_code)
        payload = PosAckInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(payload.validated_data)
        location = pos.pos_store_get(channel=channel, code=data["location"])
        if location is None:
            raise ApiError(
                status_code=422,
                code="validation_error",
                detail=f"location: {data['location']!r} is not a location of {channel.code!r}.",
                errors=[
                    {
                        "field": "location",
                        "code": "not_on_channel",
                        "message": "not a location of this channel",
                    }
                ],
            )
        result = pos.store_ack_record(channel=channel, location=location, cursor=data["cursor"])
        acked = result.acknowledgement.acked_event_id
        detail = (
            f"Recorded: applied up to position {acked}."
            if result.moved
            else f"Nothing changed: the store had already acknowledged up to position {acked}."
        )
        body = {"acknowledgement": result.acknowledgement, "moved": result.moved, "detail": detail}
        return Response(PosAckOutputSerializer(body).data)
