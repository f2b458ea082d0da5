"""Customer endpoints: validate, call one service or selector, serialize.

A partner key sees only customers linked to its channels (``CustomerChannel``); any other
customer id is a 404, exactly like an id that does not exist.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
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

from core.api.filters import SyncFilterSet
from core.api.idempotency import idempotent
from core.api.permissions import request_principal
from core.api.principal import ApiPrincipal
from core.api.problems import ApiError
from core.scopes import Scope
from customers import selectors, services
from customers.api.serializers import (
    ConsentInputSerializer,
    ConsentOutputSerializer,
    CustomerDetailOutputSerializer,
    CustomerOutputSerializer,
    LoyaltyOutputSerializer,
    RedeemInputSerializer,
    RedemptionOutputSerializer,
)
from customers.identifiers import email_normalise, phone_normalise
from customers.models import Customer, IdentifierKind, LoyaltyAccount

_NOT_FOUND = OpenApiResponse(description="No such customer, or not one of your channels'.")
LEDGER_ROWS = 50


def customer_body(customer: Customer, principal: ApiPrincipal) -> dict[str, Any]:
    """The customer as the caller may see it: external ids and channels of its own channels."""
    visible = principal.channel_codes
    identifiers = [
        {"kind": i.kind, "namespace": i.namespace, "value": i.value}
        for i in customer.identifiers.all()
        if i.kind != IdentifierKind.EXTERNAL or visible is None or i.namespace in visible
    ]
    channels = [
        link.channel_code
        for link in customer.channel_links.all()
        if visible is None or link.channel_code in visible
    ]
    try:
        balance = customer.loyalty_account.balance
    except LoyaltyAccount.DoesNotExist:
        balance = 0
    return {
        "id": customer.pk,
        "name": customer.name,
        "status": customer.status,
        "identifiers": identifiers,
        "channels": channels,
        "loyalty_balance": balance,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
    }


def _customer_or_404(customer_id: int, principal: ApiPrincipal) -> Customer:
    customer = selectors.customer_get(
        customer_id=customer_id, channel_codes=principal.channel_codes
    )
    if customer is None:
        raise ApiError(status_code=404, code="not_found", detail=f"No customer {customer_id}.")
    return customer


def _channel_allowed(principal: ApiPrincipal, channel: str) -> str:
    if not principal.can_see_channel(channel):
        raise ApiError(
            status_code=400,
            code="invalid_channel",
            detail=f"Channel {channel!r} is not one of your channels.",
            errors=[{"field": "channel", "code": "not_yours", "message": "not your channel"}],
        )
    return channel


class CustomerFilterSet(SyncFilterSet):
    class Meta:
        model = Customer
        fields: list[str] = []


class CustomerListView(generics.ListAPIView):
    """Find customers by identifier, or page through every change (``updated_since``)."""

    read_scope = Scope.CUSTOMERS_READ
    serializer_class = CustomerOutputSerializer
    filterset_class = CustomerFilterSet
    cursor_ordering = ("updated_at", "id")

    def get_queryset(self) -> QuerySet[Customer]:
        if getattr(self, "swagger_fake_view", False):
            return Customer.objects.none()
        params = self.request.query_params
        email = params.get("email", "").strip()
        phone = params.get("phone", "").strip()
        region = params.get("region", "NL").strip().upper() or "NL"
        return selectors.customer_list(
            channel_codes=request_principal(self.request).channel_codes,
            email=email_normalise(email) if email else "",
            phone=phone_normalise(phone, default_region=region) if phone else "",
            loyalty_card="".join(params.get("loyalty_card", "").split()).upper(),
        )

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        if args:
            principal = request_principal(self.request)
            args = ([customer_body(c, principal) for c in args[0]], *args[1:])
        return super().get_serializer(*args, **kwargs)

    @extend_schema(
        operation_id="customers_list",
        summary="Find customers (scoped to your channels)",
        description="Filters are exact and combined: `email` (case-insensitive), `phone` (any "
        "notation; national numbers are read in `region`, default NL), `loyalty_card`. Invalid "
        "email or phone: 400 `invalid_identifier`. Ordered by `updated_at` for incremental sync.",
        parameters=[
            OpenApiParameter("email", str),
            OpenApiParameter("phone", str),
            OpenApiParameter("region", str, description="ISO country for national numbers."),
            OpenApiParameter("loyalty_card", str),
        ],
        responses={200: CustomerOutputSerializer(many=True)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CustomerDetailView(APIView):
    read_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customers_retrieve",
        summary="Get a customer with identifiers, channels, loyalty balance and consents",
        responses={200: CustomerDetailOutputSerializer, 404: _NOT_FOUND},
    )
    def get(self, request: Request, customer_id: int) -> Response:
        principal = request_principal(request)
        customer = _customer_or_404(customer_id, principal)
        body = customer_body(customer, principal)
        body["consents"] = list(selectors.consent_state(customer_id=customer.pk).values())
        return Response(CustomerDetailOutputSerializer(body).data)


class CustomerConsentView(APIView):
    write_scope = Scope.CUSTOMERS_WRITE

    @extend_schema(
        operation_id="customers_consents_create",
        summary="Record a consent grant or withdrawal",
        description="Appends to the customer's consent log; the current state is the latest "
        "event per purpose. `channel` must be one of your channels.",
        request=ConsentInputSerializer,
        responses={
            201: ConsentOutputSerializer,
            404: _NOT_FOUND,
            409: OpenApiResponse(description="`customer_not_active`: merged or erased."),
            422: OpenApiResponse(description="`idempotency_key_reused`."),
        },
        examples=[
            OpenApiExample(
                "Newsletter opt-in at checkout",
                value={
                    "purpose": "email_marketing",
                    "granted": True,
                    "channel": "webshop",
                    "source": "checkout",
                    "wording_version": "2026-01",
                },
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request: Request, customer_id: int) -> Response:
        principal = request_principal(request)
        payload = ConsentInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        customer = _customer_or_404(customer_id, principal)
        event = services.consent_record(
            customer_id=customer.pk,
            purpose=data["purpose"],
            granted=data["granted"],
            channel_code=_channel_allowed(principal, data["channel"]),
            source=data["source"],
            wording_version=data["wording_version"],
            at=data.get("at"),
        )
        return Response(ConsentOutputSerializer(event).data, status=status.HTTP_201_CREATED)


def _point_value() -> Decimal:
    return Decimal(str(settings.LOYALTY_POINT_VALUE))


class CustomerLoyaltyView(APIView):
    read_scope = Scope.CUSTOMERS_READ

    @extend_schema(
        operation_id="customers_loyalty_retrieve",
        summary="Loyalty balance and the latest ledger rows",
        responses={200: LoyaltyOutputSerializer, 404: _NOT_FOUND},
    )
    def get(self, request: Request, customer_id: int) -> Response:
        customer = _customer_or_404(customer_id, request_principal(request))
        balance = selectors.loyalty_balance(customer_id=customer.pk)
        body = {
            "customer": customer.pk,
            "balance": balance,
            "point_value": _point_value(),
            "balance_value": (balance * _point_value()).quantize(Decimal("0.01")),
            "entries": list(selectors.loyalty_ledger(customer_id=customer.pk)[:LEDGER_ROWS]),
        }
        return Response(LoyaltyOutputSerializer(body).data)


class CustomerLoyaltyRedeemView(APIView):
    write_scope = Scope.CUSTOMERS_WRITE

    @extend_schema(
        operation_id="customers_loyalty_redeem",
        summary="Redeem points as a discount (any channel)",
        description="Spends `points`, oldest points first, worth `points x point_value` in the "
        "order's currency. Idempotent per `reference` (and per `Idempotency-Key`): a retry "
        "returns the same redemption. 409 `insufficient_points` (with `balance`) changes "
        "nothing; 409 `loyalty_reference_reused` when the reference was used for other points.",
        request=RedeemInputSerializer,
        responses={
            201: RedemptionOutputSerializer,
            404: _NOT_FOUND,
            409: OpenApiResponse(description="`insufficient_points`, `loyalty_reference_reused`."),
            422: OpenApiResponse(description="`idempotency_key_reused`."),
        },
        examples=[
            OpenApiExample(
                "Spend 500 points in store",
                value={"points": 500, "channel": "pos", "reference": "POS-2026-0042"},
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request: Request, customer_id: int) -> Response:
        principal = request_principal(request)
        payload = RedeemInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        customer = _customer_or_404(customer_id, principal)
        channel = _channel_allowed(principal, data["channel"])
        redemption = services.loyalty_redeem(
            customer_id=customer.pk,
            points=data["points"],
            channel_code=channel,
            reference=f"api:{principal.ident}:{data['reference']}",
        )
        body = {
            "reference": data["reference"],
            "points": redemption.points,
            "value": redemption.value,
            "channel": redemption.channel_code,
            "status": redemption.status,
            "balance": selectors.loyalty_balance(customer_id=redemption.customer_id),
        }
        return Response(RedemptionOutputSerializer(body).data, status=status.HTTP_201_CREATED)
