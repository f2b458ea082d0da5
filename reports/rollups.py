"""Keeping the rollup tables current (``rollups_update``, from the outbox) and rebuilding them
from scratch (``rollups_rebuild``).

The update reads change events after its cursor, finds the orders, customers and variants they
touch, computes those orders' facts again (``reports.facts``) and applies the difference with
what the order added last (``OrderContribution``) as increments. Applying a difference, not the
event, makes it idempotent: an event read twice, or an order touched by ten events, adds what
changed once. Everything of one batch (increments, facts, cursor) commits in one transaction,
so a crash never counts twice, and one runner at a time holds the cursor row (the others return
0 at once).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TextIO, cast

from django.db import connection, models, transaction
from django.utils import timezone

from catalog.models import Variant
from core.models import ChangeEvent
from core.outbox.services import event_positions_assign
from inventory.models import StockLevel, StockMovement
from orders.models import Fulfillment, Order, OrderLine, TimelineEvent
from reports import facts as F
from reports.models import (
    CustomerFact,
    DailyChannelSales,
    DailyCustomerOrders,
    DailyOrders,
    DailyReturnReason,
    DailySales,
    FulfilmentTiming,
    MonthlyProductChannelSales,
    MonthlyProductSales,
    OrderContribution,
    RollupCursor,
    StockCurrent,
    StockSnapshot,
)

CURSOR = "main"
# stock movements that count as received (the snapshots' ``received``, ``last_received_on``)
RECEIPT_KINDS = (StockMovement.Kind.RECEIPT.value, StockMovement.Kind.TRANSFER_IN.value)
REBUILD_BATCH = 2000
# the rebuild reads the orders in larger batches: fewer round trips, the same facts
REBUILD_READ_BATCH = 10_000
WRITE_BATCH = 500

ORDER_AGGREGATE_TOPICS = ("order.", "fulfillment.", "return.", "refund.")

# fact table name -> (model, key columns, figure columns)
TABLES: dict[str, tuple[type[models.Model], tuple[str, ...], tuple[str, ...]]] = {
    "sales": (
        DailySales,
        ("day", "channel_id", "location_id", "variant_id", "currency"),
        F.SALES_FIGURES,
    ),
    "orders": (DailyOrders, ("day", "channel_id", "location_id", "currency"), F.ORDERS_FIGURES),
    "reasons": (
        DailyReturnReason,
        ("day", "channel_id", "location_id", "variant_id", "reason"),
        F.REASONS_FIGURES,
    ),
    "customers": (
        DailyCustomerOrders,
        ("day", "channel_id", "location_id", "currency", "customer_id"),
        F.CUSTOMERS_FIGURES,
    ),
}

Key = tuple[Any, ...]


# --- facts as figures -------------------------------------------------------------------------


def _parse(
    rows: Iterable[Sequence[Any]], key_size: int, figures: Sequence[str]
) -> dict[Key, list[Any]]:
    out: dict[Key, list[Any]] = {}
    for row in rows:
        key = (date.fromisoformat(row[0]), *row[1:key_size])
        values = [
            int(v) if name in F.INT_FIGURES else Decimal(v)
            for name, v in zip(figures, row[key_size:], strict=True)
        ]
        out[key] = values
    return out


def _accumulate(
    into: dict[str, dict[Key, list[Any]]], facts: F.OrderFacts, *, sign: int = 1
) -> None:
    for table, (_model, key_columns, figures) in TABLES.items():
        target = into[table]
        for key, values in _parse(facts.get(table, []), len(key_columns), figures).items():
            current = target.get(key)
            if current is None:
                target[key] = [v * sign for v in values]
            else:
                target[key] = [c + v * sign for c, v in zip(current, values, strict=True)]


def _nonzero(table: dict[Key, list[Any]]) -> dict[Key, list[Any]]:
    return {key: values for key, values in table.items() if any(values)}


def _increments_apply(table: str, deltas: dict[Key, list[Any]]) -> int:
    """Add ``deltas`` to the rollup rows (created when missing) with one upsert per chunk:
    ``INSERT ... ON CONFLICT (key) DO UPDATE SET x = table.x + excluded.x`` (PostgreSQL and
    SQLite)."""
    model, key_columns, figures = TABLES[table]
    rows = list(_nonzero(deltas).items())
    if not rows:
        return 0
    name = model._meta.db_table
    columns = [*key_columns, *figures]
    sets = ", ".join(f'"{c}" = "{name}"."{c}" + excluded."{c}"' for c in figures)
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    insert = ", ".join(f'"{c}"' for c in columns)
    conflict = ", ".join(f'"{c}"' for c in key_columns)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), WRITE_BATCH):
            chunk = rows[start : start + WRITE_BATCH]
            params: list[Any] = []
            for key, values in chunk:
                params.extend(key)
                params.extend(values)
            cursor.execute(
                f'INSERT INTO "{name}" ({insert}) VALUES '
                + ", ".join([placeholder] * len(chunk))
                + f" ON CONFLICT ({conflict}) DO UPDATE SET {sets}",
                params,
            )
    return len(rows)


# --- bulk writes -------------------------------------------------------------------------------


def _copy(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    names = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's cursor under Django's wrapper
        with raw.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)


def _bulk_write(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert plain rows: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere. ``columns`` are
    attribute names that are also the column names (``channel_id``...)."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        prepared: Sequence[Sequence[Any]] = rows
        json_columns = [
            i
            for i, c in enumerate(columns)
            if isinstance(model._meta.get_field(c), models.JSONField)
        ]
        if json_columns:
            prepared = [
                tuple(json.dumps(v) if i in json_columns else v for i, v in enumerate(row))
                for row in rows
            ]
        _copy(model._meta.db_table, columns, prepared)
        return
    model._default_manager.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=WRITE_BATCH
    )


# --- derived sales rollups ---------------------------------------------------------------------

# per daily row: the revenue of the units whose cost was known (margin is taken from it), the
# same expression as ``reports.selectors`` sums over the daily rows of a range's ends
COSTED_REVENUE_SQL = (
    "CASE WHEN s.units_costed = s.units_sold THEN s.revenue WHEN s.units_costed = 0 THEN 0 "
    "ELSE {revenue} * s.units_costed / s.units_sold END"
)


def costed_revenue_sql() -> str:
    """The SQL of the costed revenue of a ``DailySales`` row aliased ``s`` (SQLite keeps money
    as numbers that may be integers: cast, or the division would be an integer one)."""
    revenue = "CAST(s.revenue AS REAL)" if connection.vendor == "sqlite" else "s.revenue"
    return COSTED_REVENUE_SQL.format(revenue=revenue)


def _month_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(date_trunc('month', {column}) AS date)"
    return f"date({column}, 'start of month')"


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _derived_write(
    model: type[models.Model],
    key_sql: Sequence[tuple[str, str]],
    *,
    joins: str = "",
    where: str = "",
    params: Sequence[Any] = (),
) -> int:
    """``INSERT INTO model (keys, figures, costed_revenue) SELECT keys, SUM(figures)... FROM
    DailySales s {joins} WHERE {where} GROUP BY keys``, leaving out the daily rows whose
    figures are all zero (an order cancelled after it was counted leaves one behind)."""
    figures = F.SALES_FIGURES
    columns = [column for column, _ in key_sql] + list(figures) + ["costed_revenue"]
    selects = [expression for _, expression in key_sql]
    selects += [f's."{name}"' for name in figures]
    nonzero = " OR ".join(f's."{name}" <> 0' for name in figures)
    group = ", ".join(expression for _, expression in key_sql)
    sums = ", ".join(f'SUM(s."{name}")' for name in figures)
    insert = ", ".join(f'"{column}"' for column in columns)
    sql = (
        f'INSERT INTO "{model._meta.db_table}" ({insert}) '
        f"SELECT {group}, {sums}, SUM({costed_revenue_sql()}) "
        f'FROM "{DailySales._meta.db_table}" s {joins} '
        f"WHERE ({nonzero}) {('AND ' + where) if where else ''} "
        f"GROUP BY {group}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return int(cursor.rowcount)


def _channel_sales_write(days: Sequence[date] | None) -> int:
    """Write ``DailyChannelSales`` again for these days (every day when None) from the daily
    rows."""
    rows = DailyChannelSales.objects.all()
    where, params = "", cast(list[Any], [])
    if days is not None:
        if not days:
            return 0
        rows = rows.filter(day__in=days)
        where, params = f"s.day IN ({_placeholders(days)})", list(days)
    rows.delete()
    return _derived_write(
        DailyChannelSales,
        [
            ("day", "s.day"),
            ("channel_id", "s.channel_id"),
            ("location_id", "s.location_id"),
            ("currency", "s.currency"),
        ],
        where=where,
        params=params,
    )


def _product_sales_write(months: Sequence[date] | None, product_ids: Sequence[int] | None) -> int:
    """Write ``MonthlyProductChannelSales`` (and ``MonthlyProductSales``) again for these
    months and products (all when None) from the daily rows; returns the rows of the first."""
    rows = MonthlyProductSales.objects.all()
    per_channel = MonthlyProductChannelSales.objects.all()
    conditions: list[str] = []
    params: list[Any] = []
    if months is not None:
        if not months:
            return 0
        rows = rows.filter(month__in=months)
        per_channel = per_channel.filter(month__in=months)
        # the range first (the day index), then the months themselves
        last = max(months)
        end = (last.replace(day=28) + timedelta(days=4)).replace(day=1)
        conditions.append(f"s.day >= %s AND s.day < %s AND {_month_sql('s.day')} IN ")
        conditions[-1] += f"({_placeholders(months)})"
        params += [min(months), end, *months]
    if product_ids is not None:
        if not product_ids:
            return 0
        rows = rows.filter(product_id__in=product_ids)
        per_channel = per_channel.filter(product_id__in=product_ids)
        conditions.append(f"v.product_id IN ({_placeholders(product_ids)})")
        params += list(product_ids)
    rows.delete()
    per_channel.delete()
    keys = [
        ("month", _month_sql("s.day")),
        ("channel_id", "s.channel_id"),
        ("location_id", "s.location_id"),
        ("product_id", "v.product_id"),
        ("currency", "s.currency"),
    ]
    options: dict[str, Any] = {
        "joins": f'JOIN "{Variant._meta.db_table}" v ON v.id = s.variant_id',
        "where": " AND ".join(conditions),
        "params": params,
    }
    # MonthlyProductSales only for the release before (docs/reports.md): nothing reads it
    _derived_write(MonthlyProductSales, keys, **options)
    without_location = [key for key in keys if key[0] != "location_id"]
    return _derived_write(MonthlyProductChannelSales, without_location, **options)


def sales_derived_write(keys: Iterable[Key] | None = None) -> tuple[int, int]:
    """Write the rollups derived from ``DailySales`` (``DailyChannelSales``,
    ``MonthlyProductChannelSales``) again where daily rows of these keys (``(day, channel, location,
    variant, currency)``) may have changed, or everywhere when ``keys`` is None: the days of the
    keys for the first, their months x products for the second. Writing them again from the
    daily rows, instead of adding differences, keeps them equal to the sums of ``DailySales``
    by construction. Returns the rows written."""
    if keys is None:
        return _channel_sales_write(None), _product_sales_write(None, None)
    keys = list(keys)
    if not keys:
        return 0, 0
    days = sorted({key[0] for key in keys})
    variants = sorted({key[3] for key in keys})
    products = sorted(
        set(Variant.objects.filter(id__in=variants).values_list("product_id", flat=True))
    )
    months = sorted({_month_start(day) for day in days})
    return _channel_sales_write(days), _product_sales_write(months, products)


# --- timing, customers, stock ------------------------------------------------------------------

TIMING_COLUMNS = (
    "fulfillment_id",
    "order_id",
    "channel_id",
    "location_id",
    "method",
    "status",
    "placed_at",
    "ready_at",
    "done_at",
    "cancelled_at",
)
CUSTOMER_COLUMNS = (
    "customer_id",
    "currency",
    "first_order_at",
    "last_order_at",
    "orders",
    "channels",
    "channel_count",
    "lifetime_value",
)


def _timings_write(order_ids: Sequence[int], *, replace: bool) -> int:
    if replace:
        FulfilmentTiming.objects.filter(order_id__in=order_ids).delete()
    rows = [
        tuple(getattr(row, c) for c in TIMING_COLUMNS) for row in F.fulfilment_timings(order_ids)
    ]
    _bulk_write(FulfilmentTiming, TIMING_COLUMNS, rows)  # type: ignore[arg-type]
    return len(rows)


def _timings_rebuild() -> int:
    """Every timing row in one ``INSERT ... SELECT``: what ``reports.facts.fulfilment_timings``
    computes per batch of orders (the first ready, done and cancel event of each fulfilment; a
    carried-out sale is ready and done when carried out), for the rebuild."""

    def kinds(values: Iterable[str]) -> str:
        return ", ".join(f"'{value}'" for value in values)

    ready = kinds([*F.READY_KINDS, TimelineEvent.Kind.CARRIED_OUT])
    done, cancel = kinds(F.DONE_KINDS), kinds(F.CANCEL_KINDS)
    every = kinds({*F.READY_KINDS, *F.DONE_KINDS, *F.CANCEL_KINDS})
    columns = ", ".join(TIMING_COLUMNS)
    sql = (
        f'INSERT INTO "{FulfilmentTiming._meta.db_table}" ({columns}) '
        "SELECT f.id, f.order_id, o.channel_id, f.location_id, f.method, f.status, o.placed_at, "
        "t.ready_at, t.done_at, t.cancelled_at "
        f'FROM "{Fulfillment._meta.db_table}" f '
        f'JOIN "{Order._meta.db_table}" o ON o.id = f.order_id '
        "LEFT JOIN (SELECT e.fulfillment_id, "
        f"MIN(CASE WHEN e.kind IN ({ready}) THEN e.created_at END) AS ready_at, "
        f"MIN(CASE WHEN e.kind IN ({done}) THEN e.created_at END) AS done_at, "
        f"MIN(CASE WHEN e.kind IN ({cancel}) THEN e.created_at END) AS cancelled_at "
        f'FROM "{TimelineEvent._meta.db_table}" e '
        f"WHERE e.fulfillment_id IS NOT NULL AND e.kind IN ({every}) "
        "GROUP BY e.fulfillment_id) t ON t.fulfillment_id = f.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return int(cursor.rowcount)


def _customers_write(customer_ids: Sequence[int] | None) -> int:
    if customer_ids is None:
        found = F.customer_facts(None)
    else:
        CustomerFact.objects.filter(customer_id__in=customer_ids).delete()
        found = F.customer_facts(customer_ids)
    rows = [
        (
            c.customer_id,
            c.currency,
            c.first_order_at,
            c.last_order_at,
            c.orders,
            c.channels,
            len(c.channels),
            c.lifetime_value,
        )
        for c in found
    ]
    _bulk_write(CustomerFact, CUSTOMER_COLUMNS, rows)  # type: ignore[arg-type]
    return len(rows)


def _stock_snapshots_write(variant_ids: Sequence[int] | None, since: date | None) -> int:
    """Write the snapshots of these variants (all when None) for the days from ``since`` (all
    days when None) from the stock ledger, in one ``INSERT ... SELECT``: per level and day with
    movements, the end-of-day on hand (what the movements before ``since`` left, plus a running
    sum of the day totals), the units received that day (``RECEIPT_KINDS``: receipts and
    transfers in) and the day of the latest receipt so far. Only the movements from ``since``
    are summed per day, so an update touching a few days does not walk a variant's whole
    history day by day."""
    snapshots = StockSnapshot.objects.all()
    if variant_ids is not None:
        if not variant_ids:
            return 0
        snapshots = snapshots.filter(variant_id__in=variant_ids)
    if since is not None:
        snapshots = snapshots.filter(day__gte=since)
    snapshots.delete()
    movement = StockMovement._meta.db_table
    level = StockLevel._meta.db_table
    if connection.vendor == "postgresql":
        day = "(m.created_at AT TIME ZONE 'UTC')::date"
    else:
        day = "date(m.created_at)"
    # stock arriving: bought in (receipt) or sent from another location (transfer_in); a store
    # stocked by transfers is not aged stock
    kinds = ", ".join(f"'{kind}'" for kind in RECEIPT_KINDS)
    receipt = f"m.kind IN ({kinds}) AND m.on_hand_delta > 0"
    variant_filter, variant_params = "", cast(list[Any], [])
    if variant_ids is not None:
        variant_filter = "AND s.variant_id IN (" + ", ".join(["%s"] * len(variant_ids)) + ")"
        variant_params = list(variant_ids)
    params: list[Any] = []
    if since is None:
        base = (
            "SELECT CAST(NULL AS BIGINT) AS stock_id, 0 AS on_hand_before, "
            "CAST(NULL AS DATE) AS last_receipt_before"
        )
    else:
        base = (
            f"SELECT m.stock_id, SUM(m.on_hand_delta) AS on_hand_before, "
            f"MAX(CASE WHEN {receipt} THEN {day} END) AS last_receipt_before "
            f'FROM "{movement}" m JOIN "{level}" s ON s.id = m.stock_id '
            f"WHERE {day} < %s {variant_filter} GROUP BY m.stock_id"
        )
        params.extend([since, *variant_params])
    days_filter = "" if since is None else f"AND {day} >= %s"
    # in the order of the placeholders: the day totals' filters, then the base's
    params = [*variant_params, *([since] if since is not None else []), *params]
    sql = (
        f'INSERT INTO "{StockSnapshot._meta.db_table}" '
        "(day, variant_id, location_id, on_hand, received, last_received_on) "
        "SELECT d.day, d.variant_id, d.location_id, "
        "COALESCE(b.on_hand_before, 0) + SUM(d.delta) OVER w, d.received, "
        "COALESCE(MAX(CASE WHEN d.received > 0 THEN d.day END) OVER w, b.last_receipt_before) "
        f"FROM (SELECT {day} AS day, s.id AS stock_id, s.variant_id, s.location_id, "
        "SUM(m.on_hand_delta) AS delta, "
        f"SUM(CASE WHEN {receipt} THEN m.on_hand_delta ELSE 0 END) AS received "
        f'FROM "{movement}" m JOIN "{level}" s ON s.id = m.stock_id '
        f"WHERE 1 = 1 {variant_filter} {days_filter} "
        f"GROUP BY {day}, s.id, s.variant_id, s.location_id) d "
        f"LEFT JOIN ({base}) b ON b.stock_id = d.stock_id "
        "WINDOW w AS (PARTITION BY d.stock_id ORDER BY d.day)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written = int(cursor.rowcount)
    stock_current_write(variant_ids)
    return written


def stock_current_write(variant_ids: Sequence[int] | None = None) -> int:
    """Write ``StockCurrent`` again for these variants (all when None): the latest snapshot of
    each of their levels. One ``INSERT ... SELECT``."""
    rows = StockCurrent.objects.all()
    where, params = "", cast(list[Any], [])
    if variant_ids is not None:
        if not variant_ids:
            return 0
        rows = rows.filter(variant_id__in=variant_ids)
        where, params = f"WHERE s.variant_id IN ({_placeholders(variant_ids)})", list(variant_ids)
    rows.delete()
    sql = (
        f'INSERT INTO "{StockCurrent._meta.db_table}" '
        "(variant_id, location_id, day, on_hand, last_received_on) "
        "SELECT variant_id, location_id, day, on_hand, last_received_on FROM ("
        "SELECT s.variant_id, s.location_id, s.day, s.on_hand, s.last_received_on, "
        "ROW_NUMBER() OVER (PARTITION BY s.variant_id, s.location_id ORDER BY s.day DESC) AS n "
        f'FROM "{StockSnapshot._meta.db_table}" s {where}) latest WHERE n = 1'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


# --- update ------------------------------------------------------------------------------------


def _cursor_lock(*, wait: bool) -> RollupCursor | None:
    RollupCursor.objects.bulk_create([RollupCursor(name=CURSOR)], ignore_conflicts=True)
    rows = RollupCursor.objects.filter(name=CURSOR)
    return rows.select_for_update(skip_locked=not wait).first()


@dataclass
class _Touched:
    order_numbers: set[str] = field(default_factory=set)
    customer_ids: set[int] = field(default_factory=set)
    variant_ids: set[int] = field(default_factory=set)


def _touched(events: Sequence[tuple[Any, ...]]) -> _Touched:
    touched = _Touched()
    for _position, topic, aggregate, aggregate_id, payload in events:
        if aggregate == "order" and topic.startswith(ORDER_AGGREGATE_TOPICS):
            touched.order_numbers.add(aggregate_id)
        elif topic == "stock.changed" and aggregate == "variant":
            touched.variant_ids.add(int(aggregate_id))
        elif topic == "customer.updated":
            for key in ("id", "merged_into"):
                value = (payload or {}).get(key)
                if value:
                    touched.customer_ids.add(int(value))
            if aggregate == "customer" and aggregate_id.isdigit():
                touched.customer_ids.add(int(aggregate_id))
    return touched


def _orders_apply(order_ids: Sequence[int]) -> set[int]:
    """Apply the difference between the orders' facts now and what they added last; returns the
    customers concerned (before and after)."""
    customers: set[int] = set()
    sales_keys: set[Key] = set()
    for start in range(0, len(order_ids), REBUILD_BATCH):
        chunk = order_ids[start : start + REBUILD_BATCH]
        new = F.order_facts(chunk)
        old = dict(
            OrderContribution.objects.filter(order_id__in=chunk).values_list("order_id", "facts")
        )
        deltas: dict[str, dict[Key, list[Any]]] = defaultdict(dict)
        for order_id in chunk:
            if order_id in old:
                _accumulate(deltas, old[order_id], sign=-1)
                if old[order_id].get("customer"):
                    customers.add(int(old[order_id]["customer"]))
            if order_id in new:
                _accumulate(deltas, new[order_id])
                if new[order_id].get("customer"):
                    customers.add(int(new[order_id]["customer"]))
        for table in TABLES:
            _increments_apply(table, deltas[table])
        sales_keys.update(_nonzero(deltas["sales"]))
        OrderContribution.objects.filter(order_id__in=chunk).delete()
        OrderContribution.objects.bulk_create(
            [OrderContribution(order_id=oid, facts=facts) for oid, facts in new.items()],
            batch_size=WRITE_BATCH,
        )
        _timings_write(chunk, replace=True)
    sales_derived_write(sales_keys)
    return customers


def _update_batch(batch_size: int) -> int | None:
    with transaction.atomic():
        cursor = _cursor_lock(wait=False)
        if cursor is None:
            return None  # another runner holds the cursor
        rows = list(
            ChangeEvent.objects.filter(position__gt=cursor.position)
            .order_by("position")
            .values_list("position", "topic", "aggregate", "aggregate_id", "payload", "created_at")[
                :batch_size
            ]
        )
        if not rows:
            return 0
        touched = _touched([row[:5] for row in rows])
        event_orders = set(
            Order.objects.filter(number__in=touched.order_numbers).values_list("id", flat=True)
        )
        customers = set(touched.customer_ids)
        customers.update(
            Order.objects.filter(id__in=event_orders, customer_id__isnull=False).values_list(
                "customer_id", flat=True
            )
        )
        # every order of those customers: which of them is the first order (new versus
        # returning) can change with a merge or an order placed with an earlier date
        orders = event_orders | set(
            Order.objects.filter(customer_id__in=customers).values_list("id", flat=True)
        )
        customers |= _orders_apply(sorted(orders))
        _customers_write(sorted(customers))
        variants = set(touched.variant_ids)
        variants.update(
            OrderLine.objects.filter(order_id__in=event_orders).values_list("variant_id", flat=True)
        )
        if variants:
            # the movements of an event's transaction are stamped just before the event
            since = min(row[5] for row in rows).astimezone(F.UTC).date() - timedelta(days=1)
            _stock_snapshots_write(sorted(variants), since)
        cursor.position = int(rows[-1][0] or 0)
        cursor.save(update_fields=["position", "updated_at"])
        return len(rows)


def rollups_update(*, batch_size: int = 5000) -> int:
    """Bring the rollups up to date with the outbox; returns how many events were read (0 when
    another runner holds the cursor). Each batch is one transaction."""
    event_positions_assign()
    read = 0
    while True:
        batch = _update_batch(batch_size)
        if batch is None:
            return read
        read += batch
        if batch < batch_size:
            return read


# --- rebuild -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RebuildResult:
    orders: int
    daily_sales: int
    daily_orders: int
    return_reasons: int
    timings: int
    customers: int
    stock_snapshots: int
    position: int
    seconds: float
    customer_orders: int = 0
    channel_sales: int = 0
    product_sales: int = 0


def _truncate() -> None:
    models_ = [
        DailySales,
        DailyChannelSales,
        MonthlyProductSales,
        MonthlyProductChannelSales,
        DailyOrders,
        DailyReturnReason,
        DailyCustomerOrders,
        StockSnapshot,
        StockCurrent,
        FulfilmentTiming,
        CustomerFact,
        OrderContribution,
    ]
    if connection.vendor == "postgresql":
        tables = ", ".join(f'"{m._meta.db_table}"' for m in models_)
        with connection.cursor() as cursor:
            # rows written earlier in the caller's transaction leave deferred foreign key checks
            # pending, and TRUNCATE refuses tables with pending checks: run them first
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {tables}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    else:
        for model in models_:
            model._default_manager.all().delete()


def _rebuild_settings() -> None:
    """PostgreSQL, for the rest of the rebuild's transaction: no JIT compilation (the sums of
    the contributions' fact rows are estimated at a hundred rows per order, so the planner
    compiles them, which takes seconds and saves nothing on a few hundred thousand rows), and
    room to group those rows in memory instead of on disk."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")


def _contributions_rebuild(order_ids: Sequence[int], say: Callable[[str], None]) -> dict[str, int]:
    """Write every order's ``OrderContribution`` and the daily tables as their sums; returns
    the rows written per table of ``TABLES``. The orders are read in batches of consecutive ids
    (``order_ids`` is every order, in id order), each batch by its id range."""
    sums_in_sql = connection.vendor == "postgresql"
    totals: dict[str, dict[Key, list[Any]]] = defaultdict(dict)
    now = timezone.now()
    first = F.first_orders(None)
    for start in range(0, len(order_ids), REBUILD_READ_BATCH):
        chunk = order_ids[start : start + REBUILD_READ_BATCH]
        found = F.order_facts_between(chunk[0], chunk[-1], first=first)
        if not sums_in_sql:
            for facts in found.values():
                _accumulate(totals, facts)
        _bulk_write(
            OrderContribution,
            ("order_id", "facts", "updated_at"),
            [(oid, facts, now) for oid, facts in found.items()],
        )
        if (start // REBUILD_READ_BATCH) % 4 == 3:
            say(f"{start + len(chunk)} of {len(order_ids)} orders")
    counts: dict[str, int] = {}
    for table, (model, key_columns, figures) in TABLES.items():
        if sums_in_sql:
            counts[table] = _contributions_sum_write(table)
            continue
        rows = [(*key, *values) for key, values in _nonzero(totals[table]).items()]
        _bulk_write(model, [*key_columns, *figures], rows)
        counts[table] = len(rows)
    return counts


def _contributions_sum_write(table: str) -> int:
    """PostgreSQL: write the rollup table of ``TABLES[table]`` as the sums of the fact rows of
    that table in every ``OrderContribution`` (``facts -> table``: ``[key..., figure...]``),
    leaving out the keys whose figures all sum to zero, in one ``INSERT ... SELECT``. The same
    sums ``_accumulate`` and ``_nonzero`` make in Python (exact: integers and numerics), without
    reading 800,000 fact rows back into Python and copying 600,000 rows out again; and the
    tables are by construction the sums of the contributions the update diffs against."""
    model, key_columns, figures = TABLES[table]

    def element(position: int, sql_type: str) -> str:
        return f"CAST(r.value ->> {position} AS {sql_type})"

    keys = [
        element(i, "date" if c == "day" else "bigint" if c.endswith("_id") else "text")
        for i, c in enumerate(key_columns)
    ]
    sums = [
        f"SUM({element(i, 'bigint' if name in F.INT_FIGURES else 'numeric')})"
        for i, name in enumerate(figures, len(key_columns))
    ]
    columns = ", ".join(f'"{c}"' for c in [*key_columns, *figures])
    sql = (
        f'INSERT INTO "{model._meta.db_table}" ({columns}) '
        f"SELECT {', '.join([*keys, *sums])} "
        f'FROM "{OrderContribution._meta.db_table}" c '
        "CROSS JOIN LATERAL jsonb_array_elements(c.facts -> %s) r "
        f"GROUP BY {', '.join(str(i) for i in range(1, len(keys) + 1))} "
        f"HAVING {' OR '.join(f'{total} <> 0' for total in sums)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [table])
        return int(cursor.rowcount)


def rollups_rebuild(*, stdout: TextIO | None = None) -> RebuildResult:
    """Recompute every rollup from the orders, returns, refunds, timeline and stock ledger, in
    one transaction (readers see the old figures until it commits), and set the cursor to the
    last event position: later events are applied as differences from there."""
    started = time.monotonic()

    def say(message: str) -> None:
        if stdout is not None:
            stdout.write(f"[{time.monotonic() - started:6.1f}s] {message}\n")

    event_positions_assign()
    with transaction.atomic():
        cursor = _cursor_lock(wait=True)
        assert cursor is not None
        position: int = (
            ChangeEvent.objects.filter(position__isnull=False).aggregate(
                last=models.Max("position")
            )["last"]
            or 0
        )
        _truncate()
        _rebuild_settings()
        order_ids = list(Order.objects.order_by("id").values_list("id", flat=True))
        counts = _contributions_rebuild(order_ids, say)
        timings = _timings_rebuild()
        say(f"{len(order_ids)} orders: {counts} rollup rows, {timings} timings")
        channel_sales, product_sales = sales_derived_write(None)
        say(f"{channel_sales} daily channel sales, {product_sales} monthly product sales")
        customers = _customers_write(None)
        say(f"{customers} customer facts")
        snapshots = _stock_snapshots_write(None, None)
        say(f"{snapshots} stock snapshots")
        cursor.position = position
        cursor.rebuilt_at = timezone.now()
        cursor.save(update_fields=["position", "rebuilt_at", "updated_at"])
    result = RebuildResult(
        orders=len(order_ids),
        daily_sales=counts["sales"],
        daily_orders=counts["orders"],
        return_reasons=counts["reasons"],
        timings=timings,
        customers=customers,
        stock_snapshots=snapshots,
        position=int(position),
        seconds=round(time.monotonic() - started, 2),
        customer_orders=counts["customers"],
        channel_sales=channel_sales,
        product_sales=product_sales,
    )
    say(f"done: {result}")
    return result
