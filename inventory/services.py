"""Writes to inventory: the only way stock changes.

Every stock service owns a short transaction and locks the ``StockLevel`` rows it touches through
one helper, :func:`_stock_levels_lock`, which always locks in primary-key order so that requests
touching the same rows in opposite orders queue up instead of deadlocking. Checks are made on the
locked rows and counters are then written with ``F()`` expressions. Multi-line requests are
all-or-nothing: a shortage on any line raises :class:`InsufficientStock` listing every short line,
and nothing is written.

Reserved units are the sum of *active, unexpired* holds (never a counter), so an expired hold
stops counting immediately. Creating a hold takes the level lock, so the sum cannot change under
a service that holds the lock except by holds expiring, which only frees units.

Inventory services take plain data (variant ids, location ids, quantities, references); they
never see an order, a cart or a channel.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Q, Sum, Value, When
from django.utils import timezone

from catalog.models import Variant
from core import bulk
from core.actors import SYSTEM, Actor
from core.audit import SensitiveAction, audit_record
from inventory.exceptions import (
    HoldNotActive,
    InsufficientStock,
    InvalidQuantity,
    InvalidTransferState,
    MovementIdempotencyConflict,
    TransferSameLocation,
    UnknownStockItem,
)
from inventory.models import (
    ChannelLocation,
    Location,
    StaffMember,
    StockHold,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
)

Kind = StockMovement.Kind


def _ats_record(variant_ids: Iterable[int]) -> None:
    """Record ``stock.changed`` for each variant in the caller's transaction: the absolute
    available-to-sell over all active locations and per location (by code), computed under the
    caller's locks. The channels turn it into each channel's figure (their locations, their
    buffer); the per-variant sequence lets them drop anything older than what they have."""
    ids = sorted(set(variant_ids))
    if not ids:
        return
    from core.events import EventType
    from core.outbox.services import event_record_many, sequences_lock
    from inventory.selectors import stock_level_list

    # Take the variants' event sequence rows first. A concurrent change to the same variant at
    # another location holds its row until it commits, so the figures read below include it.
    # The level locks are already held, so this adds no lock cycle.
    sequences_lock(aggregate="variant", object_ids=ids)

    # One query: each active level's available with its variant's sku and its location's code.
    levels = (
        stock_level_list()
        .filter(variant_id__in=ids, location__is_active=True)
        .order_by("variant_id", "location_id")
    )
    rows = levels.values_list(  # type: ignore[misc]
        "variant_id", "variant__sku", "location__code", "available_now"
    )
    skus: dict[int, str] = {}
    by_location: dict[int, dict[str, int]] = {vid: {} for vid in ids}
    for variant_id, sku, code, available in rows:
        skus[variant_id] = sku
        by_location[variant_id][code] = max(available, 0)
    missing = [vid for vid in ids if vid not in skus]
    if missing:  # no active level (e.g. the only location was switched off): still name the sku
        skus.update(Variant.objects.filter(id__in=missing).values_list("id", "sku"))
    event_record_many(
        topic=EventType.STOCK_CHANGED,
        aggregate="variant",
        payloads={
            vid: {
                "variant_id": vid,
                "sku": skus.get(vid, ""),
                "available": sum(by_location[vid].values()),
                "locations": dict(sorted(by_location[vid].items())),
            }
            for vid in ids
        },
    )


# Kinds a caller may post as relative movements (sales and transfers belong to their services).
MANUAL_MOVEMENT_KINDS = frozenset(
    {Kind.RECEIPT, Kind.RETURN, Kind.ADJUSTMENT, Kind.DAMAGE, Kind.WRITE_OFF}
)
# The largest value a stock counter's column holds (a 32-bit integer on PostgreSQL): movements
# that would pass it are refused (400 ``invalid_quantity``) instead of failing in the database.
STOCK_COUNTER_MAX = 2_147_483_647
# Beyond this many movements in one call they are written by ``COPY`` (one round trip more).
BULK_MOVEMENTS = 100


@dataclass(frozen=True)
class StockLine:
    """``quantity`` units of ``variant_id`` at ``location_id``."""

    variant_id: int
    location_id: int
    quantity: int


@dataclass(frozen=True)
class MovementInput:
    """One relative movement. ``quantity`` is positive except for ``adjustment`` (signed).

    ``receipt``/``return`` add on hand; ``damage`` moves on hand to damaged; ``write_off``
    removes damaged units; ``adjustment`` adds or removes on hand.
    """

    variant_id: int
    location_id: int
    kind: str
    quantity: int
    reason: str = ""
    reference: str = ""
    reference_type: str = ""
    idempotency_key: str | None = None


# --- locking ------------------------------------------------------------------------------------


def _stock_levels_lock(
    *, pairs: Iterable[tuple[int, int]], create: bool
) -> dict[tuple[int, int], StockLevel]:
    """Lock the stock levels of ``(variant_id, location_id)`` pairs in primary-key order.

    With ``create`` missing levels are inserted first (``ON CONFLICT DO NOTHING``, so concurrent
    creators do not fail). Must run inside a transaction. Returns the locked rows by pair; pairs
    without a level (``create=False``) are absent.
    """
    wanted = set(pairs)
    if not wanted:
        return {}
    if create:
        new = [StockLevel(variant_id=v, location_id=loc) for v, loc in sorted(wanted)]
        if len(new) > BULK_MOVEMENTS:  # a whole delivery: COPY on PostgreSQL
            bulk.create_ignore_conflicts(new, StockLevel)
        else:
            StockLevel.objects.bulk_create(new, ignore_conflicts=True)
    by_location: dict[int, list[int]] = defaultdict(list)
    for variant_id, location_id in sorted(wanted):
        by_location[location_id].append(variant_id)
    exact = Q()  # one term per location keeps the condition small for thousands of pairs
    for location_id, variant_ids in by_location.items():
        exact |= Q(location_id=location_id, variant_id__in=variant_ids)
    rows = StockLevel.objects.select_for_update(of=("self",)).filter(exact).order_by("pk")
    return {(row.variant_id, row.location_id): row for row in rows}


def _reserved_by_level(
    *, level_ids: Iterable[int], now: datetime, exclude_reference: str | None = None
) -> dict[int, int]:
    holds = StockHold.objects.filter(
        stock_id__in=list(level_ids), status=StockHold.Status.ACTIVE, expires_at__gt=now
    )
    if exclude_reference is not None:
        holds = holds.exclude(reference=exclude_reference)
    rows = holds.values("stock_id").annotate(total=Sum("quantity")).values_list("stock_id", "total")
    return {stock_id: total or 0 for stock_id, total in rows}


def _merge_lines(lines: Sequence[StockLine]) -> dict[tuple[int, int], int]:
    merged: dict[tuple[int, int], int] = defaultdict(int)
    for line in lines:
        if line.quantity <= 0:
            raise InvalidQuantity(
                f"Quantities must be positive (variant {line.variant_id}: {line.quantity}).",
                extra={"variant_id": line.variant_id, "location_id": line.location_id},
            )
        merged[(line.variant_id, line.location_id)] += line.quantity
    return dict(merged)


def _shortage(variant_id: int, location_id: int, requested: int, available: int) -> dict[str, int]:
    return {
        "variant_id": variant_id,
        "location_id": location_id,
        "requested": requested,
        "available": max(available, 0),
    }


def _raise_if_short(shortages: list[dict[str, int]]) -> None:
    if shortages:
        raise InsufficientStock(
            f"Not enough stock for {len(shortages)} line(s).", extra={"shortages": shortages}
        )


def _available_under_lock(
    *,
    levels: dict[tuple[int, int], StockLevel],
    now: datetime,
    exclude_reference: str | None = None,
) -> dict[tuple[int, int], int]:
    reserved = _reserved_by_level(
        level_ids=[lv.pk for lv in levels.values()], now=now, exclude_reference=exclude_reference
    )
    return {
        pair: lv.on_hand - lv.committed - reserved.get(lv.pk, 0) - lv.safety_stock
        for pair, lv in levels.items()
    }


def _check_available(
    *,
    merged: dict[tuple[int, int], int],
    levels: dict[tuple[int, int], StockLevel],
    now: datetime,
    exclude_reference: str | None = None,
) -> None:
    available = _available_under_lock(levels=levels, now=now, exclude_reference=exclude_reference)
    shortages = [
        _shortage(v, loc, qty, available.get((v, loc), 0))
        for (v, loc), qty in sorted(merged.items())
        if available.get((v, loc), 0) < qty
    ]
    _raise_if_short(shortages)


# --- holds and allocation -----------------------------------------------------------------------


def stock_reserve(*, lines: Sequence[StockLine], reference: str, ttl: timedelta) -> list[StockHold]:
    """Hold units for ``ttl`` (all lines or none). Locks the lines' stock levels (pk order).

    Raises :class:`InsufficientStock` with per-line ``shortages`` when any line is short.
    """
    merged = _merge_lines(lines)
    if ttl <= timedelta(0):
        raise InvalidQuantity("A hold needs a positive time to live.")
    with transaction.atomic():
        levels = _stock_levels_lock(pairs=merged, create=False)
        now = timezone.now()  # after the lock: a hold that lapsed while we waited is free
        _check_available(merged=merged, levels=levels, now=now)
        holds = [
            StockHold(stock=levels[pair], quantity=qty, reference=reference, expires_at=now + ttl)
            for pair, qty in sorted(merged.items())
        ]
        created = StockHold.objects.bulk_create(holds)
        _ats_record(v for v, _ in merged)
        return created


def stock_hold_release(*, reference: str) -> int:
    """Release every active hold of ``reference``; returns how many units were freed.

    Takes no stock lock: releasing only frees units, and the status filter makes it idempotent.
    """
    with transaction.atomic():
        holds = StockHold.objects.filter(reference=reference, status=StockHold.Status.ACTIVE)
        total = holds.aggregate(total=Sum("quantity"))["total"] or 0
        variant_ids = list(holds.values_list("stock__variant_id", flat=True))
        holds.update(status=StockHold.Status.RELEASED, updated_at=timezone.now())
        _ats_record(variant_ids)
    return int(total)


def stock_hold_release_one(*, hold_id: int, location_id: int, actor: Actor = SYSTEM) -> StockHold:
    """Release one active hold at ``location_id`` whoever made it (a store associate giving a
    channel's or a walk-in customer's units back to sale); returns it, released.

    The hold's other lines (other SKUs or locations of the same reference) stay: the maker still
    holds them, and a later commit with that reference uses what is left. A conditional update
    (still active, unexpired, at this location) makes a double press or a race with the expiry
    task or a checkout refuse instead of releasing twice; it takes no stock lock, since releasing
    only frees units. Holds keep no author, so who released it is written to the log. Raises
    :class:`HoldNotActive` when the hold is not active here any more.
    """
    with transaction.atomic():
        now = timezone.now()
        released = StockHold.objects.filter(
            pk=hold_id,
            stock__location_id=location_id,
            status=StockHold.Status.ACTIVE,
            expires_at__gt=now,
        ).update(status=StockHold.Status.RELEASED, updated_at=now)
        if not released:
            raise HoldNotActive(
                "This hold is no longer active (released, used by an order or expired).",
                extra={"hold_id": hold_id},
            )
        hold = StockHold.objects.select_related("stock").get(pk=hold_id)
        _ats_record([hold.stock.variant_id])
    structlog.get_logger(__name__).info(
        "stock.hold_released",
        hold_id=hold.pk,
        reference=hold.reference,
        quantity=hold.quantity,
        location_id=location_id,
        actor=str(actor),
        actor_user_id=actor.user_id,
    )
    return hold


def stock_holds_expire(*, now: datetime | None = None) -> int:
    """Mark active holds past their expiry as expired; returns how many holds were expired.

    Expired holds already stopped counting at ``expires_at``; this only tidies their status.
    """
    moment = now or timezone.now()
    with transaction.atomic():
        expiring = StockHold.objects.filter(status=StockHold.Status.ACTIVE, expires_at__lte=moment)
        variant_ids = list(expiring.values_list("stock__variant_id", flat=True))
        count = expiring.update(status=StockHold.Status.EXPIRED, updated_at=moment)
        # the units came free at expires_at; this is when the channels hear of it
        _ats_record(variant_ids)
    return count


def _committed_add(
    *, merged: dict[tuple[int, int], int], levels: dict[tuple[int, int], StockLevel], now: datetime
) -> None:
    """Add ``merged`` to the locked levels' ``committed`` in one UPDATE (a CASE per level)."""
    deltas = {levels[pair].pk: qty for pair, qty in merged.items()}
    if not deltas:
        return
    if len(deltas) == 1:
        ((pk, qty),) = deltas.items()
        StockLevel.objects.filter(pk=pk).update(committed=F("committed") + qty, updated_at=now)
        return
    StockLevel.objects.filter(pk__in=list(deltas)).update(
        committed=F("committed")
        + Case(*(When(pk=pk, then=Value(qty)) for pk, qty in sorted(deltas.items()))),
        updated_at=now,
    )


def _own_holds_lock(*, hold_reference: str, now: datetime) -> list[StockHold]:
    """Lock the active holds of ``hold_reference`` (pk order), after the level locks; raises
    :class:`HoldNotActive` when none is left."""
    own = list(
        StockHold.objects.select_for_update(of=("self",))
        .filter(reference=hold_reference, status=StockHold.Status.ACTIVE, expires_at__gt=now)
        .select_related("stock")
        .order_by("pk")
    )
    if not own:
        raise HoldNotActive("The hold is no longer active: it expired, was released or was used.")
    return own


def _holds_consume(own: Sequence[StockHold], now: datetime) -> None:
    if own:
        StockHold.objects.filter(pk__in=[hold.pk for hold in own]).update(
            status=StockHold.Status.CONSUMED, updated_at=now
        )


def stock_commit(
    *, lines: Sequence[StockLine], reference: str, hold_reference: str | None = None
) -> None:
    """Allocate units to an order not yet fulfilled (all lines or none).

    With ``hold_reference`` the active holds of that reference are consumed: their units count
    as available to this commit, and they stop being holds. Held units the lines do not use go
    back to sale in the same transaction (the whole hold is consumed, so a hold is used once).
    Locks the lines' stock levels (pk order), then the hold's rows (pk order), so two commits
    naming the same hold queue up and the second finds it consumed. Raises
    :class:`InsufficientStock` (``shortages``) or :class:`HoldNotActive` when
    ``hold_reference`` has no active hold left (expired, released or already consumed).
    """
    merged = _merge_lines(lines)
    with transaction.atomic():
        levels = _stock_levels_lock(pairs=merged, create=False)
        # the clock is read after the lock: a commit that waited must not count a hold that
        # lapsed meanwhile (its unit may already be committed to someone else)
        now = timezone.now()
        own: list[StockHold] = []
        if hold_reference is not None:
            own = _own_holds_lock(hold_reference=hold_reference, now=now)
        _check_available(merged=merged, levels=levels, now=now, exclude_reference=hold_reference)
        _holds_consume(own, now)
        _committed_add(merged=merged, levels=levels, now=now)
        # the hold's unused units (other variants) came back to sale too
        _ats_record([v for v, _ in merged] + [hold.stock.variant_id for hold in own])


# ``source(available, held, now)`` of :func:`stock_commit_sourced`: ``available`` and ``held``
# map (variant_id, location_id) to units; ``now`` is the time read once the levels were locked.
# Returns the lines to commit.
StockSource = Callable[
    [Mapping[tuple[int, int], int], Mapping[tuple[int, int], int], datetime],
    Sequence[StockLine],
]


@dataclass(frozen=True)
class SourcedCommit:
    """What :func:`stock_commit_sourced` committed, and when (the time read under the lock:
    every unit counted was free at that moment)."""

    lines: list[StockLine]
    at: datetime


def stock_commit_sourced(
    *,
    pairs: Iterable[tuple[int, int]],
    source: StockSource,
    reference: str,
    hold_reference: str | None = None,
) -> SourcedCommit:
    """Allocate units to an order whose sources are chosen from the locked, current levels.

    Locks the stock levels of every candidate ``(variant_id, location_id)`` pair at once, in
    primary-key order (one lock round, so no lock-order inversion and no plan made on figures
    that can change before the commit), then the active holds of ``hold_reference`` (pk order;
    :class:`HoldNotActive` when none is left), reads what each locked level has available now
    (the caller's own held units count as available) and calls ``source(available, held, now)``:
    ``available`` maps each locked pair to its units (never below 0; pairs without a level are
    absent), ``held`` maps each pair of the caller's hold to its units, ``now`` is the clock read
    after the lock (what was counted free was free then). ``source`` returns the
    lines to commit (or raises, e.g. :class:`InsufficientStock` when the candidates really lack
    the units); they are checked against ``available`` and committed, the hold is consumed
    (unused held units back on sale) and ``stock.changed`` is recorded. Returns the merged lines
    committed with ``now``.

    Joins the caller's transaction without a savepoint (one is opened when there is none): a
    caller that catches an error from here must give up its transaction.
    """
    wanted = set(pairs)
    with transaction.atomic(savepoint=False):
        levels = _stock_levels_lock(pairs=wanted, create=False)
        now = timezone.now()  # after the lock, as in stock_commit
        own: list[StockHold] = []
        held: dict[tuple[int, int], int] = defaultdict(int)
        if hold_reference is not None:
            own = _own_holds_lock(hold_reference=hold_reference, now=now)
            for hold in own:
                held[(hold.stock.variant_id, hold.stock.location_id)] += hold.quantity
        available = {
            pair: max(units, 0)
            for pair, units in _available_under_lock(
                levels=levels, now=now, exclude_reference=hold_reference
            ).items()
        }
        lines = list(source(dict(available), dict(held), now))
        merged = _merge_lines(lines)
        unlocked = sorted(pair for pair in merged if pair not in levels)
        if unlocked:
            raise ValueError(f"source chose stock levels that were not locked: {unlocked}")
        _raise_if_short(
            [
                _shortage(v, loc, qty, available[(v, loc)])
                for (v, loc), qty in sorted(merged.items())
                if available[(v, loc)] < qty
            ]
        )
        _holds_consume(own, now)
        _committed_add(merged=merged, levels=levels, now=now)
        _ats_record([v for v, _ in merged] + [hold.stock.variant_id for hold in own])
    return SourcedCommit(
        lines=[StockLine(v, loc, qty) for (v, loc), qty in sorted(merged.items())], at=now
    )


def _committed_check(
    *, merged: dict[tuple[int, int], int], levels: dict[tuple[int, int], StockLevel]
) -> None:
    shortages = [
        _shortage(v, loc, qty, levels[(v, loc)].committed if (v, loc) in levels else 0)
        for (v, loc), qty in sorted(merged.items())
        if (v, loc) not in levels or levels[(v, loc)].committed < qty
    ]
    if shortages:
        raise InvalidQuantity("More units than are committed.", extra={"shortages": shortages})


def stock_release(*, lines: Sequence[StockLine], reference: str) -> None:
    """Give committed units back to sale (an order line cancelled). Locks levels in pk order.

    Raises :class:`InvalidQuantity` when a line releases more than is committed.
    """
    merged = _merge_lines(lines)
    with transaction.atomic():
        levels = _stock_levels_lock(pairs=merged, create=False)
        _committed_check(merged=merged, levels=levels)
        now = timezone.now()
        for pair, qty in merged.items():
            StockLevel.objects.filter(pk=levels[pair].pk).update(
                committed=F("committed") - qty, updated_at=now
            )
        _ats_record(v for v, _ in merged)


def stock_fulfil(
    *,
    lines: Sequence[StockLine],
    reference: str,
    actor: Actor = SYSTEM,
) -> list[StockMovement]:
    """Committed units leave the building (shipped or handed over): a ``sale`` movement each.

    Locks levels in pk order. Raises :class:`InvalidQuantity` when more than committed.
    """
    merged = _merge_lines(lines)
    with transaction.atomic():
        levels = _stock_levels_lock(pairs=merged, create=False)
        _committed_check(merged=merged, levels=levels)
        now = timezone.now()
        movements = []
        for pair, qty in sorted(merged.items()):
            level = levels[pair]
            StockLevel.objects.filter(pk=level.pk).update(
                on_hand=F("on_hand") - qty, committed=F("committed") - qty, updated_at=now
            )
            movements.append(
                StockMovement(
                    stock=level,
                    kind=Kind.SALE,
                    on_hand_delta=-qty,
                    reference_type=StockMovement.ReferenceType.ORDER,
                    reference=reference,
                    **actor.fields(),
                )
            )
        return StockMovement.objects.bulk_create(movements)


def stock_sell(
    *,
    lines: Sequence[StockLine],
    reference: str,
    actor: Actor = SYSTEM,
) -> list[StockMovement]:
    """Units sold over a store's counter leave at once (all lines or none): a ``sale`` movement
    each, never committed first. They must be free of commitments and other callers' holds
    (on hand - committed - reserved); safety stock may be sold, since it is kept back for
    exactly these walk-in customers. Locks the levels in pk order. Raises
    :class:`InsufficientStock` with per-line ``shortages`` (a variant the location never
    stocked has ``available`` 0) and writes nothing."""
    merged = _merge_lines(lines)
    with transaction.atomic():
        now = timezone.now()
        levels = _stock_levels_lock(pairs=merged, create=False)
        reserved = _reserved_by_level(level_ids=[lv.pk for lv in levels.values()], now=now)
        shortages = []
        for (v, loc), qty in sorted(merged.items()):
            level = levels.get((v, loc))
            free = level.on_hand - level.committed - reserved.get(level.pk, 0) if level else 0
            if free < qty:
                shortages.append(_shortage(v, loc, qty, free))
        _raise_if_short(shortages)
        movements = []
        for pair, qty in sorted(merged.items()):
            level = levels[pair]
            StockLevel.objects.filter(pk=level.pk).update(
                on_hand=F("on_hand") - qty, updated_at=now
            )
            movements.append(
                StockMovement(
                    stock=level,
                    kind=Kind.SALE,
                    on_hand_delta=-qty,
                    reference_type=StockMovement.ReferenceType.ORDER,
                    reference=reference,
                    **actor.fields(),
                )
            )
        created = StockMovement.objects.bulk_create(movements)
        _ats_record(v for v, _ in merged)
        return created


# --- ledger movements ---------------------------------------------------------------------------


def _movement_deltas(item: MovementInput) -> tuple[int, int]:
    kind, qty = item.kind, item.quantity
    if kind not in MANUAL_MOVEMENT_KINDS:
        raise InvalidQuantity(f"Movements of kind {kind!r} cannot be posted directly.")
    if kind == Kind.ADJUSTMENT:
        if qty == 0:
            raise InvalidQuantity("An adjustment must change the quantity.")
        if not item.reason.strip():
            raise InvalidQuantity("An adjustment needs a reason.")
        return qty, 0
    if qty <= 0:
        raise InvalidQuantity(f"A {kind} needs a positive quantity.")
    if kind in (Kind.RECEIPT, Kind.RETURN):
        return qty, 0
    if kind == Kind.DAMAGE:
        return -qty, qty
    return 0, -qty  # write_off


def _stock_audit(
    action: SensitiveAction,
    movement: StockMovement,
    actor: Actor,
    variant_id: int | None = None,
    location_id: int | None = None,
) -> None:
    """An audit log entry for a manual correction of on hand (the movement is its target)."""
    audit_record(
        action=action,
        actor=actor,
        target=movement,
        data={
            "variant_id": variant_id if variant_id is not None else movement.stock.variant_id,
            "location_id": location_id if location_id is not None else movement.stock.location_id,
            "on_hand_delta": movement.on_hand_delta,
        },
    )


def stock_movements_apply(
    *,
    movements: Sequence[MovementInput],
    actor: Actor = SYSTEM,
) -> list[StockMovement]:
    """Post relative movements to the ledger and the levels, all or none, recorded as made by
    ``actor``.

    Each movement may carry an ``idempotency_key``: a movement whose key is already in the ledger
    with the same content is not applied again (the stored one is returned); the same key with
    other content raises :class:`MovementIdempotencyConflict`. Locks the levels (pk order),
    creating missing ones. Raises :class:`InsufficientStock` when a line would take on hand
    below what is committed or damaged below zero.
    """
    prepared = [(item, *_movement_deltas(item)) for item in movements]
    keys = [item.idempotency_key for item in movements if item.idempotency_key]
    if len(keys) != len(set(keys)):
        raise MovementIdempotencyConflict("The same idempotency key is used twice in one request.")
    try:
        with transaction.atomic():
            levels = _stock_levels_lock(
                pairs={(item.variant_id, item.location_id) for item in movements}, create=True
            )
            existing = {
                m.idempotency_key: m for m in StockMovement.objects.filter(idempotency_key__in=keys)
            }
            result: list[StockMovement] = []
            to_create: list[StockMovement] = []
            totals: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
            for item, on_hand_delta, damaged_delta in prepared:
                pair = (item.variant_id, item.location_id)
                level = levels[pair]
                if item.idempotency_key and item.idempotency_key in existing:
                    stored = existing[item.idempotency_key]
                    if (
                        stored.stock_id,
                        stored.kind,
                        stored.on_hand_delta,
                        stored.damaged_delta,
                    ) != (level.pk, item.kind, on_hand_delta, damaged_delta):
                        raise MovementIdempotencyConflict(
                            f"Idempotency key {item.idempotency_key!r} was used for another "
                            "movement."
                        )
                    result.append(stored)
                    continue
                totals[pair][0] += on_hand_delta
                totals[pair][1] += damaged_delta
                movement = StockMovement(
                    stock=level,
                    kind=item.kind,
                    on_hand_delta=on_hand_delta,
                    damaged_delta=damaged_delta,
                    reason=item.reason,
                    reference=item.reference,
                    reference_type=item.reference_type,
                    idempotency_key=item.idempotency_key,
                    **actor.fields(),
                )
                to_create.append(movement)
                result.append(movement)
            _apply_totals(levels=levels, totals=totals)
            if len(to_create) > BULK_MOVEMENTS:
                bulk.create(to_create, StockMovement, history=False)  # COPY on PostgreSQL
            else:
                StockMovement.objects.bulk_create(to_create)
            for made in to_create:
                if made.kind == Kind.ADJUSTMENT:
                    _stock_audit(SensitiveAction.STOCK_ADJUST, made, actor)
            _ats_record(v for (v, _loc), (on_hand, _damaged) in totals.items() if on_hand)
            return result
    except IntegrityError as exc:
        if keys and StockMovement.objects.filter(idempotency_key__in=keys).exists():
            # a concurrent request recorded one of these keys first; a retry will replay it
            raise MovementIdempotencyConflict(
                "A movement with this idempotency key was recorded concurrently; retry."
            ) from exc
        raise


def _apply_totals(
    *, levels: dict[tuple[int, int], StockLevel], totals: dict[tuple[int, int], list[int]]
) -> None:
    shortages = []
    for (v, loc), (on_hand_delta, damaged_delta) in sorted(totals.items()):
        level = levels[(v, loc)]
        if max(level.on_hand + on_hand_delta, level.damaged + damaged_delta) > STOCK_COUNTER_MAX:
            raise InvalidQuantity(
                f"The movements would take a stock counter beyond {STOCK_COUNTER_MAX} units.",
                errors=[
                    {
                        "field": "movements",
                        "code": "max_value",
                        "message": f"on hand and damaged stay at most {STOCK_COUNTER_MAX}",
                    }
                ],
                extra={"variant_id": v, "location_id": loc},
            )
        if level.on_hand + on_hand_delta < level.committed:
            shortages.append(_shortage(v, loc, -on_hand_delta, level.on_hand - level.committed))
        elif level.damaged + damaged_delta < 0:
            shortages.append(_shortage(v, loc, -damaged_delta, level.damaged))
    _raise_if_short(shortages)
    now = timezone.now()
    changed = [(levels[pair].pk, *deltas) for pair, deltas in totals.items() if any(deltas)]
    if len(changed) > 1 and connection.vendor == "postgresql":
        # many levels (a receipt of a whole delivery): one statement, the deltas as arrays
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{StockLevel._meta.db_table}" AS s '
                "SET on_hand = s.on_hand + d.on_hand, damaged = s.damaged + d.damaged, "
                "updated_at = %s FROM unnest(%s::bigint[], %s::integer[], %s::integer[]) "
                "AS d(id, on_hand, damaged) WHERE s.id = d.id",
                [now, *(list(column) for column in zip(*changed, strict=True))],
            )
        return
    for pk, on_hand_delta, damaged_delta in changed:
        StockLevel.objects.filter(pk=pk).update(
            on_hand=F("on_hand") + on_hand_delta,
            damaged=F("damaged") + damaged_delta,
            updated_at=now,
        )


def stock_receive(
    *, lines: Sequence[StockLine], reference: str, actor: Actor = SYSTEM
) -> list[StockMovement]:
    """Goods received from a supplier: a ``receipt`` movement per line (levels locked, pk order)."""
    return stock_movements_apply(
        movements=[
            MovementInput(
                variant_id=line.variant_id,
                location_id=line.location_id,
                kind=Kind.RECEIPT,
                quantity=line.quantity,
                reference=reference,
                reference_type=StockMovement.ReferenceType.DOCUMENT,
            )
            for line in lines
        ],
        actor=actor,
    )


def stock_adjust(
    *,
    variant_id: int,
    location_id: int,
    delta: int,
    reason: str,
    reference: str = "",
    actor: Actor = SYSTEM,
) -> StockMovement:
    """Correct on hand by ``delta`` (signed) with a mandatory reason. Locks the level."""
    [movement] = stock_movements_apply(
        movements=[
            MovementInput(
                variant_id=variant_id,
                location_id=location_id,
                kind=Kind.ADJUSTMENT,
                quantity=delta,
                reason=reason,
                reference=reference,
            )
        ],
        actor=actor,
    )
    return movement


def stock_damage(
    *,
    variant_id: int,
    location_id: int,
    quantity: int,
    reason: str,
    actor: Actor = SYSTEM,
) -> StockMovement:
    """Move ``quantity`` units from on hand to damaged. Locks the level."""
    [movement] = stock_movements_apply(
        movements=[
            MovementInput(
                variant_id=variant_id,
                location_id=location_id,
                kind=Kind.DAMAGE,
                quantity=quantity,
                reason=reason,
            )
        ],
        actor=actor,
    )
    return movement


def stock_count(
    *,
    variant_id: int,
    location_id: int,
    on_hand: int,
    reason: str = "",
    reference: str = "",
    reference_type: str = "",
    actor: Actor = SYSTEM,
    current_check: Any = None,
) -> tuple[StockLevel, StockMovement | None]:
    """Set on hand to a counted absolute value; the difference is a ``count`` movement.

    ``current_check``, when given, is called with the locked level before anything is written
    (the API uses it for ``If-Match``); it may raise to abort. Locks the level (creating it).
    Raises :class:`InsufficientStock` when the count is below the committed units.
    Returns the refreshed level and the movement (``None`` when the count matched).
    """
    if on_hand < 0:
        raise InvalidQuantity("A count cannot be negative.")
    with transaction.atomic():
        levels = _stock_levels_lock(pairs=[(variant_id, location_id)], create=True)
        level = levels[(variant_id, location_id)]
        if current_check is not None:
            current_check(level)
        delta = on_hand - level.on_hand
        movement = None
        if delta:
            if on_hand < level.committed:
                _raise_if_short([_shortage(variant_id, location_id, level.committed, on_hand)])
            StockLevel.objects.filter(pk=level.pk).update(
                on_hand=F("on_hand") + delta, updated_at=timezone.now()
            )
            movement = StockMovement.objects.create(
                stock=level,
                kind=Kind.COUNT,
                on_hand_delta=delta,
                reason=reason,
                reference=reference,
                reference_type=reference_type,
                **actor.fields(),
            )
            _stock_audit(SensitiveAction.STOCK_COUNT, movement, actor, variant_id, location_id)
            _ats_record([variant_id])
        level.refresh_from_db()
        return level, movement


def stock_safety_set(*, variant_id: int, location_id: int, safety_stock: int) -> StockLevel:
    """Set the units kept back at a location (e.g. for walk-in shoppers). Locks the level."""
    if safety_stock < 0:
        raise InvalidQuantity("Safety stock cannot be negative.")
    with transaction.atomic():
        levels = _stock_levels_lock(pairs=[(variant_id, location_id)], create=True)
        level = levels[(variant_id, location_id)]
        StockLevel.objects.filter(pk=level.pk).update(
            safety_stock=safety_stock, updated_at=timezone.now()
        )
        _ats_record([variant_id])
        level.refresh_from_db()
        return level


def stock_safety_set_for_location(*, location_id: int, safety_stock: int) -> int:
    """Set the safety stock of every existing level at a location; returns how many changed.

    Locks those levels in pk order first, like every other multi-row stock write.
    """
    return stock_safety_set_for_locations(location_ids=[location_id], safety_stock=safety_stock)


def stock_safety_set_for_locations(*, location_ids: Sequence[int], safety_stock: int) -> int:
    """:func:`stock_safety_set_for_location` for several locations at once: each variant's
    availability (and its ``stock.changed`` event) is worked out once, not once per location."""
    if safety_stock < 0:
        raise InvalidQuantity("Safety stock cannot be negative.")
    with transaction.atomic():
        rows = list(
            StockLevel.objects.select_for_update(of=("self",))
            .filter(location_id__in=list(location_ids))
            .exclude(safety_stock=safety_stock)
            .order_by("pk")
            .values_list("pk", "variant_id")
        )
        now = timezone.now()
        changed = 0
        for start in range(0, len(rows), 5_000):  # keeps each statement's parameters few
            changed += StockLevel.objects.filter(
                pk__in=[pk for pk, _ in rows[start : start + 5_000]]
            ).update(safety_stock=safety_stock, updated_at=now)
        _ats_record(variant_id for _, variant_id in rows)
        return changed


# --- transfers ----------------------------------------------------------------------------------


def transfer_create(
    *,
    source_id: int,
    destination_id: int,
    lines: dict[int, int],
    reference: str = "",
    actor: Actor = SYSTEM,
    expected_at: datetime | None = None,
) -> Transfer:
    """A draft transfer of ``{variant_id: quantity}``; nothing moves until it is shipped.
    ``expected_at`` (when it should arrive) feeds the pickup promise dates of the destination."""
    if source_id == destination_id:
        raise InvalidTransferState("A transfer needs two different locations.")
    if not lines or any(qty <= 0 for qty in lines.values()):
        raise InvalidQuantity("A transfer needs lines with positive quantities.")
    missing_variants = set(lines) - set(
        Variant.objects.filter(pk__in=list(lines)).values_list("pk", flat=True)
    )
    missing_locations = {source_id, destination_id} - set(
        Location.objects.filter(pk__in=[source_id, destination_id]).values_list("pk", flat=True)
    )
    if missing_variants or missing_locations:
        raise UnknownStockItem(
            "Unknown "
            + "; ".join(
                part
                for part in (
                    f"variants {sorted(missing_variants)}" if missing_variants else "",
                    f"locations {sorted(missing_locations)}" if missing_locations else "",
                )
                if part
            )
            + "."
        )
    with transaction.atomic():
        transfer = Transfer.objects.create(
            source_id=source_id,
            destination_id=destination_id,
            reference=reference,
            expected_at=expected_at,
            **actor.fields(),
        )
        TransferLine.objects.bulk_create(
            TransferLine(transfer=transfer, variant_id=v, quantity=q)
            for v, q in sorted(lines.items())
        )
    return transfer


TRANSFER_REQUEST_MAX_LINES = 50
TRANSFER_REQUEST_MAX_QUANTITY = 999


def transfer_request(
    *, source_id: int, store_id: int, lines: dict[int, int], note: str = "", actor: Actor
) -> Transfer:
    """A store asks for stock from a warehouse or another store: a draft transfer from
    ``source_id`` to the store, for the inventory team to ship (or cancel) in the back office.

    ``lines`` is ``{variant_id: quantity}``. The reference says which store asked and why; the
    actor is the associate who asked. Nothing is reserved at the source until it ships. Raises
    :class:`TransferSameLocation` when the store asks itself, :class:`UnknownStockItem` for an
    unknown or inactive location or variant, :class:`InvalidQuantity` for no lines, too many or
    a quantity out of range; nothing is created then.
    """
    if source_id == store_id:
        raise TransferSameLocation(
            "A store cannot ask itself for a transfer: choose a warehouse or another store."
        )
    if not lines:
        raise InvalidQuantity("A transfer request needs at least one SKU and quantity.")
    if len(lines) > TRANSFER_REQUEST_MAX_LINES:
        raise InvalidQuantity(f"At most {TRANSFER_REQUEST_MAX_LINES} SKUs per request.")
    wrong = {v: q for v, q in lines.items() if not 1 <= q <= TRANSFER_REQUEST_MAX_QUANTITY}
    if wrong:
        raise InvalidQuantity(
            f"Quantities must be from 1 to {TRANSFER_REQUEST_MAX_QUANTITY}.",
            extra={"variant_ids": sorted(wrong)},
        )
    places = {
        loc.pk: loc for loc in Location.objects.filter(pk__in=[source_id, store_id], is_active=True)
    }
    if source_id not in places:
        raise UnknownStockItem("The chosen source is not an active location.")
    if store_id not in places or places[store_id].kind != Location.Kind.STORE:
        raise UnknownStockItem("Only an active store can ask for a transfer.")
    reference = f"requested by store {places[store_id].code}"
    if note.strip():
        reference = f"{reference}: {note.strip()}"[:255]
    return transfer_create(
        source_id=source_id,
        destination_id=store_id,
        lines=lines,
        reference=reference,
        actor=actor,
    )


def _transfer_lock(transfer_id: int) -> Transfer:
    return Transfer.objects.select_for_update(of=("self",)).get(pk=transfer_id)


def transfer_ship(*, transfer_id: int, actor: Actor = SYSTEM) -> Transfer:
    """Ship a draft: ``transfer_out`` at the source, ``incoming`` at the destination.

    Locks the transfer, then the source and destination levels (one pk-ordered lock). Units
    must be free at the source (on hand - committed - reserved); safety stock may travel.
    """
    with transaction.atomic():
        transfer = _transfer_lock(transfer_id)
        if transfer.status != Transfer.Status.DRAFT:
            raise InvalidTransferState(f"Only a draft can be shipped (it is {transfer.status}).")
        lines = list(transfer.lines.all())
        src, dst = transfer.source_id, transfer.destination_id
        levels = _stock_levels_lock(
            pairs=[(line.variant_id, loc) for line in lines for loc in (src, dst)], create=True
        )
        now = timezone.now()
        reserved = _reserved_by_level(level_ids=[lv.pk for lv in levels.values()], now=now)
        shortages = []
        for line in lines:
            level = levels[(line.variant_id, src)]
            free = level.on_hand - level.committed - reserved.get(level.pk, 0)
            if free < line.quantity:
                shortages.append(_shortage(line.variant_id, src, line.quantity, free))
        _raise_if_short(shortages)
        movements = []
        for line in lines:
            source_level = levels[(line.variant_id, src)]
            StockLevel.objects.filter(pk=source_level.pk).update(
                on_hand=F("on_hand") - line.quantity, updated_at=now
            )
            StockLevel.objects.filter(pk=levels[(line.variant_id, dst)].pk).update(
                incoming=F("incoming") + line.quantity, updated_at=now
            )
            movements.append(
                StockMovement(
                    stock=source_level,
                    kind=Kind.TRANSFER_OUT,
                    on_hand_delta=-line.quantity,
                    reference_type=StockMovement.ReferenceType.TRANSFER,
                    reference=str(transfer.pk),
                    **actor.fields(),
                )
            )
        StockMovement.objects.bulk_create(movements)
        transfer.status = Transfer.Status.SHIPPED
        transfer.shipped_at = now
        transfer.save(update_fields=["status", "shipped_at", "updated_at"])
        _ats_record(line.variant_id for line in lines)
        return transfer


def transfer_cancel(*, transfer_id: int) -> Transfer:
    """Cancel a draft transfer (nothing has moved yet). Locks the transfer."""
    with transaction.atomic():
        transfer = _transfer_lock(transfer_id)
        if transfer.status != Transfer.Status.DRAFT:
            raise InvalidTransferState(f"Only a draft can be cancelled (it is {transfer.status}).")
        transfer.status = Transfer.Status.CANCELLED
        transfer.save(update_fields=["status", "updated_at"])
        return transfer


def transfer_receive(
    *,
    transfer_id: int,
    received: dict[int, int],
    close: bool = False,
    actor: Actor = SYSTEM,
) -> Transfer:
    """Receive ``{variant_id: quantity}`` of a shipped transfer at its destination.

    Each receipt is a ``transfer_in`` movement and lowers ``incoming``. The transfer is received
    when every unit arrived, or when ``close`` is set: then whatever did not arrive is recorded as
    ``quantity_missing`` on its line (the discrepancy) and leaves ``incoming``. Locks the transfer,
    then the destination levels (pk order). Receiving more than is outstanding is refused.
    """
    if any(qty < 0 for qty in received.values()):
        raise InvalidQuantity("Received quantities cannot be negative.")
    with transaction.atomic():
        transfer = _transfer_lock(transfer_id)
        if transfer.status not in (Transfer.Status.SHIPPED, Transfer.Status.PARTIALLY_RECEIVED):
            raise InvalidTransferState(
                f"Only a shipped transfer can be received ({transfer.status})."
            )
        lines = {line.variant_id: line for line in transfer.lines.select_for_update(of=("self",))}
        unknown = set(received) - set(lines)
        if unknown:
            raise InvalidQuantity(f"Variants not on this transfer: {sorted(unknown)}.")
        over = [
            {
                "variant_id": v,
                "received": q,
                "outstanding": lines[v].quantity - lines[v].quantity_received,
            }
            for v, q in sorted(received.items())
            if q > lines[v].quantity - lines[v].quantity_received
        ]
        if over:
            raise InvalidQuantity("More received than outstanding.", extra={"lines": over})
        dst = transfer.destination_id
        levels = _stock_levels_lock(pairs=[(v, dst) for v in lines], create=True)
        now = timezone.now()
        movements = []
        for variant_id, line in sorted(lines.items()):
            got = received.get(variant_id, 0)
            outstanding_after = line.quantity - line.quantity_received - got
            missing = outstanding_after if close else 0
            if not got and not missing:
                continue
            level = levels[(variant_id, dst)]
            StockLevel.objects.filter(pk=level.pk).update(
                on_hand=F("on_hand") + got, incoming=F("incoming") - got - missing, updated_at=now
            )
            TransferLine.objects.filter(pk=line.pk).update(
                quantity_received=F("quantity_received") + got,
                quantity_missing=F("quantity_missing") + missing,
            )
            line.quantity_received += got
            line.quantity_missing += missing
            if got:
                movements.append(
                    StockMovement(
                        stock=level,
                        kind=Kind.TRANSFER_IN,
                        on_hand_delta=got,
                        reference_type=StockMovement.ReferenceType.TRANSFER,
                        reference=str(transfer.pk),
                        **actor.fields(),
                    )
                )
        StockMovement.objects.bulk_create(movements)
        done = all(
            ln.quantity_received + ln.quantity_missing == ln.quantity for ln in lines.values()
        )
        transfer.status = Transfer.Status.RECEIVED if done else Transfer.Status.PARTIALLY_RECEIVED
        if done:
            transfer.received_at = now
        transfer.save(update_fields=["status", "received_at", "updated_at"])
        _ats_record(ln.variant_id for ln in lines.values())
        return transfer


# --- drift --------------------------------------------------------------------------------------


def stock_drift_repair(*, stock_ids: Sequence[int]) -> int:
    """Set ``on_hand`` and ``damaged`` of the given levels to the sums of their movements.

    The ledger is the truth. Locks the levels (pk order) and recomputes under the lock; returns
    how many levels changed. A level whose ledger on hand is below its committed units cannot be
    repaired without cancelling allocations: it is left as it is (and keeps being reported).
    """
    with transaction.atomic():
        levels = list(
            StockLevel.objects.select_for_update(of=("self",))
            .filter(pk__in=list(stock_ids))
            .order_by("pk")
        )
        sums: dict[int, dict[str, Any]] = {
            row["stock_id"]: dict(row)
            for row in StockMovement.objects.filter(stock_id__in=[lv.pk for lv in levels])
            .values("stock_id")
            .annotate(on_hand=Sum("on_hand_delta"), damaged=Sum("damaged_delta"))
        }
        changed = 0
        repaired: list[int] = []
        now = timezone.now()
        for level in levels:
            row = sums.get(level.pk, {})
            on_hand, damaged = row.get("on_hand") or 0, row.get("damaged") or 0
            if on_hand < level.committed or on_hand < 0 or damaged < 0:
                continue
            if (level.on_hand, level.damaged) != (on_hand, damaged):
                StockLevel.objects.filter(pk=level.pk).update(
                    on_hand=on_hand, damaged=damaged, updated_at=now
                )
                changed += 1
                repaired.append(level.variant_id)
        _ats_record(repaired)
        return changed


# --- locations and staff ------------------------------------------------------------------------


@transaction.atomic
def channel_locations_set(*, channel_id: int, location_ids: Iterable[int]) -> None:
    """Make the channel sell from exactly these locations (adds and removes links)."""
    wanted = set(location_ids)
    links = ChannelLocation.objects.filter(channel_id=channel_id)
    links.exclude(location_id__in=wanted).delete()
    have = set(links.values_list("location_id", flat=True))
    ChannelLocation.objects.bulk_create(
        [ChannelLocation(channel_id=channel_id, location_id=lid) for lid in sorted(wanted - have)]
    )


@transaction.atomic
def location_upsert(*, code: str, **fields: Any) -> tuple[Location, bool]:
    """Create the location ``code`` or update its fields; returns it and whether it was created."""
    location, created = Location.objects.update_or_create(code=code, defaults=fields)
    location.full_clean()
    return location, created


def staff_member_assign(*, user_id: int, location: Location) -> StaffMember:
    """Make the staff user ``user_id`` a member of ``location`` (kept if they already are); their
    other memberships stay. A store manager is assigned several stores this way."""
    member, _ = StaffMember.objects.get_or_create(user_id=user_id, location=location)
    return member


def staff_member_remove(*, user_id: int, location: Location) -> int:
    """End the staff user's membership of ``location``; returns how many were removed (0 or 1)."""
    removed, _ = StaffMember.objects.filter(user_id=user_id, location=location).delete()
    return removed
