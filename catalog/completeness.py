"""Completeness of products per channel and language, computed in bulk.

For each channel a product needs: a description, a category, at least one variant, at least one
ready image, every attribute its product type requires for that channel (product-level on the
product, variant-level on every variant), a current price in the channel's currency for every
variant, and a title within the channel's length limit. The percentage is the share of those items
that are filled in; ``missing`` lists the rest in words a merchandiser can act on. A channel
that sells in other languages than English (``catalog.locales.channel_languages``) also needs a
name and a description in each (``_locales_check``); ``locales`` has the figure per language.

``completeness_compute`` runs a fixed number of queries whatever the number of products.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from catalog.locales import (
    DEFAULT_LANGUAGE,
    OTHER_LANGUAGES,
    channel_languages,
    translation_column,
    translation_columns,
)
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
    # the languages the channel sells in, its default first (catalog.locales.channel_languages)
    languages: tuple[str, ...] = (DEFAULT_LANGUAGE,)


@dataclass
class Completeness:
    product_id: int
    channel_code: str
    filled: int = 0
    total: int = 0
    missing: list[str] = field(default_factory=list)
    # per language the channel sells in: the checks in that language (English: the checks above)
    locales: dict[str, Completeness] = field(default_factory=dict)

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else (self.filled * 100) // self.total

    def check(self, ok: bool, what: str) -> None:
        self.total += 1
        if ok:
            self.filled += 1
        else:
            self.missing.append(what)

    def locales_dict(self) -> dict[str, dict[str, Any]]:
        """``{language: {"percent", "missing"}}`` as ``ProductCompleteness.locales`` stores it."""
        return {
            language: {"percent": c.percent, "missing": c.missing}
            for language, c in self.locales.items()
        }


def channel_infos(
    codes: Iterable[str] | None = None, *, languages: bool = True
) -> list[ChannelInfo]:
    """The active channels (of ``codes``) with their title rule and, with ``languages``, the
    languages they sell in (one query more, for the countries)."""
    channels = Channel.objects.filter(is_active=True).order_by("code")
    if codes is not None:
        channels = channels.filter(code__in=list(codes))
    if languages:
        channels = channels.prefetch_related("countries")
    rules = {rule.channel_id: rule for rule in ChannelContentRule.objects.all()}
    infos = []
    for channel in channels.only("id", "code", "currency", "locale"):
        rule = rules.get(channel.id)
        infos.append(
            ChannelInfo(
                id=channel.id,
                code=channel.code,
                currency=channel.currency,
                title_template=rule.title_template if rule else "",
                title_max_length=rule.title_max_length if rule else 150,
                languages=tuple(channel_languages(channel)) if languages else (DEFAULT_LANGUAGE,),
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
            *translation_columns(("name", "description"), OTHER_LANGUAGES),
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
            product_id__in=product_ids,
            status=ProductMedia.Status.READY,
            kind=ProductMedia.Kind.IMAGE,
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
            _locales_check(c, product, channel.languages)
            result[(product_id, channel.code)] = c
    return result


def _locales_check(c: Completeness, product: dict[str, Any], languages: Sequence[str]) -> None:
    """Per language the channel sells in: English has the checks made so far; another language
    has them too, with its own name and description instead of the English ones (no fallback:
    a Dutch shopper would read English). The channel's own figure then counts every language's
    name and description (the English description only when the channel sells in English), so a
    product complete in English but without a Dutch name is incomplete on a channel that sells
    in Dutch."""
    english_description_missing = "description" in c.missing
    shared_filled = c.filled - (0 if english_description_missing else 1)
    shared_missing = [item for item in c.missing if item != "description"]
    for language in languages:
        if language == DEFAULT_LANGUAGE:
            c.locales[language] = Completeness(
                product_id=c.product_id,
                channel_code=c.channel_code,
                filled=c.filled,
                total=c.total,
                missing=list(c.missing),
            )
            continue
        local = Completeness(
            product_id=c.product_id,
            channel_code=c.channel_code,
            filled=shared_filled,
            total=c.total - 1,
            missing=list(shared_missing),
        )
        name = product.get(translation_column("name", language)) or ""
        description = product.get(translation_column("description", language)) or ""
        local.check(bool(name.strip()), f"a {language} name")
        local.check(bool(description.strip()), f"a {language} description")
        c.locales[language] = local
    if DEFAULT_LANGUAGE not in languages:  # a channel that does not sell in English
        c.total -= 1
        if english_description_missing:
            c.missing.remove("description")
        else:
            c.filled -= 1
    for language in languages:
        if language != DEFAULT_LANGUAGE:
            for what in (f"a {language} name", f"a {language} description"):
                c.check(what not in c.locales[language].missing, what)
