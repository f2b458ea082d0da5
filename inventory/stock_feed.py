"""Bulk stock feed from an ERP or WMS: a CSV of absolute counts (``sku,location,on_hand`` and
optionally ``reason``, ``reference``), applied as ``count`` movements for the differences.

The whole file is validated before anything is written and refused with the row and column of
every bad cell. Applying it is set-based, all or nothing, and idempotent: the same file again
finds nothing to change and writes nothing. On PostgreSQL the whole feed takes a fixed number of
statements: one insert of the missing levels and one locking read of every level (the pairs go as
two arrays), one update of the changed counts, one ``COPY`` of the count movements, then the
``stock.changed`` events; elsewhere the same steps run in batches.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from catalog.selectors import variant_ids_by_sku
from core import bulk
from core.actors import SYSTEM, Actor
from core.audit import SensitiveAction, audit_record
from inventory.exceptions import StockFeedInvalid
from inventory.models import StockLevel, StockMovement
from inventory.selectors import location_ids_by_code

REQUIRED = ("sku", "location", "on_hand")
BATCH = 5_000


@dataclass(frozen=True)
class FeedRow:
    row: int
    variant_id: int
    location_id: int
    on_hand: int
    reason: str
    reference: str


@dataclass
class FeedSummary:
    rows: int = 0
    levels_changed: int = 0
    unchanged: int = 0
    units_added: int = 0
    units_removed: int = 0


def _error(row: int, column: str, message: str) -> dict[str, Any]:
    return {"row": row, "column": column, "message": message}


def _refuse(errors: list[dict[str, Any]]) -> StockFeedInvalid:
    shown = "; ".join(f"row {e['row']}, {e['column']}: {e['message']}" for e in errors[:10])
    more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
    return StockFeedInvalid(f"The stock feed was not applied: {shown}{more}", errors=errors)


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def stock_feed_parse(data: bytes) -> list[FeedRow]:
    """Validate the file; raise ``StockFeedInvalid`` listing every bad cell."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse([_error(1, "(file)", "The file is not UTF-8 text.")]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise _refuse(
            [_error(1, column, "This column is missing from the header.") for column in missing]
        )
    raw = []
    for line, row in enumerate(reader, start=2):
        cells = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(cells.values()):
            continue
        raw.append((line, cells))
    skus = list({cells["sku"] for _, cells in raw if cells["sku"]})
    variants: dict[str, int] = {}
    for chunk in _chunks(skus):
        variants.update(variant_ids_by_sku(skus=chunk))
    locations = location_ids_by_code(codes={cells["location"] for _, cells in raw})
    errors: list[dict[str, Any]] = []
    seen: dict[tuple[int, int], int] = {}
    rows = []
    for line, cells in raw:
        sku, code, count = cells["sku"], cells["location"], cells["on_hand"]
        bad = len(errors)
        if not sku:
            errors.append(_error(line, "sku", "A SKU is needed."))
        elif sku not in variants:
            errors.append(_error(line, "sku", f"There is no variant {sku!r}."))
        if code not in locations:
            errors.append(_error(line, "location", f"There is no location {code!r}."))
        try:
            on_hand = int(count)
        except ValueError:
            errors.append(_error(line, "on_hand", f"{count!r} is not a whole number."))
            on_hand = 0
        else:
            if on_hand < 0:
                errors.append(_error(line, "on_hand", "A count cannot be negative."))
        if len(errors) > bad:
            continue
        pair = (variants[sku], locations[code])
        if pair in seen:
            errors.append(
                _error(line, "sku", f"{sku} at {code} is already counted on row {seen[pair]}.")
            )
            continue
        seen[pair] = line
        rows.append(
            FeedRow(
                row=line,
                variant_id=pair[0],
                location_id=pair[1],
                on_hand=on_hand,
                reason=cells.get("reason", "")[:255] or "stock feed",
                reference=cells.get("reference", "")[:255],
            )
        )
    if errors:
        raise _refuse(errors)
    if not rows:
        raise _refuse([_error(2, "sku", "The file has no rows.")])
    return rows


def _levels_set(changes: list[tuple[int, int]]) -> None:
    """Set ``on_hand`` of many levels: on PostgreSQL one statement for all of them (the pairs go
    as two arrays, so the statement text does not grow with the feed), elsewhere one
    ``executemany`` per batch."""
    if not changes:
        return
    now = timezone.now()
    table = StockLevel._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} AS s SET on_hand = v.on_hand, updated_at = %s "
                "FROM unnest(%s::bigint[], %s::integer[]) AS v(id, on_hand) WHERE s.id = v.id",
                [now, [pk for pk, _ in changes], [on_hand for _, on_hand in changes]],
            )
            return
        for start in range(0, len(changes), BATCH):
            cursor.executemany(
                f"UPDATE {table} SET on_hand = %s, updated_at = %s WHERE id = %s",
                [(on_hand, now, pk) for pk, on_hand in changes[start : start + BATCH]],
            )


@dataclass(frozen=True)
class _Level:
    pk: int
    on_hand: int
    committed: int


def _levels_lock_pg(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], _Level]:
    """PostgreSQL: what ``_stock_levels_lock(create=True)`` does, for a whole feed in three
    statements and without a model instance per level: insert the missing levels (``ON CONFLICT
    DO NOTHING``), then lock every level of the feed in primary-key order and read its counts.
    The pairs go as two arrays."""
    table = StockLevel._meta.db_table
    variant_ids = [v for v, _ in pairs]
    location_ids = [loc for _, loc in pairs]
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (variant_id, location_id, on_hand, committed, safety_stock, "
            "incoming, damaged, created_at, updated_at) "
            "SELECT f.v, f.l, 0, 0, 0, 0, 0, %s, %s "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS f(v, l) "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} s "
            "WHERE s.variant_id = f.v AND s.location_id = f.l) "
            "ORDER BY f.v, f.l ON CONFLICT DO NOTHING",
            [now, now, variant_ids, location_ids],
        )
        cursor.execute(
            f"SELECT s.id, s.variant_id, s.location_id, s.on_hand, s.committed FROM {table} s "
            "JOIN unnest(%s::bigint[], %s::bigint[]) AS f(v, l) "
            "ON s.variant_id = f.v AND s.location_id = f.l ORDER BY s.id FOR UPDATE OF s",
            [variant_ids, location_ids],
        )
        return {
            (variant_id, location_id): _Level(pk, on_hand, committed)
            for pk, variant_id, location_id, on_hand, committed in cursor.fetchall()
        }


def _levels_lock(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], Any]:
    if connection.vendor == "postgresql":
        return _levels_lock_pg(pairs)
    from inventory.services import _stock_levels_lock

    return _stock_levels_lock(pairs=pairs, create=True)


def stock_feed_apply(*, data: bytes, actor: Actor = SYSTEM) -> FeedSummary:
    """Validate and apply a stock feed file; all or nothing. Locks every level it names in
    primary-key order (creating missing ones), then refuses the whole file if a count is below
    the units committed to orders there."""
    return stock_counts_apply(rows=stock_feed_parse(data), actor=actor)


def stock_counts_apply(*, rows: list[FeedRow], actor: Actor = SYSTEM) -> FeedSummary:
    """Apply validated absolute counts (the feed's second half; also used by product imports).
    Locks the levels in pk order; refuses everything if a count is below committed units."""
    from inventory.services import _ats_record

    summary = FeedSummary(rows=len(rows))
    with transaction.atomic():
        levels = _levels_lock([(r.variant_id, r.location_id) for r in rows])
        errors = []
        changes: list[tuple[int, int]] = []
        movements = []
        changed_variants = []
        for row in rows:
            level = levels[(row.variant_id, row.location_id)]
            if row.on_hand < level.committed:
                errors.append(
                    _error(
                        row.row,
                        "on_hand",
                        f"{row.on_hand} is below the {level.committed} units committed to orders.",
                    )
                )
                continue
            delta = row.on_hand - level.on_hand
            if not delta:
                summary.unchanged += 1
                continue
            changes.append((level.pk, row.on_hand))
            changed_variants.append(row.variant_id)
            if delta > 0:
                summary.units_added += delta
            else:
                summary.units_removed -= delta
            movements.append(
                StockMovement(
                    stock_id=level.pk,
                    kind=StockMovement.Kind.COUNT,
                    on_hand_delta=delta,
                    reason=row.reason,
                    reference=row.reference,
                    reference_type=StockMovement.ReferenceType.IMPORT,
                    **actor.fields(),
                )
            )
        if errors:
            raise _refuse(errors)
        _levels_set(changes)
        bulk.create(movements, StockMovement, history=False)  # COPY on PostgreSQL
        _ats_record(changed_variants)
        summary.levels_changed = len(changes)
        if changes:
            audit_record(
                action=SensitiveAction.STOCK_FEED,
                actor=actor,
                object_type="inventory.stocklevel",
                data={
                    "rows": summary.rows,
                    "levels_changed": summary.levels_changed,
                    "units_added": summary.units_added,
                    "units_removed": summary.units_removed,
                },
            )
    return summary
