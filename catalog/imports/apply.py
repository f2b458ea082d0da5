"""Write a validated import plan: one transaction, bulk statements, history kept.

Each batch of products reads what it needs once (narrow tuples, not model instances), compares in
memory and writes only what differs: new and changed rows and their history rows go through
``core.bulk`` (``COPY`` on PostgreSQL). Completeness is recomputed only for products
something happened to, and an unchanged file writes nothing at all.

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
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import connection, transaction
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
from core import bulk
from core.audit import SensitiveAction, audit_record
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


def _skus_of_other_products(handle_by_sku: dict[str, tuple[str, int]]) -> list[tuple[str, str]]:
    """(sku, its product's handle) for each SKU of the file that belongs to another product. On
    PostgreSQL one statement whatever the file's size (the pairs go as two arrays); elsewhere one
    query per batch of SKUs."""
    if not handle_by_sku:
        return []
    if bulk.is_postgresql():
        variants, products = Variant._meta.db_table, Product._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT f.sku, p.handle FROM unnest(%s::text[], %s::text[]) AS f(sku, handle) "
                f'JOIN "{variants}" v ON v.sku = f.sku JOIN "{products}" p ON p.id = v.product_id '
                "WHERE p.handle <> f.handle",
                [list(handle_by_sku), [handle for handle, _ in handle_by_sku.values()]],
            )
            return [(sku, handle) for sku, handle in cursor.fetchall()]
    skus = list(handle_by_sku)
    found = []
    for start in range(0, len(skus), BATCH):
        for sku, handle in Variant.objects.filter(sku__in=skus[start : start + BATCH]).values_list(
            "sku", "product__handle"
        ):
            if handle != handle_by_sku[sku][0]:
                found.append((sku, handle))
    return found


def _check_against_database(plan: ImportPlan, price_channel: Any) -> dict[str, int]:
    errors: list[RowError] = []
    categories = _categories(plan, errors)
    handle_by_sku = {v.sku: (p.handle, v.row) for p in plan.products for v in p.variants}
    for sku, handle in sorted(
        _skus_of_other_products(handle_by_sku), key=lambda pair: handle_by_sku[pair[0]][1]
    ):
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
        if summary.prices_set and channel is not None:
            audit_record(
                action=SensitiveAction.PRICE_IMPORT,
                object_type="catalog.price",
                data={"channel_id": channel.pk, "prices_set": summary.prices_set},
            )
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
    """One batch of products, in a fixed number of statements. Rows are read once (as tuples)
    and compared in memory; only what differs is written, with its history row, and only the
    products something happened to get their completeness recomputed."""
    now = timezone.now()
    touched: set[int] = set()  # products whose completeness may have changed
    compared_fields = ("name", "description", "brand", "category_id", "product_type_id")
    existing = {
        row[1]: row
        for row in Product.objects.filter(handle__in=[p.handle for p in chunk]).values_list(
            "id", "handle", "status", *compared_fields
        )
    }
    index = {name: i for i, name in enumerate(("id", "handle", "status", *compared_fields))}
    products: dict[str, Product] = {}
    new_products: list[Product] = []
    changed_fields: dict[int, dict[str, Any]] = {}
    for row in chunk:
        type_name = row.product_type or ("Shopify options" if row.option_names else "")
        fields = {
            "name": row.name,
            "description": row.description,
            "brand": row.brand[:100],
            "category_id": categories.get(row.google_category) if row.google_category else None,
            "product_type_id": type_ids.get(type_name),
        }
        values = existing.get(row.handle)
        if values is None:
            product = Product(handle=row.handle, status=Product.Status.DRAFT, **fields)
            new_products.append(product)
            products[row.handle] = product
            continue
        if row.google_category == "":
            fields["category_id"] = values[index["category_id"]]  # the file does not say: keep ours
        product = Product(id=values[index["id"]], handle=row.handle, status=values[index["status"]])
        if any(values[index[name]] != value for name, value in fields.items()):
            changed_fields[product.id] = fields
        else:
            summary.products_unchanged += 1
        products[row.handle] = product
    changed_products, back_to_review = [], []
    if changed_fields:  # the whole rows of what changes (history keeps every tracked field)
        for product in Product.objects.filter(id__in=list(changed_fields)).defer(
            "approved_snapshot"
        ):
            for name, value in changed_fields[product.id].items():
                setattr(product, name, value)
            product.updated_at = now
            if product.status == Product.Status.APPROVED:
                product.status = Product.Status.IN_REVIEW
                back_to_review.append(product.id)
            changed_products.append(product)
            products[product.handle] = product
    if new_products:
        bulk.create(new_products, Product, now=now)
        summary.products_created += len(new_products)
    if changed_products:
        bulk.update(
            changed_products,
            Product,
            ["name", "description", "brand", "category", "product_type", "status", "updated_at"],
            date=now,
        )
        summary.products_updated += len(changed_products)
    touched.update(p.id for p in new_products)
    touched.update(p.id for p in changed_products)

    # variants
    product_ids = [products[row.handle].id for row in chunk]
    # only products that existed before this batch can have variants and prices to compare
    existing_ids = [values[index["id"]] for values in existing.values()]
    compared = ("sku", "gtin", "options", "weight_grams", "position")
    stored = (
        list(
            Variant.objects.filter(product_id__in=existing_ids).values_list(
                "id", "product_id", *compared
            )
        )
        if existing_ids
        else []
    )
    by_sku = {v[2]: v for v in stored}
    by_key = {(v[1], tuple(sorted(v[4].items()))): v for v in stored}
    variants_of: dict[int, list[int]] = defaultdict(list)  # every variant, in the file or not
    for v in stored:
        variants_of[v[1]].append(v[0])
    new_variants: list[Variant] = []
    changed_values: dict[int, dict[str, Any]] = {}
    variant_id: dict[str, int] = {}
    variant_key_id: dict[tuple[int, tuple[tuple[str, str], ...]], int] = {}
    pending: list[tuple[Variant, str, int, tuple[tuple[str, str], ...]]] = []
    for row in chunk:
        product = products[row.handle]
        for item in row.variants:
            found = by_sku.get(item.sku) or by_key.get((product.id, item.key))
            values = {
                "sku": item.sku,
                "gtin": item.gtin,
                "options": item.options,
                "weight_grams": item.weight_grams,
                "position": item.position,
            }
            if found is None:
                variant = Variant(product_id=product.id, **values)
                new_variants.append(variant)
                pending.append((variant, item.sku, product.id, item.key))
                continue
            vid = found[0]
            variant_id[item.sku] = vid
            variant_key_id[(product.id, item.key)] = vid
            if found[2:] != tuple(values[name] for name in compared):
                changed_values[vid] = values
                touched.add(product.id)
                if product.status == Product.Status.APPROVED and product.id not in back_to_review:
                    back_to_review.append(product.id)
    changed_variants = []
    if changed_values:
        for variant in Variant.objects.filter(id__in=list(changed_values)):
            for name, value in changed_values[variant.id].items():
                setattr(variant, name, value)
            variant.updated_at = now
            changed_variants.append(variant)
    if new_variants:
        bulk.create(new_variants, Variant, now=now)
        summary.variants_created += len(new_variants)
        for variant, sku, pid, key in pending:
            variant_id[sku] = variant.id
            variant_key_id[(pid, key)] = variant.id
            variants_of[pid].append(variant.id)
            touched.add(pid)
        status_of = {p.id: p.status for p in products.values()}
        approved = [
            v.product_id for v in new_variants if status_of[v.product_id] == Product.Status.APPROVED
        ]
        back_to_review.extend(pid for pid in approved if pid not in back_to_review)
    if changed_variants:
        bulk.update(
            changed_variants,
            Variant,
            ["sku", "gtin", "options", "weight_grams", "position", "updated_at"],
            date=now,
        )
        summary.variants_updated += len(changed_variants)
    if back_to_review:
        Product.objects.filter(id__in=back_to_review, status=Product.Status.APPROVED).update(
            status=Product.Status.IN_REVIEW, updated_at=now
        )
        summary.products_back_in_review += len(set(back_to_review))
        touched.update(back_to_review)

    # prices (base price on the import's channel)
    priced_products: set[int] = set()
    if channel is not None:
        base = {
            p[1]: p
            for p in Price.objects.filter(
                variant__product_id__in=existing_ids,
                channel=channel,
                currency=channel.currency,
                starts_at__isnull=True,
                ends_at__isnull=True,
            ).values_list("id", "variant_id", "amount", "compare_at_amount", "created_at")
        }
        if not existing_ids:
            base = {}
        created_ids = {p.id for p in new_products}
        fresh: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
        new_prices, changed_prices = [], []
        for row in chunk:
            for item in row.variants:
                if item.price is None:
                    continue
                vid = variant_id[item.sku]
                if products[row.handle].id in created_ids:  # all new: its prices are the file's
                    fresh[products[row.handle].id][item.sku] = _price_payload(
                        item.price, item.compare_at_price, channel.currency
                    )
                stored_price = base.get(vid)
                if stored_price is None:
                    new_prices.append(
                        Price(
                            variant_id=vid,
                            channel=channel,
                            currency=channel.currency,
                            amount=item.price,
                            compare_at_amount=item.compare_at_price,
                        )
                    )
                    # completeness asks whether a price exists, not what it is: only a new
                    # price can change it
                    touched.add(products[row.handle].id)
                elif (stored_price[2], stored_price[3]) != (item.price, item.compare_at_price):
                    # the whole row is known: the filter fixed the rest (history needs it all)
                    changed_prices.append(
                        Price(
                            id=stored_price[0],
                            variant_id=vid,
                            channel=channel,
                            currency=channel.currency,
                            amount=item.price,
                            compare_at_amount=item.compare_at_price,
                            starts_at=None,
                            ends_at=None,
                            created_at=stored_price[4],
                            updated_at=now,
                        )
                    )
                else:
                    continue
                priced_products.add(products[row.handle].id)
        bulk.create(new_prices, Price, now=now)
        bulk.update(changed_prices, Price, ["amount", "compare_at_amount", "updated_at"], date=now)
        summary.prices_set += len(new_prices) + len(changed_prices)
        if priced_products:
            _price_events(
                {pid: variants_of[pid] for pid in sorted(priced_products)}, channel.code, fresh
            )

    # images: pending media, fetched after commit
    if any(row.images for row in chunk):
        have: set[tuple[int, str, int | None]] = set(
            ProductMedia.objects.filter(product_id__in=product_ids).values_list(
                "product_id", "source_url", "variant_id"
            )
        )
        media = []
        for row in chunk:
            product = products[row.handle]
            for image in row.images:
                media_variant: int | None = (
                    variant_key_id.get((product.id, image.variant_key))
                    if image.variant_key is not None
                    else None
                )
                if (product.id, image.url, media_variant) in have:
                    continue
                have.add((product.id, image.url, media_variant))
                media.append(
                    ProductMedia(
                        product_id=product.id,
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
            touched.update(m.product_id for m in media)

    if touched:
        from catalog.services import completeness_refresh

        completeness_refresh(product_ids=sorted(touched))


_CENT = Decimal("0.01")


def _price_payload(amount: Decimal, compare_at: Decimal | None, currency: str) -> dict[str, Any]:
    """A price as ``price.changed`` carries it (two decimals, as the database returns it)."""
    return {
        "amount": str(amount.quantize(_CENT)),
        "compare_at_amount": None if compare_at is None else str(compare_at.quantize(_CENT)),
        "currency": currency,
    }


def _price_events(
    variants: dict[int, list[int]],
    channel_code: str,
    fresh: dict[int, dict[str, dict[str, Any]]],
) -> None:
    """One ``price.changed`` per product (the channel's current price of each of its variants),
    in the import's transaction: ``variants`` is every variant id of each product. Products this
    import created (``fresh``: their prices by SKU) cannot have a promotion yet, so their prices
    are the file's and are not read back; the others' are read (a running promotion wins)."""
    from catalog.selectors import variant_prices

    known = [pid for pid in variants if pid not in fresh]
    prices = (
        variant_prices(
            channel_code=channel_code, variant_ids=[v for pid in known for v in variants[pid]]
        )
        if known
        else {}
    )
    payloads: dict[int, dict[str, Any]] = {
        pid: {
            "product_id": pid,
            "prices": dict(fresh[pid])
            if pid in fresh
            else {
                prices[vid].sku: _price_payload(
                    prices[vid].amount, prices[vid].compare_at, prices[vid].currency
                )
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
