"""Does a database of the release before the layered layout survive the upgrade? A report.

Builds a PostgreSQL database with the code of ``PREVIOUS_RELEASE`` (taken from this repository's
history with ``git archive``), migrates and seeds it with the demo data as ``./run`` does, records
every table's row count, every group's permissions and every user's groups, then migrates it with
the code of this checkout and compares. It also migrates a second, empty database with this
checkout and compares the two schemas column by column and index by index, so an upgraded
database is exactly a new one.

Run it by hand (it prints the report and exits 1 on any difference)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omnihub .venv/bin/python -m tests.layout_upgrade

``tests/test_layout_upgrade.py`` runs the same check in the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from config.roles import ROLE_PERMISSIONS

ROOT = Path(__file__).resolve().parent.parent
# The last commit of the layout before core/ (channels, api and outbox as their own apps).
PREVIOUS_RELEASE = "9e9a64282d81561e98f7bb34ff40a243a948e783"
# How permissions were named before the move, and now.
RELABELLED = {
    "channels.channel": "core.channel",
    "api.partner": "core.partner",
    "api.partnerapikey": "core.partnerapikey",
    "api.idempotencyrecord": "core.idempotencyrecord",
    "outbox.changeevent": "core.changeevent",
    "outbox.objectsequence": "core.objectsequence",
}


class UpgradeCheckUnavailable(RuntimeError):
    """The check cannot run here (no PostgreSQL, no git history)."""


@dataclass
class Snapshot:
    rows: dict[str, int]
    group_permissions: dict[str, set[str]]  # and "user:<name>" for users' own permissions
    user_groups: dict[str, set[str]]
    content_types: set[str]


@dataclass
class Report:
    before: Snapshot
    after: Snapshot
    problems: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin_dsn(url: str) -> str:
    return _with_database(url, "postgres")


@contextmanager
def scratch_database(url: str, label: str) -> Iterator[str]:
    """A new empty database next to the one ``url`` names; dropped afterwards."""
    name = f"omnihub_{label}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(_admin_dsn(url), autocommit=True)
    except psycopg.OperationalError as error:
        raise UpgradeCheckUnavailable(f"PostgreSQL unreachable: {error}") from error
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(url, name)
    finally:
        with psycopg.connect(_admin_dsn(url), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def previous_release_tree(target: Path) -> Path:
    """The previous release's files, from this repository's history."""
    archive = target / "previous.tar"
    result = subprocess.run(
        ["git", "archive", "--format=tar", f"--output={archive}", PREVIOUS_RELEASE],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise UpgradeCheckUnavailable(
            f"commit {PREVIOUS_RELEASE[:10]} is not in this clone's history "
            f"(a shallow clone?): {result.stderr.strip()}"
        )
    tree = target / "previous"
    tree.mkdir()
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
            tar.extractall(tree, filter="data")
        else:  # Debian's 3.11.2: the archive is this repository's own history
            tar.extractall(tree)
    return tree


def manage(tree: Path, database_url: str, *args: str) -> None:
    """``manage.py`` of ``tree`` against ``database_url``, tasks eager, no broker."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
        and not key.startswith("PYTEST")
    }
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="config.settings.local",
        OMNIHUB_VAR_DIR=str(tree / "var"),
        PYTHONPATH=str(tree),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} failed in {tree}:\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-3000:]}"
        )


def grant_outside_the_roles(database_url: str) -> None:
    """Permissions on the moved models held outside the role groups (which ``migrate`` re-syncs
    anyway): a group of the operator's own, and a user's direct permissions."""
    with psycopg.connect(database_url) as conn:
        group_id = conn.execute(
            "INSERT INTO auth_group (name) VALUES ('Channel operators') RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO auth_group_permissions (group_id, permission_id) "
            "SELECT %s, p.id FROM auth_permission p "
            "JOIN django_content_type ct ON ct.id = p.content_type_id "
            "WHERE (ct.app_label, ct.model) IN (('channels', 'channel'), ('api', 'partner'), "
            "('api', 'partnerapikey'), ('outbox', 'changeevent'))",
            [group_id],
        )
        conn.execute(
            "INSERT INTO auth_user_groups (user_id, group_id) "
            "SELECT id, %s FROM auth_user WHERE username = 'inventory'",
            [group_id],
        )
        conn.execute(
            "INSERT INTO auth_user_user_permissions (user_id, permission_id) "
            "SELECT u.id, p.id FROM auth_user u, auth_permission p "
            "JOIN django_content_type ct ON ct.id = p.content_type_id "
            "WHERE u.username = 'service' AND ct.app_label = 'outbox' "
            "AND p.codename = 'view_changeevent'"
        )


def snapshot(database_url: str) -> Snapshot:
    with psycopg.connect(database_url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        rows = {
            table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # type: ignore[index]
            for table in tables
        }
        group_permissions: dict[str, set[str]] = {}
        for group, label, codename in conn.execute(
            "SELECT g.name, ct.app_label, p.codename FROM auth_group g "
            "JOIN auth_group_permissions gp ON gp.group_id = g.id "
            "JOIN auth_permission p ON p.id = gp.permission_id "
            "JOIN django_content_type ct ON ct.id = p.content_type_id"
        ):
            group_permissions.setdefault(group, set()).add(f"{label}.{codename}")
        for username, label, codename in conn.execute(
            "SELECT u.username, ct.app_label, p.codename FROM auth_user u "
            "JOIN auth_user_user_permissions up ON up.user_id = u.id "
            "JOIN auth_permission p ON p.id = up.permission_id "
            "JOIN django_content_type ct ON ct.id = p.content_type_id"
        ):
            group_permissions.setdefault(f"user:{username}", set()).add(f"{label}.{codename}")
        user_groups: dict[str, set[str]] = {}
        for username, group in conn.execute(
            "SELECT u.username, g.name FROM auth_user u "
            "JOIN auth_user_groups ug ON ug.user_id = u.id JOIN auth_group g ON g.id = ug.group_id"
        ):
            user_groups.setdefault(username, set()).add(group)
        content_types = {
            f"{label}.{model}"
            for label, model in conn.execute("SELECT app_label, model FROM django_content_type")
        }
    return Snapshot(rows, group_permissions, user_groups, content_types)


def schema(database_url: str) -> dict[str, Any]:
    """Columns (type, nullability, default) and indexes/constraints of every public table."""
    with psycopg.connect(database_url) as conn:
        columns = {
            (table, column): (data_type, nullable, default)
            for table, column, data_type, nullable, default in conn.execute(
                "SELECT table_name, column_name, data_type, is_nullable, column_default "
                "FROM information_schema.columns WHERE table_schema = 'public'"
            )
        }
        indexes = {
            (table, name): definition
            for table, name, definition in conn.execute(
                "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            )
        }
        constraints = {
            (table, name): definition
            for table, name, definition in conn.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
            )
        }
    return {"columns": columns, "indexes": indexes, "constraints": constraints}


def _relabel(permission: str) -> str:
    label, codename = permission.split(".", 1)
    model = codename.split("_", 1)[1] if "_" in codename else ""
    moved = RELABELLED.get(f"{label}.{model}")
    return f"{moved.split('.')[0]}.{codename}" if moved else permission


def _schema_differences(upgraded: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    problems = []
    for part in ("columns", "indexes", "constraints"):
        only_upgraded = sorted(set(upgraded[part]) - set(fresh[part]))
        only_fresh = sorted(set(fresh[part]) - set(upgraded[part]))
        changed = sorted(
            key
            for key in set(upgraded[part]) & set(fresh[part])
            if upgraded[part][key] != fresh[part][key]
        )
        problems += [f"{part}: only in the upgraded database: {key}" for key in only_upgraded]
        problems += [f"{part}: only in a new database: {key}" for key in only_fresh]
        problems += [
            f"{part}: {key} differs: {upgraded[part][key]} != {fresh[part][key]}" for key in changed
        ]
    return problems


def run(database_url: str) -> Report:
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise UpgradeCheckUnavailable("needs PostgreSQL: set DATABASE_URL")
    with (
        tempfile.TemporaryDirectory() as scratch,
        scratch_database(database_url, "upgrade") as upgraded_url,
        scratch_database(database_url, "fresh") as fresh_url,
    ):
        previous = previous_release_tree(Path(scratch))
        manage(previous, upgraded_url, "migrate", "--noinput", "-v", "0")
        manage(previous, upgraded_url, "seed_demo", "--size", "small")
        grant_outside_the_roles(upgraded_url)
        before = snapshot(upgraded_url)

        manage(ROOT, upgraded_url, "migrate", "--noinput", "-v", "0")
        after = snapshot(upgraded_url)
        manage(ROOT, fresh_url, "migrate", "--noinput", "-v", "0")
        report = Report(before=before, after=after)

        # Roles added since (``config.roles``, created by ``migrate``) are the groups' only new
        # rows; the role groups' permissions are compared with the table below, row by row.
        new_roles = set(ROLE_PERMISSIONS) - set(before.group_permissions)
        expected_rows = {**before.rows, "auth_group": before.rows["auth_group"] + len(new_roles)}
        lost = {
            table: (count, after.rows.get(table))
            for table, count in expected_rows.items()
            if table
            not in {
                "django_migrations",
                "django_content_type",
                "auth_permission",
                "auth_group_permissions",
            }
            and after.rows.get(table) != count
        }
        report.problems += [
            f"table {table}: {was} rows before, {now} after" for table, (was, now) in lost.items()
        ]
        report.problems += [
            f"table {table} disappeared" for table in before.rows if table not in after.rows
        ]
        for group, permissions in [
            *before.group_permissions.items(),
            *((role, set()) for role in sorted(new_roles)),
        ]:
            expected = (
                set(ROLE_PERMISSIONS[group])  # migrate re-syncs a role to the current table
                if group in ROLE_PERMISSIONS
                else {_relabel(permission) for permission in permissions}
            )
            got = after.group_permissions.get(group, set())
            if got != expected:
                report.problems.append(
                    f"{group!r}: lost {sorted(expected - got)}, gained {sorted(got - expected)}"
                )
        if before.user_groups != after.user_groups:
            report.problems.append("users' groups changed")
        stale = sorted(ct for ct in after.content_types if ct.split(".")[0] in {"api", "outbox"})
        stale += sorted(ct for ct in after.content_types if ct == "channels.channel")
        report.problems += [f"content type {ct} left under its old label" for ct in stale]
        report.problems += _schema_differences(schema(upgraded_url), schema(fresh_url))

        counted = {t: n for t, n in before.rows.items() if t != "django_migrations"}
        report.lines += [
            f"previous release {PREVIOUS_RELEASE[:10]}: {len(before.rows)} tables, "
            f"{sum(counted.values())} rows (django_migrations aside) after seed_demo --size small",
            f"after migrate with this checkout: {len(after.rows)} tables; every table kept its "
            f"row count: {not lost}; new tables: "
            + (", ".join(sorted(set(after.rows) - set(before.rows))) or "none"),
            f"groups and users with permissions checked: {len(before.group_permissions)} "
            f"({sum(len(p) for p in before.group_permissions.values())} permissions), "
            f"users' groups checked: {len(before.user_groups)}",
            "moved tables: "
            + ", ".join(
                f"{table} {before.rows.get(table)}"
                for table in (
                    "channels_channel",
                    "channels_channel_locations",
                    "api_partner",
                    "api_partnerapikey",
                    "api_partner_channels",
                    "api_partnerapikey_channels",
                    "outbox_changeevent",
                    "outbox_objectsequence",
                )
            ),
            "schema of the upgraded database equals a new database's: "
            + str(
                not any(
                    p.startswith(("columns", "indexes", "constraints")) for p in report.problems
                )
            ),
        ]
        return report


def partial_upgrade_refusal(database_url: str) -> str:
    """Migrate a database with the previous release only up to ``channels 0003`` (the channel
    table lacks a column that release adds later), then with this checkout: the upgrade must
    stop before changing anything. Returns what ``migrate`` said."""
    with (
        tempfile.TemporaryDirectory() as scratch,
        scratch_database(database_url, "partial") as partial_url,
    ):
        previous = previous_release_tree(Path(scratch))
        manage(previous, partial_url, "migrate", "--noinput", "-v", "0")
        manage(previous, partial_url, "migrate", "channels", "0003", "--noinput", "-v", "0")
        before = snapshot(partial_url)
        try:
            manage(ROOT, partial_url, "migrate", "--noinput", "-v", "0")
        except RuntimeError as refused:
            if snapshot(partial_url).rows != before.rows:
                raise AssertionError("the refused upgrade changed the database") from refused
            return str(refused)
        raise AssertionError("a database short of the previous release's migrations was upgraded")


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    try:
        report = run(url)
    except UpgradeCheckUnavailable as error:
        print(f"cannot check: {error}")
        return 2
    for line in report.lines:
        print(line)
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print("OK: every row, permission and group survived" if report.ok else "FAILED")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
