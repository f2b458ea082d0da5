"""What each order adds to the rollups, computed from the order tables in a constant number of
queries per batch (never one query per order).

One definition, shared by the incremental writer (``rollups_update``: it diffs the facts with
what was applied last, ``OrderContribution``) and the rebuild (``rollups_rebuild``: it sums
them). Facts are JSON (money as strings) because ``OrderContribution.facts`` keeps them.

The semantics are those of docs/reports.md: sales on the day the order was placed at the
line's location (its first fulfilment line), returns on the day received at the return's
location, refunds on the day refunded, days in UTC. Money refunded is in the basis of gross
sales (tax included only where the order's prices include tax), so that net sales subtract
like from like. A customer's *new* order is their first order in that currency that was not
cancelled, as in ``CustomerFact``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import F, Min, Q, Window
from django.db.models.functions import RowNumber

from core.models import Channel
from orders.models import (
    Fulfillment,
    FulfillmentLine,
    Order,
    OrderLine,
    Refund,
    RefundLine,
    Return,
    ReturnLine,
    TimelineEvent,
)

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
ZERO = Decimal("0")

# Column order of the fact rows (the key columns first, then the figures).
SALES_KEY = ("day", "channel", "location", "variant", "currency")
SALES_FIGURES = (
    "units_sold",
    "gross",
    "discount",
    "tax",
    "revenue",
    "cost",
    "units_costed",
    "units_returned",
    "refunded",
    "refunded_tax",
)
ORDERS_KEY = ("day", "channel", "location", "currency")
ORDERS_FIGURES = (
    "orders",
    "orders_cancelled",
    "units",
    "subtotal",
    "discount",
    "shipping",
    "tax",
    "total",
    "new_customer_orders",
    "returning_customer_orders",
    "guest_orders",
    "refunded_shipping",
)
REASONS_KEY = ("day", "channel", "location", "variant", "reason")
REASONS_FIGURES = ("units",)
# orders of known customers (not guests), not cancelled, per day, channel, location, currency
CUSTOMERS_KEY = ("day", "channel", "location", "currency", "customer")
CUSTOMERS_FIGURES = ("orders",)
INT_FIGURES = frozenset(
    {
        "units_sold",
        "units_costed",
        "units_returned",
        "orders",
        "orders_cancelled",
        "units",
        "new_customer_orders",
        "returning_customer_orders",
        "guest_orders",
    }
)
# A table's facts: key tuple -> figures (ints or Decimals, in the order of the table's figure
# names), before they are made JSON. The day in a key is already its ISO string.
Key = tuple[Any, ...]
Figures = list[Any]
Table = dict[Key, Figures]
OrderFacts = dict[str, Any]  # {"customer": id | None, "sales": [...], "orders": [...], ...}
# Which rows of a query belong to the batch: ``scope(field)`` is the condition on the field that
# holds the order id (an id list for the update, an id range for the rebuild).
OrderScope = Callable[[str], Q]

# positions of the figures that are not added together with those before them
_RETURNED = SALES_FIGURES.index("units_returned")
_REFUNDED = SALES_FIGURES.index("refunded")  # then refunded_tax
_REFUNDED_SHIPPING = ORDERS_FIGURES.index("refunded_shipping")


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _share(amount: Decimal, units: int, quantity: int) -> Decimal:
    if not quantity:
        return ZERO
    return (amount * units / quantity).quantize(CENT, rounding=ROUND_HALF_UP)


def _add(table: Table, key: Key, size: int, start: int, values: Sequence[Any]) -> None:
    """Add ``values`` to the figures of ``key`` from position ``start``. A new row takes the
    values as given and zeros elsewhere, as the facts have always been summed (so that the
    stored facts stay exactly what they were, down to the sign of a zero)."""
    row = table.get(key)
    if row is None:
        row = table[key] = [0] * size
        row[start : start + len(values)] = values
        return
    for position, value in enumerate(values, start):
        row[position] += value


def _sort_key(key: Key) -> tuple[str, ...]:
    return tuple(map(str, key))


def _money(value: Decimal | int) -> str:
    return str(Decimal(value).quantize(CENT))


def _rows(table: Table, figure_names: Sequence[str]) -> list[list[Any]]:
    """The JSON form: ``[key..., figure...]`` per key, in a stable order (the key's parts
    compared as strings); Decimals as strings with two decimals."""
    if not table:
        return []
    keys = list(table)
    if len(keys) > 1:
        keys.sort(key=_sort_key)
    converters = [int if name in INT_FIGURES else _money for name in figure_names]
    return [
        [*key, *[convert(value) for convert, value in zip(converters, table[key], strict=True)]]
        for key in keys
    ]


def first_orders(customer_ids: Iterable[int] | None) -> dict[tuple[int, str], int]:
    """(customer id, currency) -> id of the customer's first order in that currency that was
    not cancelled (smallest ``(placed_at, id)``), for every customer when ``customer_ids`` is
    None (the rebuild reads them once instead of per batch). One query.

    Cancelled orders are left out because ``CustomerFact`` leaves them out: a customer whose
    first order was cancelled becomes a customer with the next one. Per currency because the
    customer facts and the daily orders are per currency: the first order in a currency is the
    one that makes the customer new in that currency's figures."""
    orders = Order.objects.filter(customer_id__isnull=False)
    if customer_ids is not None:
        ids = sorted(set(customer_ids))
        if not ids:
            return {}
        orders = orders.filter(customer_id__in=ids)
    ranked = (
        orders.exclude(status=Order.Status.CANCELLED)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("customer_id"), F("currency")],
                order_by=[F("placed_at").asc(), F("id").asc()],
            )
        )
        .filter(rank=1)
        .values_list("customer_id", "currency", "id")
    )
    return {
        (int(customer_id), str(currency)): int(order_id)
        for customer_id, currency, order_id in ranked
    }


def order_facts(
    order_ids: Sequence[int], *, first: dict[tuple[int, str], int] | None = None
) -> dict[int, OrderFacts]:
    """The facts of each order (missing orders are left out). Seven queries whatever the count
    (six when ``first``, what ``first_orders`` answers for the orders' customers, is given)."""
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    return _order_facts(lambda field: Q(**{f"{field}__in": ids}), first)


def order_facts_between(
    first_id: int, last_id: int, *, first: dict[tuple[int, str], int]
) -> dict[int, OrderFacts]:
    """The facts of every order whose id is from ``first_id`` to ``last_id``, the same as
    ``order_facts`` of those ids, in six queries. For the rebuild, which reads every order in id
    order: a range costs nothing per order, where a list of ids is turned into SQL by Django
    and psycopg one id at a time, in every query (a third of the rebuild's time)."""
    return _order_facts(
        lambda field: Q(**{f"{field}__gte": first_id, f"{field}__lte": last_id}), first
    )


def _order_facts(
    scope: OrderScope, first: dict[tuple[int, str], int] | None
) -> dict[int, OrderFacts]:
    """The facts of the orders of ``scope``. Rows are read as tuples and each order's day,
    channel and currency worked out once, not per line: the rebuild computes 200,000 orders'
    facts this way."""
    # order id -> (day placed, channel, currency, prices include tax), and the daily orders'
    # figures of the order
    heads: dict[int, tuple[str, int, str, bool]] = {}
    totals: dict[int, tuple[Any, ...]] = {}
    customers: dict[int, int | None] = {}
    for (
        order_id,
        channel_id,
        customer_id,
        currency,
        status,
        placed_at,
        include_tax,
        *money,
    ) in Order.objects.filter(scope("id")).values_list(
        "id",
        "channel_id",
        "customer_id",
        "currency",
        "status",
        "placed_at",
        "prices_include_tax",
        "subtotal",
        "discount_total",
        "shipping_total",
        "tax_total",
        "total",
    ):
        heads[order_id] = (utc_day(placed_at).isoformat(), channel_id, currency, include_tax)
        totals[order_id] = (status, *money)
        customers[order_id] = customer_id
    if not heads:
        return {}
    # line id -> location of its first fulfilment line; order id -> its first fulfilment's
    line_location: dict[int, int] = {}
    for line_id, location_id in (
        FulfillmentLine.objects.filter(scope("order_line__order_id"))
        .order_by("id")
        .values_list("order_line_id", "fulfillment__location_id")
    ):
        line_location.setdefault(line_id, location_id)
    order_location: dict[int, int] = {}
    for order_id, location_id in (
        Fulfillment.objects.filter(scope("order_id"))
        .order_by("id")
        .values_list("order_id", "location_id")
    ):
        order_location.setdefault(order_id, location_id)
    if first is None:
        first = first_orders({c for c in customers.values() if c is not None})

    sales: dict[int, Table] = defaultdict(dict)
    reasons: dict[int, Table] = defaultdict(dict)
    units_by_order: dict[int, int] = defaultdict(int)
    line_of: dict[int, tuple[int, int]] = {}  # line id -> (order id, variant id)
    sales_size = len(SALES_FIGURES)
    for (
        line_id,
        order_id,
        variant_id,
        quantity,
        quantity_cancelled,
        unit_price,
        discount_amount,
        tax_amount,
        cost_price,
    ) in (
        OrderLine.objects.filter(scope("order_id"))
        .order_by("id")
        .values_list(
            "id",
            "order_id",
            "variant_id",
            "quantity",
            "quantity_cancelled",
            "unit_price",
            "discount_amount",
            "tax_amount",
            "cost_price",
        )
    ):
        line_of[line_id] = (order_id, variant_id)
        location = line_location.get(line_id)
        if location is None:
            log.info("reports.line_without_fulfilment", extra={"order_line_id": line_id})
            continue
        day, channel_id, currency, include_tax = heads[order_id]
        units = quantity - quantity_cancelled
        gross = unit_price * units
        discount = _share(discount_amount, units, quantity)
        tax = _share(tax_amount, units, quantity)
        units_by_order[order_id] += units
        _add(
            sales[order_id],
            (day, channel_id, location, variant_id, currency),
            sales_size,
            0,
            (
                units,
                gross,
                discount,
                tax,
                gross - discount - (tax if include_tax else ZERO),  # revenue
                cost_price * units if cost_price is not None else ZERO,  # cost
                units if cost_price is not None else 0,  # units costed
            ),
        )
    for line_id, quantity, reason, return_reason, received_at, location_id in (
        ReturnLine.objects.filter(
            scope("return_request__order_id"), return_request__status=Return.Status.RECEIVED
        )
        .order_by("id")
        .values_list(
            "order_line_id",
            "quantity",
            "reason",
            "return_request__reason",
            "return_request__received_at",
            "return_request__location_id",
        )
    ):
        order_id, variant_id = line_of[line_id]
        _day, channel_id, currency, _include_tax = heads[order_id]
        assert received_at is not None  # a received return has its date
        day = utc_day(received_at).isoformat()
        _add(
            sales[order_id],
            (day, channel_id, location_id, variant_id, currency),
            sales_size,
            _RETURNED,
            (quantity,),
        )
        _add(
            reasons[order_id],
            (day, channel_id, location_id, variant_id, reason or return_reason or ""),
            1,
            0,
            (quantity,),
        )
    for line_id, amount, tax_amount, created_at, return_location_id in (
        RefundLine.objects.filter(scope("refund__order_id"))
        .order_by("id")
        .values_list(
            "order_line_id",
            "amount",
            "tax_amount",
            "refund__created_at",
            "refund__return_request__location_id",
        )
    ):
        order_id, variant_id = line_of[line_id]
        _day, channel_id, currency, include_tax = heads[order_id]
        location = return_location_id or line_location.get(line_id)
        if location is None:
            log.info("reports.refund_without_location", extra={"order_line_id": line_id})
            continue
        _add(
            sales[order_id],
            (utc_day(created_at).isoformat(), channel_id, location, variant_id, currency),
            sales_size,
            _REFUNDED,
            # gross has tax only where the prices include it: refunded likewise
            (amount - (ZERO if include_tax else tax_amount), tax_amount),
        )

    daily: dict[int, Table] = defaultdict(dict)
    buyers: dict[int, Table] = defaultdict(dict)
    orders_size = len(ORDERS_FIGURES)
    for order_id, (day, channel_id, currency, _include_tax) in heads.items():
        location = order_location.get(order_id)
        if location is None:
            continue
        key = (day, channel_id, location, currency)
        status, subtotal, discount_total, shipping_total, tax_total, total = totals[order_id]
        if status == Order.Status.CANCELLED:
            _add(daily[order_id], key, orders_size, 1, (1,))  # orders_cancelled
            continue
        customer = customers[order_id]
        is_new = customer is not None and first.get((customer, currency)) == order_id
        _add(
            daily[order_id],
            key,
            orders_size,
            0,
            (
                1,  # orders
                0,  # orders_cancelled
                units_by_order[order_id],
                subtotal,
                discount_total,
                shipping_total,
                tax_total,
                total,
                int(is_new),  # new_customer_orders
                int(customer is not None and not is_new),  # returning_customer_orders
                int(customer is None),  # guest_orders
            ),
        )
        if customer is not None:
            _add(buyers[order_id], (*key, customer), 1, 0, (1,))
    for order_id, shipping_amount, created_at in (
        Refund.objects.filter(scope("order_id"), shipping_amount__gt=0)
        .order_by("id")
        .values_list("order_id", "shipping_amount", "created_at")
    ):
        location = order_location.get(order_id)
        if location is None:
            continue
        _day, channel_id, currency, _include_tax = heads[order_id]
        _add(
            daily[order_id],
            (utc_day(created_at).isoformat(), channel_id, location, currency),
            orders_size,
            _REFUNDED_SHIPPING,
            (shipping_amount,),
        )
    return {
        order_id: {
            "customer": customers[order_id],
            "sales": _rows(sales[order_id], SALES_FIGURES),
            "orders": _rows(daily[order_id], ORDERS_FIGURES),
            "reasons": _rows(reasons[order_id], REASONS_FIGURES),
            "customers": _rows(buyers[order_id], CUSTOMERS_FIGURES),
        }
        for order_id in heads
    }


@dataclass(frozen=True)
class TimingRow:
    fulfillment_id: int
    order_id: int
    channel_id: int
    location_id: int
    method: str
    status: str
    placed_at: datetime
    ready_at: datetime | None
    done_at: datetime | None
    cancelled_at: datetime | None


READY_KINDS = (TimelineEvent.Kind.READY_FOR_PICKUP, TimelineEvent.Kind.SHIPPED)
DONE_KINDS = (
    TimelineEvent.Kind.PICKED_UP,
    TimelineEvent.Kind.DELIVERED,
    TimelineEvent.Kind.CARRIED_OUT,
)
CANCEL_KINDS = (TimelineEvent.Kind.FULFILLMENT_CANCELLED,)


def fulfilment_timings(order_ids: Sequence[int]) -> list[TimingRow]:
    """One timing row per fulfilment of these orders. Two queries.

    A carried-out sale (POS, exchange) is ready and done at the moment it was carried out."""
    ids = sorted(set(order_ids))
    if not ids:
        return []
    firsts: dict[tuple[int, str], datetime] = {
        (fid, kind): at
        for fid, kind, at in TimelineEvent.objects.filter(
            order_id__in=ids,
            fulfillment_id__isnull=False,
            kind__in=[*READY_KINDS, *DONE_KINDS, *CANCEL_KINDS],
        )
        .values("fulfillment_id", "kind")
        .annotate(first=Min("created_at"))
        .values_list("fulfillment_id", "kind", "first")
    }

    def first_of(fid: int, kinds: Sequence[str]) -> datetime | None:
        found = [firsts[(fid, kind)] for kind in kinds if (fid, kind) in firsts]
        return min(found) if found else None

    rows = []
    for f in (
        Fulfillment.objects.filter(order_id__in=ids)
        .order_by("id")
        .values(
            "id",
            "order_id",
            "order__channel_id",
            "location_id",
            "method",
            "status",
            "order__placed_at",
        )
    ):
        fid = f["id"]
        rows.append(
            TimingRow(
                fulfillment_id=fid,
                order_id=f["order_id"],
                channel_id=f["order__channel_id"],
                location_id=f["location_id"],
                method=f["method"],
                status=f["status"],
                placed_at=f["order__placed_at"],
                ready_at=first_of(fid, [*READY_KINDS, TimelineEvent.Kind.CARRIED_OUT]),
                done_at=first_of(fid, DONE_KINDS),
                cancelled_at=first_of(fid, CANCEL_KINDS),
            )
        )
    return rows


@dataclass
class CustomerFacts:
    customer_id: int
    currency: str
    first_order_at: datetime
    last_order_at: datetime
    orders: int
    channels: list[str]
    lifetime_value: Decimal


def customer_facts(customer_ids: Sequence[int] | None = None) -> list[CustomerFacts]:
    """Facts per (customer, currency) over the customers' orders not cancelled (every customer
    when ``customer_ids`` is None). Three queries.

    Lifetime value: the order totals less the money refunded on those orders
    (``Refund.amount``, which already includes any shipping refunded)."""
    orders = Order.objects.filter(customer_id__isnull=False).exclude(status=Order.Status.CANCELLED)
    refunds = Refund.objects.filter(order__customer_id__isnull=False).exclude(
        order__status=Order.Status.CANCELLED
    )
    if customer_ids is not None:
        ids = sorted(set(customer_ids))
        if not ids:
            return []
        orders = orders.filter(customer_id__in=ids)
        refunds = refunds.filter(order__customer_id__in=ids)
    codes = dict(Channel.objects.values_list("id", "code"))
    facts: dict[tuple[int, str], CustomerFacts] = {}
    channels: dict[tuple[int, str], set[str]] = defaultdict(set)
    for customer_id, currency, placed_at, channel_id, total in orders.values_list(
        "customer_id", "currency", "placed_at", "channel_id", "total"
    ).iterator(chunk_size=10_000):
        key = (customer_id, currency)
        fact = facts.get(key)
        if fact is None:
            facts[key] = CustomerFacts(customer_id, currency, placed_at, placed_at, 1, [], total)
        else:
            fact.first_order_at = min(fact.first_order_at, placed_at)
            fact.last_order_at = max(fact.last_order_at, placed_at)
            fact.orders += 1
            fact.lifetime_value += total
        channels[key].add(codes.get(channel_id, str(channel_id)))
    for customer_id, currency, amount in refunds.values_list(
        "order__customer_id", "order__currency", "amount"
    ).iterator(chunk_size=10_000):
        fact = facts.get((customer_id, currency))
        if fact is not None:
            fact.lifetime_value -= amount
    for key, fact in facts.items():
        fact.channels = sorted(channels[key])
    return [facts[key] for key in sorted(facts)]
