"""Write a validated import plan: one transaction, bulk statements, history kept.

Products are matched by handle and variants by SKU (then by options within the product), so a
repeated import updates instead of duplicating. Content changes on an approved product send it
back to review (its approved snapshot stays live); base prices on the import's channel are
created or updated and announced with ``price.changed``; images become pending media fetched
after commit; inventory quantities go to the registered stock hook after commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from simple_history.utils import bulk_create_with_history

from catalog.exceptions import ImportFileInvalid
from catalog.imports.hooks import stock_hooks
from catalog.imports.plan import ImportPlan, RowError
from catalog.imports.shopify import option_code
from catalog.models import (
    Attribute,
    AttributeOption,
    Category,
    Price,
    Product,
    ProductMedia,
    ProductType,
    ProductTypeAttribute,
    Variant,
)
from core.events import EventType
from core.models import Channel
from core.outbox.services import event_record_many

Progress = Callable[[int, int], None]
BATCH = 2000


@dataclass
class ImportSummary:
    products_created: int = 0
    products_updated: int = 0
    products_unchanged: int = 0
    products_back_in_review: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    prices_set: int = 0
    images_queued: int = 0
    stock_rows: int = 0
    new_media_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if k != "new_media_ids"}


def _categories(plan: ImportPlan, errors: list[RowError]) -> dict[str, int]:
    wanted = {p.google_category for p in plan.products if p.google_category}
    ids = {value for value in wanted if value.isdigit()}
    names = wanted - ids
    found: dict[str, int] = {}
    for category_id, google_id in Category.objects.filter(
        google_id__in=[int(v) for v in ids]
    ).values_list("id", "google_id"):
        found[str(google_id)] = category_id
    for category_id, full_name in Category.objects.filter(full_name__in=names).values_list(
        "id", "full_name"
    ):
        found[full_name] = category_id
    for product in plan.products:
        if product.google_category and product.google_category not in found:
            errors.append(
                RowError(
                    product.row,
                    "Google Shopping / Google Product Category",
                    f"{product.google_category!r} is not a category (import the taxonomy first).",
                )
            )
    return found


def _update_with_history(
    objs: list[Any], model: Any, fields: list[str], batch_size: int = BATCH
) -> None:
    """``bulk_update`` as one ``UPDATE ... FROM (VALUES ...)`` per batch on PostgreSQL (Django's
    CASE WHEN form is quadratic in the batch) and ``executemany`` on SQLite; then the history
    rows, written in bulk like ``bulk_update_with_history`` would."""
    from django.db import connection

    table = model._meta.db_table
    columns = [model._meta.get_field(name) for name in fields]
    for start in range(0, len(objs), batch_size):
        chunk = objs[start : start + batch_size]
        rows = [
            [
                column.get_db_prep_save(getattr(obj, column.attname), connection)
                for column in columns
            ]
            + [obj.pk]
            for obj in chunk
        ]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                types = [column.db_type(connection) for column in columns]
                sets = ", ".join(f'"{c.column}" = v.c{i}' for i, c in enumerate(columns))
                casts = ", ".join(f"%s::{t}" for t in types) + ", %s::bigint"
                values = ", ".join([f"({casts})"] * len(chunk))
                names = ", ".join(f"c{i}" for i in range(len(columns))) + ", pk"
                cursor.execute(
                    f'UPDATE "{table}" SET {sets} FROM (VALUES {values}) AS v({names}) '
                    f'WHERE "{table}"."id" = v.pk',
                    [value for row in rows for value in row],
                )
            else:
                sets = ", ".join(f'"{c.column}" = %s' for c in columns)
                cursor.executemany(f'UPDATE "{table}" SET {sets} WHERE "id" = %s', rows)
    model.history.bulk_history_create(objs, batch_size=batch_size, update=True)


def _check_against_database(plan: ImportPlan, price_channel: Any) -> dict[str, int]:
    errors: list[RowError] = []
    categories = _categories(plan, errors)
    handle_by_sku = {v.sku: (p.handle, v.row) for p in plan.products for v in p.variants}
    skus = list(handle_by_sku)
    for start in range(0, len(skus), BATCH):
        for sku, handle in Variant.objects.filter(sku__in=skus[start : start + BATCH]).values_list(
            "sku", "product__handle"
        ):
            if handle != handle_by_sku[sku][0]:
                errors.append(
                    RowError(
                        handle_by_sku[sku][1],
                        "Variant SKU",
                        f"SKU {sku!r} belongs to product {handle!r}.",
                    )
                )
    if price_channel is None and any(
        v.price is not None for p in plan.products for v in p.variants
    ):
        errors.append(
            RowError(1, "Variant Price", "No channel to put prices on: create the channel first.")
        )
    if errors:
        raise ImportFileInvalid(_message(errors), errors=[e.as_dict() for e in errors])  # type: ignore[misc]
    return categories


def _message(errors: list[RowError]) -> str:
    shown = "; ".join(f"row {e.row}, {e.column}: {e.message}" for e in errors[:10])
    more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
    return f"The file was not imported: {shown}{more}"


def _product_types(plan: ImportPlan) -> dict[str, int]:
    """Product types by the file's Type, with each option name as a select variant axis whose
    managed options include every value in the file. Few rows: plain get_or_create."""
    wanted: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    for product in plan.products:
        type_name = product.product_type or ("Shopify options" if product.option_names else "")
        if not type_name:
            continue
        axes = wanted[type_name]
        for name in product.option_names:
            axes.setdefault(name, {})
        for variant in product.variants:
            for code, label in variant.option_labels.items():
                name = next(
                    n for n in product.option_names if slugify(n) == code or n.lower() == code
                )
                axes[name][variant.options[code]] = label
    type_ids: dict[str, int] = {}
    for type_name, axes in wanted.items():
        product_type, _ = ProductType.objects.get_or_create(
            code=slugify(type_name)[:64] or "general", defaults={"name": type_name}
        )
        type_ids[type_name] = product_type.id
        for position, (name, values) in enumerate(axes.items()):
            code = option_code(name)[:64]
            attribute, _ = Attribute.objects.get_or_create(
                code=code, defaults={"name": name, "kind": Attribute.Kind.SELECT}
            )
            ProductTypeAttribute.objects.get_or_create(
                product_type=product_type,
                attribute=attribute,
                defaults={"level": "variant", "is_variant_axis": True, "position": position},
            )
            existing = set(attribute.options.values_list("code", flat=True))
            AttributeOption.objects.bulk_create(
                [
                    AttributeOption(attribute=attribute, code=value, label=label, position=index)
                    for index, (value, label) in enumerate(values.items())
                    if value not in existing
                ]
            )
    return type_ids


def plan_apply(
    *,
    plan: ImportPlan,
    price_channel_code: str = "",
    stock_location_code: str = "",
    reference: str = "",
    progress: Progress | None = None,
) -> ImportSummary:
    """Write ``plan``; all or nothing. Raises ``ImportFileInvalid`` (row/column per error) when the
    file conflicts with the database (a SKU of another product, an unknown category)."""
    channel = (
        Channel.objects.filter(code=price_channel_code).first() if price_channel_code else None
    )
    if price_channel_code and channel is None:
        raise ImportFileInvalid(
            f"There is no channel {price_channel_code!r} to put prices on.",
            errors=[{"row": 1, "column": "Variant Price", "message": "Unknown price channel."}],
        )
    summary = ImportSummary()
    total = plan.variant_count
    done = 0
    with transaction.atomic():
        categories = _check_against_database(plan, channel)
        type_ids = _product_types(plan)
        for start in range(0, len(plan.products), BATCH):
            chunk = plan.products[start : start + BATCH]
            _apply_chunk(chunk, categories, type_ids, channel, summary)
            done += sum(len(p.variants) for p in chunk)
            if progress:
                progress(done, total)
    quantities = {
        v.sku: v.inventory_quantity
        for p in plan.products
        for v in p.variants
        if v.inventory_quantity is not None
    }
    if quantities:
        for hook in stock_hooks():
            summary.stock_rows += hook(
                quantities, stock_location_code, reference or "product import"
            )
    return summary


def _apply_chunk(chunk, categories, type_ids, channel, summary: ImportSummary) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    existing = {p.handle: p for p in Product.objects.filter(handle__in=[p.handle for p in chunk])}
    new_products, changed_products, back_to_review = [], [], []
    for row in chunk:
        type_name = row.product_type or ("Shopify options" if row.option_names else "")
        fields = {
            "name": row.name,
            "description": row.description,
            "brand": row.brand[:100],
            "category_id": categories.get(row.google_category) if row.google_category else None,
            "product_type_id": type_ids.get(type_name),
        }
        product = existing.get(row.handle)
        if product is None:
            new_products.append(Product(handle=row.handle, status=Product.Status.DRAFT, **fields))
            continue
        if row.google_category == "":
            fields["category_id"] = product.category_id  # the file does not say: keep ours
        if any(getattr(product, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(product, name, value)
            product.updated_at = now
            if product.status == Product.Status.APPROVED:
                product.status = Product.Status.IN_REVIEW
                back_to_review.append(product.id)
            changed_products.append(product)
        else:
            summary.products_unchanged += 1
    if new_products:
        bulk_create_with_history(new_products, Product, batch_size=BATCH)
        summary.products_created += len(new_products)
    if changed_products:
        _update_with_history(
            changed_products,
            Product,
            ["name", "description", "brand", "category", "product_type", "status", "updated_at"],
            batch_size=BATCH,
        )
        summary.products_updated += len(changed_products)
    products = {p.handle: p for p in Product.objects.filter(handle__in=[p.handle for p in chunk])}

    # variants
    product_ids = [products[row.handle].id for row in chunk]
    by_sku = {v.sku: v for v in Variant.objects.filter(product_id__in=product_ids)}
    by_key = {(v.product_id, tuple(sorted(v.options.items()))): v for v in by_sku.values()}
    new_variants, changed_variants = [], []
    for row in chunk:
        product = products[row.handle]
        for item in row.variants:
            variant = by_sku.get(item.sku) or by_key.get((product.id, item.key))
            values = {
                "sku": item.sku,
                "gtin": item.gtin,
                "options": item.options,
                "weight_grams": item.weight_grams,
                "position": item.position,
            }
            if variant is None:
                new_variants.append(Variant(product=product, **values))
            elif any(getattr(variant, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(variant, name, value)
                variant.updated_at = now
                changed_variants.append(variant)
                if product.status == Product.Status.APPROVED and product.id not in back_to_review:
                    back_to_review.append(product.id)
    if new_variants:
        bulk_create_with_history(new_variants, Variant, batch_size=BATCH)
        summary.variants_created += len(new_variants)
        status_of = {p.id: p.status for p in products.values()}
        approved = [
            v.product_id for v in new_variants if status_of[v.product_id] == Product.Status.APPROVED
        ]
        back_to_review.extend(pid for pid in approved if pid not in back_to_review)
    if changed_variants:
        _update_with_history(
            changed_variants,
            Variant,
            ["sku", "gtin", "options", "weight_grams", "position", "updated_at"],
            batch_size=BATCH,
        )
        summary.variants_updated += len(changed_variants)
    if back_to_review:
        Product.objects.filter(id__in=back_to_review, status=Product.Status.APPROVED).update(
            status=Product.Status.IN_REVIEW, updated_at=now
        )
        summary.products_back_in_review += len(set(back_to_review))
    variant_id = {
        sku: vid
        for sku, vid in Variant.objects.filter(product_id__in=product_ids).values_list("sku", "id")
    }

    # prices (base price on the import's channel)
    priced_products: set[int] = set()
    if channel is not None:
        base = {
            p.variant_id: p
            for p in Price.objects.filter(
                variant_id__in=list(variant_id.values()),
                channel=channel,
                currency=channel.currency,
                starts_at__isnull=True,
                ends_at__isnull=True,
            )
        }
        new_prices, changed_prices = [], []
        for row in chunk:
            for item in row.variants:
                if item.price is None:
                    continue
                vid = variant_id[item.sku]
                price = base.get(vid)
                if price is None:
                    new_prices.append(
                        Price(
                            variant_id=vid,
                            channel=channel,
                            currency=channel.currency,
                            amount=item.price,
                            compare_at_amount=item.compare_at_price,
                        )
                    )
                elif (price.amount, price.compare_at_amount) != (item.price, item.compare_at_price):
                    price.amount, price.compare_at_amount = item.price, item.compare_at_price
                    price.updated_at = now
                    changed_prices.append(price)
                else:
                    continue
                priced_products.add(products[row.handle].id)
        if new_prices:
            bulk_create_with_history(new_prices, Price, batch_size=BATCH)
        if changed_prices:
            _update_with_history(
                changed_prices,
                Price,
                ["amount", "compare_at_amount", "updated_at"],
                batch_size=BATCH,
            )
        summary.prices_set += len(new_prices) + len(changed_prices)
        if priced_products:
            _price_events(sorted(priced_products), channel.code)

    # images: pending media, fetched after commit
    have: set[tuple[int, str, int | None]] = set(
        ProductMedia.objects.filter(product_id__in=product_ids).values_list(
            "product_id", "source_url", "variant_id"
        )
    )
    variants_by_key = {
        (v.product_id, tuple(sorted(v.options.items()))): v.id
        for v in Variant.objects.filter(product_id__in=product_ids).only(
            "id", "product_id", "options"
        )
    }
    media = []
    for row in chunk:
        product = products[row.handle]
        for image in row.images:
            media_variant: int | None = (
                variants_by_key.get((product.id, image.variant_key))
                if image.variant_key is not None
                else None
            )
            if (product.id, image.url, media_variant) in have:
                continue
            have.add((product.id, image.url, media_variant))
            media.append(
                ProductMedia(
                    product=product,
                    variant_id=media_variant,
                    source_url=image.url,
                    alt_text=image.alt_text,
                    position=image.position,
                    status=ProductMedia.Status.PENDING,
                )
            )
    if media:
        created = bulk_create_with_history(media, ProductMedia, batch_size=BATCH)
        ids = [m.id for m in created]
        summary.images_queued += len(ids)
        summary.new_media_ids.extend(ids)
        transaction.on_commit(partial(_media_fetch_enqueue, ids))

    from catalog.services import completeness_refresh

    completeness_refresh(product_ids=product_ids)


def _price_events(product_ids: list[int], channel_code: str) -> None:
    from catalog.selectors import variant_prices

    variants = defaultdict(list)
    for vid, pid in Variant.objects.filter(product_id__in=product_ids).values_list(
        "id", "product_id"
    ):
        variants[pid].append(vid)
    prices = variant_prices(
        channel_code=channel_code, variant_ids=[v for vs in variants.values() for v in vs]
    )
    payloads: dict[int, dict[str, Any]] = {
        pid: {
            "product_id": pid,
            "prices": {
                prices[vid].sku: {
                    "amount": str(prices[vid].amount),
                    "compare_at_amount": None
                    if prices[vid].compare_at is None
                    else str(prices[vid].compare_at),
                    "currency": prices[vid].currency,
                }
                for vid in vids
                if vid in prices
            },
        }
        for pid, vids in variants.items()
    }
    event_record_many(
        topic=EventType.PRICE_CHANGED,
        aggregate="product",
        payloads=payloads,
        channel_code=channel_code,
    )


def _media_fetch_enqueue(media_ids: list[int]) -> None:
    """Hand pending images to the media fetch task: an unreachable URL ends up as failed media
    with the error, never as a failed import."""
    from django.conf import settings

    from catalog.tasks import media_fetch

    if not getattr(settings, "CATALOG_IMPORT_FETCH_IMAGES", True):
        return
    for media_id in media_ids:
        media_fetch.delay(media_id)
