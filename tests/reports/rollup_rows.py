"""Builders of rollup rows for figure tests: channels, locations, a small category tree, products
and the rows of ``reports.models`` written directly, so that every figure can be hand-computed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from catalog.models import Category, Product, Variant
from core.models import Channel
from inventory.models import Location, StockHold, StockLevel
from reports.models import (
    CustomerFact,
    DailyCustomerOrders,
    DailyOrders,
    DailyReturnReason,
    DailySales,
    FulfilmentTiming,
    StockSnapshot,
)
from reports.rollups import sales_derived_write, stock_current_write


def channel(code: str, *, kind: str = Channel.Kind.WEBSHOP, currency: str = "EUR") -> Channel:
    obj, _ = Channel.objects.get_or_create(
        code=code, defaults={"name": code.title(), "kind": kind, "currency": currency}
    )
    return obj


def location(code: str, *, kind: str = Location.Kind.STORE) -> Location:
    obj, _ = Location.objects.get_or_create(
        code=code, defaults={"name": code.title(), "kind": kind, "country": "NL"}
    )
    return obj


@dataclass
class Tree:
    apparel: Category
    shirts: Category  # a child of apparel
    shoes: Category  # another root


def category_tree() -> Tree:
    apparel = Category.objects.add_root({"name": "Apparel", "full_name": "Apparel"})
    shirts = Category.objects.add_child(
        apparel, {"name": "Shirts", "full_name": "Apparel > Shirts"}
    )
    shoes = Category.objects.add_root({"name": "Shoes", "full_name": "Shoes"})
    return Tree(apparel=apparel, shirts=shirts, shoes=shoes)


_counter = iter(range(1, 1_000_000))


def variant(product_name: str, *, category: Category | None = None) -> Variant:
    """A new product named ``product_name`` with one variant."""
    n = next(_counter)
    product = Product.objects.create(
        handle=f"p-{n}-{product_name.lower().replace(' ', '-')}",
        name=product_name,
        category=category,
    )
    return Variant.objects.create(product=product, sku=f"RR-{n:06d}", options={"n": n})


def sales(
    day: date,
    channel: Channel,
    location: Location,
    variant: Variant,
    *,
    currency: str = "EUR",
    **figures: Any,
) -> DailySales:
    """A DailySales row; ``figures`` are units_sold, gross, discount, ... (money as str or
    Decimal). The rollups derived from the daily rows are written again, as
    ``reports.rollups`` does after it changed daily rows."""
    row = DailySales.objects.create(
        day=day,
        channel=channel,
        location=location,
        variant=variant,
        currency=currency,
        **_decimals(figures),
    )
    sales_derived_write([(day, channel.pk, location.pk, variant.pk, currency)])
    return row


def orders(
    day: date, channel: Channel, location: Location, *, currency: str = "EUR", **figures: Any
) -> DailyOrders:
    return DailyOrders.objects.create(
        day=day, channel=channel, location=location, currency=currency, **_decimals(figures)
    )


def reason(
    day: date,
    channel: Channel,
    variant: Variant,
    text: str,
    units: int,
    *,
    location: Location | None = None,
) -> None:
    """A DailyReturnReason row, at ``location`` (by default the first location created)."""
    where = location or Location.objects.order_by("id").first()
    assert where is not None, "create a location first"
    DailyReturnReason.objects.create(
        day=day, channel=channel, location=where, variant=variant, reason=text, units=units
    )


def customer_orders(
    day: date,
    channel: Channel,
    location: Location,
    customer_id: int,
    *,
    currency: str = "EUR",
    orders: int = 1,
) -> DailyCustomerOrders:
    return DailyCustomerOrders.objects.create(
        day=day,
        channel=channel,
        location=location,
        currency=currency,
        customer_id=customer_id,
        orders=orders,
    )


def stock(variant: Variant, location: Location, *, on_hand: int) -> StockLevel:
    """The live stock level (no ledger: figures read the level only)."""
    return StockLevel.objects.create(variant=variant, location=location, on_hand=on_hand)


def hold(level: StockLevel, quantity: int, *, expires_in: timedelta = timedelta(hours=1)) -> None:
    StockHold.objects.create(
        stock=level,
        quantity=quantity,
        reference=f"cart-{next(_counter)}",
        expires_at=datetime.now(UTC) + expires_in,
    )


def snapshot(
    day: date,
    variant: Variant,
    location: Location,
    *,
    on_hand: int,
    received: int = 0,
    last_received_on: date | None = None,
) -> StockSnapshot:
    """A StockSnapshot row, and the variant's ``StockCurrent`` written again from its snapshots
    (as ``reports.rollups`` does after writing snapshots)."""
    row = StockSnapshot.objects.create(
        day=day,
        variant=variant,
        location=location,
        on_hand=on_hand,
        received=received,
        last_received_on=last_received_on,
    )
    stock_current_write([variant.pk])
    return row


def timing(
    channel: Channel,
    location: Location,
    *,
    placed_at: datetime,
    method: str = "pickup",
    ready_after: timedelta | None = None,
    done_after: timedelta | None = None,
    cancelled_after: timedelta | None = None,
) -> FulfilmentTiming:
    n = next(_counter)
    return FulfilmentTiming.objects.create(
        fulfillment_id=n,
        order_id=n,
        channel=channel,
        location=location,
        method=method,
        status="open",
        placed_at=placed_at,
        ready_at=None if ready_after is None else placed_at + ready_after,
        done_at=None if done_after is None else placed_at + done_after,
        cancelled_at=None if cancelled_after is None else placed_at + cancelled_after,
    )


def fact(
    customer_id: int,
    *,
    first: datetime,
    last: datetime,
    channels: list[str],
    lifetime_value: str,
    currency: str = "EUR",
    orders: int = 1,
) -> CustomerFact:
    return CustomerFact.objects.create(
        customer_id=customer_id,
        currency=currency,
        first_order_at=first,
        last_order_at=last,
        orders=orders,
        channels=channels,
        channel_count=len(channels),
        lifetime_value=Decimal(lifetime_value),
    )


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


_MONEY_FIELDS = {
    "gross",
    "discount",
    "tax",
    "revenue",
    "cost",
    "refunded",
    "refunded_tax",
    "subtotal",
    "shipping",
    "total",
    "refunded_shipping",
}


def _decimals(figures: dict[str, Any]) -> dict[str, Any]:
    return {
        key: Decimal(str(value)) if key in _MONEY_FIELDS else value
        for key, value in figures.items()
    }
