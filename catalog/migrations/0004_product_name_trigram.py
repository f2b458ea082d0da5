"""A trigram index for name search on PostgreSQL (``search=`` on the products API, the store page's
and the admin's name search).

Django turns ``name__icontains=word`` into ``UPPER("name"::text) LIKE UPPER('%word%')`` on
PostgreSQL, which no B-tree serves: every search scanned the whole product table. A GIN index of
``pg_trgm`` trigrams on that same expression serves it (any substring of three characters or
more). The index lives in the database only: SQLite (the embedded default) has no trigram index
and keeps the plain scan, so the model state is unchanged.

Built ``CONCURRENTLY`` (hence the non-atomic migration) so that a large catalog stays writable
while it builds. ``CREATE EXTENSION pg_trgm`` needs a role allowed to create extensions (the
database owner on PostgreSQL 13+ for trusted extensions such as this one).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

INDEX = "catalog_product_name_upper_trgm"


def _create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON catalog_product "
        "USING gin ((UPPER(name::text)) gin_trgm_ops)"
    )


def _drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    # The extension stays: other indexes or queries may use it.
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("catalog", "0003_types_attributes_media_prices_governance"),
    ]

    operations = [
        migrations.RunPython(_create, _drop, elidable=False),
    ]
