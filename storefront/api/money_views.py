"""What a front-end shows around prices: the shipping methods an address can choose, with what
each costs; the promotions running on a channel; the tax rates of a country.

``/api/v1/shipping-methods/``, ``/api/v1/promotions/`` and ``/api/v1/tax-rates/``, all under
``catalog:read``. The figures come from the same functions as order placement
(``orders.shipping.shipping_options``, the promotion engine's rules, ``core`` tax rates), so what
a webshop quotes is what the order will be charged.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core import selectors as core_selectors
from core.scopes import Scope
from orders import promotions as promotion_rules
from orders import shipping
from storefront.api.views import (
    _CHANNEL_PARAM,
    COUNTRY_PARAM_PATTERN,
    POSTCODE_PARAM_MAX,
    POSTCODE_PARAM_PATTERN,
    channel_for_request,
)

MONEY_PATTERN = r"^\d{1,10}(\.\d{1,2})?$"
MAX_WEIGHT_GRAMS = 1_000_000


class ShippingQuerySerializer(serializers.Serializer):
    country = serializers.RegexField(COUNTRY_PARAM_PATTERN)
    postcode = serializers.RegexField(
        POSTCODE_PARAM_PATTERN, max_length=POSTCODE_PARAM_MAX, required=False
    )
    weight_grams = serializers.IntegerField(
        min_value=0, max_value=MAX_WEIGHT_GRAMS, required=False, default=0
    )
    goods_value = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, default=Decimal(0)
    )


class ShippingOptionSerializer(serializers.Serializer):
    code = serializers.CharField(source="method_code")
    name = serializers.CharField()
    carrier = serializers.CharField()
    service = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    free = serializers.BooleanField()


class ShippingMethodsResponseSerializer(serializers.Serializer):
    channel = serializers.CharField()
    country = serializers.CharField()
    postcode = serializers.CharField(allow_blank=True)
    results = ShippingOptionSerializer(many=True)


class ShippingMethodListView(generics.GenericAPIView):
    """The shipping methods a channel offers to an address, with the price of a parcel."""

    read_scope = Scope.CATALOG_READ
    serializer_class = ShippingMethodsResponseSerializer
    pagination_class = None

    @extend_schema(
        operation_id="shipping_methods_list",
        summary="Shipping methods and prices for an address",
        parameters=[
            _CHANNEL_PARAM,
            OpenApiParameter(
                "country",
                {"type": "string", "pattern": COUNTRY_PARAM_PATTERN},
                required=True,
                description="Delivery country, ISO 3166-1 alpha-2 (e.g. NL).",
            ),
            OpenApiParameter(
                "postcode",
                {
                    "type": "string",
                    "pattern": POSTCODE_PARAM_PATTERN,
                    "maxLength": POSTCODE_PARAM_MAX,
                },
                description="Delivery postcode; methods limited to postcode ranges need it.",
            ),
            OpenApiParameter(
                "weight_grams",
                {"type": "integer", "minimum": 0, "maximum": MAX_WEIGHT_GRAMS},
                description="The parcel's weight (default 0).",
            ),
            OpenApiParameter(
                "goods_value",
                {"type": "string", "pattern": MONEY_PATTERN},
                description="The goods' value in the channel's currency, e.g. `59.90` "
                "(default 0): rates by value and free-over thresholds use it.",
            ),
        ],
        responses={
            200: ShippingMethodsResponseSerializer,
            400: OpenApiResponse(
                description="`invalid_parameter`; `invalid_address` (a postcode that is not "
                "the country's)."
            ),
            404: OpenApiResponse(description="No such channel for this caller."),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        channel = channel_for_request(request)
        query = ShippingQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        data = query.validated_data
        country, postcode = shipping.address_normalise(
            country=data["country"], postcode=data.get("postcode")
        )
        options = shipping.shipping_options(
            channel_code=channel.code,
            country=country,
            postcode=postcode if data.get("postcode") is not None else None,
            weight_grams=data["weight_grams"],
            goods_value=data["goods_value"],
            currency=channel.currency,
        )
        body = {
            "channel": channel.code,
            "country": country,
            "postcode": postcode,
            "results": options,
        }
        return Response(ShippingMethodsResponseSerializer(body).data)


class PromotionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField(
        help_text="percent_off, amount_off, buy_x_get_y, spend_threshold or free_shipping."
    )
    value = serializers.DecimalField(max_digits=12, decimal_places=2)
    target = serializers.CharField(help_text="all, products, categories or variants.")
    product_ids = serializers.ListField(child=serializers.IntegerField())
    category_ids = serializers.ListField(child=serializers.IntegerField())
    variant_ids = serializers.ListField(child=serializers.IntegerField())
    buy_quantity = serializers.IntegerField()
    get_quantity = serializers.IntegerField()
    threshold = serializers.DecimalField(max_digits=12, decimal_places=2)
    customer_scope = serializers.CharField()
    requires_coupon = serializers.BooleanField()
    stackable = serializers.BooleanField()
    priority = serializers.IntegerField()
    starts_at = serializers.DateTimeField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)


class PromotionsResponseSerializer(serializers.Serializer):
    channel = serializers.CharField()
    results = PromotionOutputSerializer(many=True)


class PromotionListView(generics.GenericAPIView):
    """The promotions running on a channel now (codes of coupons are never listed)."""

    read_scope = Scope.CATALOG_READ
    serializer_class = PromotionsResponseSerializer
    pagination_class = None

    @extend_schema(
        operation_id="promotions_list",
        summary="Promotions running on a channel",
        parameters=[_CHANNEL_PARAM],
        responses={
            200: PromotionsResponseSerializer,
            404: OpenApiResponse(description="No such channel for this caller."),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        channel = channel_for_request(request)
        rules = promotion_rules.promotions_running(channel_code=channel.code, at=timezone.now())
        results = [
            {
                "id": rule.id,
                "name": rule.name,
                "kind": rule.kind,
                "value": rule.value,
                "target": rule.target,
                "product_ids": sorted(rule.product_ids),
                "category_ids": sorted(rule.category_ids),
                "variant_ids": sorted(rule.variant_ids),
                "buy_quantity": rule.buy_quantity,
                "get_quantity": rule.get_quantity,
                "threshold": rule.threshold,
                "customer_scope": rule.customer_scope,
                "requires_coupon": rule.requires_coupon,
                "stackable": rule.stackable,
                "priority": rule.priority,
                "starts_at": rule.starts_at,
                "ends_at": rule.ends_at,
            }
            for rule in rules
        ]
        return Response(
            PromotionsResponseSerializer({"channel": channel.code, "results": results}).data
        )


class TaxRateOutputSerializer(serializers.Serializer):
    country = serializers.CharField()
    tax_class = serializers.CharField(source="tax_class.code")
    name = serializers.CharField()
    rate = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="Percent.")


class TaxRatesResponseSerializer(serializers.Serializer):
    results = TaxRateOutputSerializer(many=True)


class TaxQuerySerializer(serializers.Serializer):
    country = serializers.RegexField(COUNTRY_PARAM_PATTERN, required=False)


class TaxRateListView(generics.GenericAPIView):
    """Each country's VAT rate per tax class (a product type names its class)."""

    read_scope = Scope.CATALOG_READ
    serializer_class = TaxRatesResponseSerializer
    pagination_class = None

    @extend_schema(
        operation_id="tax_rates_list",
        summary="Tax rates per country and tax class",
        parameters=[
            OpenApiParameter(
                "country",
                {"type": "string", "pattern": COUNTRY_PARAM_PATTERN},
                description="Only this country's rates (ISO 3166-1 alpha-2).",
            )
        ],
        responses={
            200: TaxRatesResponseSerializer,
            400: OpenApiResponse(description="Bad country."),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = TaxQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        rates = core_selectors.tax_rate_list(country=query.validated_data.get("country"))
        return Response(TaxRatesResponseSerializer({"results": rates}).data)
