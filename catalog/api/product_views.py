"""The product and variant write API for ERPs and PIMs (issue 19): create and update products and
variants with the admin's validation and workflow.

Every write goes through the service the admin's product page uses (``product_save``,
``variant_save``), so the same rules refuse the same input and a content change sends an approved
product back to review exactly as an edit in the admin does: its approved snapshot stays live on
the channels until the new version is approved. A change of the cost price alone
(``variant_cost_price_set``) is not customer-visible and needs no review. Updates accept
``If-Match``; creates accept ``Idempotency-Key``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn
from urllib.parse import quote

from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors, services
from catalog.api.product_serializers import (
    CatalogProductOutputSerializer,
    CatalogVariantDetailSerializer,
    ProductInputSerializer,
    VariantInputSerializer,
    VariantPatchSerializer,
)
from catalog.models import Category, Product, ProductType, Variant
from core.api.conditional import etag_for, require_if_match
from core.api.idempotency import idempotent
from core.api.permissions import request_principal
from core.api.problems import ApiError
from core.errors import DomainError
from core.scopes import Scope

_INVALID = OpenApiResponse(
    description="`validation_error`: `errors[]` names each bad field with a code, e.g. "
    "`handle`/`sku` `unique` (taken), `category`/`product_type` `does_not_exist`, "
    "`attributes.<code>` `unknown_attribute` or `invalid`, `options.<axis>` `invalid` (an "
    "option the axis does not know) or `not_an_axis`, `options` `unique` (another variant of "
    "the product has them), `gtin` `invalid_gtin` (check digit). Nothing is written."
)
_CONFLICT = OpenApiResponse(
    description="`conflict`: a concurrent request took the handle or SKU first; "
    "`idempotency_request_in_progress`: a request with this key is still running."
)
_STALE = OpenApiResponse(
    description="`precondition_failed`: the `If-Match` ETag is stale; nothing written."
)
_REUSED = OpenApiResponse(description="`idempotency_key_reused`: the key came with another body.")
_PRODUCT_NOT_FOUND = OpenApiResponse(description="`not_found`: no product has this handle.")
_VARIANT_NOT_FOUND = OpenApiResponse(description="`not_found`: no variant has this SKU.")

# The examples work against the demo data (tests/test_schema_examples.py): its "apparel" type has
# the size and color axes; the variant's SKU is a new one.
_PRODUCT_EXAMPLE = {
    "handle": "organic-tee",
    "name": "Organic Tee",
    "description": "Soft organic cotton.",
    "brand": "Acme",
    "product_type": "apparel",
    "attributes": {"material": "Cotton"},
}
_VARIANT_EXAMPLE = {
    "sku": "TEE-S-NAVY",
    "gtin": "4006381333931",
    "options": {"size": "s", "color": "navy"},
    "weight_grams": 180,
    "cost_price": "4.20",
}
_PRODUCT_FIELDS = ("handle", "name", "description", "brand", "category", "product_type")
_VARIANT_FIELDS = ("gtin", "weight_grams", "position", "cost_price")


# --- helpers -----------------------------------------------------------------------------------


def _user(request: Request, *perms: str) -> Any:
    """The staff member whose permissions the services check (their role must allow the
    edit, as in the admin); ``None`` for a partner key, whose scope was checked already."""
    principal = request_principal(request)
    if principal.kind != "staff":
        return None
    user: Any = principal.user
    if perms and not user.has_perms(perms):
        raise ApiError(
            status_code=403,
            code="permission_denied",
            detail="Your role may not edit products and variants.",
        )
    return user


def _refuse(errors: list[dict[str, str]]) -> NoReturn:
    raise ApiError(
        status_code=400,
        code="validation_error",
        detail="; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]),
        errors=errors,
    )


class _DryRun(Exception):
    """Rolls back a service call that ran only to report its refusals with earlier ones."""


def _service_errors(refused: DomainError, *, whole: str) -> list[dict[str, str]]:
    return [
        {
            "field": whole if item.get("field") in (None, "", "__all__") else item["field"],
            "code": "unique"
            if item.get("code") == "unique_together"
            else str(item.get("code") or refused.code),
            "message": str(item.get("message") or refused.message),
        }
        for item in refused.errors
    ] or [{"field": whole, "code": refused.code, "message": refused.message}]


def _call(
    service: Callable[[], Any], *, whole: str, refused: list[dict[str, str]] | None = None
) -> Any:
    """Run a catalog service; its refusal becomes ``400 validation_error`` naming each field (a
    rule about the whole object is reported on ``whole``). ``refused`` are errors found before
    (a reference that names nothing): the service then still runs, so its own refusals are
    reported with them, in a savepoint that is rolled back, so nothing is written."""
    errors = list(refused or [])
    result = None
    try:
        with transaction.atomic():
            result = service()
            if errors:
                raise _DryRun
    except _DryRun:
        pass
    except IntegrityError:
        raise ApiError(
            status_code=409,
            code="conflict",
            detail="Another request wrote the same handle or SKU at the same time; retry.",
        ) from None
    except DomainError as refusal:
        if refusal.status != 400:
            raise
        errors += _service_errors(refusal, whole=whole)
    if errors:
        _refuse(errors)
    return result


def _references(data: dict[str, Any]) -> list[dict[str, str]]:
    """Turn ``category`` (an id) and ``product_type`` (a code) in ``data`` into objects. One that
    names nothing is taken out of ``data`` and reported (``does_not_exist``), so the other checks
    still run; without the product type the ``attributes`` cannot be checked and go too."""
    errors = []
    if data.get("category") is not None:
        data["category"] = Category.objects.filter(pk=data["category"]).first()
        if data["category"] is None:
            del data["category"]
            errors.append(
                {"field": "category", "code": "does_not_exist", "message": "No such category."}
            )
    if data.get("product_type") is not None:
        data["product_type"] = ProductType.objects.filter(code=data["product_type"]).first()
        if data["product_type"] is None:
            del data["product_type"]
            data.pop("attributes", None)
            errors.append(
                {
                    "field": "product_type",
                    "code": "does_not_exist",
                    "message": "No such product type.",
                }
            )
    return errors


def _product_body(product: Product) -> dict[str, Any]:
    return dict(CatalogProductOutputSerializer(product).data)


def _variant_body(variant: Variant) -> dict[str, Any]:
    return dict(CatalogVariantDetailSerializer(variant).data)


def _product_get(handle: str, *, for_update: bool = False) -> Product:
    product = selectors.product_for_edit(handle=handle, for_update=for_update)
    if product is None:
        raise ApiError(status_code=404, code="not_found", detail=f"No product {handle!r}.")
    return product


def _variant_get(sku: str, *, for_update: bool = False) -> Variant:
    variant = selectors.variant_for_edit(sku=sku, for_update=for_update)
    if variant is None:
        raise ApiError(status_code=404, code="not_found", detail=f"No variant {sku!r}.")
    return variant


# --- products ----------------------------------------------------------------------------------


class CatalogProductCreateView(APIView):
    """Create a product (a draft, as in the admin)."""

    write_scope = Scope.CATALOG_WRITE

    @extend_schema(
        operation_id="catalog_products_create",
        summary="Create a product",
        description="A new product is a draft: it reaches the channels once it is submitted, "
        "approved and published in the admin. Validated exactly as the admin's product page "
        "(attributes of the product type, unique handle). Send `Idempotency-Key` so a retry "
        "does not fail on the handle it created. Scope `catalog:write`.",
        request=ProductInputSerializer,
        responses={
            201: CatalogProductOutputSerializer,
            400: _INVALID,
            409: _CONFLICT,
            422: _REUSED,
        },
        examples=[OpenApiExample("A t-shirt", value=_PRODUCT_EXAMPLE, request_only=True)],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        user = _user(request, "catalog.add_product")
        payload = ProductInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        refused = _references(data)
        product = Product(**data)
        _call(
            lambda: services.product_save(product=product, changed=set(data), user=user),
            whole="handle",
            refused=refused,
        )
        body = _product_body(_product_get(product.handle))
        return _created(request, body, f"{request.path}{product.handle}/")


def _created(request: Request, body: dict[str, Any], path: str) -> Response:
    """``201 Created`` with ``body``, its ``ETag`` and the new resource's URL (``path``)."""
    return Response(
        body,
        status=status.HTTP_201_CREATED,
        headers={"Location": request.build_absolute_uri(path), "ETag": etag_for(body)},
    )


class CatalogProductDetailView(APIView):
    """A product as it is being edited, with its variants; ``PATCH`` changes it."""

    read_scope = Scope.CATALOG_WRITE
    write_scope = Scope.CATALOG_WRITE

    @extend_schema(
        operation_id="catalog_products_retrieve",
        summary="Get a product as it is being edited",
        description="The current content (which the channels see once it is approved: "
        "`status`), the variants with their cost prices, and an `ETag` to send back as "
        "`If-Match`. Scope `catalog:write` (cost prices and unapproved content are not for "
        "readers).",
        responses={200: CatalogProductOutputSerializer, 404: _PRODUCT_NOT_FOUND},
    )
    def get(self, request: Request, handle: str) -> Response:
        return Response(_product_body(_product_get(handle)))

    @extend_schema(
        operation_id="catalog_products_partial_update",
        summary="Change a product",
        description="Send only the fields to change; `attributes` replaces the whole set. A "
        "change to an approved product sends it back to review, as an edit in the admin does: "
        "the channels keep showing the approved version until the new one is approved. "
        "Fields sent with their current value change nothing. Send `If-Match` with the ETag of "
        "the GET (it covers the variants too) to refuse the write when the product changed "
        "since you read it. Scope `catalog:write`.",
        request=ProductInputSerializer,
        responses={
            200: CatalogProductOutputSerializer,
            400: _INVALID,
            404: _PRODUCT_NOT_FOUND,
            409: _CONFLICT,
            412: _STALE,
        },
        examples=[
            OpenApiExample("Rename", value={"name": "Organic Tee, slim fit"}, request_only=True)
        ],
    )
    def patch(self, request: Request, handle: str) -> Response:
        user = _user(request, "catalog.change_product")
        payload = ProductInputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        with transaction.atomic():
            product = _product_get(handle, for_update=True)
            require_if_match(request, _product_body(product))
            refused = _references(data)
            if "attributes" in data:  # compared as stored: "61.5" is {"value": "61.5", ...}
                product_type = data.get("product_type", product.product_type)
                try:
                    data["attributes"] = services.product_attributes_clean(
                        product_type=product_type, values=data["attributes"]
                    )
                except DomainError as refusal:
                    if refusal.status != 400:
                        raise
                    refused += _service_errors(refusal, whole="attributes")
                    del data["attributes"]
            changed = set()
            for name, value in data.items():
                current = getattr(product, name)
                if current != value:
                    setattr(product, name, value)
                    changed.add(name)
            if changed or refused:
                _call(
                    lambda: services.product_save(product=product, changed=changed, user=user),
                    whole="handle",
                    refused=refused,
                )
            product = _product_get(product.handle)
        body = _product_body(product)
        return Response(body, headers={"ETag": etag_for(body)})


# --- variants ----------------------------------------------------------------------------------


class CatalogVariantCreateView(APIView):
    """Add a variant to a product."""

    write_scope = Scope.CATALOG_WRITE

    @extend_schema(
        operation_id="catalog_variants_create",
        summary="Add a variant to a product",
        description="Validated exactly as on the admin's product page: a unique SKU, a GTIN "
        "with a correct check digit, option values that the product type's axes know and that "
        "no other variant of the product has. A new variant is a content change: an approved "
        "product goes back to review. Send `Idempotency-Key` so a retry does not fail on the "
        "SKU it created. Scope `catalog:write`.",
        request=VariantInputSerializer,
        responses={
            201: CatalogVariantDetailSerializer,
            400: _INVALID,
            404: _PRODUCT_NOT_FOUND,
            409: _CONFLICT,
            422: _REUSED,
        },
        examples=[OpenApiExample("Size S, navy", value=_VARIANT_EXAMPLE, request_only=True)],
    )
    @idempotent
    def post(self, request: Request, handle: str) -> Response:
        user = _user(request, "catalog.add_variant")
        product = _product_get(handle)
        payload = VariantInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        variant = _call(
            lambda: services.variant_save(
                product=product,
                sku=data.pop("sku"),
                options=data.pop("options", {}),
                attributes=data.pop("attributes", {}),
                user=user,
                **data,
            ),
            whole="options",
        )
        body = _variant_body(_variant_get(variant.sku))
        return _created(request, body, f"/api/v1/catalog/variants/{quote(variant.sku, safe='')}/")


class CatalogVariantDetailView(APIView):
    """A variant with its cost price; ``PATCH`` changes it."""

    read_scope = Scope.CATALOG_WRITE
    write_scope = Scope.CATALOG_WRITE

    @extend_schema(
        operation_id="catalog_variants_retrieve",
        summary="Get a variant as it is being edited",
        description="The variant with its `cost_price` (in `cost_currency`, the base currency) "
        "and its product's handle, with an `ETag`. Scope `catalog:write`.",
        responses={200: CatalogVariantDetailSerializer, 404: _VARIANT_NOT_FOUND},
    )
    def get(self, request: Request, sku: str) -> Response:
        return Response(_variant_body(_variant_get(sku)))

    @extend_schema(
        operation_id="catalog_variants_partial_update",
        summary="Change a variant",
        description="Send only the fields to change; `options` and `attributes` replace the "
        "whole set. A change of anything but `cost_price` sends an approved product back to "
        "review, as in the admin; the cost price alone is not shown to customers and takes "
        "effect at once. Send `If-Match` with the ETag of the GET. Scope `catalog:write`.",
        request=VariantPatchSerializer,
        responses={
            200: CatalogVariantDetailSerializer,
            400: _INVALID,
            404: _VARIANT_NOT_FOUND,
            409: _CONFLICT,
            412: _STALE,
        },
        examples=[OpenApiExample("New cost", value={"cost_price": "4.35"}, request_only=True)],
    )
    def patch(self, request: Request, sku: str) -> Response:
        user = _user(request, "catalog.change_variant")
        payload = VariantPatchSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        with transaction.atomic():
            variant = _variant_get(sku, for_update=True)
            require_if_match(request, _variant_body(variant))
            if "options" in data or "attributes" in data:  # compared as stored
                data["options"], data["attributes"] = _call(
                    lambda: services.variant_values_clean(
                        product=variant.product,
                        options=data.get("options", variant.options),
                        attributes=data.get("attributes", variant.attributes),
                    ),
                    whole="options",
                )
            changed = {name for name, value in data.items() if getattr(variant, name) != value}
            if changed == {"cost_price"}:
                services.variant_cost_price_set(
                    variant_id=variant.pk, cost_price=data["cost_price"], user=user
                )
            elif changed:
                fields = {name: data.get(name, getattr(variant, name)) for name in _VARIANT_FIELDS}
                _call(
                    lambda: services.variant_save(
                        product=variant.product,
                        variant=variant,
                        sku=variant.sku,
                        options=data.get("options", variant.options),
                        attributes=data.get("attributes", variant.attributes),
                        user=user,
                        **fields,
                    ),
                    whole="options",
                )
            variant = _variant_get(sku)
        body = _variant_body(variant)
        return Response(body, headers={"ETag": etag_for(body)})
