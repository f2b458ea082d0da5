"""What a feed item says and the field rules it must keep, per Google's product data specification
and Meta's catalog field reference.

``google_fields`` turns one variant of a channel's product view into Google's attributes;
``meta_fields`` maps those to Meta's columns. ``google_problems`` / ``meta_problems`` list the
rules an item breaks; an item with problems is left out of the file and listed in the admin, the
way Merchant Center or Commerce Manager would reject it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.html import strip_tags

from catalog.models import gtin_is_valid
from catalog.selectors import ProductView, VariantView

# Google product data specification: columns in the order the TSV header lists them.
GOOGLE_COLUMNS: tuple[str, ...] = (
    "id",
    "title",
    "description",
    "link",
    "image_link",
    "additional_image_link",
    "availability",
    "price",
    "sale_price",
    "sale_price_effective_date",
    "brand",
    "gtin",
    "mpn",
    "identifier_exists",
    "condition",
    "google_product_category",
    "product_type",
    "item_group_id",
    "color",
    "size",
    "gender",
    "age_group",
    "material",
    "shipping_weight",
)
GOOGLE_REQUIRED = ("id", "title", "description", "link", "image_link", "availability", "price")
GOOGLE_AVAILABILITY = frozenset({"in_stock", "out_of_stock", "preorder", "backorder"})
GOOGLE_GENDERS = frozenset({"male", "female", "unisex"})
GOOGLE_AGE_GROUPS = frozenset({"newborn", "infant", "toddler", "kids", "adult"})
GOOGLE_MAX_LENGTH = {
    "id": 50,
    "title": 150,
    "description": 5000,
    "link": 2000,
    "image_link": 2000,
    "brand": 70,
    "mpn": 70,
    "item_group_id": 50,
    "color": 100,
    "size": 100,
    "material": 200,
    "product_type": 750,
}
GOOGLE_MAX_ADDITIONAL_IMAGES = 10
# Google's top-level category whose products must say colour, size, gender and age group.
APPAREL_ROOT = "Apparel & Accessories"

# Meta catalog field reference (commerce and dynamic ads): the columns of the CSV.
META_COLUMNS: tuple[str, ...] = (
    "id",
    "title",
    "description",
    "availability",
    "condition",
    "price",
    "link",
    "image_link",
    "brand",
    "google_product_category",
    "product_type",
    "quantity_to_sell_on_facebook",
    "sale_price",
    "sale_price_effective_date",
    "item_group_id",
    "gender",
    "color",
    "size",
    "age_group",
    "material",
    "additional_image_link",
    "gtin",
    "mpn",
    "video[0].url",
)
META_REQUIRED = (
    "id",
    "title",
    "description",
    "availability",
    "condition",
    "price",
    "link",
    "image_link",
)
META_AVAILABILITY = frozenset({"in stock", "out of stock", "available for order", "discontinued"})
META_GENDERS = frozenset({"female", "male", "unisex"})
META_AGE_GROUPS = frozenset({"adult", "all ages", "teen", "kids", "toddler", "infant", "newborn"})
META_MAX_LENGTH = {"id": 100, "title": 200, "description": 9999, "brand": 100}
META_MAX_ADDITIONAL_IMAGES = 20

PRICE_PATTERN = re.compile(r"^(\d+(?:\.\d{1,2})?) ([A-Z]{3})$")
URL_PATTERN = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)

_GENDER_WORDS = {
    "female": "female",
    "women": "female",
    "woman": "female",
    "womens": "female",
    "ladies": "female",
    "male": "male",
    "men": "male",
    "man": "male",
    "mens": "male",
    "unisex": "unisex",
}
_AGE_WORDS = {
    "adult": "adult",
    "adults": "adult",
    "kids": "kids",
    "kid": "kids",
    "children": "kids",
    "toddler": "toddler",
    "infant": "infant",
    "baby": "infant",
    "newborn": "newborn",
}


@functools.lru_cache(maxsize=4096)
def _plain(text: str) -> str:
    """Rich text as the plain text feeds want: no tags, one line of single spaces. Cached: a
    product's description is the same for each of its variants and in each file that falls
    back to the same language, and taking the tags out is the dearest step of an item."""
    return " ".join(strip_tags(text or "").split())


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount.quantize(Decimal('0.01'))} {currency}"


def _first(values: dict[str, Any], *codes: str) -> str:
    for code in codes:
        value = values.get(code)
        if value not in (None, "", []):
            return str(value)
    return ""


def _normalised(value: str, words: dict[str, str]) -> str:
    key = re.sub(r"[^a-z]", "", value.lower())
    return words.get(key, value.strip().lower())


def _images(product: ProductView, variant: VariantView, image_url: Any) -> tuple[str, list[str]]:
    """The variant's own pictures first, then the product's; the main one and the rest."""
    own = [m for m in product.media if m.get("variant_id") == variant.id]
    shared = [m for m in product.media if not m.get("variant_id")]
    urls = []
    for media in own + shared:
        renditions = media.get("renditions") or {}
        path = renditions.get("large") or media.get("path")
        if path:
            urls.append(image_url(path))
    return (urls[0] if urls else ""), urls[1:]


def meta_video_url(product: ProductView, variant: VariantView, file_url: Any) -> str:
    """The variant's first uploaded video file, else the product's, as Meta's ``video[0].url``.

    Meta fetches catalog videos from a downloadable file URL (MP4 and WebM among its formats, at
    most 200 MB, ``CATALOG_VIDEO_MAX_BYTES``' default), so a YouTube or Vimeo page is left out.
    Google's product data has no video attribute: its feeds carry images only, and the frames of
    a 360° view are left out of both feeds (they would crowd the additional images with near
    copies of one picture)."""
    videos = [m for m in product.media_all if m.get("kind") == "video" and m.get("path")]
    own = [m for m in videos if m.get("variant_id") == variant.id]
    shared = [m for m in videos if not m.get("variant_id")]
    chosen = (own + shared)[:1]
    return str(file_url(chosen[0]["path"])) if chosen else ""


# The European Union's member states (ISO 3166-1 alpha-2): Google shows prices to shoppers in
# these countries with VAT included, whatever the channel's own prices do.
EU_COUNTRIES = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip


def google_prices_include_vat(country: str) -> bool:
    """Google wants prices with VAT for shoppers in an EU country (and without tax in the US)."""
    return country.upper() in EU_COUNTRIES


@dataclass(frozen=True)
class FeedPrice:
    """What a feed says of a variant's price (``channels.feeds.services.feed_price`` makes it
    from ``orders.pricing.display_prices``): the regular price, and the sale price with its
    window when the variant is on sale."""

    currency: str
    price: Decimal
    sale_price: Decimal | None = None
    sale_starts_at: datetime | None = None
    sale_ends_at: datetime | None = None


def google_fields(
    *,
    product: ProductView,
    variant: VariantView,
    available: int,
    link_template: str,
    image_url: Any,
    price: FeedPrice | None,
    english: tuple[ProductView, VariantView] | None = None,
) -> dict[str, Any]:
    """One variant in Google's attributes (strings; ``additional_image_link`` a list), at
    ``price`` (None: no price on the channel). ``english``: the same product and variant read
    in English, when ``product`` is in another language; ``gender`` and ``age_group`` are
    Google's own English words whatever the feed's language, so they are read from it."""
    values = {**product.attributes, **variant.attributes, **variant.options}
    neutral = values
    if english is not None:
        neutral = {**english[0].attributes, **english[1].attributes, **english[1].options}
    fields: dict[str, Any] = {
        "id": variant.sku,
        "title": _plain(variant.title),
        "description": _plain(product.description),
        "availability": "in_stock" if available > 0 else "out_of_stock",
        "brand": product.brand.strip(),
        "condition": "new",
    }
    if link_template:
        try:
            fields["link"] = link_template.format(
                handle=product.handle,
                sku=variant.sku,
                variant_id=variant.id,
                product_id=product.id,
            )
        except (KeyError, IndexError, ValueError):
            fields["link"] = ""
    main, more = _images(product, variant, image_url)
    fields["image_link"] = main
    if more:
        fields["additional_image_link"] = more
    if price is not None:
        fields["price"] = _money(price.price, price.currency)
        if price.sale_price is not None:
            fields["sale_price"] = _money(price.sale_price, price.currency)
            if price.sale_starts_at and price.sale_ends_at:
                fields["sale_price_effective_date"] = (
                    f"{price.sale_starts_at.isoformat(timespec='seconds')}/"
                    f"{price.sale_ends_at.isoformat(timespec='seconds')}"
                )
    if variant.gtin:
        fields["gtin"] = variant.gtin
    else:
        mpn = _first(values, "mpn")
        if mpn:
            fields["mpn"] = mpn
        else:
            fields["identifier_exists"] = "no"
    category = product.category or {}
    if category.get("google_id"):
        fields["google_product_category"] = str(category["google_id"])
    if category.get("full_name"):
        fields["product_type"] = str(category["full_name"])
    if len(product.variants) > 1:
        fields["item_group_id"] = product.handle
    for name, codes in (("color", ("color", "colour")), ("size", ("size",))):
        value = _first(values, *codes)
        if value:
            fields[name] = value
    gender = _first(neutral, "gender")
    if gender:
        fields["gender"] = _normalised(gender, _GENDER_WORDS)
    age_group = _first(neutral, "age_group", "age-group", "agegroup")
    if age_group:
        fields["age_group"] = _normalised(age_group, _AGE_WORDS)
    material = _first(values, "material")
    if material:
        fields["material"] = material
    if variant.weight_grams:
        fields["shipping_weight"] = f"{variant.weight_grams} g"
    return fields


def _price_problems(fields: dict[str, Any]) -> list[str]:
    problems = []
    amounts: dict[str, Decimal] = {}
    for name in ("price", "sale_price"):
        value = fields.get(name)
        if not value:
            continue
        match = PRICE_PATTERN.match(str(value))
        if match is None:
            problems.append(f"{name}: '{value}' is not 'amount ISO-currency' (e.g. 19.99 EUR)")
            continue
        amounts[name] = Decimal(match.group(1))
    if "price" in amounts and amounts["price"] <= 0:
        problems.append("price: must be above zero")
    if "sale_price" in amounts and "price" in amounts and amounts["sale_price"] >= amounts["price"]:
        problems.append("sale_price: must be below price")
    return problems


def _url_problems(fields: dict[str, Any], names: Sequence[str]) -> list[str]:
    problems = []
    for name in names:
        value = fields.get(name)
        values = value if isinstance(value, list) else [value] if value else []
        for url in values:
            if not URL_PATTERN.match(str(url)):
                problems.append(f"{name}: '{url}' is not an absolute http(s) URL")
    return problems


def google_problems(fields: dict[str, Any]) -> list[str]:
    """The rules of Google's specification that ``fields`` break (empty: the item is valid)."""
    problems = [f"{name}: missing" for name in GOOGLE_REQUIRED if not fields.get(name)]
    for name, limit in GOOGLE_MAX_LENGTH.items():
        value = str(fields.get(name) or "")
        if len(value) > limit:
            problems.append(f"{name}: {len(value)} characters, at most {limit}")
    if fields.get("availability") and fields["availability"] not in GOOGLE_AVAILABILITY:
        problems.append(f"availability: '{fields['availability']}' is not a Google value")
    problems += _price_problems(fields)
    problems += _url_problems(fields, ("link", "image_link", "additional_image_link"))
    if len(fields.get("additional_image_link") or []) > GOOGLE_MAX_ADDITIONAL_IMAGES:
        problems.append(f"additional_image_link: at most {GOOGLE_MAX_ADDITIONAL_IMAGES} images")
    if not fields.get("brand"):
        problems.append("brand: missing (required for new products)")
    gtin = fields.get("gtin")
    if gtin and not gtin_is_valid(str(gtin)):
        problems.append(f"gtin: '{gtin}' is not a GTIN-8/12/13/14 with a valid check digit")
    if not gtin and not fields.get("mpn") and fields.get("identifier_exists") != "no":
        problems.append("gtin: missing, with no mpn and identifier_exists not 'no'")
    if str(fields.get("product_type", "")).startswith(APPAREL_ROOT):
        for name in ("color", "size", "gender", "age_group"):
            if not fields.get(name):
                problems.append(f"{name}: missing (required for apparel)")
    if fields.get("gender") and fields["gender"] not in GOOGLE_GENDERS:
        problems.append(f"gender: '{fields['gender']}' is not male, female or unisex")
    if fields.get("age_group") and fields["age_group"] not in GOOGLE_AGE_GROUPS:
        problems.append(f"age_group: '{fields['age_group']}' is not a Google age group")
    return problems


def meta_fields(google: dict[str, Any], *, available: int, video_url: str = "") -> dict[str, Any]:
    """Google's attributes as Meta's catalog columns, with the video (``meta_video_url``)."""
    fields = {name: google[name] for name in META_COLUMNS if name in google}
    if video_url:
        fields["video[0].url"] = video_url
    in_stock = google.get("availability") == "in_stock"
    fields["availability"] = "in stock" if in_stock else "out of stock"
    fields["quantity_to_sell_on_facebook"] = str(max(available, 0))
    return fields


def meta_problems(fields: dict[str, Any]) -> list[str]:
    """The rules of Meta's catalog field reference that ``fields`` break."""
    problems = [f"{name}: missing" for name in META_REQUIRED if not fields.get(name)]
    for name, limit in META_MAX_LENGTH.items():
        value = str(fields.get(name) or "")
        if len(value) > limit:
            problems.append(f"{name}: {len(value)} characters, at most {limit}")
    if fields.get("availability") and fields["availability"] not in META_AVAILABILITY:
        problems.append(f"availability: '{fields['availability']}' is not a Meta value")
    if fields.get("condition") not in (None, "new", "refurbished", "used"):
        problems.append(f"condition: '{fields['condition']}' is not new, refurbished or used")
    problems += _price_problems(fields)
    problems += _url_problems(
        fields, ("link", "image_link", "additional_image_link", "video[0].url")
    )
    if len(fields.get("additional_image_link") or []) > META_MAX_ADDITIONAL_IMAGES:
        problems.append(f"additional_image_link: at most {META_MAX_ADDITIONAL_IMAGES} images")
    if not (fields.get("brand") or fields.get("gtin") or fields.get("mpn")):
        problems.append("brand: missing, and no gtin or mpn either")
    if fields.get("gender") and fields["gender"] not in META_GENDERS:
        problems.append(f"gender: '{fields['gender']}' is not female, male or unisex")
    if fields.get("age_group") and fields["age_group"] not in META_AGE_GROUPS:
        problems.append(f"age_group: '{fields['age_group']}' is not a Meta age group")
    quantity = str(fields.get("quantity_to_sell_on_facebook", "0"))
    if not quantity.isdigit():
        problems.append(f"quantity_to_sell_on_facebook: '{quantity}' is not a whole number")
    return problems
