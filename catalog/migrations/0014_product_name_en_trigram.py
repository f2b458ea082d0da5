"""A trigram index on the English name column (``name_en``) on PostgreSQL.

The catalog's translations (``catalog.translation``, django-modeltranslation) rewrite a plain
filter on ``name`` to the active language's column, English in every request and task: the
admin's and other plain ``name__icontains`` filters now query ``UPPER("name_en"::text) LIKE ...``,
which the trigram index of ``0004`` (on ``name``) does not serve. This is the same GIN trigram
index on ``name_en``. The ranked search (``catalog.search``) reads the original ``name`` column
and keeps its own indexes (``0009``). SQLite has no trigram index: nothing happens there.

Built ``CONCURRENTLY`` (a non-atomic migration) so a large catalog stays writable meanwhile.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

INDEX = "catalog_product_name_en_upper_trgm"


def _create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON catalog_product "
        "USING gin ((UPPER(name_en::text)) gin_trgm_ops)"
    )


def _drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("catalog", "0013_variant_sku_validator"),
    ]

    operations = [
        migrations.RunPython(_create, _drop, elidable=False),
    ]
