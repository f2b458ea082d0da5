"""Order and return endpoints: validate, call one service or selector, serialize.

A partner key sees only its channels' orders and returns (others are 404, as if absent).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
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
from core.api.problems import ApiError
from core.api.throttling import PerKeyRateThrottle
from core.scopes import Scope
from customers import selectors as customer_selectors
from inventory.api.views import hold_reference_for
from orders import selectors, services
from orders.api.sales import sale_record_from_request
from orders.api.serializers import (
    CartCheckoutInputSerializer,
    CartCreateInputSerializer,
    CartHoldInputSerializer,
    CartLineInputSerializer,
    CartOutputSerializer,
    CartPatchInputSerializer,
    CartPricingQuerySerializer,
    ExchangeInputSerializer,
    ExchangeOutputSerializer,
    FulfillmentActionInputSerializer,
    GiftCardOutputSerializer,
    OrderCancelInputSerializer,
    OrderInputSerializer,
    OrderOutputSerializer,
    RefundInputSerializer,
    RefundOutputSerializer,
    ReturnInputSerializer,
    ReturnOutputSerializer,
    ReturnReceiveInputSerializer,
)
from orders.api.throttles import GiftCardMissThrottle
from orders.exceptions import GiftCardUnknown
from orders.models import Cart, FulfillmentMethod, Order, Return
from orders.services.giftcards import CODE_PATTERN

_NOT_FOUND = OpenApiResponse(description="No such order on your channels.")


def _refund_key_owner(request: Request) -> str:
    """The caller as refund idempotency keys name it (``partner:<code>``, ``user:<username>``).
    Refunds already made are matched on these keys: never change this string."""
    principal = request_principal(request)
    if principal.partner is not None:
        return f"partner:{principal.partner.code}"
    return f"user:{getattr(principal.user, 'username', '')}"


def _order_or_404(request: Request, number: str) -> Order:
    order = selectors.order_get(
        number=number, channel_codes=request_principal(request).channel_codes
    )
    if order is None:
        raise ApiError(status_code=404, code="not_found", detail=f"No order {number!r}.")
    return order


class OrderFilterSet(SyncFilterSet):
    class Meta:
        model = Order
        fields = ["status", "updated_since"]


class OrderListCreateView(generics.ListAPIView):
    """Orders of your channels (mirror them with ``updated_since``), and order placement."""

    read_scope = Scope.ORDERS_READ
    write_scope = Scope.ORDERS_WRITE
    serializer_class = OrderOutputSerializer
    filterset_class = OrderFilterSet
    cursor_ordering = ("updated_at", "id")

    def get_queryset(self) -> QuerySet[Order]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Order.objects.none()
        queryset = selectors.order_list(channel_codes=request_principal(self.request).channel_codes)
        channel = self.request.query_params.get("channel")
        if channel:
            if not request_principal(self.request).can_see_channel(channel):
                raise ApiError(
                    status_code=404,
                    code="channel_not_found",
                    detail=f"No channel {channel!r} for this key.",
                )
            queryset = queryset.filter(channel__code=channel)
        customer = self.request.query_params.get("customer")
        if customer is not None:
            if not (customer.isascii() and customer.isdigit()):
                raise ApiError(
                    status_code=400,
                    code="invalid_parameter",
                    detail="customer must be a customer id.",
                    errors=[{"field": "customer", "code": "invalid", "message": customer}],
                )
            queryset = queryset.filter(customer_id=int(customer))
        return queryset

    @extend_schema(
        operation_id="orders_list",
        summary="List orders",
        parameters=[
            OpenApiParameter("channel", str, description="Only this channel's orders."),
            OpenApiParameter(
                "customer",
                {"type": "integer", "minimum": 0},
                description="Only this customer's orders (the id of `GET /customers/`).",
            ),
        ],
        responses={
            200: OrderOutputSerializer(many=True),
            400: OpenApiResponse(description="`invalid_parameter`: a customer id that is not one."),
            404: OpenApiResponse(description="`channel_not_found`: not one of your channels."),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="orders_create",
        summary="Place an order",
        description="All or nothing: every line is committed against stock or nothing is "
        "(409 `insufficient_stock` or `pickup_unavailable`, with per-line `shortages`). "
        "Idempotent by `Idempotency-Key` and by `external_id` per channel (the same "
        "`external_id` returns the existing order with 200). Prices are the channel's at "
        "placement. A till's sale is `fulfillment.method` `carry_out` on a POS channel with "
        "the store in `fulfillment.location` and its `payments` (tender, amount, reference): "
        "fulfilled at once, the units leave that store (409 `insufficient_stock` with `sku` "
        "per shortage when it lacks them), 400 `payment_short` when the payments do not cover "
        "the total, 400 `customer_not_found` for an unknown loyalty card; it needs an "
        "`Idempotency-Key` or an `external_id` (400 `idempotency_key_required`). With `hold` "
        "(the `reference` of your `POST /stock/holds/`) the held units are committed first at "
        "the hold's locations, the rest is sourced as usual, and unused held units go back on "
        "sale: 409 `hold_not_active` (expired, released or used; nothing placed), 404 "
        "`hold_not_found`, 409 `hold_location_mismatch` (a pickup whose hold is at another "
        "store).",
        request=OrderInputSerializer,
        responses={
            200: OrderOutputSerializer,
            201: OrderOutputSerializer,
            404: OpenApiResponse(
                description="The channel is not one of yours; `hold_not_found`: not your hold."
            ),
            409: OpenApiResponse(
                description="`insufficient_stock` / `pickup_unavailable` with `shortages`; "
                "`hold_not_active`, `hold_location_mismatch`."
            ),
            422: OpenApiResponse(description="`idempotency_key_reused`."),
        },
        examples=[
            OpenApiExample(
                "Ship to a customer",
                value={
                    "channel": "webshop",
                    "external_id": "WEB-10002",
                    "customer": {"email": "ann@example.com"},
                    "lines": [{"sku": "DEMO-000001-2", "quantity": 1}],
                    "fulfillment": {"method": "ship", "address": {"country": "NL"}},
                },
                request_only=True,
            ),
            OpenApiExample(
                "Click & collect",
                value={
                    "channel": "webshop",
                    "external_id": "WEB-10001",
                    "customer": {"email": "ann@example.com", "name": "Ann"},
                    "lines": [{"sku": "DEMO-000001-1", "quantity": 1}],
                    "fulfillment": {"method": "pickup", "location": "st-ams-kalverstraat"},
                },
                request_only=True,
            ),
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        payload = OrderInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        if not request_principal(request).can_see_channel(data["channel"]):
            raise ApiError(
                status_code=404, code="not_found", detail=f"No channel {data['channel']!r}."
            )
        fulfillment = data["fulfillment"]
        customer = data.get("customer") or {}
        if fulfillment["method"] == FulfillmentMethod.CARRY_OUT:  # a till's sale
            sold = sale_record_from_request(request, data)
            return Response(
                OrderOutputSerializer(_order_or_404(request, sold.order.number)).data,
                status=status.HTTP_201_CREATED if sold.created else status.HTTP_200_OK,
            )
        result = services.order_place(
            channel_code=data["channel"],
            external_id=data["external_id"],
            lines=[services.LineInput(row["sku"], row["quantity"]) for row in data["lines"]],
            method=fulfillment["method"],
            pickup_location_code=fulfillment["location"],
            address=fulfillment.get("address") or {},
            customer=services.CustomerInput(**customer),
            shipping_total=data["shipping_total"],
            payment_status=data["payment_status"],
            loyalty_points=data["loyalty_points"],
            hold_reference=hold_reference_for(request_principal(request), data["hold"])
            if data["hold"]
            else None,
            gift_cards=[
                services.GiftCardInput(row["code"], row["amount"]) for row in data["gift_cards"]
            ],
            coupons=data["coupons"],
            shipping_method=data["shipping_method"],
            actor=request_principal(request).actor,
        )
        # a new order comes back with what was written (no read-back); an existing one is read
        order = result.order if result.created else _order_or_404(request, result.order.number)
        return Response(
            OrderOutputSerializer(order).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class OrderDetailView(APIView):
    read_scope = Scope.ORDERS_READ

    @extend_schema(
        operation_id="orders_retrieve",
        summary="Get an order",
        responses={200: OrderOutputSerializer, 404: _NOT_FOUND},
    )
    def get(self, request: Request, number: str) -> Response:
        return Response(OrderOutputSerializer(_order_or_404(request, number)).data)


class OrderCancelView(APIView):
    write_scope = Scope.ORDERS_WRITE

    @extend_schema(
        operation_id="orders_cancel",
        summary="Cancel what is not yet fulfilled",
        description="Fulfilments not yet shipped or handed over are cancelled and their units "
        "released. 409 `invalid_transition` when nothing is left to cancel.",
        request=OrderCancelInputSerializer,
        responses={200: OrderOutputSerializer, 404: _NOT_FOUND, 409: OpenApiResponse()},
    )
    def post(self, request: Request, number: str) -> Response:
        payload = OrderCancelInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        order = _order_or_404(request, number)
        services.order_cancel(
            order_id=order.pk,
            reason=payload.validated_data["reason"],
            actor=request_principal(request).actor,
        )
        return Response(OrderOutputSerializer(_order_or_404(request, number)).data)


class ReturnCreateView(APIView):
    write_scope = Scope.RETURNS_WRITE

    @extend_schema(
        operation_id="returns_create",
        summary="Authorise a return",
        description="One RMA for any of your channels' orders: fulfilled lines and quantities, "
        "a reason, and the location where it is returned. 400 `return_invalid` lists every "
        "line that cannot be returned.",
        request=ReturnInputSerializer,
        responses={
            201: ReturnOutputSerializer,
            404: _NOT_FOUND,
            409: OpenApiResponse(description="The order is being changed; retry."),
            422: OpenApiResponse(description="`idempotency_key_reused`."),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        payload = ReturnInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        order = _order_or_404(request, data["order"])
        return_request = services.return_create(
            order_id=order.pk,
            location_code=data["location"],
            reason=data["reason"],
            lines=[
                services.ReturnLineInput(row["sku"], row["quantity"], row["reason"])
                for row in data["lines"]
            ],
            actor=request_principal(request).actor,
        )
        found = selectors.return_get(rma=return_request.rma)
        return Response(ReturnOutputSerializer(found).data, status=status.HTTP_201_CREATED)


class ReturnDetailView(APIView):
    read_scope = Scope.ORDERS_READ

    @extend_schema(
        operation_id="returns_retrieve",
        summary="Get a return",
        responses={200: ReturnOutputSerializer, 404: OpenApiResponse()},
    )
    def get(self, request: Request, rma: str) -> Response:
        found: Return | None = selectors.return_get(
            rma=rma, channel_codes=request_principal(request).channel_codes
        )
        if found is None:
            raise ApiError(status_code=404, code="not_found", detail=f"No return {rma!r}.")
        return Response(ReturnOutputSerializer(found).data)


def _cart_or_404(request: Request, token: str) -> Cart:
    cart = Cart.objects.select_related("channel").filter(token=token).first()
    if cart is None or not request_principal(request).can_see_channel(cart.channel.code):
        raise ApiError(status_code=404, code="not_found", detail="No such cart.")
    return cart


def _cart_body(cart: Cart, request: Request | None = None) -> dict[str, Any]:
    """The cart priced now; a GET may ask for the shipping of a method to a country (and the
    tax of that country) with ``?shipping_method=&country=&postal_code=``."""
    params = request.query_params if request is not None else {}
    found = CartPricingQuerySerializer(data=params)
    found.is_valid(raise_exception=True)
    asked = found.validated_data
    return dict(
        CartOutputSerializer(
            services.cart_view(
                cart=cart,
                country=asked["country"],
                postcode=asked["postal_code"] or None,
                shipping_method=asked["shipping_method"],
            )
        ).data
    )


_CART_404 = OpenApiResponse(description="No such cart on your channels.")
_CART_400 = OpenApiResponse(description="`cart_invalid`: an unsellable SKU, a closed cart...")


class CartCreateView(APIView):
    """A persistent cart any device of the channel can continue with its token."""

    write_scope = Scope.ORDERS_WRITE

    @extend_schema(
        operation_id="carts_create",
        summary="Create a cart",
        request=CartCreateInputSerializer,
        responses={
            201: CartOutputSerializer,
            400: _CART_400,
            404: _CART_404,
            409: OpenApiResponse(description="`idempotency_request_in_progress`."),
            422: OpenApiResponse(description="`idempotency_key_reused`."),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        payload = CartCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        if not request_principal(request).can_see_channel(data["channel"]):
            raise ApiError(
                status_code=404, code="not_found", detail=f"No channel {data['channel']!r}."
            )
        with transaction.atomic():
            cart = services.cart_create(
                channel_code=data["channel"], customer_email=data["customer_email"]
            )
            for row in data["lines"]:
                services.cart_line_set(token=cart.token, sku=row["sku"], quantity=row["quantity"])
            if data["coupons"]:
                services.cart_coupons_set(token=cart.token, coupons=data["coupons"])
        cart.refresh_from_db()
        return Response(_cart_body(cart), status=status.HTTP_201_CREATED)


class CartDetailView(APIView):
    read_scope = Scope.ORDERS_READ
    write_scope = Scope.ORDERS_WRITE

    @extend_schema(
        operation_id="carts_retrieve",
        summary="Get a cart with today's prices",
        description="Priced as its checkout would be: today's channel prices, the running "
        "promotions and the cart's coupons, each line's discount and tax, tax at `country`'s "
        "rates (default: the channel's country) and, with `shipping_method` and `country`, "
        "that method's shipping charge for the cart's parcel (404 `shipping_method_unknown`, "
        "422 `shipping_zone_unserved` / `shipping_rate_missing`, 400 `invalid_address`). A "
        "coupon of the cart that no longer applies is listed in `coupons_refused`.",
        parameters=[CartPricingQuerySerializer],
        responses={
            200: CartOutputSerializer,
            400: OpenApiResponse(description="`invalid_address`, a bad query parameter."),
            404: OpenApiResponse(description="No such cart, or `shipping_method_unknown`."),
            422: OpenApiResponse(description="`shipping_zone_unserved`, `shipping_rate_missing`."),
        },
    )
    def get(self, request: Request, token: str) -> Response:
        return Response(_cart_body(_cart_or_404(request, token), request))

    @extend_schema(
        operation_id="carts_update",
        summary="Tie a cart to the signed-in customer (or attach an email)",
        description="`customer` (an id, or an email resolved like an order's customer) ties "
        "the cart to the customer who signed in, and merges that customer's other open carts "
        "on your channels into this one: this cart keeps its token, lines of the other carts "
        "are added, a SKU in both keeps the larger quantity, the other carts are deleted and "
        "every hold of the carts is released. Another device finds the merged cart with "
        "`GET /customers/{id}/cart/`. 400 `customer_not_found` for a customer you cannot see, "
        "409 `cart_customer_conflict` when the cart belongs to another customer, 409 "
        "`cart_converted` once checked out. `customer_email` alone only sets the email. "
        "`coupons` replaces the cart's codes, each checked on the cart (400 `coupon_unknown`, "
        "`coupon_expired`, `coupon_not_started`, `coupon_wrong_channel`, "
        "`coupon_customer_limit`, `coupon_not_applicable`; 409 `coupon_exhausted`); a refused "
        "code leaves the cart unchanged.",
        request=CartPatchInputSerializer,
        responses={
            200: CartOutputSerializer,
            400: _CART_400,
            404: _CART_404,
            409: OpenApiResponse(
                description="`cart_customer_conflict`, `cart_converted`, `coupon_exhausted`."
            ),
        },
    )
    def patch(self, request: Request, token: str) -> Response:
        payload = CartPatchInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        _cart_or_404(request, token)
        with transaction.atomic():
            if "customer_email" in data:
                services.cart_update(token=token, customer_email=data["customer_email"])
            if "customer" in data:
                value = data["customer"]
                services.cart_customer_set(
                    token=token,
                    customer_id=int(value) if value.isdigit() else None,
                    email="" if value.isdigit() else value,
                    channel_codes=request_principal(request).channel_codes,
                )
            if "coupons" in data:
                services.cart_coupons_set(token=token, coupons=data["coupons"])
        return Response(_cart_body(_cart_or_404(request, token)))


_CART_409 = OpenApiResponse(
    description="`insufficient_stock` / `pickup_unavailable` with `shortages` (each naming its "
    "`sku`); `cart_converted` (with `order`) once the cart became an order."
)


class CartHoldView(APIView):
    """Hold a cart's units while the shopper pays."""

    write_scope = Scope.ORDERS_WRITE

    @extend_schema(
        operation_id="carts_hold",
        summary="Hold the cart's units while checking out",
        description="Sources the cart like its order will be (`pickup`: that store; `ship`: "
        "the channel's locations) and holds the units for `ttl_seconds` (60 to 1800). A new "
        "hold replaces the cart's previous one; changing a line releases it; checkout uses it "
        "up. All lines or none: 409 with `shortages`, and the previous hold stays. 400 "
        "`cart_empty` for a cart without lines.",
        request=CartHoldInputSerializer,
        responses={
            200: CartOutputSerializer,
            400: _CART_400,
            404: _CART_404,
            409: _CART_409,
            422: OpenApiResponse(description="`idempotency_key_reused`."),
        },
    )
    @idempotent
    def post(self, request: Request, token: str) -> Response:
        payload = CartHoldInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        _cart_or_404(request, token)
        fulfillment = data["fulfillment"]
        cart = services.cart_hold(
            token=token,
            method=fulfillment["method"],
            pickup_location_code=fulfillment["location"],
            address=fulfillment.get("address") or {},
            ttl=timedelta(seconds=data["ttl_seconds"]),
        )
        return Response(_cart_body(cart))


class CartCheckoutView(APIView):
    """Turn a cart into an order, once."""

    write_scope = Scope.ORDERS_WRITE

    @extend_schema(
        operation_id="carts_checkout",
        summary="Check out a cart",
        description="Places the cart as an order on the cart's channel with the body of "
        "`POST /orders/` less `channel` and `lines`: priced at today's prices, using the "
        "cart's hold when one is active (sourced as usual otherwise), for the customer the "
        "cart is tied to unless `customer` names one. Closes the cart in the same transaction. "
        "A retry with the same `Idempotency-Key` replays the first response; any other second "
        "checkout is 409 `cart_converted` naming the `order`. 400 `cart_empty` for a cart "
        "without lines; 409 with `shortages` when the stock is gone (nothing placed, the cart "
        "stays open).",
        request=CartCheckoutInputSerializer,
        responses={
            201: OrderOutputSerializer,
            400: _CART_400,
            404: _CART_404,
            409: _CART_409,
            422: OpenApiResponse(description="`idempotency_key_reused`."),
        },
        examples=[
            OpenApiExample(
                "Ship to the signed-in customer",
                value={
                    "fulfillment": {"method": "ship", "address": {"country": "NL"}},
                    "payment_status": "captured",
                },
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request: Request, token: str) -> Response:
        payload = CartCheckoutInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        _cart_or_404(request, token)
        fulfillment = data["fulfillment"]
        customer = data.get("customer")
        result = services.cart_checkout(
            token=token,
            method=fulfillment["method"],
            pickup_location_code=fulfillment["location"],
            address=fulfillment.get("address") or {},
            customer=services.CustomerInput(**customer) if customer else None,
            shipping_total=data["shipping_total"],
            payment_status=data["payment_status"],
            gift_cards=[
                services.GiftCardInput(row["code"], row["amount"]) for row in data["gift_cards"]
            ],
            shipping_method=data["shipping_method"],
            actor=request_principal(request).actor,
        )
        order = _order_or_404(request, result.order.number)
        return Response(OrderOutputSerializer(order).data, status=status.HTTP_201_CREATED)


class CustomerCartView(APIView):
    """The signed-in customer's open cart, from any device and any of the partner's channels."""

    read_scope = Scope.ORDERS_READ

    @extend_schema(
        operation_id="customers_cart_retrieve",
        summary="Get a customer's open cart",
        description="The customer's open cart on any of your channels (the most recently "
        "changed one), with today's prices. 404 when the customer is not one of your "
        "channels' or has no open cart there; another partner's carts are never shown.",
        responses={
            200: CartOutputSerializer,
            404: OpenApiResponse(description="No such customer, or no open cart."),
        },
    )
    def get(self, request: Request, customer_id: int) -> Response:
        codes = request_principal(request).channel_codes
        if customer_selectors.customer_get(customer_id=customer_id, channel_codes=codes) is None:
            raise ApiError(status_code=404, code="not_found", detail=f"No customer #{customer_id}.")
        cart = services.customer_cart_find(customer_id=customer_id, channel_codes=codes)
        if cart is None:
            raise ApiError(
                status_code=404,
                code="not_found",
                detail=f"Customer #{customer_id} has no open cart on your channels.",
            )
        return Response(_cart_body(cart))


class CartLineView(APIView):
    write_scope = Scope.ORDERS_WRITE

    @extend_schema(
        operation_id="carts_lines_set",
        summary="Set a cart line's quantity",
        description="The SKU must be sellable on the cart's channel; 0 removes the line.",
        request=CartLineInputSerializer,
        responses={200: CartOutputSerializer, 400: _CART_400, 404: _CART_404},
    )
    def post(self, request: Request, token: str) -> Response:
        payload = CartLineInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        _cart_or_404(request, token)
        cart = services.cart_line_set(token=token, **payload.validated_data)
        return Response(_cart_body(cart))


FULFILLMENT_ACTIONS = (
    "pick",
    "pack",
    "ready",
    "hand_over",
    "ship",
    "deliver",
    "cancel",
    "missing",
)


class FulfillmentActionView(APIView):
    """Move one fulfilment of an order along its state machine (a WMS, a 3PL, a POS)."""

    write_scope = Scope.ORDERS_WRITE

    @extend_schema(
        operation_id="fulfillments_action",
        summary="Act on a fulfilment",
        description="`action` is one of `pick`, `pack` (a parcel being picked: packed and "
        "waiting for the carrier, status `packed`), `ready` (pickup: the customer is emailed the "
        "code), `hand_over` (pickup: `code` the customer shows), `ship` (`carrier`, "
        "`tracking_number`; the customer is emailed), `deliver`, `cancel` (`reason`; units "
        "released) or `missing` (`sku`, `quantity`: units not found when picking are taken off "
        "the location's stock and sourced again, else cancelled). 409 `invalid_transition` for "
        "an action the fulfilment's state does not allow, 403 `pickup_code_invalid` for a wrong "
        "code, 400 `order_invalid` for a bad SKU or quantity. Returns the order.",
        request=FulfillmentActionInputSerializer,
        parameters=[
            OpenApiParameter("action", str, OpenApiParameter.PATH, enum=list(FULFILLMENT_ACTIONS)),
        ],
        responses={
            200: OrderOutputSerializer,
            404: _NOT_FOUND,
            400: OpenApiResponse(description="`order_invalid`."),
            403: OpenApiResponse(description="`pickup_code_invalid`, or a missing scope."),
            409: OpenApiResponse(description="`invalid_transition` or `insufficient_stock`."),
        },
    )
    def post(self, request: Request, number: str, fulfillment_id: int, action: str) -> Response:
        order = _order_or_404(request, number)
        fulfillment = order.fulfillments.filter(pk=fulfillment_id).first()
        if fulfillment is None or action not in FULFILLMENT_ACTIONS:
            raise ApiError(
                status_code=404,
                code="not_found",
                detail=f"No fulfilment {fulfillment_id} with action {action!r} on {number}.",
            )
        payload = FulfillmentActionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data, actor, pk = payload.validated_data, request_principal(request).actor, fulfillment.pk
        if action == "pick":
            services.fulfillment_pick(fulfillment_id=pk, actor=actor)
        elif action == "pack":
            services.fulfillment_pack(fulfillment_id=pk, actor=actor)
        elif action == "ready":
            services.fulfillment_ready_for_pickup(fulfillment_id=pk, actor=actor)
        elif action == "hand_over":
            services.fulfillment_hand_over(fulfillment_id=pk, code=data["code"], actor=actor)
        elif action == "ship":
            services.fulfillment_ship(
                fulfillment_id=pk,
                carrier=data["carrier"],
                tracking_number=data["tracking_number"],
                actor=actor,
            )
        elif action == "deliver":
            services.fulfillment_deliver(fulfillment_id=pk, actor=actor)
        elif action == "cancel":
            services.fulfillment_cancel(fulfillment_id=pk, reason=data["reason"], actor=actor)
        else:
            line = next(
                (row for row in fulfillment.lines.all() if row.order_line.sku == data["sku"]), None
            )
            if line is None:
                raise ApiError(
                    status_code=400,
                    code="order_invalid",
                    detail=f"No line {data['sku']!r} in this fulfilment.",
                    errors=[{"field": "sku", "code": "not_found", "message": data["sku"]}],
                )
            services.fulfillment_report_missing(
                fulfillment_id=pk,
                line_id=line.pk,
                quantity=data.get("quantity") or line.quantity,
                actor=actor,
            )
        return Response(OrderOutputSerializer(_order_or_404(request, number)).data)


class ReturnReceiveView(APIView):
    write_scope = Scope.RETURNS_WRITE

    @extend_schema(
        operation_id="returns_receive",
        summary="Receive and inspect a return",
        description="Each return line (by `id`) is `restock` (back on hand at the receiving "
        "location) or `damaged`. All lines at once; 409 `invalid_transition` for a return "
        "already received.",
        request=ReturnReceiveInputSerializer,
        responses={
            200: ReturnOutputSerializer,
            400: OpenApiResponse(description="`return_invalid` or a bad disposition."),
            404: OpenApiResponse(),
            409: OpenApiResponse(description="`invalid_transition`: already received."),
        },
    )
    def post(self, request: Request, rma: str) -> Response:
        found = selectors.return_get(
            rma=rma, channel_codes=request_principal(request).channel_codes
        )
        if found is None:
            raise ApiError(status_code=404, code="not_found", detail=f"No return {rma!r}.")
        payload = ReturnReceiveInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.return_receive(
            return_id=found.pk,
            dispositions={row["id"]: row["disposition"] for row in payload.validated_data["lines"]},
            actor=request_principal(request).actor,
        )
        received = selectors.return_get(rma=rma)
        return Response(ReturnOutputSerializer(received).data)


class RefundCreateView(APIView):
    write_scope = Scope.RETURNS_WRITE

    @extend_schema(
        operation_id="refunds_create",
        summary="Refund an order",
        description="Units (`sku`, `quantity`) at their order price less their share of the "
        "discount, and shipping, never more than was captured in total. The `Idempotency-Key` "
        "header is required: a retry with the same key returns the first refund (200). `rma` "
        "links the refund to a return.",
        parameters=[
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True)
        ],
        request=RefundInputSerializer,
        responses={
            201: RefundOutputSerializer,
            200: RefundOutputSerializer,
            400: OpenApiResponse(description="`refund_invalid`, `idempotency_key_required`."),
            404: _NOT_FOUND,
            409: OpenApiResponse(description="`refund_exceeds_captured`, `refund_exceeds_paid`."),
        },
    )
    def post(self, request: Request, number: str) -> Response:
        order = _order_or_404(request, number)
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            raise ApiError(
                status_code=400,
                code="idempotency_key_required",
                detail="A refund needs an Idempotency-Key header, so that a retry refunds once.",
            )
        payload = RefundInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        return_id = None
        if data["rma"]:
            found = order.returns.filter(rma=data["rma"]).first()
            if found is None:
                raise ApiError(
                    status_code=400,
                    code="refund_invalid",
                    detail=f"No return {data['rma']!r} on {number}.",
                    errors=[{"field": "rma", "code": "not_found", "message": data["rma"]}],
                )
            return_id = found.pk
        refund, created = services.refund_create(
            order_id=order.pk,
            key=f"api:{_refund_key_owner(request)}:{key}",
            lines=[services.RefundLineInput(row["sku"], row["quantity"]) for row in data["lines"]],
            shipping_amount=data["shipping_amount"],
            return_id=return_id,
            reason=data["reason"],
            actor=request_principal(request).actor,
        )
        return Response(
            RefundOutputSerializer(refund).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ExchangeCreateView(APIView):
    """A size exchange on one of your channels' orders: the return and the new item at once."""

    write_scope = Scope.RETURNS_WRITE

    @extend_schema(
        operation_id="exchanges_create",
        summary="Exchange units of an order for another SKU",
        description="One transaction makes an RMA for `quantity` x `return_sku` (handed in at "
        "`location`) and a new order on the same channel and customer for `new_sku`, "
        "discounted by what the returned units were paid (a difference in price is left to pay: "
        "`payment_status` `pending`). The new item is taken from the store's shelf "
        "(`carry_out`), collected later (`pickup`) or shipped (`ship`). With `disposition` the "
        "returned units are received at once; otherwise the RMA is received later at any "
        "store (`POST /returns/{rma}/receive/`), refunding nothing since its value went to the "
        "new order. Refusals change nothing: 400 `exchange_invalid` (`unknown_sku` for a "
        "`new_sku` the channel does not sell), 400 `return_invalid` (`not_in_order`, "
        "`exceeds_returnable`: more than was bought and delivered), 409 `insufficient_stock` "
        "/ `pickup_unavailable` for the new item. Idempotent by `Idempotency-Key`.",
        request=ExchangeInputSerializer,
        responses={
            201: ExchangeOutputSerializer,
            400: OpenApiResponse(description="`exchange_invalid`, `return_invalid`."),
            404: _NOT_FOUND,
            409: OpenApiResponse(description="`insufficient_stock`, `pickup_unavailable`."),
            422: OpenApiResponse(description="`idempotency_key_reused`."),
        },
        examples=[
            OpenApiExample(
                "Swap a size in a store",
                value={
                    "return_sku": "DEMO-000001-1",
                    "new_sku": "DEMO-000001-2",
                    "quantity": 1,
                    "location": "st-ams-kalverstraat",
                    "fulfillment": {"method": "carry_out"},
                    "disposition": "restock",
                },
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        order = _order_or_404(request, number)
        payload = ExchangeInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        fulfillment = data["fulfillment"]
        return_request, new_order = services.exchange_create(
            order_id=order.pk,
            return_sku=data["return_sku"],
            new_sku=data["new_sku"],
            quantity=data["quantity"],
            location_code=data["location"],
            method=fulfillment["method"],
            pickup_location_code=fulfillment["location"],
            address=fulfillment.get("address"),
            reason=data["reason"],
            disposition=data["disposition"],
            actor=request_principal(request).actor,
        )
        body = {
            "return": ReturnOutputSerializer(selectors.return_get(rma=return_request.rma)).data,
            "order": OrderOutputSerializer(selectors.order_get(number=new_order.number)).data,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class GiftCardDetailView(APIView):
    """A gift card's balance, for a till or a webshop checking a card before it is spent."""

    read_scope = Scope.ORDERS_READ
    throttle_classes = [PerKeyRateThrottle, GiftCardMissThrottle]

    @extend_schema(
        operation_id="gift_cards_retrieve",
        summary="Check a gift card's balance",
        description="The balance, currency, expiry and status of the card with this code "
        "(case and dashes do not matter; the balance is 0 and the status `expired` once it "
        "expired). 404 `gift_card_unknown` for a code no card has. Brute-force limit: after "
        "`GIFT_CARD_MISS_RATE` (default 10 an hour) unknown codes, every lookup by the caller is "
        "429 `rate_limited` (with `Retry-After`) until the oldest miss is an hour old.",
        parameters=[
            OpenApiParameter(
                "code",
                {"type": "string", "pattern": CODE_PATTERN},
                OpenApiParameter.PATH,
                description="The card's code, `XXXX-XXXX-XXXX-XXXX`.",
            )
        ],
        responses={
            200: GiftCardOutputSerializer,
            404: OpenApiResponse(description="`gift_card_unknown`: no card has this code."),
            429: OpenApiResponse(description="`rate_limited`: too many unknown codes."),
        },
    )
    def get(self, request: Request, code: str) -> Response:
        try:
            found = services.giftcard_balance(code=code)
        except GiftCardUnknown:
            for throttle in self.get_throttles():
                if isinstance(throttle, GiftCardMissThrottle):
                    throttle.miss_record(request, self)
            raise
        return Response(GiftCardOutputSerializer(found).data)
