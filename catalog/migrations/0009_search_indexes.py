"""Indexes for the one product search (``catalog.search``) on PostgreSQL.

The search queries name and brand with full-text search and trigram word similarity, and SKUs
and GTINs by exact value and prefix. Each index below is on exactly the expression Django
writes for that query, so the planner uses it (``tests/catalog/test_search_pg.py`` checks the
plans):

- ``catalog_product_search_doc``: GIN on ``to_tsvector('simple', name || ' ' || brand)``, as
  ``SearchVector("name", "brand", config="simple")`` compiles; serves ``@@`` prefix queries;
- ``catalog_variant_sku_upper_pattern``: B-tree on ``UPPER(sku) text_pattern_ops``; serves
  ``sku__iexact`` (``=``) and ``sku__istartswith`` (``LIKE 'ABC%'``);
- ``catalog_variant_gtin_pattern``: B-tree on ``gtin text_pattern_ops``; serves
  ``gtin__startswith`` (the plain ``gtin`` index serves equality);
- ``catalog_product_name_trgm_gist``: GiST trigram index on ``name``; orders names by trigram
  word distance (``term <<-> name``, nearest first) for the typo fallback without scanning
  every product.

Expression indexes rather than a stored search column: the searched text lives in two tables,
so a column would need rewriting on every variant write; an index on an expression is kept
current by PostgreSQL itself. Built ``CONCURRENTLY`` (a non-atomic migration) so a large catalog
stays writable while they build; SQLite gets nothing (the search falls back to plain lookups),
and the model state is unchanged.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

INDEXES = {
    "catalog_product_search_doc": (
        "catalog_product USING gin "
        "((to_tsvector('simple'::regconfig, "
        "COALESCE(name, '') || ' ' || COALESCE(brand, ''))))"
    ),
    "catalog_variant_sku_upper_pattern": ("catalog_variant ((UPPER(sku::text)) text_pattern_ops)"),
    "catalog_variant_gtin_pattern": "catalog_variant ((gtin::text) text_pattern_ops)",
    "catalog_product_name_trgm_gist": "catalog_product USING gist (name gist_trgm_ops)",
}


def _create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, target in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {target}")
    # statistics of the new expressions (a sample, seconds at 100,000 variants): until then the
    # planner guesses that UPPER(sku) = 'X' matches 0.5 % of the variants and scans them all
    schema_editor.execute("ANALYZE catalog_product, catalog_variant")


def _drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("catalog", "0008_cost_variant_cost_price"),
    ]

    operations = [
        migrations.RunPython(_create, _drop, elidable=False),
    ]
