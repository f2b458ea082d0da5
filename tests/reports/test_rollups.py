"""The rollups equal a plain scan of the orders after a mixed history (sales on two channels in
two currencies, pickups, shipments, a till sale, a cancellation, returns, refunds, an exchange),
applied step by step as differences by ``rollups_update`` and rebuilt by ``rollups_rebuild``."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from catalog.models import Variant
from core.models import ChangeEvent, Channel
from inventory import services as inventory_services
from inventory.models import StockLevel
from orders.models import (
    Fulfillment,
    FulfillmentLine,
    Order,
    Refund,
    RefundLine,
    Return,
    ReturnLine,
    TimelineEvent,
)
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
    StockSnapshot,
)
from reports.rollups import rollups_rebuild, rollups_update
from tests.reports.history import Clock, History, history_build
from tests.shop import Shop

pytestmark = pytest.mark.django_db

CENT = Decimal("0.01")
Table = dict[tuple[Any, ...], dict[str, Any]]


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _add(table: Table, key: tuple[Any, ...], **figures: Any) -> None:
    row = table.setdefault(key, defaultdict(int))
    for name, value in figures.items():
        row[name] += value


def _clean(table: Table) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Rows with a figure that is not zero, figures that are zero left out."""
    out = {}
    for key, figures in table.items():
        kept = {name: value for name, value in figures.items() if value}
        if kept:
            out[key] = kept
    return out


def _cents(table: Table) -> Table:
    """``costed_revenue`` (a share of revenue: not whole cents) rounded to cents."""
    for figures in table.values():
        if "costed_revenue" in figures:
            figures["costed_revenue"] = Decimal(figures["costed_revenue"]).quantize(
                CENT, rounding=ROUND_HALF_UP
            )
    return table


def scan() -> dict[str, Any]:
    """The figures, following the design's wording, one order at a time."""
    sales: Table = {}
    daily: Table = {}
    reasons: Table = {}
    customer_orders: Table = {}
    for order in Order.objects.order_by("id"):
        first_lines = {}
        for fl in FulfillmentLine.objects.filter(order_line__order=order).order_by("id"):
            first_lines.setdefault(fl.order_line_id, fl.fulfillment.location_id)
        units_total = 0
        for line in order.lines.order_by("id"):
            if line.pk not in first_lines:
                continue
            units = line.quantity - line.quantity_cancelled
            units_total += units
            discount = (line.discount_amount * units / line.quantity).quantize(
                CENT, rounding=ROUND_HALF_UP
            )
            tax = (line.tax_amount * units / line.quantity).quantize(CENT, rounding=ROUND_HALF_UP)
            gross = line.unit_price * units
            _add(
                sales,
                (
                    _day(order.placed_at),
                    order.channel_id,
                    first_lines[line.pk],
                    line.variant_id,
                    order.currency,
                ),
                units_sold=units,
                gross=gross,
                discount=discount,
                tax=tax,
                revenue=gross - discount - (tax if order.prices_include_tax else 0),
                cost=(line.cost_price * units) if line.cost_price is not None else 0,
                units_costed=units if line.cost_price is not None else 0,
            )
        for rl in ReturnLine.objects.filter(
            return_request__order=order, return_request__status=Return.Status.RECEIVED
        ):
            ret = rl.return_request
            assert ret.received_at is not None
            _add(
                sales,
                (
                    _day(ret.received_at),
                    order.channel_id,
                    ret.location_id,
                    rl.order_line.variant_id,
                    order.currency,
                ),
                units_returned=rl.quantity,
            )
            _add(
                reasons,
                (
                    _day(ret.received_at),
                    order.channel_id,
                    ret.location_id,
                    rl.order_line.variant_id,
                    rl.reason or ret.reason or "",
                ),
                units=rl.quantity,
            )
        for refund_line in RefundLine.objects.filter(refund__order=order):
            refund = refund_line.refund
            location = (
                refund.return_request.location_id
                if refund.return_request_id
                else first_lines[refund_line.order_line_id]
            )
            _add(
                sales,
                (
                    _day(refund.created_at),
                    order.channel_id,
                    location,
                    refund_line.order_line.variant_id,
                    order.currency,
                ),
                # in the basis of gross: tax included only where the prices include it
                refunded=refund_line.amount
                - (0 if order.prices_include_tax else refund_line.tax_amount),
                refunded_tax=refund_line.tax_amount,
            )
        first_fulfilment = order.fulfillments.order_by("id").first()
        if first_fulfilment is None:
            continue
        key = (
            _day(order.placed_at),
            order.channel_id,
            first_fulfilment.location_id,
            order.currency,
        )
        if order.status == Order.Status.CANCELLED:
            _add(daily, key, orders_cancelled=1)
        else:
            # new: the customer's first order in this currency that was not cancelled
            earlier = (
                Order.objects.filter(customer_id=order.customer_id, currency=order.currency)
                .exclude(pk=order.pk)
                .exclude(status=Order.Status.CANCELLED)
                .filter(placed_at__lte=order.placed_at)
            )
            is_new = order.customer_id is not None and not any(
                (o.placed_at, o.pk) < (order.placed_at, order.pk) for o in earlier
            )
            _add(
                daily,
                key,
                orders=1,
                units=units_total,
                subtotal=order.subtotal,
                discount=order.discount_total,
                shipping=order.shipping_total,
                tax=order.tax_total,
                total=order.total,
                guest_orders=int(order.customer_id is None),
                new_customer_orders=int(is_new),
                returning_customer_orders=int(order.customer_id is not None and not is_new),
            )
            if order.customer_id is not None:
                _add(customer_orders, (*key, order.customer_id), orders=1)
        for refund in Refund.objects.filter(order=order):
            _add(
                daily,
                (
                    _day(refund.created_at),
                    order.channel_id,
                    first_fulfilment.location_id,
                    order.currency,
                ),
                refunded_shipping=refund.shipping_amount,
            )
    timing = {}
    for f in Fulfillment.objects.order_by("id"):
        events = TimelineEvent.objects.filter(fulfillment=f).order_by("created_at", "id")

        def first(*kinds: str, events: Any = events) -> datetime | None:
            found = events.filter(kind__in=kinds).first()
            return found.created_at if found else None

        timing[f.pk] = (
            f.order_id,
            f.order.channel_id,
            f.location_id,
            f.method,
            f.status,
            f.order.placed_at,
            first("ready_for_pickup", "shipped", "carried_out"),
            first("picked_up", "delivered", "carried_out"),
            first("fulfillment_cancelled"),
        )
    customers: dict[tuple[int, str], Any] = {}
    codes = dict(Channel.objects.values_list("id", "code"))
    for order in Order.objects.exclude(customer=None).exclude(status="cancelled").order_by("id"):
        key = (order.customer_id, order.currency)
        refunded = sum((r.amount for r in order.refunds.all()), Decimal(0))
        c = customers.setdefault(key, {"at": [], "channels": set(), "value": Decimal(0)})
        c["at"].append(order.placed_at)
        c["channels"].add(codes[order.channel_id])
        c["value"] += order.total - refunded
    channel_sales: Table = {}
    product_sales: Table = {}
    product_channel_sales: Table = {}
    products = dict(Variant.objects.values_list("id", "product_id"))
    for (day, channel, location, variant, currency), figures in _clean(sales).items():
        # the revenue of the units whose cost was known, per daily row
        sold, costed = figures.get("units_sold", 0), figures.get("units_costed", 0)
        revenue = Decimal(figures.get("revenue", 0))
        share = revenue if costed == sold else (revenue * costed / sold if costed else 0)
        derived = {name: figures.get(name, 0) for name in SALES} | {"costed_revenue": share}
        _add(channel_sales, (day, channel, location, currency), **derived)
        month = day.replace(day=1)
        _add(product_sales, (month, channel, location, products[variant], currency), **derived)
        _add(product_channel_sales, (month, channel, products[variant], currency), **derived)
    return {
        "sales": _clean(sales),
        "channel_sales": _cents(_clean(channel_sales)),
        "product_sales": _cents(_clean(product_sales)),
        "product_channel_sales": _cents(_clean(product_channel_sales)),
        "orders": _clean(daily),
        "reasons": _clean(reasons),
        "customer_orders": _clean(customer_orders),
        "timing": timing,
        "customers": {
            key: (
                min(c["at"]),
                max(c["at"]),
                len(c["at"]),
                sorted(c["channels"]),
                len(c["channels"]),
                c["value"],
            )
            for key, c in customers.items()
        },
    }


SALES = [
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
]
ORDERS = [
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
]


def rollups() -> dict[str, Any]:
    """The rollup tables in the scan's shape."""

    def table(rows: Any, key: list[str], figures: list[str]) -> Table:
        return {tuple(row[k] for k in key): {f: row[f] for f in figures} for row in rows.values()}

    return {
        "sales": _clean(
            table(
                DailySales.objects,
                ["day", "channel_id", "location_id", "variant_id", "currency"],
                SALES,
            )
        ),
        "channel_sales": _cents(
            _clean(
                table(
                    DailyChannelSales.objects,
                    ["day", "channel_id", "location_id", "currency"],
                    [*SALES, "costed_revenue"],
                )
            )
        ),
        "product_sales": _cents(
            _clean(
                table(
                    MonthlyProductSales.objects,
                    ["month", "channel_id", "location_id", "product_id", "currency"],
                    [*SALES, "costed_revenue"],
                )
            )
        ),
        "product_channel_sales": _cents(
            _clean(
                table(
                    MonthlyProductChannelSales.objects,
                    ["month", "channel_id", "product_id", "currency"],
                    [*SALES, "costed_revenue"],
                )
            )
        ),
        "orders": _clean(
            table(DailyOrders.objects, ["day", "channel_id", "location_id", "currency"], ORDERS)
        ),
        "reasons": _clean(
            table(
                DailyReturnReason.objects,
                ["day", "channel_id", "location_id", "variant_id", "reason"],
                ["units"],
            )
        ),
        "customer_orders": _clean(
            table(
                DailyCustomerOrders.objects,
                ["day", "channel_id", "location_id", "currency", "customer_id"],
                ["orders"],
            )
        ),
        "timing": {
            t.fulfillment_id: (
                t.order_id,
                t.channel_id,
                t.location_id,
                t.method,
                t.status,
                t.placed_at,
                t.ready_at,
                t.done_at,
                t.cancelled_at,
            )
            for t in FulfilmentTiming.objects.all()
        },
        "customers": {
            (c.customer_id, c.currency): (
                c.first_order_at,
                c.last_order_at,
                c.orders,
                c.channels,
                c.channel_count,
                c.lifetime_value,
            )
            for c in CustomerFact.objects.all()
        },
    }


@pytest.fixture
def history(shop: Shop) -> History:
    return history_build(shop, step=rollups_update)


def test_rollups_applied_step_by_step_equal_a_scan_of_the_orders(history: History) -> None:
    expected = scan()
    got = rollups()
    for name in (
        "sales",
        "channel_sales",
        "product_sales",
        "product_channel_sales",
        "orders",
        "reasons",
        "customer_orders",
        "timing",
        "customers",
    ):
        assert got[name] == expected[name], name
    # the derived rollups really sum several daily rows
    assert len(expected["channel_sales"]) < len(expected["sales"])
    assert len(expected["product_sales"]) < len(expected["sales"])
    assert len(expected["product_channel_sales"]) < len(expected["product_sales"])
    # the history really is mixed: 3 days, 3 locations, 3 channels, 2 currencies
    days = {key[0] for key in expected["sales"]}
    assert len(days) == 3
    assert len({key[2] for key in expected["sales"]}) == 3
    assert {key[4] for key in expected["sales"]} == {"EUR", "USD"}
    assert len({key[1] for key in expected["orders"]}) == 3
    assert any(f.get("orders_cancelled") for f in expected["orders"].values())
    assert any(f.get("units_returned") for f in expected["sales"].values())
    assert any(f.get("refunded_shipping") for f in expected["orders"].values())
    # a refund with tax on a channel whose prices exclude tax (refunded then leaves it out)
    assert RefundLine.objects.filter(
        refund__order__prices_include_tax=False, tax_amount__gt=0
    ).exists()
    # a customer's cancelled first order does not make the next order a returning one, and a
    # customer's first order in another currency is new in that currency
    cid2, app1 = history.orders["cid2"], history.orders["app1"]
    assert Order.objects.filter(customer=cid2.customer, status="cancelled").exists()
    assert expected["orders"][_orders_key(cid2)]["new_customer_orders"] >= 1
    assert expected["orders"][_orders_key(app1)].get("returning_customer_orders", 0) == 0
    # guests are not in the customers' orders; every known customer who ordered is
    assert {key[4] for key in expected["customer_orders"]} == set(
        Order.objects.exclude(customer=None)
        .exclude(status="cancelled")
        .values_list("customer_id", flat=True)
    )
    assert len({key[2] for key in expected["reasons"]}) == 3  # reasons per location


def _orders_key(order: Order) -> tuple[Any, ...]:
    first = order.fulfillments.order_by("id").first()
    assert first is not None
    return (_day(order.placed_at), order.channel_id, first.location_id, order.currency)


def test_rebuild_reproduces_the_rows_the_updates_wrote(history: History) -> None:
    updated = rollups()
    result = rollups_rebuild()
    assert rollups() == updated
    assert result.orders == Order.objects.count()
    last = ChangeEvent.objects.order_by("-position").values_list("position", flat=True).first()
    assert RollupCursor.objects.get(name="main").position == result.position == last
    assert rollups_update() == 0  # nothing new since the rebuild


def test_reading_events_again_counts_nothing_twice(history: History) -> None:
    before = rollups()
    contributions = dict(OrderContribution.objects.values_list("order_id", "facts"))
    assert rollups_update() == 0
    RollupCursor.objects.filter(name="main").update(position=0)  # read the whole outbox again
    assert rollups_update() == ChangeEvent.objects.count()
    assert rollups() == before
    assert dict(OrderContribution.objects.values_list("order_id", "facts")) == contributions


def test_currencies_stay_apart(history: History) -> None:
    by_currency: dict[str, set[int]] = defaultdict(set)
    for row in DailyOrders.objects.exclude(orders=0):
        by_currency[row.currency].add(row.channel_id)
    assert by_currency == {
        "EUR": {history.shop.channel.pk, history.pos.pk},
        "USD": {history.app.pk},
    }
    ann = CustomerFact.objects.filter(customer_id=history.orders["ship1"].customer_id)
    assert sorted(ann.values_list("currency", flat=True)) == ["EUR", "USD"]


def test_stock_received_by_transfer_is_a_receipt(shop: Shop) -> None:
    """A store stocked by transfers is not aged stock: ``transfer_in`` counts as received."""
    clock = Clock()
    with clock.running():
        shop.receive(shop.warehouse, shop.s, 10)
        rollups_update()
        clock.next_day()
        transfer = inventory_services.transfer_create(
            source_id=shop.warehouse.pk, destination_id=shop.utrecht.pk, lines={shop.s.pk: 4}
        )
        inventory_services.transfer_ship(transfer_id=transfer.pk)
        rollups_update()
        clock.next_day()
        inventory_services.transfer_receive(transfer_id=transfer.pk, received={shop.s.pk: 4})
        rollups_update()
    day3 = date(2026, 3, 4)
    snapshot = StockSnapshot.objects.get(variant=shop.s, location=shop.utrecht, day=day3)
    level = StockLevel.objects.get(variant=shop.s, location=shop.utrecht)
    assert (snapshot.on_hand, snapshot.received, snapshot.last_received_on) == (
        level.on_hand,
        4,
        day3,
    )
    # the source's transfer out is not a receipt
    source = StockSnapshot.objects.get(
        variant=shop.s, location=shop.warehouse, day=date(2026, 3, 3)
    )
    assert (source.received, source.last_received_on) == (0, date(2026, 3, 2))
    columns = ("variant_id", "location_id", "day", "on_hand", "received", "last_received_on")
    before = sorted(StockSnapshot.objects.values_list(*columns))
    rollups_rebuild()
    assert sorted(StockSnapshot.objects.values_list(*columns)) == before
