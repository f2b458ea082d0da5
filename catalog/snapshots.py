"""The approved version of a product: everything a channel shows, frozen at approval."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from catalog.models import AttributeOption, ChannelContent, Product, ProductMedia, Variant


def product_snapshots_build(product_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Serialise the customer-visible data of many products in a fixed number of queries."""
    products = list(
        Product.objects.filter(id__in=product_ids).select_related("category", "product_type")
    )
    variants: dict[int, list[Variant]] = defaultdict(list)
    for variant in Variant.objects.filter(product_id__in=product_ids).order_by("position", "id"):
        variants[variant.product_id].append(variant)
    media: dict[int, list[ProductMedia]] = defaultdict(list)
    for item in ProductMedia.objects.filter(
        product_id__in=product_ids, status=ProductMedia.Status.READY
    ).order_by("position", "id"):
        if item.image:
            media[item.product_id].append(item)
    content: dict[int, dict[str, dict[str, str]]] = defaultdict(dict)
    for row in ChannelContent.objects.filter(product_id__in=product_ids).values(
        "product_id", "channel__code", "title", "description"
    ):
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
    for option in AttributeOption.objects.filter(attribute__code__in=codes).values(
        "attribute__code", "code", "label"
    ):
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
            "channel_content": content[product.id],
            "option_labels": {code: labels[code] for code in sorted(used) if code in labels},
        }
    return snapshots


def product_snapshot_build(product: Product) -> dict[str, Any]:
    return product_snapshots_build([product.id])[product.id]
