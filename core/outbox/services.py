"""Writing change events. Call ``event_record`` inside the transaction that makes the change.

After the transaction commits, every function registered with ``relay_hook_register`` runs (the
channels app registers its relay kick there in ``ready()``), so domain apps never import the app
that delivers their events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db import connection, transaction

from core import bulk
from core.models import ChangeEvent, ObjectSequence

_relay_hooks: list[Callable[[], None]] = []
COPY_FROM = 100  # event_record_many writes more events than this by COPY on PostgreSQL


class OutsideTransaction(RuntimeError):
    """An event recorded outside a transaction could be lost or outlive a rolled-back change."""


def relay_hook_register(hook: Callable[[], None]) -> None:
    """Run ``hook`` after each commit that recorded events (idempotent registration)."""
    if hook not in _relay_hooks:
        _relay_hooks.append(hook)


def _relay_kick() -> None:
    for hook in list(_relay_hooks):
        hook()


def _sequence_next(aggregate: str, aggregate_id: str) -> int:
    """Bump and return the object's sequence in one statement (PostgreSQL and SQLite >= 3.35).

    The upsert takes a row lock on the object's sequence row, so two transactions changing the
    same object get consecutive numbers in commit order.
    """
    table = ObjectSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (aggregate, aggregate_id, last) VALUES (%s, %s, 1) "
            f"ON CONFLICT (aggregate, aggregate_id) DO UPDATE SET last = {table}.last + 1 "
            "RETURNING last",
            [aggregate, aggregate_id],
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def sequences_lock(*, aggregate: str, object_ids: Iterable[Any], batch_size: int = 500) -> None:
    """Lock the event sequence rows of these objects, in id order, creating missing ones.

    Call it inside the transaction, before reading the figures an event will carry: a concurrent
    transaction changing the same object waits here until it commits, so what is read next
    includes its change and the event numbered last is never older than one numbered before it.
    A no-op upsert (``last = last``) takes the row lock without using up a sequence number.
    """
    if not connection.in_atomic_block:
        raise OutsideTransaction("sequences_lock must be called inside transaction.atomic()")
    ids = sorted({str(object_id) for object_id in object_ids}, key=lambda v: (len(v), v))
    table = ObjectSequence._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(ids), batch_size):
            chunk = ids[start : start + batch_size]
            params: list[Any] = []
            for object_id in chunk:
                params.extend([aggregate, object_id])
            cursor.execute(
                f"INSERT INTO {table} (aggregate, aggregate_id, last) VALUES "
                + ", ".join(["(%s, %s, 0)"] * len(chunk))
                + f" ON CONFLICT (aggregate, aggregate_id) DO UPDATE SET last = {table}.last",
                params,
            )


def event_record_many(
    *,
    topic: str,
    aggregate: str,
    payloads: Mapping[Any, Mapping[str, Any]],
    channel_code: str = "",
    batch_size: int = 500,
) -> int:
    """Record one event per object (``payloads`` maps object id -> payload) in few statements.
    For imports and bulk actions; same guarantees as ``event_record``. Returns how many events
    were recorded. On PostgreSQL two statements whatever the number: the sequences are bumped by
    one upsert with the ids as an array (in the order given) and the events are written by one
    insert (by ``COPY`` beyond ``COPY_FROM`` events); elsewhere one multi-row upsert and one
    insert per ``batch_size`` objects."""
    if not connection.in_atomic_block:
        raise OutsideTransaction("event_record_many must be called inside transaction.atomic()")
    items = [(str(object_id), dict(payload)) for object_id, payload in payloads.items()]
    if not items:
        return 0
    table = ObjectSequence._meta.db_table
    upsert = (
        f"ON CONFLICT (aggregate, aggregate_id) DO UPDATE SET last = {table}.last + 1 "
        "RETURNING aggregate_id, last"
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (aggregate, aggregate_id, last) "
                "SELECT %s, t.id, 1 FROM unnest(%s::text[]) WITH ORDINALITY AS t(id, n) "
                f"ORDER BY t.n {upsert}",
                [aggregate, [object_id for object_id, _payload in items]],
            )
            sequences = {str(object_id): int(last) for object_id, last in cursor.fetchall()}
        events = _events(
            items, sequences, topic=topic, aggregate=aggregate, channel_code=channel_code
        )
        if len(events) > COPY_FROM:
            bulk.create(events, ChangeEvent, history=False)
        else:  # COPY costs a round trip more than one INSERT (the ids come first)
            ChangeEvent.objects.bulk_create(events)
    else:
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            params: list[Any] = []
            for object_id, _payload in chunk:
                params.extend([aggregate, object_id])
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {table} (aggregate, aggregate_id, last) VALUES "
                    + ", ".join(["(%s, %s, 1)"] * len(chunk))
                    + f" {upsert}",
                    params,
                )
                sequences = {str(object_id): int(last) for object_id, last in cursor.fetchall()}
            ChangeEvent.objects.bulk_create(
                _events(
                    chunk, sequences, topic=topic, aggregate=aggregate, channel_code=channel_code
                )
            )
    transaction.on_commit(_relay_kick)
    return len(items)


def _events(
    items: list[tuple[str, dict[str, Any]]],
    sequences: dict[str, int],
    *,
    topic: str,
    aggregate: str,
    channel_code: str,
) -> list[ChangeEvent]:
    return [
        ChangeEvent(
            topic=topic,
            aggregate=aggregate,
            aggregate_id=object_id,
            sequence=sequences[object_id],
            channel_code=channel_code,
            payload=payload,
        )
        for object_id, payload in items
    ]


def event_record(
    *,
    topic: str,
    aggregate: str,
    aggregate_id: str | int,
    payload: Mapping[str, Any],
    channel_code: str = "",
) -> ChangeEvent:
    """Record one change event in the caller's transaction; the relay is kicked after commit.

    Raises ``OutsideTransaction`` when called in autocommit mode: the event must commit or roll
    back together with the change it describes.
    """
    if not connection.in_atomic_block:
        raise OutsideTransaction("event_record must be called inside transaction.atomic()")
    object_id = str(aggregate_id)
    event = ChangeEvent.objects.create(
        topic=topic,
        aggregate=aggregate,
        aggregate_id=object_id,
        sequence=_sequence_next(aggregate, object_id),
        channel_code=channel_code,
        payload=dict(payload),
    )
    transaction.on_commit(_relay_kick)
    return event


# PostgreSQL advisory lock key (transaction level) that serializes position assigners ("outbox").
POSITION_LOCK_KEY = 0x6F7574626F78
POSITION_BATCH = 10_000


def event_positions_assign(*, batch_size: int = POSITION_BATCH) -> int:
    """Give every committed event without a ``position`` the next positions, in id order; returns
    how many were assigned. Call it outside a transaction (the relay and the POS feed do, before
    they read): each batch is its own short transaction.

    Gap-free by construction: assigners are serialized by a transaction-level advisory lock
    (PostgreSQL) that is released only after the assigning transaction commits, and each batch is
    one ``UPDATE`` numbering from the highest position it sees. A reader that sees position ``p``
    therefore sees every position below it, and an event that becomes visible later (a slow
    transaction) gets a higher position than any assigned before: a cursor never passes an event
    it has not served. Rows another transaction has locked (the relay marking them relayed) are
    skipped, not waited for; they get a later position on the next run. SQLite has one writer at
    a time, so the same statement needs no lock there. One query when nothing is pending.
    """
    pending = ChangeEvent.objects.filter(position__isnull=True)
    if not pending.exists():
        return 0
    table = ChangeEvent._meta.db_table
    postgres = connection.vendor == "postgresql"
    skip_locked = " FOR UPDATE SKIP LOCKED" if postgres else ""
    statement = (
        f"UPDATE {table} SET position = numbered.base + numbered.n "
        "FROM (SELECT pending.id, ROW_NUMBER() OVER (ORDER BY pending.id) AS n, "
        f"(SELECT COALESCE(MAX(position), 0) FROM {table}) AS base "
        f"FROM (SELECT id FROM {table} WHERE position IS NULL ORDER BY id LIMIT %s{skip_locked}) "
        f"AS pending) AS numbered WHERE {table}.id = numbered.id"
    )
    assigned = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if postgres:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [POSITION_LOCK_KEY])
            cursor.execute(statement, [batch_size])
            batch = cursor.rowcount
        assigned += batch
        if batch < batch_size:
            return assigned
