"""Benchmark: the native catalog file (CSV/XLSX) exported and imported through the services.

    .venv/bin/python bench/catalog_native_file.py            # SQLite in a temporary file
    DATABASE_URL=postgres://... .venv/bin/python bench/catalog_native_file.py

Migrates the target database, creates 400 products of 5 variants (2,000 rows) of a product type
with typed attributes, then prints the time and query count of exporting them as CSV and XLSX,
of importing the CSV into an empty catalog (every row through ``product_create``/``variant_save``),
and of re-importing the same file (nothing changes). The bench data is deleted afterwards.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from catalog.models import Attribute, Product, ProductType, ProductTypeAttribute, Variant  # noqa: E402
from catalog.resources import catalog_native_export, catalog_native_import  # noqa: E402

PRODUCTS, VARIANTS = 400, 5
PREFIX = "bench-native-"


def setup() -> list[int]:
    product_type, _ = ProductType.objects.get_or_create(
        code=f"{PREFIX}type", defaults={"name": "Bench type"}
    )
    size, _ = Attribute.objects.get_or_create(
        code=f"{PREFIX}size", defaults={"name": "Bench size", "kind": "text"}
    )
    material, _ = Attribute.objects.get_or_create(
        code=f"{PREFIX}material", defaults={"name": "Bench material", "kind": "text"}
    )
    ProductTypeAttribute.objects.get_or_create(
        product_type=product_type,
        attribute=size,
        defaults={"level": "variant", "is_variant_axis": True},
    )
    ProductTypeAttribute.objects.get_or_create(
        product_type=product_type, attribute=material, defaults={"level": "product"}
    )
    products = Product.objects.bulk_create(
        Product(
            handle=f"{PREFIX}{n:04d}",
            name=f"Bench product {n}",
            description='A product, with a comma and "quotes".',
            brand="Bench",
            product_type=product_type,
            attributes={f"{PREFIX}material": "Cotton"},
        )
        for n in range(PRODUCTS)
    )
    Variant.objects.bulk_create(
        Variant(
            product=product,
            sku=f"BN-{product.pk}-{v}",
            options={f"{PREFIX}size": f"S{v}"},
            weight_grams=100 + v,
            position=v,
        )
        for product in products
        for v in range(VARIANTS)
    )
    return [p.pk for p in products]


def teardown() -> None:
    Variant.objects.filter(product__handle__startswith=PREFIX).delete()
    Product.objects.filter(handle__startswith=PREFIX).delete()
    ProductTypeAttribute.objects.filter(product_type__code__startswith=PREFIX).delete()
    ProductType.objects.filter(code__startswith=PREFIX).delete()
    Attribute.objects.filter(code__startswith=PREFIX).delete()


def timed(label: str, call):  # type: ignore[no-untyped-def]
    count = 0

    def counter(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        result = call()
        elapsed = time.perf_counter() - started
    print(f"{label}: {elapsed:.2f} s, {count} queries")
    return result


def main() -> None:
    call_command("migrate", verbosity=0)
    teardown()
    product_ids = setup()
    rows = PRODUCTS * VARIANTS
    try:
        csv_file = timed(
            f"export {rows} rows as CSV",
            lambda: catalog_native_export(fmt="csv", product_ids=product_ids),
        )
        timed(
            f"export {rows} rows as XLSX",
            lambda: catalog_native_export(fmt="xlsx", product_ids=product_ids),
        )
        Variant.objects.filter(product_id__in=product_ids).delete()
        Product.objects.filter(id__in=product_ids).delete()
        summary = timed(
            f"import {rows} rows (CSV) into an empty catalog",
            lambda: catalog_native_import(file_bytes=csv_file, fmt="csv"),
        )
        assert summary["variants_created"] == rows, summary
        summary = timed(
            f"re-import the same {rows} rows (nothing changes)",
            lambda: catalog_native_import(file_bytes=csv_file, fmt="csv"),
        )
        assert summary["variants_unchanged"] == rows, summary
    finally:
        teardown()


if __name__ == "__main__":
    main()
