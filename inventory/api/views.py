"""Stock and store-locator endpoints: validate, call one service or selector, serialize."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors as catalog_selectors
from core.api.conditional import etag_for, require_if_match
from core.api.filters import SyncFilterSet
from core.api.idempotency import idempotent
from core.api.params import near_parameter, near_parse
from core.api.permissions import request_principal
from core.api.principal import ApiPrincipal
from core.api.problems import ApiError
from core.scopes import Scope
from inventory import selectors, services
from inventory.api.serializers import (
    HoldInputSerializer,
    HoldOutputSerializer,
    HoldReleaseOutputSerializer,
    LocationOutputSerializer,
    MovementBatchInputSerializer,
    MovementBatchOutputSerializer,
    StockCountInputSerializer,
    StockOutputSerializer,
)
from inventory.models import Location, StockLevel
from inventory.services import MovementInput, StockLine

_CONFLICT = OpenApiResponse(description="`insufficient_stock` (with `shortages`) and the like.")
_LOCATION_NOT_ALLOWED = OpenApiResponse(
    description="`location_not_allowed`: a location the key's channels do not sell from (without "
    "the `stock:all_locations` scope); `errors[]` names each one. Nothing is written."
)


def _key_namespace(principal: ApiPrincipal) -> str:
    """The caller's namespace for movement idempotency keys and hold references.

    Stored keys and references start with it, so it must never change: ``partner:<id>:`` for a
    partner key, ``user:<id>:`` for staff."""
    if principal.partner is not None:
        return f"partner:{principal.partner.pk}:"
    user_id = principal.user.pk if principal.user is not None else None
    return f"user:{user_id}:"


def _stock_body(*, location_code: str, sku: str, level: StockLevel | None) -> dict[str, Any]:
    counters = ("on_hand", "committed", "safety_stock", "incoming", "damaged")
    values = {name: getattr(level, name) if level else 0 for name in counters}
    return dict(StockOutputSerializer({"location": location_code, "sku": sku, **values}).data)


def stock_location_ids_for(principal: ApiPrincipal) -> frozenset[int] | None:
    """The locations whose stock the caller may read and write; ``None`` means every location.

    * a key with ``stock:all_locations`` (ERP, WMS), and a staff member whose role adjusts stock
      (the inventory manager's permission, see ``core.scopes.STAFF_SCOPE_PERMISSIONS``) or a
      superuser: every location;
    * any other partner key: the active locations its channels sell from;
    * any other staff member: the active stores they are a member of (``StaffMember``, all of
      them: a store manager's several), or none.
    """
    if principal.has_scope(Scope.STOCK_ALL_LOCATIONS):
        return None
    if principal.kind == "staff":
        user_id = principal.user.pk if principal.user is not None else None
        if not user_id:
            return frozenset()
        stores = selectors.staff_store_list(user_id=int(user_id)).values_list("pk", flat=True)
        return frozenset(stores)
    return selectors.location_ids_for_channels(channel_codes=principal.channel_codes or ())


def _resolve(location_code: str, sku: str) -> tuple[int, int]:
    location_id = selectors.location_ids_by_code(codes=[location_code]).get(location_code)
    variant_id = catalog_selectors.variant_ids_by_sku(skus=[sku]).get(sku)
    if location_id is None or variant_id is None:
        raise _not_found(location_code, sku)
    return location_id, variant_id


def _not_found(location_code: str, sku: str) -> ApiError:
    return ApiError(
        status_code=404,
        code="not_found",
        detail=f"No active location {location_code!r} or no variant {sku!r}.",
    )


def _require_locations(
    *, allowed: frozenset[int] | None, named: list[tuple[str, str, int]]
) -> None:
    """Refuse a write that names a location outside the caller's: ``403 location_not_allowed``
    with one error per offending ``(field, location code, location id)``, before anything is
    written."""
    if allowed is None:
        return
    errors = [
        {
            "field": field,
            "code": "location_not_allowed",
            "message": f"{code!r} is not a location this caller may change stock at",
        }
        for field, code, location_id in named
        if location_id not in allowed
    ]
    if errors:
        outside = sorted(
            {code for _field, code, location_id in named if location_id not in allowed}
        )
        raise ApiError(
            status_code=403,
            code="location_not_allowed",
            detail=f"This caller may not change stock at {', '.join(outside)}: a key only at "
            "the locations its channels sell from unless it has 'stock:all_locations', a staff "
            "member only at their home location unless their role adjusts stock.",
            errors=errors,
        )


class StockDetailView(APIView):
    """One variant's stock at one location; ``PUT`` sets on hand from a count."""

    read_scope = Scope.STOCK_READ
    write_scope = Scope.STOCK_WRITE

    @extend_schema(
        operation_id="stock_retrieve",
        summary="Get stock of a SKU at a location",
        description="Only at the locations the key's channels sell from, unless the key has "
        "`stock:all_locations`; any other location answers 404 like an unknown one.",
        responses={
            200: StockOutputSerializer,
            404: OpenApiResponse(description="Unknown location or SKU, or not the key's."),
        },
    )
    def get(self, request: Request, location_code: str, sku: str) -> Response:
        allowed = stock_location_ids_for(request_principal(request))
        location_id, _variant_id = _resolve(location_code, sku)
        if allowed is not None and location_id not in allowed:
            raise _not_found(location_code, sku)  # as if the location did not exist
        level = selectors.stock_level_get(location_code=location_code, sku=sku)
        return Response(_stock_body(location_code=location_code, sku=sku, level=level))

    @extend_schema(
        operation_id="stock_count",
        summary="Set on hand from a count (absolute)",
        description="The difference to the current on hand is recorded as a `count` movement. "
        "Only at a location the key's channels sell from, unless the key has "
        "`stock:all_locations` (403 `location_not_allowed`). "
        "Send `If-Match` with the ETag of the GET to refuse the write when the stock changed "
        "since you read it (412). A count below the committed units is refused (409).",
        request=StockCountInputSerializer,
        responses={
            200: StockOutputSerializer,
            403: _LOCATION_NOT_ALLOWED,
            404: OpenApiResponse(description="Unknown location or SKU."),
            409: _CONFLICT,
            412: OpenApiResponse(description="The ETag is stale."),
        },
        examples=[
            OpenApiExample(
                "Cycle count",
                value={"on_hand": 12, "reason": "cycle count", "reference": "WMS-8812"},
                request_only=True,
            )
        ],
    )
    def put(self, request: Request, location_code: str, sku: str) -> Response:
        payload = StockCountInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        principal = request_principal(request)
        allowed = stock_location_ids_for(principal)
        location_id, variant_id = _resolve(location_code, sku)
        _require_locations(allowed=allowed, named=[("location", location_code, location_id)])
        actor = principal.actor

        def if_match(level: StockLevel) -> None:  # runs on the locked level
            require_if_match(
                request, _stock_body(location_code=location_code, sku=sku, level=level)
            )

        level, _movement = services.stock_count(
            variant_id=variant_id,
            location_id=location_id,
            actor=actor,
            current_check=if_match,
            **payload.validated_data,
        )
        body = _stock_body(location_code=location_code, sku=sku, level=level)
        return Response(body, headers={"ETag": etag_for(body)})


class StockMovementBatchView(APIView):
    """Relative stock movements in bulk, all or none."""

    write_scope = Scope.STOCK_WRITE

    @extend_schema(
        operation_id="stock_movements_create",
        summary="Post relative stock movements",
        description="Kinds: `receipt`, `return` (add on hand), `damage` (on hand to damaged), "
        "`write_off` (remove damaged), `adjustment` (signed, needs a `reason`). The batch is "
        "applied all or none. Send `Idempotency-Key` for the request, and an `idempotency_key` "
        "per movement: a movement whose key your partner already used with the same content is "
        "not applied twice (it is returned as stored); with other content it is refused (422). "
        "Every location must be one the key's channels sell from, unless the key has "
        "`stock:all_locations` (403 `location_not_allowed`).",
        request=MovementBatchInputSerializer,
        responses={
            201: MovementBatchOutputSerializer,
            403: _LOCATION_NOT_ALLOWED,
            409: _CONFLICT,
            422: OpenApiResponse(description="An idempotency key reused with another body."),
        },
        examples=[
            OpenApiExample(
                "Receipt and damage",
                value={
                    "movements": [
                        {
                            "location": "wh-tilburg",
                            "sku": "DEMO-000001-1",
                            "kind": "receipt",
                            "quantity": 24,
                            "reference": "ASN-1001",
                            "reference_type": "document",
                            "idempotency_key": "ASN-1001-1",
                        }
                    ]
                },
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        payload = MovementBatchInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        rows = payload.validated_data["movements"]
        variants = catalog_selectors.variant_ids_by_sku(skus=[row["sku"] for row in rows])
        locations = selectors.location_ids_by_code(codes=[row["location"] for row in rows])
        errors = [
            {
                "field": f"movements.{i}.{field}",
                "code": "does_not_exist",
                "message": f"unknown {field}",
            }
            for i, row in enumerate(rows)
            for field, known in (("location", locations), ("sku", variants))
            if row[field] not in known
        ]
        if errors:
            raise ApiError(
                status_code=400,
                code="validation_error",
                detail="; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]),
                errors=errors,
            )
        principal = request_principal(request)
        _require_locations(
            allowed=stock_location_ids_for(principal),
            named=[
                (f"movements.{i}.location", row["location"], locations[row["location"]])
                for i, row in enumerate(rows)
            ],
        )
        namespace = _key_namespace(principal)
        movements = services.stock_movements_apply(
            movements=[
                MovementInput(
                    variant_id=variants[row["sku"]],
                    location_id=locations[row["location"]],
                    kind=row["kind"],
                    quantity=row["quantity"],
                    reason=row["reason"],
                    reference=row["reference"],
                    reference_type=row["reference_type"],
                    idempotency_key=namespace + row["idempotency_key"]
                    if row["idempotency_key"]
                    else None,
                )
                for row in rows
            ],
            actor=principal.actor,
        )
        body = MovementBatchOutputSerializer(
            {
                "movements": [
                    {
                        "id": movement.pk,
                        "location": row["location"],
                        "sku": row["sku"],
                        "kind": movement.kind,
                        "on_hand_delta": movement.on_hand_delta,
                        "damaged_delta": movement.damaged_delta,
                        "reason": movement.reason,
                        "reference": movement.reference,
                        "reference_type": movement.reference_type,
                        "idempotency_key": row["idempotency_key"],
                        "created_at": movement.created_at,
                    }
                    for row, movement in zip(rows, movements, strict=True)
                ]
            }
        ).data
        return Response(body, status=status.HTTP_201_CREATED)


class LocationFilterSet(SyncFilterSet):
    class Meta:
        model = Location
        fields = ["updated_since"]


class LocationListView(generics.ListAPIView):
    """Store locator: active locations, nearest first when ``near`` is given."""

    serializer_class = LocationOutputSerializer
    filterset_class = LocationFilterSet
    cursor_ordering = ("updated_at", "id")

    def get_queryset(self) -> QuerySet[Location]:
        queryset = selectors.location_list()
        if self._pickup_only():
            queryset = queryset.filter(offers_pickup=True)
        return queryset

    def _pickup_only(self) -> bool:
        raw = self.request.query_params.get("pickup")
        if raw is None:
            return False
        raw = raw.lower()
        if raw in ("false", "0"):
            return False
        if raw in ("true", "1"):
            return True
        raise ApiError(
            status_code=400, code="invalid_parameter", detail="pickup must be true or false."
        )

    @extend_schema(
        operation_id="locations_list",
        summary="Find locations (store locator)",
        description="Without `near`: every active location, cursor-paginated by `updated_at`. "
        "With `near=<lat>,<lng>`: the `limit` (default 50) nearest located locations sorted by "
        "`distance_km` (great-circle), in one page.",
        parameters=[
            near_parameter("`<lat>,<lng>`, e.g. `52.37,4.89`"),
            OpenApiParameter("pickup", bool, description="Only locations offering pickup."),
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        near = request.query_params.get("near")
        if near is None:
            return super().get(request, *args, **kwargs)
        # The filters do not apply to a nearest-first page, but a malformed one is still a 400.
        self.filter_queryset(self.get_queryset())
        latitude, longitude = near_parse(near)
        limit = _parse_limit(request.query_params.get("limit"))
        ranked = selectors.locations_near(
            latitude=latitude, longitude=longitude, pickup_only=self._pickup_only(), limit=limit
        )
        context = {**self.get_serializer_context(), "distances": {loc.pk: km for loc, km in ranked}}
        serializer = LocationOutputSerializer(
            [loc for loc, _ in ranked], many=True, context=context
        )
        return Response({"results": serializer.data, "next": None, "previous": None})


def _parse_limit(raw: str | None) -> int:
    if raw is None:
        return 50
    if not raw.isdigit() or not 1 <= int(raw) <= 200:
        raise ApiError(
            status_code=400,
            code="invalid_parameter",
            detail="limit must be an integer from 1 to 200.",
            errors=[{"field": "limit", "code": "invalid", "message": "1 to 200"}],
        )
    return int(raw)


def _hold_reference(principal: ApiPrincipal, reference: str) -> str:
    """Holds are named by the caller; the stored reference is namespaced by the caller so two
    partners' carts can never release each other's holds."""
    return f"api:{_key_namespace(principal)}{reference}"


def hold_reference_for(principal: ApiPrincipal, reference: str) -> str:
    """The stored reference of the caller's hold ``reference``, for other APIs that name a hold
    (``POST /api/v1/orders/`` with ``hold``): another caller's hold is never found this way."""
    return _hold_reference(principal, reference)


class StockHoldCreateView(APIView):
    """Hold units for a while (a cart at checkout): all lines or none."""

    write_scope = Scope.STOCK_WRITE

    @extend_schema(
        operation_id="stock_holds_create",
        summary="Hold stock (all lines or none)",
        description="Holds count against available-to-sell until they expire (`ttl_seconds`, "
        "60 s to 24 h) or are released. A short line refuses the whole request with `409 "
        "insufficient_stock` and per-line `shortages`; nothing is held. Every location must be "
        "one the key's channels sell from, unless the key has `stock:all_locations` (403 "
        "`location_not_allowed`).",
        request=HoldInputSerializer,
        responses={
            201: HoldOutputSerializer,
            403: _LOCATION_NOT_ALLOWED,
            409: _CONFLICT,
            422: OpenApiResponse(description="An idempotency key reused with another body."),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        payload = HoldInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        lines = data["lines"]
        variants = catalog_selectors.variant_ids_by_sku(skus=[line["sku"] for line in lines])
        locations = selectors.location_ids_by_code(codes=[line["location"] for line in lines])
        errors = [
            {"field": f"lines.{i}.{field}", "code": "does_not_exist", "message": f"unknown {field}"}
            for i, line in enumerate(lines)
            for field, known in (("location", locations), ("sku", variants))
            if line[field] not in known
        ]
        if errors:
            raise ApiError(
                status_code=400,
                code="validation_error",
                detail="; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]),
                errors=errors,
            )
        principal = request_principal(request)
        _require_locations(
            allowed=stock_location_ids_for(principal),
            named=[
                (f"lines.{i}.location", line["location"], locations[line["location"]])
                for i, line in enumerate(lines)
            ],
        )
        holds = services.stock_reserve(
            lines=[
                StockLine(variants[line["sku"]], locations[line["location"]], line["quantity"])
                for line in lines
            ],
            reference=_hold_reference(principal, data["reference"]),
            ttl=timedelta(seconds=data["ttl_seconds"]),
        )
        body = {"reference": data["reference"], "expires_at": holds[0].expires_at, "lines": lines}
        return Response(HoldOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class StockHoldReleaseView(APIView):
    write_scope = Scope.STOCK_WRITE

    @extend_schema(
        operation_id="stock_holds_release",
        summary="Release a hold",
        description="Gives the held units back to sale; releasing twice releases nothing.",
        request=None,
        responses={200: HoldReleaseOutputSerializer},
    )
    def delete(self, request: Request, reference: str) -> Response:
        released = services.stock_hold_release(
            reference=_hold_reference(request_principal(request), reference)
        )
        return Response(
            HoldReleaseOutputSerializer({"reference": reference, "released": released}).data
        )
