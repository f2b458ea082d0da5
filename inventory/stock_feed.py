"""Bulk stock feed from an ERP or WMS: a CSV of absolute counts (``sku,location,on_hand`` and
optionally ``reason``, ``reference``), applied as ``count`` movements for the differences.

The whole file is validated before anything is written and refused with the row and column of
every bad cell. Applying it is set-based (one lock statement, one update statement and one insert
per batch), all or nothing, and idempotent: the same file again finds nothing to change and
writes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from core.actors import SYSTEM, Actor
from inventory.exceptions import StockFeedInvalid
from inventory.models import StockLevel, StockMovement
from inventory.selectors import location_ids_by_code, variant_ids_by_sku

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
    """Set ``on_hand`` of many levels: one statement per batch."""
    now = timezone.now()
    with connection.cursor() as cursor:
        for start in range(0, len(changes), BATCH):
            chunk = changes[start : start + BATCH]
            if connection.vendor == "postgresql":
                values = ", ".join(["(%s::bigint, %s::integer)"] * len(chunk))
                cursor.execute(
                    f"UPDATE {StockLevel._meta.db_table} AS s SET on_hand = v.on_hand, "
                    f"updated_at = %s FROM (VALUES {values}) AS v(id, on_hand) WHERE s.id = v.id",
                    [now, *[value for pair in chunk for value in pair]],
                )
            else:
                cursor.executemany(
                    f"UPDATE {StockLevel._meta.db_table} SET on_hand = %s, updated_at = %s "
                    "WHERE id = %s",
                    [(on_hand, now, pk) for pk, on_hand in chunk],
                )


def stock_feed_apply(*, data: bytes, actor: Actor = SYSTEM) -> FeedSummary:
    """Validate and apply a stock feed file; all or nothing. Locks every level it names in
    primary-key order (creating missing ones), then refuses the whole file if a count is below
    the units committed to orders there."""
    return stock_counts_apply(rows=stock_feed_parse(data), actor=actor)


def stock_counts_apply(*, rows: list[FeedRow], actor: Actor = SYSTEM) -> FeedSummary:
    """Apply validated absolute counts (the feed's second half; also used by product imports).
    Locks the levels in pk order; refuses everything if a count is below committed units."""
    from inventory.services import _ats_record, _stock_levels_lock

    summary = FeedSummary(rows=len(rows))
    with transaction.atomic():
        levels = _stock_levels_lock(
            pairs=[(r.variant_id, r.location_id) for r in rows], create=True
        )
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
                    stock=level,
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
        StockMovement.objects.bulk_create(movements, batch_size=BATCH)
        _ats_record(changed_variants)
        summary.levels_changed = len(changes)
    return summary
