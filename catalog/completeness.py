"""Completeness of products per channel, computed in bulk.

For each channel a product needs: a description, a category, at least one variant, at least one
ready image, every attribute its product type requires for that channel (product-level on the
product, variant-level on every variant), a current price in the channel's currency for every
variant, and a title within the channel's length limit. The percentage is the share of those items
that are filled in; ``missing`` lists the rest in words a merchandiser can act on.

``completeness_compute`` runs a fixed number of queries whatever the number of products.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from catalog.models import (
    ChannelContent,
    ChannelContentRule,
    Price,
    Product,
    ProductMedia,
    ProductTypeAttribute,
    Variant,
)
from catalog.titles import title_render
from core.models import Channel


@dataclass(frozen=True)
class ChannelInfo:
    id: int
    code: str
    currency: str
    title_template: str = ""
    title_max_length: int = 150


@dataclass
class Completeness:
    product_id: int
    channel_code: str
    filled: int = 0
    total: int = 0
    missing: list[str] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else (self.filled * 100) // self.total

    def check(self, ok: bool, what: str) -> None:
        self.total += 1
        if ok:
            self.filled += 1
        else:
            self.missing.append(what)


def channel_infos(codes: Iterable[str] | None = None) -> list[ChannelInfo]:
    channels = Channel.objects.filter(is_active=True).order_by("code")
    if codes is not None:
        channels = channels.filter(code__in=list(codes))
    rules = {rule.channel_id: rule for rule in ChannelContentRule.objects.all()}
    infos = []
    for channel in channels.only("id", "code", "currency"):
        rule = rules.get(channel.id)
        infos.append(
            ChannelInfo(
                id=channel.id,
                code=channel.code,
                currency=channel.currency,
                title_template=rule.title_template if rule else "",
                title_max_length=rule.title_max_length if rule else 150,
            )
        )
    return infos


def _filled(value: Any) -> bool:
    return value not in (None, "", [], {})


def completeness_compute(
    *, product_ids: Sequence[int], channels: Sequence[ChannelInfo], now: Any = None
) -> dict[tuple[int, str], Completeness]:
    """Completeness of every product in ``product_ids`` on every channel in ``channels``."""
    now = now or timezone.now()
    products = {
        p["id"]: p
        for p in Product.objects.filter(id__in=product_ids).values(
            "id",
            "name",
            "description",
            "brand",
            "category_id",
            "category__name",
            "product_type_id",
            "attributes",
        )
    }
    variants: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for v in Variant.objects.filter(product_id__in=product_ids).values(
        "id", "product_id", "sku", "options", "attributes"
    ):
        variants[v["product_id"]].append(dict(v))
    with_images = set(
        ProductMedia.objects.filter(
            product_id__in=product_ids, status=ProductMedia.Status.READY
        ).values_list("product_id", flat=True)
    )
    priced: set[tuple[int, int, str]] = set(
        Price.objects.filter(
            variant__product_id__in=product_ids, channel_id__in=[c.id for c in channels]
        )
        .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .values_list("variant_id", "channel_id", "currency")
    )
    type_ids = {p["product_type_id"] for p in products.values() if p["product_type_id"]}
    required: dict[tuple[int, int], list[tuple[str, str, str]]] = defaultdict(list)
    through = ProductTypeAttribute.required_for.through
    for row in through.objects.filter(producttypeattribute__product_type_id__in=type_ids).values(
        "channel_id",
        "producttypeattribute__product_type_id",
        "producttypeattribute__level",
        "producttypeattribute__attribute__code",
        "producttypeattribute__attribute__name",
    ):
        required[(row["producttypeattribute__product_type_id"], row["channel_id"])].append(
            (
                row["producttypeattribute__level"],
                row["producttypeattribute__attribute__code"],
                row["producttypeattribute__attribute__name"],
            )
        )
    titles = {
        (c["product_id"], c["channel_id"]): c["title"]
        for c in ChannelContent.objects.filter(product_id__in=product_ids).values(
            "product_id", "channel_id", "title"
        )
    }

    result: dict[tuple[int, str], Completeness] = {}
    for product_id, product in products.items():
        product_variants = variants.get(product_id, [])
        for channel in channels:
            c = Completeness(product_id=product_id, channel_code=channel.code)
            c.check(bool(product["description"].strip()), "description")
            c.check(product["category_id"] is not None, "category")
            c.check(bool(product_variants), "at least one variant")
            c.check(product_id in with_images, "an image")
            for level, code, name in required.get((product["product_type_id"], channel.id), []):
                if level == ProductTypeAttribute.Level.PRODUCT:
                    c.check(_filled(product["attributes"].get(code)), f"attribute {name}")
                else:
                    lacking = [
                        v["sku"]
                        for v in product_variants
                        if not _filled(v["attributes"].get(code))
                        and not _filled(v["options"].get(code))
                    ]
                    c.check(not lacking, f"attribute {name} on {', '.join(lacking[:5])}")
            unpriced = [
                v["sku"]
                for v in product_variants
                if (v["id"], channel.id, channel.currency) not in priced
            ]
            c.check(
                not unpriced,
                f"a {channel.currency} price on {', '.join(unpriced[:5])}"
                + (f" and {len(unpriced) - 5} more" if len(unpriced) > 5 else ""),
            )
            title = titles.get((product_id, channel.id)) or title_render(
                template=channel.title_template,
                name=product["name"],
                brand=product["brand"],
                category=product["category__name"] or "",
                values=product["attributes"],
            )
            c.check(
                len(title) <= channel.title_max_length,
                f"a title of at most {channel.title_max_length} characters (it has {len(title)})",
            )
            result[(product_id, channel.code)] = c
    return result
