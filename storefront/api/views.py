"""The storefront read API: what a webshop or app front-end calls on every page view.

``/api/v1/products/`` and ``/api/v1/variants/`` (the catalog as one channel shows it),
``/api/v1/availability/`` (what a channel may promise, per location and nearby) and
``/api/v1/channels/`` (the channels a key acts for, with the locations they sell from).

It is an app at the top because a channel's view joins the catalog (approved content, channel
price) with inventory (the channel's available-to-sell) and belongs to neither; it is not part of
``channels``, which keeps channels in step by push and feed, not by answering reads.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors as catalog_selectors
from catalog.locales import locale_resolve
from catalog.models import ProductPublication
from catalog.search import FACETS, product_facets, product_search_filter
from core.api.filters import IntegerFilter, SyncFilterSet
from core.api.pagination import CursorPagination
from core.api.params import near_parameter, near_parse, sku_list_parameter, sku_list_parse
from core.api.permissions import request_principal
from core.api.problems import ApiError
from core.models import Channel
from core.models.channels import LOCALE_MAX_LENGTH, LOCALE_PATTERN
from core.scopes import Scope
from inventory import selectors as inventory_selectors
from orders import pricing, shipping
from orders.exceptions import ShippingZoneUnserved
from storefront.api import channel_views
from storefront.api.serializers import (
    FACETS_SCHEMA,
    AvailabilityResponseSerializer,
    ChannelOutputSerializer,
    ChannelProductSerializer,
    ChannelVariantSerializer,
    FacetsSerializer,
    VariantLookupSerializer,
)

COUNTRY_PARAM_PATTERN = r"^[A-Z]{2}$"
POSTCODE_PARAM_PATTERN = r"^[A-Za-z0-9]+([ -][A-Za-z0-9]+)?$"
POSTCODE_PARAM_MAX = 11
MAX_ID = 2**63 - 1  # ids beyond a 64-bit integer cannot exist (and would overflow the driver)
_CHANNEL_PARAM = OpenApiParameter(
    "channel", str, description="Channel code; optional when the key has exactly one channel."
)


def channel_for_request(request: Request) -> Channel:
    """The channel named by ``?channel=`` (or the key's only channel); 400/404 otherwise."""
    principal = request_principal(request)
    code = request.query_params.get("channel")
    if not code and principal.channel_codes is not None and len(principal.channel_codes) == 1:
        [code] = principal.channel_codes
    if not code:
        raise ApiError(
            status_code=400,
            code="invalid_parameter",
            detail="channel is required: this caller acts for several channels.",
            errors=[{"field": "channel", "code": "required", "message": "a channel code"}],
        )
    channel = (
        inventory_selectors.channel_get(code=code, visible_codes=principal.channel_codes)
        if "\x00" not in code
        else None
    )
    if channel is None:
        raise ApiError(
            status_code=404,
            code="channel_not_found",
            detail=f"No channel '{code}' for this caller.",
            errors=[{"field": "channel", "code": "not_found", "message": code}],
        )
    return channel


def _availability(channel: Channel, views: list[Any]) -> dict[str, int]:
    skus = [variant.sku for view in views for variant in view.variants]
    if not skus:
        return {}
    results, _unknown = inventory_selectors.channel_availability(channel=channel, skus=skus)
    return {result.sku: result.available for result in results}


class ProductFilterSet(SyncFilterSet):
    search = filters.CharFilter(
        method="filter_search",
        help_text="Ranked search (best match first): a variant's SKU or GTIN, exact or its "
        "start; or words starting words of the name or brand, typos corrected.",
    )
    category = IntegerFilter(
        method="filter_category", help_text="Category id; includes its subcategories."
    )

    class Meta:
        model = ProductPublication
        fields = ["updated_since", "search", "category"]

    def filter_search(self, queryset: QuerySet[ProductPublication], name: str, value: str) -> Any:
        """``catalog.search``, the admin's and the store page's search: the publications of
        the products found, annotated with ``search_rank`` (the list orders by it)."""
        if not value.strip():
            return queryset
        return product_search_filter(queryset, term=value, product_path="product").queryset

    def filter_category(self, queryset: QuerySet[ProductPublication], name: str, value: Any) -> Any:
        from catalog.models import Category

        category = Category.objects.filter(id=int(value)).first() if 0 < value <= MAX_ID else None
        if category is None:
            return queryset.none()
        return queryset.filter(product__category__path__startswith=category.path)


_FACETS_PARAM = OpenApiParameter(
    "facets",
    {"type": "string", "pattern": rf"^({'|'.join(FACETS)})(,({'|'.join(FACETS)}))*$"},
    description="Comma-separated, any of `category`, `brand`, `attribute`: adds `facets` to "
    "the page, product counts per value over the whole filtered result (every page, with "
    "`search` and `category` applied), the most frequent 50 values per facet first.",
)
RANKED_ORDERING = ("-search_rank", "id")


def facets_parse(raw: str | None) -> list[str]:
    """The facet kinds of ``?facets=`` in their documented order; 400 for an unknown one."""
    if raw is None:
        return []
    asked = [part.strip() for part in raw.split(",")]
    unknown = [part for part in asked if part not in FACETS]
    if unknown or not asked:
        raise ApiError(
            status_code=400,
            code="invalid_parameter",
            detail=f"facets: comma-separated, any of {', '.join(FACETS)}.",
            errors=[{"field": "facets", "code": "invalid", "message": ",".join(unknown)}],
        )
    return [kind for kind in FACETS if kind in asked]


_LOCALE_PARAM = OpenApiParameter(
    "locale",
    {"type": "string", "pattern": LOCALE_PATTERN, "maxLength": LOCALE_MAX_LENGTH},
    required=False,
    description=(
        "The language of the texts (`nl`, `nl-BE`, `fr-BE`: only the language counts): one the "
        "channel sells in. A text not written in it falls back to the channel's default "
        "language, then English. Default: the channel's language. The answer's "
        "`Content-Language` names the language asked for. Another language: "
        "`400 unsupported_locale`, whose `locales` lists the channel's."
    ),
)
_LOCALE_PROBLEM = OpenApiResponse(
    description="`unsupported_locale`: the channel does not sell in that language; `locales` "
    "lists the languages it sells in."
)


def request_languages(request: Request, channel: Channel) -> list[str]:
    """The fallback chain for ``?locale=`` on ``channel`` (``catalog.locales.locale_resolve``;
    a language the channel does not sell in is ``400 unsupported_locale``)."""
    return locale_resolve(channel, request.query_params.get("locale"))


class ProductPagination(CursorPagination):
    """The cursor page, with the optional ``facets`` member in its schema."""

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        page = super().get_paginated_response_schema(schema)
        page["properties"]["facets"] = FACETS_SCHEMA
        return page


class ProductListView(generics.ListAPIView):
    """Published products as the channel shows them: approved content, channel title, variants
    with channel price and channel available-to-sell. A fixed number of queries per page.

    With ``search`` the list is ordered by relevance (``catalog.search``), best first, and the
    cursor follows that order; without it, by the last visible change (``updated_since``)."""

    serializer_class = ChannelProductSerializer
    filterset_class = ProductFilterSet
    pagination_class = ProductPagination
    read_scope = Scope.CATALOG_READ
    cursor_ordering: tuple[str, ...] = ("updated_at", "id")

    def get_queryset(self) -> QuerySet[ProductPublication]:
        if getattr(self, "swagger_fake_view", False):
            return ProductPublication.objects.none()
        self.channel = channel_for_request(self.request)
        return catalog_selectors.published_product_list(channel_code=self.channel.code)

    @extend_schema(
        operation_id="products_list",
        summary="Products as a channel shows them",
        parameters=[_CHANNEL_PARAM, _FACETS_PARAM, _LOCALE_PARAM],
        responses={
            200: ChannelProductSerializer(many=True),
            400: _LOCALE_PROBLEM,
            404: OpenApiResponse(description="No such channel for this caller."),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Plain dicts that match ChannelProductSerializer (storefront.api.channel_views):
        # the page of listings, the cached content, then price and availability in one query.
        kinds = facets_parse(request.query_params.get("facets"))
        found = self.filter_queryset(self.get_queryset())
        languages = request_languages(request, self.channel)
        queryset = channel_views.listing_rows(found)
        if "search_rank" in found.query.annotations:
            # listing_rows' columns and the rank: the cursor's position is the rank
            self.cursor_ordering = RANKED_ORDERING
            queryset = found.values(
                "id",
                "product_id",
                "published_at",
                "updated_at",
                "search_rank",
                **channel_views.LISTING_FIELDS,  # type: ignore[arg-type]
            )
        page = self.paginate_queryset(queryset)
        rows = list(page if page is not None else queryset)
        data = channel_views.product_dicts(
            request=request,
            channel=self.channel,
            listings=[channel_views.listing(r) for r in rows],
            languages=languages,
        )
        response = self.get_paginated_response(data) if page is not None else Response(data)
        if kinds and isinstance(response.data, dict):
            facets = product_facets(product_ids=found.values("product_id"), kinds=kinds)
            response.data["facets"] = FacetsSerializer(facets).data
        response["Content-Language"] = languages[0]
        return response


class ProductDetailView(generics.GenericAPIView):
    serializer_class = ChannelProductSerializer
    read_scope = Scope.CATALOG_READ

    @extend_schema(
        operation_id="products_retrieve",
        summary="One product as a channel shows it",
        parameters=[_CHANNEL_PARAM, _LOCALE_PARAM],
        responses={
            200: ChannelProductSerializer,
            400: _LOCALE_PROBLEM,
            404: OpenApiResponse(description="No such channel, or not published on it."),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        channel = channel_for_request(request)
        languages = request_languages(request, channel)
        row = (
            channel_views.listing_rows(
                catalog_selectors.published_product_list(channel_code=channel.code).filter(
                    product_id=pk
                )
            ).first()
            if pk <= MAX_ID
            else None
        )
        data = (
            channel_views.product_dicts(
                request=request,
                channel=channel,
                listings=[channel_views.listing(row)],
                languages=languages,
            )
            if row is not None
            else []
        )
        if not data:
            raise ApiError(
                status_code=404,
                code="not_found",
                detail=f"Product {pk} is not published on {channel.code}.",
            )
        return Response(data[0], headers={"Content-Language": languages[0]})


class VariantLookupView(generics.GenericAPIView):
    """Variants by SKU on a channel (up to 100), with their product id, channel price and
    available-to-sell. SKUs that exist but are not for sale on the channel are listed in
    ``unknown_skus`` like SKUs that do not exist: a channel never sees unpublished data."""

    serializer_class = VariantLookupSerializer
    read_scope = Scope.CATALOG_READ

    @extend_schema(
        operation_id="variants_list",
        summary="Variants by SKU",
        parameters=[
            sku_list_parameter(),
            _CHANNEL_PARAM,
        ],
        responses={
            200: VariantLookupSerializer,
            404: OpenApiResponse(description="No such channel for this caller."),
        },
    )
    def get(self, request: Request) -> Response:
        skus = sku_list_parse(request.query_params.get("sku"))
        channel = channel_for_request(request)
        offers = catalog_selectors.channel_variant_offers(channel_code=channel.code, skus=skus)
        product_ids = sorted({o.product_id for o in offers.values() if o.reason != "not_published"})
        views = catalog_selectors.product_views(channel_code=channel.code, product_ids=product_ids)
        available = _availability(channel, views)
        context = {**self.get_serializer_context(), "available": available}
        by_sku = {v.sku: (view, v) for view in views for v in view.variants}
        # the prices product_views read, with the sale of a running promotion (display_prices)
        shown = pricing.display_prices(
            channel=channel,
            variant_ids=[v.id for _view, v in by_sku.values() if v.price is not None],
            prices={v.id: v.price for _view, v in by_sku.values() if v.price is not None},
            tax=False,
        )
        results = []
        for sku in skus:
            if sku not in by_sku:
                continue
            view, variant = by_sku[sku]
            data = dict(ChannelVariantSerializer(variant, context=context).data)
            display = shown.get(variant.id)
            data["price"] = (
                None if display is None else channel_views.price_dict(display, channel=channel)
            )
            data["product_id"] = view.id
            data["product_title"] = view.title
            results.append(data)
        unknown = [sku for sku in skus if sku not in by_sku]
        return Response({"channel": channel.code, "results": results, "unknown_skus": unknown})


class ChannelFilterSet(SyncFilterSet):
    class Meta:
        model = Channel
        fields = ["kind", "updated_since"]


class ChannelListView(generics.ListAPIView):
    """The sales channels this key may act for."""

    serializer_class = ChannelOutputSerializer
    filterset_class = ChannelFilterSet
    cursor_ordering = ("updated_at", "id")

    def get_queryset(self) -> QuerySet[Channel]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Channel.objects.none()
        principal = request_principal(self.request)
        return inventory_selectors.channel_list(visible_codes=principal.channel_codes)

    @extend_schema(operation_id="channels_list", summary="List your channels")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class AvailabilityView(generics.GenericAPIView):
    """Per SKU: what a channel may promise, and per location it sells from what is there."""

    read_scope = Scope.STOCK_READ
    serializer_class = AvailabilityResponseSerializer
    pagination_class = None

    @extend_schema(
        operation_id="availability_list",
        summary="Availability per SKU for a channel, per location and nearby",
        parameters=[
            sku_list_parameter(),
            OpenApiParameter(
                "channel", str, description="Channel code; optional when the key has one channel."
            ),
            near_parameter("'<lat>,<lng>': adds distance_km, nearest first."),
            OpenApiParameter(
                "country",
                {"type": "string", "pattern": COUNTRY_PARAM_PATTERN},
                description="Delivery country (ISO 3166-1 alpha-2, e.g. NL): adds `delivery`, "
                "the delivery promise per shipping method, to each SKU.",
            ),
            OpenApiParameter(
                "postcode",
                {
                    "type": "string",
                    "pattern": POSTCODE_PARAM_PATTERN,
                    "maxLength": POSTCODE_PARAM_MAX,
                },
                description="Delivery postcode (with `country`; `1011 AB` or `1011AB`): "
                "methods limited to postcode ranges need it.",
            ),
        ],
        responses={
            200: AvailabilityResponseSerializer,
            400: OpenApiResponse(
                description="`invalid_parameter`; `invalid_address` (a postcode that is not "
                "the country's, or a postcode without a country)."
            ),
            404: OpenApiResponse(description="No such channel for this caller."),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        principal = request_principal(request)
        skus = sku_list_parse(request.query_params.get("sku"))
        raw_near = request.query_params.get("near")
        near = near_parse(raw_near) if raw_near is not None else None
        code = request.query_params.get("channel")
        if not code and principal.channel_codes is not None and len(principal.channel_codes) == 1:
            [code] = principal.channel_codes
        if not code:
            raise ApiError(
                status_code=400,
                code="invalid_parameter",
                detail="channel is required: this caller acts for several channels.",
                errors=[{"field": "channel", "code": "required", "message": "a channel code"}],
            )
        channel = inventory_selectors.channel_get(code=code, visible_codes=principal.channel_codes)
        if channel is None:
            raise ApiError(
                status_code=404,
                code="channel_not_found",
                detail=f"No channel '{code}' for this caller.",
                errors=[{"field": "channel", "code": "not_found", "message": code}],
            )
        address = _delivery_address(request)
        served: list[Any] = []
        if address is not None:
            # Checks the address (400 invalid_address) before the stock read.
            served = shipping.shipping_methods_serving(
                channel_code=channel.code,
                country=address[0],
                postcode=address[1],
                currency=channel.currency,
            )
        results, unknown = inventory_selectors.channel_availability(
            channel=channel, skus=skus, near=near
        )
        # Plain dicts exactly as AvailabilityResponseSerializer renders them (it stays the schema).
        body: dict[str, Any] = {
            "channel": channel.code,
            "results": [
                {
                    "sku": result.sku,
                    "available": result.available,
                    "locations": [
                        {
                            "code": str(item.location.code),
                            "name": str(item.location.name),
                            "kind": str(item.location.kind),
                            "available": item.available,
                            "pickup_available": item.pickup_available,
                            "distance_km": (
                                None if item.distance_km is None else float(item.distance_km)
                            ),
                        }
                        for item in result.locations
                    ],
                }
                for result in results
            ],
            "unknown_skus": unknown,
        }
        if address is not None:
            now = timezone.now()
            for item in body["results"]:
                item["delivery"] = _delivery(channel, item["sku"], address, now) if served else []
            body["delivery_to"] = {
                "country": address[0],
                "postcode": shipping.postcode_normalise(address[1] or ""),
                "served": bool(served),
                "code": None if served else ShippingZoneUnserved.code,
            }
        return Response(body)


def _delivery_address(request: Request) -> tuple[str, str | None] | None:
    """``(country, postcode)`` from ``?country=&postcode=`` as their schema states them; None when
    neither is given. A postcode needs a country (``invalid_address``)."""
    country = request.query_params.get("country")
    postcode = request.query_params.get("postcode")
    if country is None and postcode is None:
        return None
    errors = []
    if country is not None and not re.fullmatch(COUNTRY_PARAM_PATTERN, country):
        errors.append({"field": "country", "code": "invalid", "message": "e.g. NL"})
    if postcode is not None and (
        len(postcode) > POSTCODE_PARAM_MAX or not re.fullmatch(POSTCODE_PARAM_PATTERN, postcode)
    ):
        errors.append({"field": "postcode", "code": "invalid", "message": "e.g. 1011 AB"})
    if errors:
        raise ApiError(
            status_code=400,
            code="invalid_parameter",
            detail="country must be an ISO 3166-1 alpha-2 code; postcode letters and digits.",
            errors=errors,
        )
    if country is None:
        raise ApiError(
            status_code=400,
            code="invalid_address",
            detail="A postcode needs a country.",
            errors=[{"field": "country", "code": "invalid_address", "message": "required"}],
        )
    return country, postcode


def _delivery(
    channel: Channel, sku: str, address: tuple[str, str | None], now: datetime
) -> list[dict[str, Any]]:
    """One unit of ``sku``: per method its price and dates, as ``DeliveryPromiseSerializer``."""
    found = shipping.delivery_promise_for(
        channel_code=channel.code,
        sku=sku,
        quantity=1,
        country=address[0],
        postcode=address[1],
        now=now,
    )
    return [
        {
            "method": item.option.method_code,
            "name": item.option.name,
            "carrier": item.promise.carrier,
            "service": item.promise.service,
            "price": f"{item.option.price:.2f}",
            "currency": item.option.currency,
            "free": item.option.free,
            "ships_on": item.promise.ships_on.isoformat(),
            "delivered_by": item.promise.delivered_by.isoformat(),
            "ships_from": list(item.locations),
        }
        for item in found
    ]
