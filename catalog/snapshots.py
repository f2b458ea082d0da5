"""The approved version of a product: everything a channel shows, frozen at approval."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from catalog.locales import OTHER_LANGUAGES, snapshot_translations, translation_columns
from catalog.media_files import video_link
from catalog.models import (
    AttributeOption,
    ChannelContent,
    Product,
    ProductMedia,
    SpinFrame,
    Variant,
)


def product_snapshots_build(product_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Serialise the customer-visible data of many products in a fixed number of queries."""
    products = list(
        Product.objects.filter(id__in=product_ids).select_related("category", "product_type")
    )
    variants: dict[int, list[Variant]] = defaultdict(list)
    for variant in Variant.objects.filter(product_id__in=product_ids).order_by("position", "id"):
        variants[variant.product_id].append(variant)
    media: dict[int, list[ProductMedia]] = defaultdict(list)
    every_media: dict[int, list[ProductMedia]] = defaultdict(list)
    for item in ProductMedia.objects.filter(
        product_id__in=product_ids, status=ProductMedia.Status.READY
    ).order_by("position", "id"):
        if item.kind == ProductMedia.Kind.IMAGE:
            if not item.image:
                continue
            media[item.product_id].append(item)
        every_media[item.product_id].append(item)
    frames = spin_frames_of(
        [m.id for items in every_media.values() for m in items if m.kind == ProductMedia.Kind.SPIN]
    )
    content: dict[int, dict[str, dict[str, str]]] = defaultdict(dict)
    content_rows = list(
        ChannelContent.objects.filter(product_id__in=product_ids).values(
            "product_id",
            "channel__code",
            "title",
            "description",
            *translation_columns(("title", "description"), OTHER_LANGUAGES),
        )
    )
    content_rows_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in content_rows:
        content_rows_of[row["product_id"]].append(row)
        content[row["product_id"]][row["channel__code"]] = {
            "title": row["title"],
            "description": row["description"],
        }
    codes: set[str] = set()
    for product in products:
        codes.update(product.attributes)
    for product_variants in variants.values():
        for variant in product_variants:
            codes.update(variant.options, variant.attributes)
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    option_rows = list(
        AttributeOption.objects.filter(attribute__code__in=codes).values(
            "attribute__code", "code", "label", *translation_columns(("label",), OTHER_LANGUAGES)
        )
    )
    for option in option_rows:
        labels[option["attribute__code"]][option["code"]] = option["label"]

    snapshots = {}
    for product in products:
        category = product.category
        used = set(product.attributes)
        for variant in variants[product.id]:
            used.update(variant.options, variant.attributes)
        snapshots[product.id] = {
            "handle": product.handle,
            "name": product.name,
            "description": product.description,
            "brand": product.brand,
            "category": (
                {
                    "id": category.id,
                    "name": category.name,
                    "full_name": category.full_name,
                    "google_id": category.google_id,
                }
                if category
                else None
            ),
            "product_type": product.product_type.code if product.product_type else None,
            "attributes": product.attributes,
            "variants": [
                {
                    "id": v.id,
                    "sku": v.sku,
                    "gtin": v.gtin,
                    "options": v.options,
                    "attributes": v.attributes,
                    "weight_grams": v.weight_grams,
                }
                for v in variants[product.id]
            ],
            "media": [
                {
                    "id": m.id,
                    "path": m.image.name,
                    "renditions": m.renditions,
                    "alt_text": m.alt_text,
                    "variant_id": m.variant_id,
                    "width": m.width,
                    "height": m.height,
                }
                for m in media[product.id]
            ],
            # every kind in display order (images again, videos, 360° views, documents); "media"
            # above keeps its images-only shape for the consumers that read it
            "media_all": [media_item_snapshot(m, frames) for m in every_media[product.id]],
            "channel_content": content[product.id],
            "option_labels": {code: labels[code] for code in sorted(used) if code in labels},
            "translations": snapshot_translations(
                product=product,
                content_rows=content_rows_of[product.id],
                option_rows=[r for r in option_rows if r["attribute__code"] in used],
            ),
        }
    return snapshots


def spin_frames_of(media_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The frames of these 360° views in turning order, by media id (one query, none when
    ``media_ids`` is empty)."""
    frames: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if media_ids:
        for frame in SpinFrame.objects.filter(media_id__in=list(media_ids)).order_by(
            "media_id", "position"
        ):
            frames[frame.media_id].append(
                {
                    "path": frame.image.name,
                    "renditions": frame.renditions,
                    "width": frame.width,
                    "height": frame.height,
                }
            )
    return frames


def media_item_snapshot(m: ProductMedia, frames: dict[int, list[dict[str, Any]]]) -> dict[str, Any]:
    """One ready media of any kind as channels see it (``frames`` from ``spin_frames_of``)."""
    item: dict[str, Any] = {
        "id": m.id,
        "kind": m.kind,
        "alt_text": m.alt_text,
        "variant_id": m.variant_id,
    }
    if m.kind == ProductMedia.Kind.IMAGE:
        item.update(path=m.image.name, renditions=m.renditions, width=m.width, height=m.height)
    elif m.kind == ProductMedia.Kind.SPIN:
        item["frames"] = frames.get(m.id, [])
    elif m.kind == ProductMedia.Kind.VIDEO:
        link = video_link(m.source_url) if m.source_url else None
        item.update(
            path=m.file.name or None,
            url=m.source_url,
            provider=m.provider,
            embed_url=link.embed_url if link else "",
            content_type=m.content_type,
            size_bytes=m.size_bytes,
        )
    else:
        item.update(
            path=m.file.name or None,
            content_type=m.content_type,
            size_bytes=m.size_bytes,
            page_count=m.page_count,
        )
    return item


def product_snapshot_build(product: Product) -> dict[str, Any]:
    return product_snapshots_build([product.id])[product.id]
