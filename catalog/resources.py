"""The native catalog file (CSV or XLSX): one row per variant, exported and re-imported losslessly.

Columns (``NATIVE_COLUMNS``): ``handle``, ``product_name``, ``description``, ``brand``, ``category``
(full path such as ``Apparel & Accessories > Clothing``, or the Google category id),
``product_type`` (code), ``product_attributes`` (JSON object), ``sku``, ``gtin``, ``options`` (JSON
object), ``variant_attributes`` (JSON object), ``weight_grams``, ``position``, ``cost_price``. A
product without variants is one row with an empty ``sku``. Rows of the same product repeat its
columns (or leave them blank after the first row).

Importing goes through the catalog services (``product_create``, ``product_update``,
``variant_save``), so typed attributes, GTIN check digits and unique options are checked exactly
as in the admin. A file is imported whole or not at all: every bad cell is reported as
{row, column, message} (row 1 is the header, as a spreadsheet numbers it) in one
``ImportFileInvalid``, and nothing is written. Re-importing a file updates the products (by handle)
and variants (by SKU) it names, and leaves untouched what did not change; products and variants
that the file does not name are left as they are.

``cost_price`` is the variant's cost per unit in the base currency (``settings.BASE_CURRENCY``):
an amount of 0 or more with at most two decimals (``12.50``), empty for unknown. It is the one
optional column: a file without it imports and leaves every cost as it is. A changed cost alone
does not send an approved product back to review (customers never see it).

Prices: per channel, ``price[<channel code>]`` is the variant's base price and
``compare_at_price[<channel code>]`` its "was" price, in the channel's currency (the file never
names a currency), both amounts such as ``19.99``. The export has both columns for every active
channel, ordered by code. On import every price column is optional: a file without a channel's
columns leaves its prices alone, as does an empty ``price[...]`` cell; an empty
``compare_at_price[...]`` cell next to a price removes the was-price. A changed price takes effect
at once through ``price_set`` (history, ``price.changed``, no review), like a price edit in the
admin, and needs the permission to change prices. A bad amount, a was-price not above the price
or without one, a price on a row without a SKU, or a column naming an unknown channel is reported
as {row, column, message} like any other bad cell, and nothing is written.

Translations: ``product_name[<language>]`` and ``description[<language>]`` (``nl``, ``de``,
``fr``) hold the product's texts in another language; the export has them for the languages
asked for (``languages=``; the admin's export actions take the *Language* of the action bar).
On import they are optional; an empty cell removes that text (it then falls back to the
channel's language, then English), a changed one is written through
``product_translation_save`` and sends an approved product back to review. A column naming a
language content is not translated into, or a text too long for its field, is a bad cell.

Text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab
or CR) are exported with a leading apostrophe (``core.spreadsheet.cell_safe``); the importer takes
exactly that apostrophe off again, so our own file round-trips unchanged.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from import_export import fields, resources
from import_export.results import Error, Result, RowResult

from catalog import services
from catalog.exceptions import ImportFileInvalid, NotAllowed
from catalog.locales import OTHER_LANGUAGES, translation_column
from catalog.models import Category, Price, Product, ProductType, Variant, gtin_is_valid
from core.errors import DomainError
from core.models import Channel
from core.spreadsheet import cell_safe, cell_unescape

User = Any

NATIVE_COLUMNS: Final = (
    "handle",
    "product_name",
    "description",
    "brand",
    "category",
    "product_type",
    "product_attributes",
    "sku",
    "gtin",
    "options",
    "variant_attributes",
    "weight_grams",
    "position",
    "cost_price",
)
OPTIONAL_COLUMNS: Final = ("cost_price",)  # a file without them leaves those values alone
PRODUCT_COLUMNS: Final = (
    "product_name",
    "description",
    "brand",
    "category",
    "product_type",
    "product_attributes",
)
FORMATS: Final = ("csv", "xlsx")
GTIN_MESSAGE: Final = "Enter a GTIN-8, -12, -13 or -14 with a correct check digit."
AMOUNT_MESSAGE: Final = "Enter an amount of 0 or more with at most 2 decimals, such as 12.50."
_AMOUNT: Final = re.compile(r"[0-9]{1,10}(\.[0-9]{1,2})?", re.ASCII)
PRICE_COLUMN: Final = re.compile(r"(?P<kind>price|compare_at_price)\[(?P<channel>[^\]]*)\]")
"""``price[<channel code>]`` and ``compare_at_price[<channel code>]`` (see the module docstring)."""
TRANSLATION_COLUMN: Final = re.compile(
    r"(?P<column>product_name|description)\[(?P<language>[^\]]*)\]"
)
"""``product_name[nl]`` and ``description[nl]``: the product's texts in another language."""
_TRANSLATED_FIELD: Final = {"product_name": "name", "description": "description"}
CONTENT_TYPES: Final = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _json_cell(value: dict[str, Any] | None) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""


class VariantResource(resources.ModelResource):
    """A variant with its product's columns (see the module docstring for the file layout).

    Exports any iterable of variants; an unsaved ``Variant(product=p)`` with no SKU stands for a
    product without variants. ``import_data`` is replaced: writes go through the catalog services
    (``native_dataset_import``), never through import-export's own row saving.
    """

    handle = fields.Field(column_name="handle", readonly=True)
    product_name = fields.Field(column_name="product_name", readonly=True)
    description = fields.Field(column_name="description", readonly=True)
    brand = fields.Field(column_name="brand", readonly=True)
    category = fields.Field(column_name="category", readonly=True)
    product_type = fields.Field(column_name="product_type", readonly=True)
    product_attributes = fields.Field(column_name="product_attributes", readonly=True)
    sku = fields.Field(attribute="sku", column_name="sku")
    gtin = fields.Field(attribute="gtin", column_name="gtin")
    options = fields.Field(column_name="options", readonly=True)
    variant_attributes = fields.Field(column_name="variant_attributes", readonly=True)
    weight_grams = fields.Field(column_name="weight_grams", readonly=True)
    position = fields.Field(column_name="position", readonly=True)
    cost_price = fields.Field(column_name="cost_price", readonly=True)

    class Meta:
        model = Variant
        fields = NATIVE_COLUMNS
        export_order = NATIVE_COLUMNS
        import_id_fields = ("sku",)

    def import_data(  # type: ignore[override]
        self,
        dataset: tablib.Dataset,
        dry_run: bool = False,
        raise_errors: bool = False,
        **kwargs: Any,
    ) -> Result:
        """Import through ``native_dataset_import`` (the catalog services, all or nothing) and
        report in import-export's terms, so its admin import page shows each bad cell on its row.
        A dry run rolls everything back."""
        result = Result()
        result.diff_headers = list(NATIVE_COLUMNS)
        result.total_rows = len(dataset)
        try:
            with transaction.atomic():
                summary = native_dataset_import(dataset=dataset, user=kwargs.get("user"))
                if dry_run:
                    transaction.set_rollback(True)
        except ImportFileInvalid as refused:
            if raise_errors:
                raise
            by_row: dict[int, dict[str, list[str]]] = {}
            for error in refused.errors:
                if not error["row"] or error["row"] == 1:
                    result.append_base_error(Error(ValidationError(error["message"])))
                    continue
                column = error["column"] or NON_FIELD_ERRORS
                by_row.setdefault(error["row"], {}).setdefault(column, []).append(error["message"])
            headers = [str(h) for h in (dataset.headers or [])]
            for number, messages in sorted(by_row.items()):
                values = dataset[number - 2] if 0 <= number - 2 < len(dataset) else ()
                row = dict(zip(headers, values, strict=False))
                result.append_invalid_row(number, row, ValidationError(messages))
                result.totals[RowResult.IMPORT_TYPE_INVALID] += 1
            if not result.base_errors and not result.invalid_rows:
                result.append_base_error(Error(ValidationError(refused.message)))
            return result
        except NotAllowed as refused:
            if raise_errors:
                raise
            result.append_base_error(Error(PermissionDenied(refused.message)))
            return result
        result.totals[RowResult.IMPORT_TYPE_NEW] = summary["variants_created"]
        result.totals[RowResult.IMPORT_TYPE_UPDATE] = summary["variants_updated"]
        result.totals[RowResult.IMPORT_TYPE_SKIP] = summary["variants_unchanged"]
        return result

    def export_field(self, field: fields.Field, instance: Any, **kwargs: Any) -> Any:
        """Every exported cell goes through ``cell_safe``: text that a spreadsheet would run as
        a formula gets a leading apostrophe (``_cell`` takes it off again on import)."""
        return cell_safe(super().export_field(field, instance, **kwargs))

    def dehydrate_handle(self, variant: Variant) -> str:
        return variant.product.handle

    def dehydrate_product_name(self, variant: Variant) -> str:
        return variant.product.name

    def dehydrate_description(self, variant: Variant) -> str:
        return variant.product.description

    def dehydrate_brand(self, variant: Variant) -> str:
        return variant.product.brand

    def dehydrate_category(self, variant: Variant) -> str:
        category = variant.product.category
        return category.full_name if category is not None else ""

    def dehydrate_product_type(self, variant: Variant) -> str:
        product_type = variant.product.product_type
        return product_type.code if product_type is not None else ""

    def dehydrate_product_attributes(self, variant: Variant) -> str:
        return _json_cell(variant.product.attributes)

    def dehydrate_options(self, variant: Variant) -> str:
        return _json_cell(variant.options) if variant.sku else ""

    def dehydrate_variant_attributes(self, variant: Variant) -> str:
        return _json_cell(variant.attributes) if variant.sku else ""

    def dehydrate_weight_grams(self, variant: Variant) -> int | str:
        return variant.weight_grams if variant.weight_grams is not None else ""

    def dehydrate_position(self, variant: Variant) -> int | str:
        return variant.position if variant.sku else ""

    def dehydrate_cost_price(self, variant: Variant) -> str:
        return f"{variant.cost_price:.2f}" if variant.cost_price is not None else ""


# --- export --------------------------------------------------------------------------------------


def native_export_rows(*, product_ids: Sequence[int] | None = None) -> list[Variant]:
    """The variants to export, products in handle order, variants in position order, with one
    placeholder per product without variants. Three queries whatever the size."""
    products = Product.objects.select_related("category", "product_type").order_by("handle")
    if product_ids is not None:
        products = products.filter(id__in=product_ids)
    by_product: dict[int, list[Variant]] = {}
    product_list = list(products)
    variants = Variant.objects.filter(product_id__in=[p.id for p in product_list]).order_by(
        "product_id", "position", "id"
    )
    for variant in variants:
        by_product.setdefault(variant.product_id, []).append(variant)
    rows: list[Variant] = []
    for product in product_list:
        items = by_product.get(product.id) or [Variant(product=product, sku="")]
        for variant in items:
            variant.product = product  # already loaded: no query per row
            rows.append(variant)
    return rows


def catalog_native_export(
    *, fmt: str, product_ids: Sequence[int] | None = None, languages: Sequence[str] = ()
) -> bytes:
    """The native file of ``product_ids`` (all products when None) as CSV (UTF-8) or XLSX bytes;
    with ``languages`` (``nl``...), ``product_name[nl]`` and ``description[nl]`` columns too."""
    if fmt not in FORMATS:
        raise ImportFileInvalid(f"Unknown format {fmt!r}; use csv or xlsx.", code="unknown_format")
    unknown = [lang for lang in languages if lang not in OTHER_LANGUAGES]
    if unknown:
        raise ImportFileInvalid(
            f"Not a language content is translated into: {', '.join(unknown)} "
            f"(one of {', '.join(OTHER_LANGUAGES)}).",
            code="unsupported_locale",
        )
    rows = native_export_rows(product_ids=product_ids)
    dataset = VariantResource().export(rows)
    _price_columns_export(dataset, rows, product_ids=product_ids)
    _translation_columns_export(dataset, rows, languages)
    if fmt == "csv":
        return str(dataset.export("csv")).encode("utf-8")
    return bytes(dataset.export("xlsx"))


# --- import --------------------------------------------------------------------------------------


@dataclass
class _Errors:
    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: int, column: str, message: str) -> None:
        self.items.append({"row": row, "column": column, "message": message})


def _cell(value: Any) -> str:
    """A cell as text: XLSX gives numbers for numeric-looking cells (12.0 for 12). The apostrophe
    that our export puts before formula-like text (``core.spreadsheet``) is taken off again."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return cell_unescape(str(value).strip())


def _dataset(file_bytes: bytes, fmt: str) -> tablib.Dataset:
    if fmt not in FORMATS:
        raise ImportFileInvalid(f"Unknown format {fmt!r}; use csv or xlsx.", code="unknown_format")
    try:
        if fmt == "csv":
            text = file_bytes.decode("utf-8-sig")
            return tablib.Dataset().load(text, format="csv")
        return tablib.Dataset().load(io.BytesIO(file_bytes), format="xlsx")
    except UnicodeDecodeError:
        raise ImportFileInvalid(
            "The CSV file is not UTF-8 text.",
            errors=[{"row": 0, "column": "", "message": "The CSV file is not UTF-8 text."}],
        ) from None
    except Exception as exc:  # tablib/openpyxl raise many kinds for a file that is not theirs
        message = f"The file cannot be read as {fmt.upper()} ({type(exc).__name__})."
        raise ImportFileInvalid(
            message, errors=[{"row": 0, "column": "", "message": message}]
        ) from None


def _headers(dataset: tablib.Dataset) -> list[str]:
    headers = [_cell(h) for h in (dataset.headers or [])]
    problems = _Errors()
    missing = [c for c in NATIVE_COLUMNS if c not in headers and c not in OPTIONAL_COLUMNS]
    unknown = [
        h
        for h in headers
        if h
        and h not in NATIVE_COLUMNS
        and not PRICE_COLUMN.fullmatch(h)
        and not TRANSLATION_COLUMN.fullmatch(h)
    ]
    for column in missing:
        problems.add(1, column, "This column is missing.")
    for column in unknown:
        problems.add(1, column, f"Unknown column; the columns are {', '.join(NATIVE_COLUMNS)}.")
    duplicates = sorted({h for h in headers if h and headers.count(h) > 1})
    for column in duplicates:
        problems.add(1, column, "This column appears more than once.")
    _price_headers_check(headers, problems)
    for header in headers:
        match = TRANSLATION_COLUMN.fullmatch(header) if header else None
        if match and match["language"] not in OTHER_LANGUAGES:
            problems.add(
                1,
                header,
                f"Not a language content is translated into: {match['language']!r} "
                f"(one of {', '.join(OTHER_LANGUAGES)}).",
            )
    if problems.items:
        raise ImportFileInvalid(_message(problems.items), errors=problems.items)
    return headers


def _message(errors: list[dict[str, Any]]) -> str:
    shown = "; ".join(
        f"row {e['row']}, {e['column'] or 'file'}: {e['message']}" for e in errors[:10]
    )
    more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
    return f"The file was not imported: {shown}{more}"


@dataclass
class _Row:
    number: int
    cells: dict[str, str]


def _json_object(row: _Row, column: str, errors: _Errors) -> dict[str, Any] | None:
    raw = row.cells[column]
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        errors.add(row.number, column, f"Not valid JSON ({exc.msg} at character {exc.pos + 1}).")
        return None
    if not isinstance(value, dict):
        errors.add(row.number, column, 'Enter a JSON object such as {"size": "m"}.')
        return None
    return value


def _whole_number(row: _Row, column: str, errors: _Errors) -> int | None:
    raw = row.cells[column]
    if not raw:
        return None
    if not raw.isdigit():
        errors.add(row.number, column, "Enter a whole number of 0 or more.")
        return None
    return int(raw)


def _amount(row: _Row, column: str, errors: _Errors) -> Decimal | None:
    raw = row.cells[column]
    if not raw:
        return None
    if not _AMOUNT.fullmatch(raw):
        errors.add(row.number, column, AMOUNT_MESSAGE)
        return None
    return Decimal(raw).quantize(Decimal("0.01"))


class _Lookups:
    """Categories and product types named in the file, loaded with one query each."""

    def __init__(self, rows: Iterable[_Row]) -> None:
        rows = list(rows)
        names = {r.cells["category"] for r in rows if r.cells["category"]}
        google_ids = {int(n) for n in names if n.isdigit()}
        self.categories: dict[str, Category] = {}
        for category in Category.objects.filter(full_name__in=names):
            self.categories[category.full_name] = category
        for category in Category.objects.filter(google_id__in=google_ids):
            self.categories[str(category.google_id)] = category
        codes = {r.cells["product_type"] for r in rows if r.cells["product_type"]}
        self.types = {t.code: t for t in ProductType.objects.filter(code__in=codes)}


_PRODUCT_FIELD_COLUMNS: Final = {
    "name": "product_name",
    "handle": "handle",
    "description": "description",
    "brand": "brand",
    "category": "category",
    "product_type": "product_type",
    "attributes": "product_attributes",
}
_VARIANT_FIELD_COLUMNS: Final = {
    "sku": "sku",
    "gtin": "gtin",
    "weight_grams": "weight_grams",
    "position": "position",
    "cost_price": "cost_price",
    "options": "options",
    "attributes": "variant_attributes",
    "product": "sku",
    "__all__": "options",  # the only whole-variant rule: options unique within the product
}


def _service_errors(
    exc: DomainError, row: int, columns: dict[str, str], default: str, errors: _Errors
) -> None:
    """Turn a service's refusal into cell errors: ``attributes.color`` -> the attributes column
    with the attribute named in the message; whole-object errors go to ``default``."""
    if not exc.errors:
        errors.add(row, default, exc.message)
        return
    for item in exc.errors:
        name = str(item.get("field") or "")
        head, _, rest = name.partition(".")
        column = columns.get(head, default)
        message = str(item.get("message") or exc.message)
        errors.add(row, column, f"{rest}: {message}" if rest else message)


def _product_values(
    first: _Row, rows: list[_Row], lookups: _Lookups, errors: _Errors
) -> dict[str, Any] | None:
    """The product fields from the product's first row; later rows must leave a column blank or
    repeat the same value."""
    for row in rows[1:]:
        for column in PRODUCT_COLUMNS:
            value = row.cells[column]
            if value and value != first.cells[column]:
                errors.add(
                    row.number,
                    column,
                    f"Differs from row {first.number} of the same handle "
                    f"({first.cells[column]!r}); leave it blank or repeat it.",
                )
    before = len(errors.items)
    name = first.cells["product_name"]
    if not name:
        errors.add(first.number, "product_name", "A product needs a name.")
    category = None
    if first.cells["category"]:
        category = lookups.categories.get(first.cells["category"])
        if category is None:
            errors.add(
                first.number,
                "category",
                f"Unknown category {first.cells['category']!r}: use a full path from the "
                "category tree or a Google category id.",
            )
    product_type = None
    if first.cells["product_type"]:
        product_type = lookups.types.get(first.cells["product_type"])
        if product_type is None:
            errors.add(
                first.number,
                "product_type",
                f"Unknown product type {first.cells['product_type']!r}.",
            )
    attributes = _json_object(first, "product_attributes", errors)
    if len(errors.items) > before:
        return None
    return {
        "name": name,
        "description": first.cells["description"],
        "brand": first.cells["brand"],
        "category": category,
        "product_type": product_type,
        "attributes": attributes,
    }


def _product_write(
    handle: str, values: dict[str, Any], row: int, user: User | None, errors: _Errors
) -> tuple[Product | None, str]:
    existing = Product.objects.select_for_update().filter(handle=handle).first()
    try:
        with transaction.atomic():
            if existing is None:
                return services.product_create(handle=handle, user=user, **values), "created"
            changes = {
                name: value
                for name, value in values.items()
                if (
                    getattr(existing, f"{name}_id") != (value.id if value else None)
                    if name in ("category", "product_type")
                    else getattr(existing, name) != value
                )
            }
            if not changes:
                return existing, "unchanged"
            if "attributes" not in changes and "product_type" in changes:
                changes["attributes"] = values["attributes"]
            return services.product_update(product=existing, user=user, **changes), "updated"
    except DomainError as exc:
        _service_errors(exc, row, _PRODUCT_FIELD_COLUMNS, "handle", errors)
        return None, "failed"


def _variant_write(
    product: Product,
    row: _Row,
    user: User | None,
    errors: _Errors,
    seen: dict[str, int],
    with_cost: bool = True,
) -> str:
    """Create or update the row's variant; ``with_cost`` False (the file has no ``cost_price``
    column) leaves the cost as it is."""
    sku = row.cells["sku"]
    if sku in seen:
        errors.add(row.number, "sku", f"SKU {sku!r} is already on row {seen[sku]}.")
        return "failed"
    seen[sku] = row.number
    before = len(errors.items)
    options = _json_object(row, "options", errors)
    attributes = _json_object(row, "variant_attributes", errors)
    weight = _whole_number(row, "weight_grams", errors)
    position = _whole_number(row, "position", errors)
    cost = _amount(row, "cost_price", errors)
    if len(errors.items) > before or options is None or attributes is None:
        # the services will not see this row: still name a bad GTIN, as they would
        gtin = row.cells["gtin"]
        if gtin and not gtin_is_valid(gtin):
            errors.add(row.number, "gtin", GTIN_MESSAGE)
        return "failed"
    existing = Variant.objects.select_for_update().filter(sku=sku).first()
    if existing is not None and existing.product_id != product.id:
        errors.add(
            row.number,
            "sku",
            f"SKU {sku!r} belongs to another product ({existing.product.handle}); "
            "a variant cannot move between products.",
        )
        return "failed"
    wanted: dict[str, Any] = {
        "gtin": row.cells["gtin"],
        "weight_grams": weight,
        "position": position if position is not None else 0,
    }
    if with_cost:
        wanted["cost_price"] = cost
    if existing is not None and (
        existing.options == options
        and existing.attributes == attributes
        and all(getattr(existing, name) == value for name, value in wanted.items())
    ):
        return "unchanged"
    if existing is not None and (
        existing.options == options
        and existing.attributes == attributes
        and all(getattr(existing, n) == v for n, v in wanted.items() if n != "cost_price")
    ):
        # only the cost changed: not customer-visible, so no review and no completeness
        services.variant_cost_price_set(variant_id=existing.pk, cost_price=cost, user=user)
        return "updated"
    try:
        with transaction.atomic():
            services.variant_save(
                product=product,
                sku=sku,
                variant=existing,
                options=options,
                attributes=attributes,
                user=user,
                **wanted,
            )
    except DomainError as exc:
        _service_errors(exc, row.number, _VARIANT_FIELD_COLUMNS, "sku", errors)
        return "failed"
    return "created" if existing is None else "updated"


# --- prices per channel ------------------------------------------------------------------------


def _price_columns_export(
    dataset: tablib.Dataset, rows: Sequence[Variant], *, product_ids: Sequence[int] | None
) -> None:
    """Append ``price[c]`` and ``compare_at_price[c]`` for every active channel ``c`` (by code):
    the base price in the channel's currency, empty without one. Two queries."""
    codes = list(
        Channel.objects.filter(is_active=True).order_by("code").values_list("code", flat=True)
    )
    if not codes:
        return
    base = Price.objects.filter(
        channel__code__in=codes, starts_at=None, ends_at=None, currency=F("channel__currency")
    )
    if product_ids is not None:
        base = base.filter(variant__product_id__in=product_ids)
    found = {
        (variant_id, code): (amount, compare_at)
        for variant_id, code, amount, compare_at in base.values_list(
            "variant_id", "channel__code", "amount", "compare_at_amount"
        )
    }
    for code in codes:
        cells = [found.get((variant.pk, code)) if variant.sku else None for variant in rows]
        dataset.append_col(
            [f"{cell[0]:.2f}" if cell else "" for cell in cells], header=f"price[{code}]"
        )
        dataset.append_col(
            [f"{cell[1]:.2f}" if cell and cell[1] is not None else "" for cell in cells],
            header=f"compare_at_price[{code}]",
        )


def _translation_columns_export(
    dataset: tablib.Dataset, rows: Sequence[Variant], languages: Sequence[str]
) -> None:
    """Append ``product_name[l]`` and ``description[l]`` for each language ``l``: the product's
    own text in that language, empty when it has none (no fallback). No query."""
    for language in languages:
        for column, field_name in _TRANSLATED_FIELD.items():
            dataset.append_col(
                [
                    cell_safe(
                        getattr(variant.product, translation_column(field_name, language)) or ""
                    )
                    for variant in rows
                ],
                header=f"{column}[{language}]",
            )


def _translations_write(
    product: Product, rows: list[_Row], headers: Sequence[str], user: User | None, errors: _Errors
) -> None:
    """The file's translation columns of one product (from its first row; later rows leave them
    blank or repeat them), through ``product_translation_save``: an empty cell removes that
    text, an unchanged one writes nothing, a change sends an approved product to review."""
    first = rows[0]
    by_language: dict[str, dict[str, str]] = {}
    for header in headers:
        match = TRANSLATION_COLUMN.fullmatch(header) if header else None
        if not match:
            continue
        for row in rows[1:]:
            value = row.cells[header]
            if value and value != first.cells[header]:
                errors.add(
                    row.number,
                    header,
                    f"Differs from row {first.number} of the same handle "
                    f"({first.cells[header]!r}); leave it blank or repeat it.",
                )
        field_name = _TRANSLATED_FIELD[match["column"]]
        by_language.setdefault(match["language"], {})[field_name] = first.cells[header]
    for language, values in by_language.items():
        try:
            with transaction.atomic():
                services.product_translation_save(
                    product=product, language=language, values=values, user=user
                )
        except DomainError as exc:
            columns = {
                "name": f"product_name[{language}]",
                "description": f"description[{language}]",
            }
            _service_errors(exc, first.number, columns, f"product_name[{language}]", errors)


def _price_headers_check(headers: Sequence[str], problems: _Errors) -> None:
    """Price columns must name existing channels, and a was-price column needs its price
    column."""
    named = {h: match for h in headers if h and (match := PRICE_COLUMN.fullmatch(h))}
    codes = {match["channel"] for match in named.values()}
    known = set(Channel.objects.filter(code__in=codes).values_list("code", flat=True))
    for header, match in named.items():
        if match["channel"] not in known:
            problems.add(1, header, f"There is no channel {match['channel']!r}.")
        elif match["kind"] == "compare_at_price" and f"price[{match['channel']}]" not in headers:
            problems.add(1, header, f"A was-price column needs price[{match['channel']}] too.")


def _price_channels(headers: Sequence[str]) -> list[str]:
    """The channels whose ``price[...]`` column the file has (checked by ``_headers``)."""
    return [
        match["channel"]
        for h in headers
        if (match := PRICE_COLUMN.fullmatch(h)) and match["kind"] == "price"
    ]


@dataclass
class _PriceCell:
    row: int
    sku: str
    channel: str
    amount: Decimal
    compare_at: Decimal | None
    keep_compare_at: bool  # the file has no compare_at_price column for the channel


def _price_cells(row: _Row, channels: Sequence[str], errors: _Errors) -> list[_PriceCell]:
    """The row's prices to set; an empty price cell leaves that channel's price alone."""
    cells = []
    for code in channels:
        column, was_column = f"price[{code}]", f"compare_at_price[{code}]"
        has_was = was_column in row.cells
        before = len(errors.items)
        amount = _amount(row, column, errors)
        compare_at = _amount(row, was_column, errors) if has_was else None
        if len(errors.items) > before:
            continue
        if amount is None:
            if compare_at is not None:
                errors.add(row.number, was_column, f"A was-price needs a price in {column}.")
            continue
        if compare_at is not None and compare_at <= amount:
            errors.add(
                row.number, was_column, f"The was-price must be above the price in {column}."
            )
            continue
        cells.append(
            _PriceCell(row.number, row.cells["sku"], code, amount, compare_at, not has_was)
        )
    return cells


def _prices_write(cells: Sequence[_PriceCell], user: User | None, errors: _Errors) -> int:
    """Set the prices that differ from the current base prices (``price_set``: history,
    ``price.changed``); returns how many were set. A few queries per 500 cells, plus the
    writes."""
    changed = 0
    for start in range(0, len(cells), 500):
        chunk = cells[start : start + 500]
        ids = dict(Variant.objects.filter(sku__in={c.sku for c in chunk}).values_list("sku", "id"))
        current = {
            (variant_id, code): (amount, compare_at)
            for variant_id, code, amount, compare_at in Price.objects.filter(
                variant_id__in=ids.values(),
                channel__code__in={c.channel for c in chunk},
                starts_at=None,
                ends_at=None,
                currency=F("channel__currency"),
            ).values_list("variant_id", "channel__code", "amount", "compare_at_amount")
        }
        for cell in chunk:
            variant_id = ids[cell.sku]
            now = current.get((variant_id, cell.channel))
            compare_at = (now[1] if now else None) if cell.keep_compare_at else cell.compare_at
            if now == (cell.amount, compare_at):
                continue
            column = f"price[{cell.channel}]"
            try:
                with transaction.atomic():
                    services.price_set(
                        variant_id=variant_id,
                        channel_code=cell.channel,
                        amount=cell.amount,
                        compare_at_amount=compare_at,
                        user=user,
                    )
            except DomainError as exc:
                fields = {"amount": column, "compare_at_amount": f"compare_at_{column}"}
                _service_errors(exc, cell.row, fields, column, errors)
                continue
            changed += 1
    return changed


def _error_order(error: dict[str, Any]) -> tuple[int, int]:
    column = error["column"]
    if PRICE_COLUMN.fullmatch(column or ""):
        return error["row"], len(NATIVE_COLUMNS)
    return error["row"], NATIVE_COLUMNS.index(column) if column in NATIVE_COLUMNS else -1


def _require(user: User | None) -> None:
    if user is None:
        return
    needed = [
        "catalog.add_product",
        "catalog.change_product",
        "catalog.add_variant",
        "catalog.change_variant",
    ]
    if not all(user.has_perm(perm) for perm in needed):
        raise NotAllowed("You may not import products and variants.")


def catalog_native_import(
    *, file_bytes: bytes, fmt: str, user: User | None = None
) -> dict[str, int]:
    """Import a native CSV/XLSX file (see the module docstring). All or nothing: any bad cell
    raises ``ImportFileInvalid`` listing every one as {row, column, message}, and nothing is
    written. Returns counts: rows, products_created/updated/unchanged, variants_*.

    Locks the products and variants it updates. An approved product that the file changes goes
    back to review, like any edit.
    """
    return native_dataset_import(dataset=_dataset(file_bytes, fmt), user=user)


def native_dataset_import(*, dataset: tablib.Dataset, user: User | None = None) -> dict[str, int]:
    """``catalog_native_import`` for a file already read into a tablib dataset."""
    _require(user)
    headers = _headers(dataset)
    with_cost = "cost_price" in headers
    price_channels = _price_channels(headers)
    if price_channels and user is not None and not user.has_perm("catalog.change_price"):
        raise NotAllowed("You may not change prices: import the file without its price columns.")
    price_headers = [h for h in headers if PRICE_COLUMN.fullmatch(h)]
    translation_headers = [h for h in headers if h and TRANSLATION_COLUMN.fullmatch(h)]
    rows = []
    for number, values in enumerate(dataset, start=2):
        cells = {header: _cell(value) for header, value in zip(headers, values, strict=False)}
        if not any(cells.values()):
            continue
        columns = (*NATIVE_COLUMNS, *price_headers, *translation_headers)
        rows.append(_Row(number=number, cells={c: cells.get(c, "") for c in columns}))
    errors = _Errors()
    by_handle: dict[str, list[_Row]] = {}
    for row in rows:
        handle = row.cells["handle"]
        if not handle:
            errors.add(row.number, "handle", "Every row needs the product's handle.")
            continue
        by_handle.setdefault(handle, []).append(row)
    summary = dict.fromkeys(
        [
            "products_created",
            "products_updated",
            "products_unchanged",
            "variants_created",
            "variants_updated",
            "variants_unchanged",
        ],
        0,
    )
    summary["rows"] = len(rows)
    lookups = _Lookups(rows)
    seen_skus: dict[str, int] = {}
    prices: list[_PriceCell] = []
    with transaction.atomic():
        for handle, product_rows in by_handle.items():
            first = product_rows[0]
            values = _product_values(first, product_rows, lookups, errors)
            if values is None:
                continue
            product, outcome = _product_write(handle, values, first.number, user, errors)
            if product is None:
                continue
            summary[f"products_{outcome}"] += 1
            if translation_headers:
                _translations_write(product, product_rows, translation_headers, user, errors)
            for row in product_rows:
                if not row.cells["sku"]:
                    if any(row.cells[c] for c in ("gtin", "options", "variant_attributes")):
                        errors.add(row.number, "sku", "A variant row needs a SKU.")
                    for column in price_headers:
                        if row.cells[column]:
                            errors.add(row.number, column, "A price needs a variant (a SKU).")
                    continue
                outcome = _variant_write(product, row, user, errors, seen_skus, with_cost)
                if outcome != "failed":
                    summary[f"variants_{outcome}"] += 1
                prices.extend(_price_cells(row, price_channels, errors))
        if price_channels and not errors.items:
            summary["prices_changed"] = _prices_write(prices, user, errors)
        if errors.items:
            errors.items.sort(key=_error_order)
            raise ImportFileInvalid(_message(errors.items), errors=errors.items)
    return summary
