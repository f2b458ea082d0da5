"""The Shopify product CSV, as Shopify exports it.

Rows are grouped by ``Handle``: the first row of a handle carries the product (Title, Body (HTML),
Vendor, Type, ...) and its first variant; following rows carry more variants (``Option1 Value``...
without a Title) and/or more images (``Image Src`` only). ``Option1 Name = Title`` with
``Default Title`` means a product without options. Shopify leaves ``Variant SKU`` empty when the
merchant never set one; we then derive a stable SKU from the handle and the option values, so a
re-import finds the same variant.

Every cell is checked before anything is written; errors carry the file's line number (the header
is line 1) and the column name.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.text import slugify

from catalog.imports.plan import ImageRow, ImportPlan, ProductRow, RowError, VariantRow
from catalog.models import SkuValidator, gtin_is_valid

REQUIRED_COLUMNS = ("Handle", "Title", "Option1 Name", "Option1 Value", "Variant Price")
INVENTORY_POLICIES = frozenset({"", "deny", "continue"})
_SKU_UNSAFE = re.compile(r"[^A-Z0-9]+")
_url = URLValidator(schemes=["http", "https"])


def _text(row: dict[str, str], column: str) -> str:
    return (row.get(column) or "").strip()


@lru_cache(maxsize=4096)
def option_code(value: str) -> str:
    """Option names and values repeat on every row of a file: slugified once each."""
    return slugify(value) or value.strip().lower()


def _handle_ok(handle: str) -> bool:
    return slugify(handle) == handle.lower()


def derived_sku(handle: str, option_values: Iterable[str]) -> str:
    parts = [handle, *option_values]
    return _SKU_UNSAFE.sub("-", "-".join(parts).upper()).strip("-")[:64]


class _Cells:
    """Typed reads of one row's cells that record an error instead of raising."""

    def __init__(self, row: dict[str, str], line: int, errors: list[RowError]) -> None:
        self.row, self.line, self.errors = row, line, errors

    def error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.line, column, message))

    def money(self, column: str) -> Decimal | None:
        raw = _text(self.row, column)
        if not raw:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            self.error(column, f"{raw!r} is not an amount.")
            return None
        if not value.is_finite() or value < 0:
            self.error(column, f"{raw!r} must be zero or more.")
            return None
        if value != value.quantize(Decimal("0.01")):
            self.error(column, f"{raw!r} has more than two decimals.")
            return None
        return value

    def integer(self, column: str, *, minimum: int | None = None) -> int | None:
        raw = _text(self.row, column)
        if not raw:
            return None
        try:
            value = int(Decimal(raw)) if Decimal(raw) == int(Decimal(raw)) else None
        except (InvalidOperation, ValueError):
            value = None
        if value is None:
            self.error(column, f"{raw!r} is not a whole number.")
            return None
        if minimum is not None and value < minimum:
            self.error(column, f"{raw!r} must be at least {minimum}.")
            return None
        return value


def parse(data: bytes | str) -> tuple[ImportPlan | None, list[RowError]]:
    """Parse and validate a Shopify product CSV. Returns (plan, []) or (None, errors)."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        return None, [
            RowError(1, column, "This column is missing from the header.") for column in missing
        ]

    errors: list[RowError] = []
    products: dict[str, ProductRow] = {}
    skus: dict[str, int] = {}
    line = 1
    for line, row in enumerate(reader, start=2):
        if not any((value or "").strip() for value in row.values()):
            continue
        if None in row:
            errors.append(RowError(line, "(row)", "This row has more cells than the header."))
            continue
        cells = _Cells(row, line, errors)
        handle = _text(row, "Handle")
        if not handle:
            cells.error("Handle", "Every row needs the product's handle.")
            continue
        product = products.get(handle)
        if product is None and not _handle_ok(handle):
            cells.error("Handle", f"{handle!r} is not a valid handle (letters, digits and dashes).")
            continue
        title = _text(row, "Title")
        if product is None:
            if not title:
                cells.error("Title", f"The first row of {handle!r} needs a Title.")
                continue
            product = ProductRow(
                row=line,
                handle=handle.lower(),
                name=title,
                description=(row.get("Body (HTML)") or "").strip(),
                brand=_text(row, "Vendor"),
                product_type=_text(row, "Type"),
                google_category=_text(row, "Google Shopping / Google Product Category"),
            )
            names = [_text(row, f"Option{i} Name") for i in (1, 2, 3)]
            if names[0] == "Title" and _text(row, "Option1 Value") == "Default Title":
                names = []
            product.option_names = [name for name in names if name]
            if len(product.name) > 255:
                cells.error("Title", "At most 255 characters.")
            products[handle] = product

        _variant(product, row, cells, skus)
        _image(product, row, cells)

    for product in products.values():
        # Image Position where given, file order otherwise, variant images last: 1, 2, 3, ...
        product.images.sort(key=lambda image: image.position)
        for number, image in enumerate(product.images, start=1):
            image.position = number
    plan = ImportPlan(products=list(products.values()), rows=max(line - 1, 0))
    if not errors and not plan.products:
        errors.append(RowError(2, "Handle", "The file has no product rows."))
    return (None, errors) if errors else (plan, [])


def _variant(product: ProductRow, row: dict[str, str], cells: _Cells, skus: dict[str, int]) -> None:
    values = [_text(row, f"Option{i} Value") for i in (1, 2, 3)]
    has_variant = any(values) or any(
        _text(row, column) for column in ("Variant SKU", "Variant Price", "Variant Barcode")
    )
    if not has_variant:
        return
    if not product.option_names:
        if product.variants:
            cells.error("Option1 Value", f"{product.handle!r} has no options, so only one variant.")
            return
        options: dict[str, str] = {}
        labels: dict[str, str] = {}
    else:
        options, labels = {}, {}
        for index, name in enumerate(product.option_names, start=1):
            value = values[index - 1]
            if not value:
                cells.error(f"Option{index} Value", f"A value for {name!r} is needed.")
                return
            code = option_code(name)
            options[code] = option_code(value)
            labels[code] = value
        for index in range(len(product.option_names) + 1, 4):
            if values[index - 1]:
                cells.error(f"Option{index} Value", f"{product.handle!r} has no option {index}.")
                return
    sku = _text(row, "Variant SKU") or derived_sku(product.handle, list(options.values()))
    if len(sku) > 64:
        cells.error("Variant SKU", "At most 64 characters.")
        return
    try:
        SkuValidator()(sku)
    except ValidationError as refused:
        cells.error("Variant SKU", refused.messages[0])
        return
    if sku in skus:
        cells.error("Variant SKU", f"SKU {sku!r} is already used on line {skus[sku]}.")
        return
    variant = VariantRow(row=cells.line, sku=sku, options=options, option_labels=labels)
    if any(existing.options == options for existing in product.variants):
        cells.error(
            "Option1 Value", f"{product.handle!r} already has a variant with these options."
        )
        return
    skus[sku] = cells.line
    barcode = _text(row, "Variant Barcode").lstrip("'")
    if barcode and not gtin_is_valid(barcode):
        cells.error("Variant Barcode", f"{barcode!r} is not a GTIN with a correct check digit.")
    variant.gtin = barcode
    grams = cells.integer("Variant Grams", minimum=0)
    variant.weight_grams = grams if grams else None
    variant.price = cells.money("Variant Price")
    if variant.price is None and not any(
        e.row == cells.line and e.column == "Variant Price" for e in cells.errors
    ):
        cells.error("Variant Price", "A price is needed.")
    variant.compare_at_price = cells.money("Variant Compare At Price")
    if (
        variant.compare_at_price is not None
        and variant.price is not None
        and variant.compare_at_price <= variant.price
    ):
        cells.error("Variant Compare At Price", "Must be above the Variant Price.")
    variant.inventory_quantity = cells.integer("Variant Inventory Qty", minimum=0)
    # Shopify's "continue" sells past zero; OmniHub never sells stock it does not have, so both
    # values are accepted and every variant sells only what is available (docs/catalog.md).
    policy = _text(row, "Variant Inventory Policy")
    if policy.lower() not in INVENTORY_POLICIES:
        cells.error("Variant Inventory Policy", f"{policy!r} is not 'deny' or 'continue'.")
    variant.position = len(product.variants)
    product.variants.append(variant)
    image = _text(row, "Variant Image")
    if image and _valid_url(image, cells, "Variant Image"):
        product.images.append(
            ImageRow(url=image, position=10_000 + variant.position, variant_key=variant.key)
        )


def _valid_url(url: str, cells: _Cells, column: str) -> bool:
    try:
        _url(url)
    except ValidationError:
        cells.error(column, f"{url!r} is not an http(s) URL.")
        return False
    return True


def _image(product: ProductRow, row: dict[str, str], cells: _Cells) -> None:
    src = _text(row, "Image Src")
    if not src or not _valid_url(src, cells, "Image Src"):
        return
    position = cells.integer("Image Position", minimum=0)
    if any(image.url == src and image.variant_key is None for image in product.images):
        return
    product.images.append(
        ImageRow(
            url=src,
            position=position if position is not None else len(product.images) + 1,
            alt_text=_text(row, "Image Alt Text")[:255],
        )
    )
