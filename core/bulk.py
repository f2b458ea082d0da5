"""Bulk writes for imports, feeds and fan-out: ``COPY`` on PostgreSQL, Django's bulk
statements elsewhere.

Django's ``bulk_create`` prepares every value through the field (``get_db_prep_save``) and, on
PostgreSQL, sends each batch as ``UNNEST`` arrays that psycopg dumps in Python; together that is
most of an import's time. Here the rows go through one ``COPY ... FROM STDIN`` per table, with
the primary keys taken from the table's sequence in one statement first, so that history rows and
foreign keys can point at them without reading the rows back. Updates go through a temporary
table filled by ``COPY`` and one ``UPDATE ... FROM``.

History rows are the same rows ``simple_history``'s ``bulk_history_create`` would write (tracked
fields, ``history_date``, ``history_type``, ``history_user`` and change reason), without building
a historical model instance for each.

SQLite (tests, development) keeps Django's code paths: ``bulk_create_with_history`` and
``executemany`` updates.

Timestamps: by default the ``auto_now``/``auto_now_add`` fields of new rows are set to the
present (``now``), as a save would. ``timestamps="given"`` writes the values the instances
already hold instead (a past written as it happened, e.g. the demo's order history); every such
field must then be set, or nothing is written. The fields themselves are never changed, so other
code running at the same time still stamps as usual.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any, Literal

from django.db import connection, transaction
from django.db.models import JSONField, Model
from django.db.models.constants import OnConflict
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

BATCH = 2000
Timestamps = Literal["now", "given"]


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _converter(field: Any) -> Callable[[Any], Any] | None:
    """A value converter for COPY's text format (None when the Python value can go as is)."""
    if isinstance(field, JSONField):
        encoder = field.encoder

        def dump(value: Any) -> Any:
            return None if value is None else json.dumps(value, cls=encoder)

        return dump
    return None


def _copy(table: str, columns: Sequence[Any], rows: Sequence[Sequence[Any]]) -> None:
    names = ", ".join(f'"{name}"' for name in columns)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's cursor under Django's wrapper
        with raw.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)


def _next_ids(model: type[Model], count: int) -> list[int]:
    table = model._meta.db_table
    pk = model._meta.pk.column  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, pk, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _stamped(fields: Sequence[Any]) -> list[Any]:
    return [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]


def _timestamps_apply(
    objs: Sequence[Any], fields: Sequence[Any], timestamps: Timestamps, now: datetime
) -> None:
    """Stamp the ``auto_now``/``auto_now_add`` fields with ``now``, or (``"given"``) check that
    every instance holds a value for each; raises ``ValueError`` before anything is written."""
    stamped = _stamped(fields)
    if timestamps == "now":
        for obj in objs:
            for field in stamped:
                setattr(obj, field.attname, now)
        return
    if timestamps != "given":
        raise ValueError(f'timestamps must be "now" or "given", not {timestamps!r}.')
    for field in stamped:
        if any(getattr(obj, field.attname) is None for obj in objs):
            raise ValueError(
                f"{field.model.__name__}.{field.name} is not given on every instance "
                '(timestamps="given" writes the values the instances hold).'
            )


def _insert_as_given(objs: list[Any], model: type[Model], *, ignore_conflicts: bool) -> None:
    """SQLite: Django's ``INSERT`` in raw mode, which takes every value from the instance as it
    is (what ``loaddata`` does) instead of calling ``pre_save``, the step that stamps
    ``auto_now`` fields. Without ``ignore_conflicts`` the instances get their primary keys."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
    queryset: Any = model._base_manager.using(connection.alias)  # _insert: Django's own step
    size = min(BATCH, max(connection.ops.bulk_batch_size(fields, objs), 1))
    for start in range(0, len(objs), size):
        part = objs[start : start + size]
        if ignore_conflicts:
            queryset._insert(part, fields=fields, raw=True, on_conflict=OnConflict.IGNORE)
            continue
        rows = queryset._insert(
            part, fields=fields, raw=True, returning_fields=model._meta.db_returning_fields
        )
        for obj, row in zip(part, rows or [], strict=True):
            obj.pk = row[0]
            obj._state.adding = False
            obj._state.db = connection.alias


def create(
    objs: list[Any],
    model: type[Model],
    *,
    history: bool = True,
    now: datetime | None = None,
    timestamps: Timestamps = "now",
) -> list[Any]:
    """Insert ``objs`` (unsaved instances) and, with ``history``, their ``+`` history rows. The
    instances get their primary keys. ``auto_now``/``auto_now_add`` fields are set to ``now``,
    or with ``timestamps="given"`` written as the instances hold them (see the module's
    docstring); the history rows are dated ``now`` either way."""
    if not objs:
        return objs
    now = now or timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    _timestamps_apply(objs, fields, timestamps, now)
    if not is_postgresql():
        if timestamps == "given":
            with transaction.atomic():
                _insert_as_given(objs, model, ignore_conflicts=False)
                if history:
                    history_create(objs, model, history_type="+", change_reason=None, date=now)
            return objs
        if history:
            return list(bulk_create_with_history(objs, model, batch_size=BATCH))
        return model._default_manager.bulk_create(objs, batch_size=BATCH)  # type: ignore[attr-defined]
    ids = _next_ids(model, len(objs))
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
    pk_column = model._meta.pk.column  # type: ignore[union-attr]
    converters = [_converter(f) for f in fields]
    attnames = [f.attname for f in fields]
    _copy(
        model._meta.db_table,
        [pk_column, *(f.column for f in fields)],
        _rows(objs, ["pk", *attnames], [None, *converters]),
    )
    if history:
        history_create(objs, model, history_type="+", change_reason=None, date=now)
    return objs


def _rows(
    objs: Sequence[Any], attnames: Sequence[str], converters: Sequence[Callable[[Any], Any] | None]
) -> list[tuple[Any, ...]]:
    """The values of ``attnames`` of every instance, converted where a converter is given. The
    values are read by one ``attrgetter`` per instance (in C): on a large history this loop is
    a good part of the time spent in Python."""
    get = attrgetter(*attnames)
    rows = [get(obj) for obj in objs] if len(attnames) > 1 else [(get(obj),) for obj in objs]
    converting = [(i, convert) for i, convert in enumerate(converters) if convert is not None]
    if not converting:
        return rows
    converted = []
    for row in rows:
        values = list(row)
        for i, convert in converting:
            values[i] = convert(values[i])
        converted.append(tuple(values))
    return converted


def create_rows(
    model: type[Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    pks: bool = True,
) -> list[int]:
    """Insert ``rows``, each a tuple of the values of ``fields`` (attnames: ``order_id``, not
    ``order``) in that order, without history rows, and return the new primary keys in the
    rows' order (``pks=False``: none, the database numbers the rows and nothing is read back).

    For writers of hundreds of thousands of rows whose values are plain data already (the demo's
    order history): building a model instance per row costs more than writing it. Values are
    written as given, with no field's ``pre_save``: an ``auto_now``/``auto_now_add`` field in
    ``fields`` keeps the value given (the past as it happened, like ``timestamps="given"``);
    one left out is set to the present, and every other field left out takes its default, as a
    new instance would hold it. PostgreSQL: one ``COPY``; elsewhere through :func:`create`, an
    instance per row."""
    if not rows:
        return []
    now = timezone.now()
    concrete = {f.attname: f for f in model._meta.concrete_fields}
    unknown = [name for name in fields if name not in concrete]
    if unknown:
        raise ValueError(f"{model.__name__} has no column {', '.join(unknown)} (give attnames).")
    given = [concrete[name] for name in fields]
    named = {f.attname for f in given}
    rest = [f for f in model._meta.concrete_fields if not f.primary_key and f.attname not in named]
    stamped = _stamped(rest)
    defaults = {f.attname: now if f in stamped else f.get_default() for f in rest}
    if not is_postgresql():
        objs = [model(**dict(zip(fields, row, strict=True)), **defaults) for row in rows]
        create(objs, model, history=False, timestamps="given")
        return [obj.pk for obj in objs] if pks else []
    converters = [(i, convert) for i, f in enumerate(given) if (convert := _converter(f))]
    constants = tuple(
        convert(defaults[f.attname]) if (convert := _converter(f)) else defaults[f.attname]
        for f in rest
    )
    if converters:
        rows = [_converted(row, converters) for row in rows]
    columns = [*(f.column for f in given), *(f.column for f in rest)]
    if not pks:
        _copy(model._meta.db_table, columns, [(*row, *constants) for row in rows] if rest else rows)
        return []
    ids = _next_ids(model, len(rows))
    pk_column = model._meta.pk.column  # type: ignore[union-attr]
    _copy(
        model._meta.db_table,
        [pk_column, *columns],
        [(pk, *row, *constants) for pk, row in zip(ids, rows, strict=True)],
    )
    return ids


def _converted(
    row: Sequence[Any], converters: Sequence[tuple[int, Callable[[Any], Any]]]
) -> tuple[Any, ...]:
    values = list(row)
    for i, convert in converters:
        values[i] = convert(values[i])
    return tuple(values)


def history_create(
    objs: Sequence[Any],
    model: type[Model],
    *,
    history_type: str,
    change_reason: str | None,
    date: datetime | None = None,
) -> None:
    """The history rows of ``objs`` (saved instances), as ``bulk_history_create`` writes them."""
    manager = model.history  # type: ignore[attr-defined]
    if not objs:
        return
    if not is_postgresql():
        manager.bulk_history_create(
            list(objs), batch_size=BATCH, update=history_type == "~", default_date=date
        )
        return
    historical = manager.model
    date = date or timezone.now()
    user = historical.get_default_history_user(objs[0])
    user_id = getattr(user, "pk", None)
    tracked = {f.attname for f in historical.tracked_fields}
    fields = [f for f in historical._meta.concrete_fields if f.attname in tracked]
    converters = [_converter(f) for f in fields]
    extra = [("history_date", date), ("history_type", history_type), ("history_user_id", user_id)]
    columns = [f.column for f in fields] + [name for name, _ in extra] + ["history_change_reason"]
    values = [value for _, value in extra]
    rows = [
        (
            *row,
            values[0],
            values[1],
            getattr(getattr(obj, "_history_user", None), "pk", user_id),
            getattr(obj, "_change_reason", None) or change_reason,
        )
        for row, obj in zip(_rows(objs, [f.attname for f in fields], converters), objs, strict=True)
    ]
    _copy(historical._meta.db_table, columns, rows)


def _update_pg(objs: Sequence[Any], model: type[Model], columns: list[Any]) -> None:
    table = model._meta.db_table
    converters = [_converter(c) for c in columns]
    temp = f"_import_{table}"
    types = [c.db_type(connection) for c in columns]
    with connection.cursor() as cursor:
        definition = ", ".join(f'"{c.column}" {t}' for c, t in zip(columns, types, strict=True))
        cursor.execute(f'CREATE TEMP TABLE "{temp}" (pk bigint, {definition}) ON COMMIT DROP')
    _copy(
        temp,
        ["pk", *(c.column for c in columns)],
        _rows(objs, ["pk", *(c.attname for c in columns)], [None, *converters]),
    )
    sets = ", ".join(f'"{c.column}" = t."{c.column}"' for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f'UPDATE "{table}" SET {sets} FROM "{temp}" t WHERE "{table}".id = t.pk')
        cursor.execute(f'DROP TABLE "{temp}"')


def _with_default_language_columns(model: type[Model], fields: Sequence[str]) -> list[str]:
    """A translated field (django-modeltranslation) is stored twice in the default language: in
    its original column and in ``<field>_<default language>``; writing one means writing both,
    or the instance (which reads the language column) and the original column (which search
    reads) drift apart."""
    from modeltranslation.settings import DEFAULT_LANGUAGE
    from modeltranslation.translator import NotRegistered, translator

    try:
        translated = translator.get_options_for_model(model).all_fields
    except NotRegistered:
        return list(fields)
    extra = [
        f"{name}_{DEFAULT_LANGUAGE}"
        for name in fields
        if name in translated and f"{name}_{DEFAULT_LANGUAGE}" not in fields
    ]
    return [*fields, *extra]


def update(
    objs: Sequence[Any],
    model: type[Model],
    fields: Sequence[str],
    *,
    history: bool = True,
    date: datetime | None = None,
) -> None:
    """Write ``fields`` of ``objs`` (saved instances, already changed in memory), then their
    ``~`` history rows."""
    if not objs:
        return
    fields = _with_default_language_columns(model, fields)
    columns: list[Any] = [model._meta.get_field(name) for name in fields]
    table = model._meta.db_table
    if is_postgresql():
        with transaction.atomic():  # the temporary table lives until the end of a transaction
            _update_pg(objs, model, columns)
    else:
        sets = ", ".join(f'"{c.column}" = %s' for c in columns)
        rows = [
            [c.get_db_prep_save(getattr(obj, c.attname), connection) for c in columns] + [obj.pk]
            for obj in objs
        ]
        with connection.cursor() as cursor:
            cursor.executemany(f'UPDATE "{table}" SET {sets} WHERE "id" = %s', rows)
    if history:
        history_create(objs, model, history_type="~", change_reason="", date=date)


def create_ignore_conflicts(
    objs: list[Any], model: type[Model], *, timestamps: Timestamps = "now"
) -> None:
    """Insert ``objs`` and skip those a unique constraint already holds (``ON CONFLICT DO
    NOTHING``). PostgreSQL: one ``COPY`` into a temporary table and one ``INSERT ... SELECT``;
    elsewhere Django's ``bulk_create(ignore_conflicts=True)``. Primary keys are not set.
    ``timestamps`` as for :func:`create`."""
    if not objs:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    _timestamps_apply(objs, fields, timestamps, timezone.now())
    if not is_postgresql():
        if timestamps == "given":
            _insert_as_given(objs, model, ignore_conflicts=True)
            return
        model._default_manager.bulk_create(objs, batch_size=BATCH, ignore_conflicts=True)  # type: ignore[attr-defined]
        return
    with transaction.atomic():  # the temporary table lives until the end of a transaction
        _insert_ignoring_pg(objs, model, fields)


def _insert_ignoring_pg(objs: list[Any], model: type[Model], fields: list[Any]) -> None:
    table = model._meta.db_table
    temp = f"_new_{table}"
    columns = ", ".join(f'"{f.column}"' for f in fields)
    with connection.cursor() as cursor:
        definition = ", ".join(f'"{f.column}" {f.db_type(connection)}' for f in fields)
        cursor.execute(f'CREATE TEMP TABLE "{temp}" ({definition}) ON COMMIT DROP')
    _copy(
        temp,
        [f.column for f in fields],
        _rows(objs, [f.attname for f in fields], [_converter(f) for f in fields]),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM "{temp}" '
            "ON CONFLICT DO NOTHING"
        )
        cursor.execute(f'DROP TABLE "{temp}"')
