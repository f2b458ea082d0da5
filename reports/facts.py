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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import F, Min, Window
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

# A table's facts: key tuple -> figures (ints or Decimals), before they are made JSON.
Figures = dict[str, Any]
OrderFacts = dict[str, Any]  # {"customer": id | None, "sales": [...], "orders": [...], ...}


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _share(amount: Decimal, units: int, quantity: int) -> Decimal:
    if not quantity:
        return ZERO
    return (amount * units / quantity).quantize(CENT, rounding=ROUND_HALF_UP)


def _add(table: dict[tuple[Any, ...], Figures], key: tuple[Any, ...], **figures: Any) -> None:
    row = table.get(key)
    if row is None:
        table[key] = dict(figures)
        return
    for name, value in figures.items():
        row[name] = row.get(name, 0) + value


def _rows(table: dict[tuple[Any, ...], Figures], figure_names: Sequence[str]) -> list[list[Any]]:
    """The JSON form: ``[key..., figure...]`` per key, in a stable order; Decimals as strings."""
    out: list[list[Any]] = []
    for key in sorted(table, key=lambda k: tuple(str(part) for part in k)):
        figures = table[key]
        values = [
            int(figures.get(name, 0))
            if name in INT_FIGURES
            else str(Decimal(figures.get(name, 0)).quantize(CENT))
            for name in figure_names
        ]
        out.append(
            [*(part.isoformat() if isinstance(part, date) else part for part in key), *values]
        )
    return out


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
    orders = {
        row["id"]: row
        for row in Order.objects.filter(id__in=ids).values(
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
        )
    }
    if not orders:
        return {}
    ids = sorted(orders)
    # line id -> location of its first fulfilment line; order id -> its first fulfilment's
    line_location: dict[int, int] = {}
    for line_id, location_id in (
        FulfillmentLine.objects.filter(order_line__order_id__in=ids)
        .order_by("id")
        .values_list("order_line_id", "fulfillment__location_id")
    ):
        line_location.setdefault(line_id, location_id)
    order_location: dict[int, int] = {}
    for order_id, location_id in (
        Fulfillment.objects.filter(order_id__in=ids)
        .order_by("id")
        .values_list("order_id", "location_id")
    ):
        order_location.setdefault(order_id, location_id)
    lines = list(
        OrderLine.objects.filter(order_id__in=ids)
        .order_by("id")
        .values(
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
    )
    line_by_id = {line["id"]: line for line in lines}
    returns = list(
        ReturnLine.objects.filter(
            return_request__order_id__in=ids, return_request__status=Return.Status.RECEIVED
        )
        .order_by("id")
        .values(
            "order_line_id",
            "quantity",
            "reason",
            "return_request__reason",
            "return_request__received_at",
            "return_request__location_id",
        )
    )
    refund_lines = list(
        RefundLine.objects.filter(refund__order_id__in=ids)
        .order_by("id")
        .values(
            "order_line_id",
            "amount",
            "tax_amount",
            "refund__created_at",
            "refund__return_request__location_id",
        )
    )
    refunds = list(
        Refund.objects.filter(order_id__in=ids, shipping_amount__gt=0)
        .order_by("id")
        .values("order_id", "shipping_amount", "created_at")
    )
    if first is None:
        first = first_orders(
            {o["customer_id"] for o in orders.values() if o["customer_id"] is not None}
        )

    sales: dict[int, dict[tuple[Any, ...], Figures]] = defaultdict(dict)
    daily: dict[int, dict[tuple[Any, ...], Figures]] = defaultdict(dict)
    reasons: dict[int, dict[tuple[Any, ...], Figures]] = defaultdict(dict)
    buyers: dict[int, dict[tuple[Any, ...], Figures]] = defaultdict(dict)
    units_by_order: dict[int, int] = defaultdict(int)
    for line in lines:
        order = orders[line["order_id"]]
        location = line_location.get(line["id"])
        if location is None:
            log.info("reports.line_without_fulfilment", extra={"order_line_id": line["id"]})
            continue
        quantity = line["quantity"]
        units = quantity - line["quantity_cancelled"]
        gross = line["unit_price"] * units
        discount = _share(line["discount_amount"], units, quantity)
        tax = _share(line["tax_amount"], units, quantity)
        revenue = gross - discount - (tax if order["prices_include_tax"] else ZERO)
        cost_price = line["cost_price"]
        units_by_order[order["id"]] += units
        _add(
            sales[order["id"]],
            (
                utc_day(order["placed_at"]),
                order["channel_id"],
                location,
                line["variant_id"],
                order["currency"],
            ),
            units_sold=units,
            gross=gross,
            discount=discount,
            tax=tax,
            revenue=revenue,
            cost=cost_price * units if cost_price is not None else ZERO,
            units_costed=units if cost_price is not None else 0,
        )
    for ret in returns:
        line = line_by_id[ret["order_line_id"]]
        order = orders[line["order_id"]]
        received_at = ret["return_request__received_at"]
        assert received_at is not None  # a received return has its date
        day = utc_day(received_at)
        _add(
            sales[order["id"]],
            (
                day,
                order["channel_id"],
                ret["return_request__location_id"],
                line["variant_id"],
                order["currency"],
            ),
            units_returned=ret["quantity"],
        )
        _add(
            reasons[order["id"]],
            (
                day,
                order["channel_id"],
                ret["return_request__location_id"],
                line["variant_id"],
                ret["reason"] or ret["return_request__reason"] or "",
            ),
            units=ret["quantity"],
        )
    for refund_line in refund_lines:
        line = line_by_id[refund_line["order_line_id"]]
        order = orders[line["order_id"]]
        location = refund_line["refund__return_request__location_id"] or line_location.get(
            line["id"]
        )
        if location is None:
            log.info("reports.refund_without_location", extra={"order_line_id": line["id"]})
            continue
        _add(
            sales[order["id"]],
            (
                utc_day(refund_line["refund__created_at"]),
                order["channel_id"],
                location,
                line["variant_id"],
                order["currency"],
            ),
            # gross has tax only where the prices include it: refunded likewise
            refunded=refund_line["amount"]
            - (ZERO if order["prices_include_tax"] else refund_line["tax_amount"]),
            refunded_tax=refund_line["tax_amount"],
        )
    for order in orders.values():
        location = order_location.get(order["id"])
        if location is None:
            continue
        key = (utc_day(order["placed_at"]), order["channel_id"], location, order["currency"])
        if order["status"] == Order.Status.CANCELLED:
            _add(daily[order["id"]], key, orders_cancelled=1)
            continue
        customer = order["customer_id"]
        is_new = customer is not None and first.get((customer, order["currency"])) == order["id"]
        _add(
            daily[order["id"]],
            key,
            orders=1,
            units=units_by_order[order["id"]],
            subtotal=order["subtotal"],
            discount=order["discount_total"],
            shipping=order["shipping_total"],
            tax=order["tax_total"],
            total=order["total"],
            guest_orders=int(customer is None),
            new_customer_orders=int(is_new),
            returning_customer_orders=int(customer is not None and not is_new),
        )
        if customer is not None:
            _add(buyers[order["id"]], (*key, customer), orders=1)
    for refund in refunds:
        order = orders[refund["order_id"]]
        location = order_location.get(order["id"])
        if location is None:
            continue
        _add(
            daily[order["id"]],
            (utc_day(refund["created_at"]), order["channel_id"], location, order["currency"]),
            refunded_shipping=refund["shipping_amount"],
        )
    return {
        order_id: {
            "customer": order["customer_id"],
            "sales": _rows(sales[order_id], SALES_FIGURES),
            "orders": _rows(daily[order_id], ORDERS_FIGURES),
            "reasons": _rows(reasons[order_id], REASONS_FIGURES),
            "customers": _rows(buyers[order_id], CUSTOMERS_FIGURES),
        }
        for order_id, order in orders.items()
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
