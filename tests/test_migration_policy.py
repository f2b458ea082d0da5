"""Zero-downtime migrations: expand, then contract (docs/operations.md, "Upgrades").

During a rolling deploy the old code runs against the new schema. So a migration may only
*expand* the schema (add a table, a nullable column, a column with a database default, an index)
unless it is a *contract* migration, shipped a release after the code stopped using what it
removes. This test replays every migration of the project and fails on any operation the old code
could not survive, unless its migration is listed in ``CONTRACT_MIGRATIONS`` with the release
that contracts it, so a destructive change cannot slip in unnoticed.

Caught: RemoveField, DeleteModel, RenameField, RenameModel, AlterModelTable; an AlterField that
makes a column NOT NULL, renames its column, changes its type or shortens it; an AddField of a NOT
NULL column without ``db_default`` to a table that already existed (the old code's inserts leave
it out); RunSQL that drops, renames or sets NOT NULL; all of these inside the database side of
SeparateDatabaseAndState.
Not caught: what RunPython does; RunSQL written some other way; a change in the meaning of data
(an enum value the old code does not know); locks a migration takes on a big table (long
``ALTER``s); whether the code of a release still reads what its contract migration removes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import migrations, models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState

PROJECT_APPS = {
    "core",
    "catalog",
    "customers",
    "inventory",
    "orders",
    "channels",
    "storefront",
    "store",
    "config",
    "demo",
}

# Migrations allowed to contract the schema, each with the release it belongs to. Everything
# before 0.1.0 was written before the first production deploy, when there was no old code
# running against the database to keep compatible with. From 0.1.0 on, an entry here is a
# migration that removes what the previous release already stopped using.
PRE_RELEASE = "0.1.0 (before the first production release: no running old code to break)"
CONTRACT_MIGRATIONS: dict[tuple[str, str], str] = {
    ("catalog", "0003_types_attributes_media_prices_governance"): PRE_RELEASE,
    ("customers", "0002_actor"): PRE_RELEASE,
    ("inventory", "0004_stockmovement_transfer_actor"): PRE_RELEASE,
    ("inventory", "0006_staffmember_store_memberships"): PRE_RELEASE,
    ("orders", "0002_customers_and_loyalty"): PRE_RELEASE,
    ("orders", "0004_timelineevent_actor_recorded"): PRE_RELEASE,
    ("orders", "0005_remove_timelineevent_actor"): PRE_RELEASE,
    ("orders", "0007_notifications_outbox"): PRE_RELEASE,
}

DESTRUCTIVE_SQL = re.compile(r"\b(DROP\s+(COLUMN|TABLE)|RENAME\b|SET\s+NOT\s+NULL)", re.I)


def _column(name: str, field: models.Field[Any, Any]) -> str | None:
    if field.many_to_many:
        return None
    if field.db_column:
        return str(field.db_column)
    return f"{name}_id" if field.is_relation else name


def _type(field: models.Field[Any, Any]) -> str:
    # A one-to-one and a foreign key share their column type; only the unique index differs.
    internal = field.get_internal_type()
    return "ForeignKey" if internal == "OneToOneField" else internal


def _sql_text(sql: Any) -> str:
    if isinstance(sql, list | tuple):
        return " ".join(_sql_text(s) for s in sql)
    return str(sql[0] if isinstance(sql, tuple) else sql)


def operation_problems(
    app_label: str, operation: Any, state: ProjectState, created: set[tuple[str, str]]
) -> list[str]:
    """What in ``operation`` the previous release's code would not survive; ``state`` is the
    project state just before it, ``created`` the models created earlier in the same migration."""
    kind = type(operation).__name__
    if isinstance(
        operation,
        migrations.RemoveField
        | migrations.DeleteModel
        | migrations.RenameField
        | migrations.RenameModel
        | migrations.AlterModelTable,
    ):
        target = getattr(operation, "model_name", None) or operation.name
        return [
            f"{kind} {target}.{operation.name}" if kind.endswith("Field") else f"{kind} {target}"
        ]
    if isinstance(operation, migrations.AddField):
        key = (app_label, operation.model_name_lower)
        field = operation.field
        if key in created or field.many_to_many or field.null:
            return []
        if field.db_default is not models.NOT_PROVIDED:
            return []
        return [
            f"AddField {operation.model_name}.{operation.name}: NOT NULL without db_default "
            "(the old code's inserts leave it out)"
        ]
    if isinstance(operation, migrations.AlterField):
        key = (app_label, operation.model_name_lower)
        if key in created:
            return []
        old = state.models[key].fields[operation.name]
        new = operation.field
        where = f"AlterField {operation.model_name}.{operation.name}"
        found = []
        if old.null and not new.null:
            found.append(f"{where}: becomes NOT NULL")
        if _column(operation.name, old) != _column(operation.name, new):
            found.append(f"{where}: column renamed")
        old_type, new_type = _type(old), _type(new)
        if old_type != new_type:
            found.append(f"{where}: type {old_type} -> {new_type}")
        old_length, new_length = getattr(old, "max_length", None), getattr(new, "max_length", None)
        if old_length and new_length and new_length < old_length:
            found.append(f"{where}: max_length {old_length} -> {new_length}")
        return found
    if isinstance(operation, migrations.SeparateDatabaseAndState):
        # Only what reaches the database matters: a state-only RemoveField is how a field leaves
        # the code a release before its column is dropped.
        db_state = state.clone()
        found = []
        for inner in operation.database_operations:
            found += operation_problems(app_label, inner, db_state, created)
            inner.state_forwards(app_label, db_state)
        return found
    if isinstance(operation, migrations.RunSQL):
        sql = _sql_text(operation.sql)
        match = DESTRUCTIVE_SQL.search(sql)
        return [f"RunSQL: {match.group(0)}"] if match else []
    return []


def migration_problems(
    app_label: str, migration: migrations.Migration, state: ProjectState
) -> Iterator[str]:
    """Apply ``migration`` to ``state`` in place, yielding the problems of its operations."""
    created: set[tuple[str, str]] = set()
    for operation in migration.operations:
        yield from operation_problems(app_label, operation, state, created)
        if isinstance(operation, migrations.CreateModel):
            created.add((app_label, operation.name_lower))
        operation.state_forwards(app_label, state)


def project_problems() -> dict[tuple[str, str], list[str]]:
    """Every project migration (in dependency order) with the problems found in it."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    state = ProjectState(real_apps=loader.unmigrated_apps)
    seen: set[tuple[str, str]] = set()
    found: dict[tuple[str, str], list[str]] = {}
    for leaf in sorted(loader.graph.leaf_nodes()):
        for node in loader.graph.forwards_plan(leaf):
            if node in seen:
                continue
            seen.add(node)
            problems = list(migration_problems(node[0], loader.graph.nodes[node], state))
            if node[0] in PROJECT_APPS and problems:
                found[node] = problems
    return found


def test_no_migration_breaks_the_previous_release_unless_listed_as_contract() -> None:
    found = project_problems()
    unlisted = {
        node: problems for node, problems in found.items() if node not in CONTRACT_MIGRATIONS
    }
    assert not unlisted, (
        "These migrations would break the code of the previous release during a rolling deploy "
        "(docs/operations.md, 'Upgrades'). Split them into an expand migration now and a contract "
        "migration in the next release, or, if this is that contract migration, list it in "
        "CONTRACT_MIGRATIONS with its release:\n"
        + "\n".join(f"  {app}.{name}: {'; '.join(p)}" for (app, name), p in unlisted.items())
    )


def test_every_contract_entry_is_a_real_contract_migration() -> None:
    """A stale entry would let a later migration of the same name through unread."""
    found = project_problems()
    stale = sorted(set(CONTRACT_MIGRATIONS) - set(found))
    assert not stale, f"listed as contract migrations but not found, or not destructive: {stale}"
    for node, release in CONTRACT_MIGRATIONS.items():
        assert re.match(r"\d+\.\d+\.\d+\b", release), f"{node}: name the release, got {release!r}"


def _migration(name: str, operations: list[Any]) -> migrations.Migration:
    """A migration of the orders app, as makemigrations would write it."""
    cls = type("Migration", (migrations.Migration,), {"operations": operations})
    return cls(name, "orders")


def _state() -> ProjectState:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return loader.project_state()


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        (migrations.RemoveField("order", "external_id"), "RemoveField order.external_id"),
        (migrations.RenameField("order", "number", "reference"), "RenameField order.number"),
        (migrations.DeleteModel("Refund"), "DeleteModel Refund"),
        (
            migrations.AddField("order", "weight", models.IntegerField(default=0)),
            "NOT NULL without db_default",
        ),
        (
            migrations.AlterField("order", "number", models.CharField(max_length=3)),
            "max_length",
        ),
        (migrations.RunSQL("ALTER TABLE orders_order DROP COLUMN external_id"), "DROP COLUMN"),
    ],
)
def test_destructive_operations_are_caught(operation: Any, expected: str) -> None:
    migration = _migration("9999_destructive", [operation])
    problems = list(migration_problems("orders", migration, _state()))
    assert problems and expected in problems[0], problems


@pytest.mark.parametrize(
    "operation",
    [
        migrations.AddField("order", "weight", models.IntegerField(null=True)),
        migrations.AddField("order", "weight", models.IntegerField(db_default=0)),
        migrations.AddIndex("order", models.Index(fields=["id"], name="order_id_expand_idx")),
        migrations.RunSQL("UPDATE orders_order SET id = id"),
    ],
)
def test_expand_operations_pass(operation: Any) -> None:
    migration = _migration("9999_expand", [operation])
    assert list(migration_problems("orders", migration, _state())) == []


def test_only_the_database_side_of_separate_database_and_state_counts() -> None:
    leave_code = migrations.SeparateDatabaseAndState(
        state_operations=[migrations.RemoveField("order", "external_id")],
        database_operations=[
            migrations.RunSQL("ALTER TABLE orders_order ALTER COLUMN external_id DROP NOT NULL")
        ],
    )
    assert (
        list(migration_problems("orders", _migration("9998_leave", [leave_code]), _state())) == []
    )
    drop_column = migrations.SeparateDatabaseAndState(
        database_operations=[migrations.RunSQL("ALTER TABLE orders_order DROP COLUMN external_id")]
    )
    problems = list(migration_problems("orders", _migration("9999_drop", [drop_column]), _state()))
    assert problems == ["RunSQL: DROP COLUMN"]


def test_a_column_added_to_a_table_created_in_the_same_migration_passes() -> None:
    migration = _migration(
        "9999_new_table",
        [
            migrations.CreateModel("Parcel", [("id", models.BigAutoField(primary_key=True))]),
            migrations.AddField("parcel", "weight", models.IntegerField(default=0)),
        ],
    )
    assert list(migration_problems("orders", migration, _state())) == []
