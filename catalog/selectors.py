"""Reads of the catalog, with their joins applied.

Channel views read the approved snapshot (what was approved is what channels show), current prices
and publications; each function runs a fixed number of queries whatever the number of products.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from catalog.completeness import ChannelInfo, channel_infos
from catalog.locales import snapshot_localize, translated_value, translation_columns
from catalog.models import (
    AttributeOption,
    Category,
    ChannelContentRule,
    Price,
    Product,
    ProductPublication,
    Variant,
)
from catalog.search import product_search_filter
from catalog.titles import title_render
from core.models import Channel


def category_list() -> QuerySet[Category]:
    """Every category in tree order (depth-first, as the tree is displayed)."""
    return Category.objects.order_by("path")


def category_by_google_id(google_id: int) -> Category | None:
    return Category.objects.filter(google_id=google_id).first()


def product_list() -> QuerySet[Product]:
    """Products for the back office, with what the changelist shows already joined."""
    return Product.objects.select_related("category", "product_type")


def variant_list() -> QuerySet[Variant]:
    return Variant.objects.select_related("product")


# --- prices ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantPrice:
    variant_id: int
    sku: str
    amount: Decimal
    compare_at: Decimal | None
    currency: str
    promotion_ends_at: datetime | None = None
    promotion_starts_at: datetime | None = None


def variant_prices(
    *,
    channel_code: str,
    variant_ids: Iterable[int],
    at: datetime | None = None,
    currency: str | None = None,
) -> dict[int, VariantPrice]:
    """The price of each variant on a channel at ``at`` (now): a running promotion wins over the
    base price (the latest-starting one if several run). One query."""
    at = at or timezone.now()
    rows = (
        Price.objects.filter(channel__code=channel_code, variant_id__in=list(variant_ids))
        .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=at))
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
        .values(
            "variant_id",
            "variant__sku",
            "amount",
            "compare_at_amount",
            "currency",
            "starts_at",
            "ends_at",
            "channel__currency",
        )
    )
    best: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row["currency"] != (currency or row["channel__currency"]):
            continue
        current = best.get(row["variant_id"])
        rank = (row["starts_at"] is not None, row["starts_at"] or at)
        if current is None or rank > (current["starts_at"] is not None, current["starts_at"] or at):
            best[row["variant_id"]] = dict(row)
    return {
        variant_id: VariantPrice(
            variant_id=variant_id,
            sku=row["variant__sku"],
            amount=row["amount"],
            compare_at=row["compare_at_amount"],
            currency=row["currency"],
            promotion_ends_at=row["ends_at"],
            promotion_starts_at=row["starts_at"],
        )
        for variant_id, row in best.items()
    }


# --- the channel view ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantOffer:
    """What a channel sells under a SKU right now: approved content, current price, or why not."""

    variant_id: int
    sku: str
    product_id: int
    title: str
    options: dict[str, str]
    price: Decimal | None
    compare_at_price: Decimal | None
    currency: str
    sellable: bool
    reason: str = ""
    is_gift_card: bool = False  # its product type sells gift cards: no stock
    weight_grams: int | None = None  # the shipping weight, when known
    cost_price: Decimal | None = None  # per unit, in settings.BASE_CURRENCY; None when unknown


@dataclass
class VariantView:
    id: int
    sku: str
    gtin: str
    options: dict[str, str]
    attributes: dict[str, Any]
    weight_grams: int | None
    title: str
    price: VariantPrice | None


@dataclass
class ProductView:
    """A product as one channel shows it (from the approved snapshot)."""

    id: int
    handle: str
    channel_code: str
    title: str
    description: str
    brand: str
    category: dict[str, Any] | None
    attributes: dict[str, Any]
    media: list[dict[str, Any]]
    variants: list[VariantView] = field(default_factory=list)
    # every kind of media in display order (images, videos, 360° views, documents)
    media_all: list[dict[str, Any]] = field(default_factory=list)
    version: datetime | None = None
    updated_at: datetime | None = None
    published_at: datetime | None = None


def _labelled(values: dict[str, Any], labels: dict[str, dict[str, str]]) -> dict[str, str]:
    from catalog.attributes import display_value

    return {code: display_value(value, labels.get(code)) for code, value in values.items()}


def _product_view(
    product: dict[str, Any],
    channel: ChannelInfo,
    prices: dict[int, VariantPrice],
    languages: Sequence[str] = (),
) -> ProductView:
    snap = product["approved_snapshot"]
    if languages:  # the texts in the first language of the chain that has them
        snap = snapshot_localize(snap, languages)
    labels = snap.get("option_labels", {})
    content = snap.get("channel_content", {}).get(channel.code, {})
    category = snap.get("category")
    base = dict(
        template=channel.title_template,
        name=snap["name"],
        brand=snap["brand"],
        category=category["name"] if category else "",
    )
    title = content.get("title") or title_render(**base, values=snap["attributes"])
    view = ProductView(
        id=product["id"],
        handle=snap["handle"],
        channel_code=channel.code,
        title=title[: channel.title_max_length],
        description=content.get("description") or snap["description"],
        brand=snap["brand"],
        category=category,
        attributes=_labelled(snap["attributes"], labels),
        media=snap["media"],
        # snapshots approved before media kinds have images only
        media_all=snap.get("media_all", [{"kind": "image", **m} for m in snap["media"]]),
        version=product["approved_at"],
        updated_at=product.get("publication_updated_at"),
        published_at=product.get("published_at"),
    )
    for variant in snap["variants"]:
        values = {**snap["attributes"], **variant["attributes"], **variant["options"]}
        variant_title = title_render(**base, values=values, option_labels=None)
        if not channel.title_template:
            option_text = " / ".join(_labelled(variant["options"], labels).values())
            variant_title = f"{title} - {option_text}" if option_text else title
        view.variants.append(
            VariantView(
                id=variant["id"],
                sku=variant["sku"],
                gtin=variant["gtin"],
                options=_labelled(variant["options"], labels),
                attributes=_labelled(variant["attributes"], labels),
                weight_grams=variant["weight_grams"],
                title=variant_title[: channel.title_max_length],
                price=prices.get(variant["id"]),
            )
        )
    return view


def channel_info(channel_code: str) -> ChannelInfo | None:
    infos = channel_infos([channel_code], languages=False)
    return infos[0] if infos else None


def published_product_list(*, channel_code: str) -> QuerySet[ProductPublication]:
    """Publications of live products on a channel (approved snapshot present, not archived),
    ordered for stable pagination by the publication's last visible change."""
    return (
        ProductPublication.objects.filter(
            channel__code=channel_code, product__approved_snapshot__isnull=False
        )
        .exclude(product__status=Product.Status.ARCHIVED)
        .select_related("product")
    )


def product_views(
    *,
    channel_code: str,
    product_ids: Sequence[int],
    at: datetime | None = None,
    languages: Sequence[str] = (),
) -> list[ProductView]:
    """The channel view of published products, in the order of ``product_ids``. Three queries.
    ``languages``: a fallback chain (``catalog.locales.locale_resolve``); empty: English."""
    channel = channel_info(channel_code)
    if channel is None:
        return []
    rows = {
        row["product_id"]: row
        for row in published_product_list(channel_code=channel_code)
        .filter(product_id__in=list(product_ids))
        .values(
            "product_id",
            "product__approved_snapshot",
            "product__approved_at",
            "updated_at",
            "published_at",
        )
    }
    variant_ids = [
        variant["id"]
        for row in rows.values()
        for variant in (row["product__approved_snapshot"] or {}).get("variants", [])
    ]
    prices = variant_prices(channel_code=channel_code, variant_ids=variant_ids, at=at)
    views = []
    for product_id in product_ids:
        row = rows.get(product_id)
        if row is None:
            continue
        product = {
            "id": product_id,
            "approved_snapshot": row["product__approved_snapshot"],
            "approved_at": row["product__approved_at"],
            "publication_updated_at": row["updated_at"],
            "published_at": row["published_at"],
        }
        views.append(_product_view(product, channel, prices, languages))
    return views


def approved_views(
    *, channel: ChannelInfo, product_ids: Sequence[int], languages: Sequence[str] = ()
) -> dict[int, ProductView]:
    """The channel view of each product's approved snapshot, without prices (``price`` None):
    what only changes with a new approval (``version``) or the channel's title rule. Products
    never approved are absent. One query; publication is the caller's check. ``languages``: a
    fallback chain (``catalog.locales.locale_resolve``); empty: English."""
    rows = Product.objects.filter(id__in=list(product_ids), approved_snapshot__isnull=False).values(
        "id", "approved_snapshot", "approved_at"
    )
    return {row["id"]: _product_view(dict(row), channel, {}, languages) for row in rows}


def channel_variant_offers(
    *, channel_code: str, skus: Iterable[str], at: datetime | None = None
) -> dict[str, VariantOffer]:
    """What each SKU sells as on a channel right now (for carts and order placement): unknown
    SKUs are absent; known ones carry ``sellable`` and, when False, a ``reason`` code
    (``not_published``, ``not_approved``, ``no_price``). One query whatever the number of SKUs:
    the variants with the channel and its content rule, the publication, the approved snapshot
    and the current price (the rule of :func:`variant_prices`) folded in as subqueries."""
    wanted = list(dict.fromkeys(skus))
    if not wanted:
        return {}
    at = at or timezone.now()
    channel = Channel.objects.filter(code=channel_code, is_active=True)
    rule = ChannelContentRule.objects.filter(channel__code=channel_code)
    price = (
        Price.objects.filter(
            channel__code=channel_code, variant_id=OuterRef("id"), currency=F("channel__currency")
        )
        .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=at))
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
        .order_by(F("starts_at").desc(nulls_last=True), "-pk")  # a running promotion wins
    )
    rows = list(
        Variant.objects.filter(sku__in=wanted)
        .annotate(
            offer_channel_id=Subquery(channel.values("id")[:1]),
            offer_currency=Subquery(channel.values("currency")[:1]),
            offer_title_template=Subquery(rule.values("title_template")[:1]),
            offer_title_max_length=Subquery(rule.values("title_max_length")[:1]),
            offer_published=Exists(
                ProductPublication.objects.filter(
                    channel__code=channel_code, product_id=OuterRef("product_id")
                )
            ),
            offer_price=Subquery(price.values("amount")[:1]),
            offer_compare_at=Subquery(price.values("compare_at_amount")[:1]),
        )
        .values(
            "id",
            "sku",
            "product_id",
            "product__name",
            "product__status",
            "product__approved_snapshot",
            "product__approved_at",
            "product__product_type__is_gift_card",
            "weight_grams",
            "cost_price",
            "options",
            "offer_channel_id",
            "offer_currency",
            "offer_title_template",
            "offer_title_max_length",
            "offer_published",
            "offer_price",
            "offer_compare_at",
        )
    )
    if not rows or rows[0]["offer_channel_id"] is None:
        return {}
    first = rows[0]
    info = ChannelInfo(
        id=first["offer_channel_id"],
        code=channel_code,
        currency=first["offer_currency"],
        title_template=first["offer_title_template"] or "",
        title_max_length=first["offer_title_max_length"] or 150,
    )
    views: dict[int, ProductView] = {}
    offers: dict[str, VariantOffer] = {}
    for row in rows:
        snapshot = row["product__approved_snapshot"]
        live = (
            row["offer_published"]
            and snapshot is not None
            and row["product__status"] != Product.Status.ARCHIVED
        )
        view = None
        if live:
            if row["product_id"] not in views:
                product: dict[str, Any] = {
                    "id": row["product_id"],
                    "approved_snapshot": snapshot,
                    "approved_at": row["product__approved_at"],
                }
                views[row["product_id"]] = _product_view(product, info, {})
            view = views[row["product_id"]]
        variant_view = None
        if view is not None:
            variant_view = next((v for v in view.variants if v.id == row["id"]), None)
        amount = row["offer_price"]
        if view is None:
            reason = "not_published"
        elif variant_view is None:
            reason = "not_approved"
        elif amount is None:
            reason = "no_price"
        else:
            reason = ""
        offers[row["sku"]] = VariantOffer(
            variant_id=row["id"],
            sku=row["sku"],
            product_id=row["product_id"],
            title=variant_view.title if variant_view else row["product__name"],
            options=variant_view.options if variant_view else dict(row["options"]),
            price=amount,
            compare_at_price=row["offer_compare_at"] if amount is not None else None,
            currency=info.currency,
            sellable=not reason,
            reason=reason,
            is_gift_card=bool(row["product__product_type__is_gift_card"]),
            weight_grams=row["weight_grams"],
            cost_price=row["cost_price"],
        )
    return offers


# --- search as an associate types or scans -------------------------------------------------------
# The one ranked search lives in catalog.search (shared with the admin and the API).


def variant_exact(term: str) -> Variant | None:
    """A scanned barcode or a typed SKU."""
    term = term.strip()
    if not term:
        return None
    # unordered: ``.first()`` would order by the primary key and make PostgreSQL walk every
    # variant in that order instead of looking the two indexes up (UPPER(sku), gtin)
    matches = Variant.objects.select_related("product").filter(Q(sku__iexact=term) | Q(gtin=term))
    return next(iter(matches.order_by()[:1]), None)


def product_search(term: str, *, limit: int = 20) -> tuple[list[Product], str]:
    """The best ``limit`` products for ``term`` that are not archived, best first
    (``catalog.search``: exact SKU/GTIN, SKU prefix, then name and brand relevance; typos
    corrected). Returns the products and the corrected term ("" when none was needed)."""
    if not term.strip():
        return [], ""
    outcome = product_search_filter(
        Product.objects.exclude(status=Product.Status.ARCHIVED), term=term
    )
    products = list(outcome.queryset.order_by("-search_rank", "name", "pk")[:limit])
    return products, outcome.corrected


def product_with_variants(*, product_id: int) -> Product | None:
    return Product.objects.prefetch_related("variants").filter(pk=product_id).first()


def option_labels(*, product: Product, languages: Sequence[str] = ()) -> dict[str, dict[str, str]]:
    """Per axis of the product's variants (``size``), the label of each option code (``m`` ->
    ``M``); the product's variants must be prefetched. One query. ``languages``: a fallback
    chain (``catalog.locales.fallback_chain``); empty: English."""
    codes = {code for variant in product.variants.all() for code in variant.options}
    labels: dict[str, dict[str, str]] = {}
    for row in AttributeOption.objects.filter(attribute__code__in=codes).values(
        "attribute__code", "code", "label", *translation_columns(("label",), languages)
    ):
        label = translated_value(row, "label", languages) if languages else row["label"]
        labels.setdefault(row["attribute__code"], {})[row["code"]] = label
    return labels


# --- the price write API (issue 19) --------------------------------------------------------------


def price_channel_get(*, code: str, visible_codes: frozenset[str] | None) -> Channel | None:
    """The channel ``code`` if it exists and is among ``visible_codes`` (``None``: every one)."""
    if visible_codes is not None and code not in visible_codes:
        return None
    return Channel.objects.filter(code=code).first()


def variant_ids_by_sku(*, skus: Iterable[str]) -> dict[str, int]:
    """``{sku: variant id}`` for the SKUs that exist (one query)."""
    return dict(Variant.objects.filter(sku__in=list(set(skus))).values_list("sku", "pk"))


def variant_channel_price(
    *, variant_id: int, channel: Channel, for_update: bool = False
) -> dict[str, Any]:
    """A variant's prices on a channel in the channel's currency: the base price (``amount`` and
    ``compare_at_amount``, ``None`` when it has none) and the dated ``overrides``, earliest
    first. ``for_update`` locks the variant's row first (in the caller's transaction), as
    ``catalog.services.price_set`` does, so a check of this state and the write see the same."""
    if for_update:
        list(Variant.objects.select_for_update().filter(pk=variant_id).values_list("pk"))
    rows = list(
        Price.objects.filter(variant_id=variant_id, channel=channel, currency=channel.currency)
        .order_by(F("starts_at").asc(nulls_first=True), "ends_at", "pk")
        .values("amount", "compare_at_amount", "starts_at", "ends_at")
    )
    base = next((r for r in rows if r["starts_at"] is None and r["ends_at"] is None), None)
    return {
        "currency": channel.currency,
        "amount": base["amount"] if base else None,
        "compare_at_amount": base["compare_at_amount"] if base else None,
        "overrides": [r for r in rows if r is not base],
    }


# --- the product write API (issue 19) ------------------------------------------------------------


def product_for_edit(*, handle: str, for_update: bool = False) -> Product | None:
    """The product with this handle as it is being edited (not the approved snapshot), its
    product type and variants loaded (three queries). ``for_update`` locks the product's row in
    the caller's transaction, so an ``If-Match`` check and the write see the same state."""
    products = Product.objects.select_related("product_type")
    if for_update:
        products = products.select_for_update(of=("self",))
    return products.prefetch_related("variants").filter(handle=handle).first()


def variant_for_edit(*, sku: str, for_update: bool = False) -> Variant | None:
    """The variant with this SKU and its product (one query); ``for_update`` locks the variant's
    row, as ``product_for_edit`` does the product's."""
    variants = Variant.objects.select_related("product", "product__product_type")
    if for_update:
        variants = variants.select_for_update(of=("self",))
    return variants.filter(sku=sku).first()
