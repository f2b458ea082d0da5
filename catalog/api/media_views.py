"""The media write API (issue 19): list, add and remove a product's images, videos, 360° views and
PDF documents.

Every write goes through the service the admin's media inline uses (``catalog.media``), so the
same files are refused with the same codes (``invalid_document``, ``video_host_not_allowed``...),
a refused upload leaves no row and no file, a deleted media's files are removed after commit, and
an approved product goes back to review exactly as after a media edit in the admin.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.urls import path
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import media as media_services
from catalog import selectors
from catalog.api.media_serializers import (
    MediaOutputSerializer,
    MediaUploadInputSerializer,
    MediaUrlInputSerializer,
)
from catalog.api.product_serializers import MAX_ID
from catalog.models import Product, ProductMedia, SpinFrame, Variant
from catalog.snapshots import media_item_snapshot
from core.api.idempotency import idempotent
from core.api.parsers import BoundedJSONParser
from core.api.permissions import request_principal
from core.api.problems import ApiError
from core.scopes import Scope

_PRODUCT_NOT_FOUND = OpenApiResponse(description="`not_found`: no product has this handle.")
_REFUSED = OpenApiResponse(
    description="The media services' refusal, nothing stored: `invalid_image`, `invalid_video`, "
    "`invalid_video_url`, `video_host_not_allowed`, `invalid_document` (not a PDF, truncated, "
    "no pages), `document_encrypted`, `invalid_spin` (frame count, a frame that is not a good "
    "image), `invalid_image_url`, `variant_not_of_product`; or `validation_error` naming the "
    "field (`variant` `does_not_exist`: no variant has this SKU)."
)
_MEDIA_NOT_FOUND = OpenApiResponse(
    description="`not_found`: no product has this handle, or it has no media with this id."
)


def _user(request: Request) -> Any:
    """The staff member whose permissions the media services check (``NotAllowed``, 403), or
    ``None`` for a partner key, whose ``catalog:write`` scope was checked already."""
    principal = request_principal(request)
    return principal.user if principal.kind == "staff" else None


def _product_get(handle: str) -> Product:
    product = selectors.product_for_edit(handle=handle)
    if product is None:
        raise ApiError(status_code=404, code="not_found", detail=f"No product {handle!r}.")
    return product


def _variant_id(product: Product, sku: str | None) -> int | None:
    """The id of the variant with ``sku`` (the service refuses one of another product)."""
    if not sku:
        return None
    variant_id = Variant.objects.filter(sku=sku).values_list("id", flat=True).first()
    if variant_id is None:
        raise ApiError(
            status_code=400,
            code="validation_error",
            detail=f"variant: No variant {sku!r}.",
            errors=[{"field": "variant", "code": "does_not_exist", "message": "No such SKU."}],
        )
    return variant_id


def _media_items(product_id: int, media_id: int | None = None) -> list[dict[str, Any]]:
    """A product's media (or one of them) in display order as the output serializer reads them:
    two queries, the 360° views' frames prefetched."""
    media = ProductMedia.objects.filter(product_id=product_id).order_by("position", "id")
    if media_id is not None:
        media = media.filter(id=media_id)
    frames = Prefetch("frames", queryset=SpinFrame.objects.order_by("position"))
    items = []
    for item in media.prefetch_related(frames):
        spin = {
            item.id: [
                {
                    "path": frame.image.name,
                    "renditions": frame.renditions,
                    "width": frame.width,
                    "height": frame.height,
                }
                for frame in item.frames.all()
            ]
        }
        body = media_item_snapshot(item, spin)
        body.update(position=item.position, status=item.status, error=item.error)
        items.append(body)
    return items


class ProductMediaListView(APIView):
    """A product's media; ``POST`` adds one."""

    read_scope = Scope.CATALOG_WRITE
    write_scope = Scope.CATALOG_WRITE
    parser_classes = [BoundedJSONParser, MultiPartParser]

    @extend_schema(
        operation_id="catalog_product_media_list",
        summary="List a product's media",
        description="Every media of the product in display order (the first image is the main "
        "image), whatever its status: a URL image is `pending` until fetched, `failed` with "
        "`error` when it could not be. Scope `catalog:write`.",
        responses={200: MediaOutputSerializer(many=True), 404: _PRODUCT_NOT_FOUND},
    )
    def get(self, request: Request, handle: str) -> Response:
        product = _product_get(handle)
        items = _media_items(product.id)
        return Response(MediaOutputSerializer(items, many=True, context={"request": request}).data)

    @extend_schema(
        operation_id="catalog_product_media_create",
        summary="Add a media to a product",
        description="JSON for a video URL (`kind` `video`, on an allowed host such as YouTube "
        "or Vimeo; nothing is fetched) or an image to fetch (`kind` `image`); "
        "`multipart/form-data` for a file: `kind` `image`, `video` (MP4, WebM) or `document` "
        "(PDF) with `file`, or `spin` with several `frames` parts in turning order. The file "
        "is checked as in the admin (the bytes decide, not the name) and a refused one leaves "
        "nothing behind. The media goes after the product's others. Adding media is a content "
        "change: an approved product goes back to review. Send `Idempotency-Key` so a retry "
        "does not add the media twice. Scope `catalog:write`.",
        request={
            "application/json": MediaUrlInputSerializer,
            "multipart/form-data": MediaUploadInputSerializer,
        },
        responses={
            201: MediaOutputSerializer,
            400: _REFUSED,
            404: _PRODUCT_NOT_FOUND,
            409: OpenApiResponse(
                description="`idempotency_request_in_progress`: a request with this key is "
                "still running."
            ),
            422: OpenApiResponse(
                description="`idempotency_key_reused`: the key came with another body."
            ),
        },
        examples=[
            OpenApiExample(
                "A YouTube video",
                value={"kind": "video", "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"},
                request_only=True,
                media_type="application/json",
            )
        ],
    )
    @idempotent
    def post(self, request: Request, handle: str) -> Response:
        product = _product_get(handle)
        user = _user(request)
        if request.content_type.startswith("multipart/"):
            upload = MediaUploadInputSerializer(data=request.data)
            upload.is_valid(raise_exception=True)
            data = dict(upload.validated_data)
        else:
            payload = MediaUrlInputSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            data = dict(payload.validated_data)
        common: dict[str, Any] = {
            "product_id": product.id,
            "alt_text": data.get("alt_text", ""),
            "variant_id": _variant_id(product, data.get("variant")),
            "user": user,
        }
        kind = data["kind"]
        if "url" in data:
            create = (
                media_services.media_create_video_url
                if kind == "video"
                else media_services.media_create_from_url
            )
            media = create(url=data["url"], **common)
        elif kind == "spin":
            media = media_services.media_create_spin(files=data["frames"], **common)
        elif kind == "document":
            media = media_services.media_create_document(file=data["file"], **common)
        elif kind == "video":
            media = media_services.media_create_video_upload(file=data["file"], **common)
        else:
            media = media_services.media_create_from_upload(file=data["file"], **common)
        body = MediaOutputSerializer(
            _media_items(product.id, media.id)[0], context={"request": request}
        ).data
        location = request.build_absolute_uri(f"{request.path}{media.id}/")
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})


class ProductMediaDetailView(APIView):
    """One media of a product; ``DELETE`` removes it."""

    read_scope = Scope.CATALOG_WRITE
    write_scope = Scope.CATALOG_WRITE

    def _media(self, handle: str, media_id: int) -> tuple[Product, list[dict[str, Any]]]:
        product = _product_get(handle)
        items = _media_items(product.id, media_id) if media_id <= MAX_ID else []
        if not items:
            raise ApiError(
                status_code=404,
                code="not_found",
                detail=f"Product {handle!r} has no media {media_id}.",
            )
        return product, items

    @extend_schema(
        operation_id="catalog_product_media_retrieve",
        summary="Get one media of a product",
        description="Poll a URL image until its `status` is `ready` or `failed`. "
        "Scope `catalog:write`.",
        responses={200: MediaOutputSerializer, 404: _MEDIA_NOT_FOUND},
    )
    def get(self, request: Request, handle: str, media_id: int) -> Response:
        _, items = self._media(handle, media_id)
        return Response(MediaOutputSerializer(items[0], context={"request": request}).data)

    @extend_schema(
        operation_id="catalog_product_media_destroy",
        summary="Remove a media from a product",
        description="The media and its files (renditions, a 360° view's frames) are removed, "
        "as in the admin. A content change: an approved product goes back to review. "
        "Scope `catalog:write`.",
        responses={204: None, 404: _MEDIA_NOT_FOUND},
    )
    def delete(self, request: Request, handle: str, media_id: int) -> Response:
        self._media(handle, media_id)
        media_services.media_delete(media_id=media_id, user=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("", ProductMediaListView.as_view(), name="catalog-product-media"),
    path(
        "<int:media_id>/",
        ProductMediaDetailView.as_view(),
        name="catalog-product-media-detail",
    ),
]
