"""A past for the demo shop: months of orders on every channel and at every store, so the
dashboard and the reports have something to show (issue 18).

``seed_history(size)`` writes what the live services would have left behind after the period,
in bulk (``core.bulk``: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere), because 200,000 orders
placed one by one through ``orders.services`` would take hours. The rows are plain tuples
(``bulk.create_rows``: no model instance per row) dated when they happened (the bulk writer keeps
the ``created_at``/``updated_at`` given to it):

- orders with their lines (channel price, discount, tax as ``orders.pricing`` computes it, the
  variant's cost price snapshotted), tax lines, one fulfilment each with its lines, the timeline
  (placed; ready for pickup then picked up; shipped then delivered; carried out; cancelled) and
  the payment captured;
- returns (most received and refunded, some still on their way, some taken in a store for an
  online order) with their reasons, and refunds;
- the stock ledger: a ``sale`` movement per line at its location when it was handed over, a
  ``return`` (and ``damage``) movement per returned line, and a weekly ``receipt`` per variant and
  location of what it sold that week, dated at the start of the week, so that no level ever went
  below zero. The demo's opening stock is dated the day before the history starts. Afterwards
  the levels are set to their ledger sums, so ``stock_check`` is clean.

The figures follow a shop's rhythm: weekend peaks in the stores, a December peak and a summer
dip, coats in winter and linen in summer, a pool of customers where a few buy often and some on
two or more channels, anonymous till sales, discounts, about 2 % of orders cancelled (some of them
pickups nobody collected), about 10 % returned (more on the webshop and the marketplace).

Deterministic (one ``random.Random`` with a fixed seed) and idempotent: history orders carry the
external id ``hist-<n>``; when the first exists nothing is written. Order numbers are
``H<yymmdd>-<n>`` and RMAs ``HR<yymmdd>-<n>``: live numbers start with ``O`` and ``R``, so the
two never collide.
"""

from __future__ import annotations

import math
import random
import zlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate
from time import monotonic as time_monotonic
from typing import Any

import structlog
from django.db import connection
from django.utils import timezone

from catalog.models import Price, Variant
from catalog.selectors import channel_variant_offers
from core import bulk
from core.actors import Actor
from core.models import Channel
from core.tax import money_round, tax_line
from customers.models import Customer, CustomerChannel, CustomerIdentifier
from demo.catalog import FAMILIES
from inventory.models import ChannelLocation, Location, StockLevel, StockMovement
from orders.models import (
    Fulfillment,
    FulfillmentLine,
    FulfillmentMethod,
    Order,
    OrderLine,
    OrderTaxLine,
    Payment,
    Refund,
    RefundLine,
    Return,
    ReturnLine,
    TimelineEvent,
)
from orders.pricing import country_rates

log = structlog.get_logger(__name__)

ACTOR = Actor.system("demo")
MARK = "hist-"
SEED = 18_2025
CHUNK = 10_000
ZERO = Decimal("0.00")
CHANNELS = ("webshop", "app", "marketplace", "pos")


@dataclass(frozen=True)
class HistorySize:
    orders: int
    days: int
    customers: int


SIZES = {
    "small": HistorySize(orders=420, days=92, customers=160),
    "large": HistorySize(orders=205_000, days=365, customers=60_000),
}


@dataclass
class HistoryResult:
    """What one run wrote (all zero when the history was already there)."""

    orders: int = 0
    lines: int = 0
    cancelled: int = 0
    returns: int = 0
    refunds: int = 0
    movements: int = 0
    customers: int = 0
    costed_variants: int = 0


# --- the shop's rhythm ----------------------------------------------------------------------------

# share of the orders per channel; what an order looks like there
CHANNEL_SHARE = {"webshop": 0.44, "app": 0.18, "marketplace": 0.12, "pos": 0.26}
PICKUP_SHARE = {"webshop": 0.32, "app": 0.38}  # the rest ships; the marketplace only ships
RETURN_RATE = {"webshop": 0.19, "marketplace": 0.21, "app": 0.13, "pos": 0.05}
GUEST_RATE = {"webshop": 0.0, "app": 0.0, "marketplace": 0.45, "pos": 0.65}
DISCOUNT_RATE = {"webshop": 0.16, "app": 0.24, "marketplace": 0.05, "pos": 0.08}
CANCEL_RATE = {"webshop": 0.025, "app": 0.02, "marketplace": 0.03, "pos": 0.0}
# Monday first
WEEKDAY_ONLINE = (1.15, 1.0, 0.98, 0.97, 0.9, 0.85, 1.2)
WEEKDAY_STORE = (0.7, 0.8, 0.9, 1.0, 1.25, 1.85, 1.05)
MONTH = (0.85, 0.78, 0.9, 0.95, 1.0, 0.88, 0.72, 0.78, 1.0, 1.05, 1.35, 1.75)  # Jan..Dec
HOURS_ONLINE = (  # UTC hours
    *(0.3, 0.15, 0.08, 0.05, 0.05, 0.1, 0.3, 0.6, 0.8, 0.9, 1.0, 1.0),
    *(1.1, 1.0, 0.95, 0.95, 1.0, 1.1, 1.3, 1.7, 1.9, 1.7, 1.1, 0.6),
)
HOURS_STORE = {8: 0.4, 9: 0.7, 10: 0.9, 11: 1.2, 12: 1.4, 13: 1.4, 14: 1.3, 15: 1.3, 16: 1.0}
LINES = ((1, 0.55), (2, 0.27), (3, 0.12), (4, 0.06))
QUANTITY = ((1, 0.86), (2, 0.11), (3, 0.03))
REASONS = (
    ("too small", 0.28),
    ("too large", 0.24),
    ("changed my mind", 0.22),
    ("not as pictured", 0.16),
    ("damaged", 0.10),
)
HOME_REASONS = (("changed my mind", 0.5), ("not as pictured", 0.3), ("damaged", 0.2))
# families that sell more in winter (coats, throws) or summer (linen, dresses), by google id
WINTER = {5598, 1985}
SUMMER = {2271}
FIRST_NAMES = (  # noqa: SIM905
    "Anna Bram Chloé Daan Eva Fleur Gijs Hanna Iris Jesse Julia Kees Lars Lotte Milan Noor Olaf "
    "Pien Quinten Roos Sem Tess Ties Vera Wout Yara Zoë Lucas Emma Finn Sara Mees Liv Thijs Fenna"
).split()
LAST_NAMES = (  # noqa: SIM905
    "de Vries|Jansen|de Jong|Bakker|Visser|Smit|Meijer|de Boer|Mulder|de Groot|Bos|Vos|Peters|"
    "Hendriks|van Leeuwen|Dekker|Brouwer|de Wit|Dijkstra|Smits|Janssens|Maes|Claes|Peeters|Wouters"
).split("|")
CITIES = (  # noqa: SIM905
    "Amsterdam Rotterdam Utrecht Den-Haag Eindhoven Groningen Haarlem Nijmegen Breda Leiden "
    "Arnhem Zwolle Antwerpen Gent"
).split()


def _weighted(pairs: Sequence[tuple[Any, float]]) -> tuple[list[Any], list[float]]:
    return [v for v, _ in pairs], list(accumulate(w for _, w in pairs))


def _season(family_id: int, month: int) -> float:
    """How well a family sells in a month, relative to its best month (1.0)."""
    if family_id in WINTER:
        return 1.0 if month in (10, 11, 12, 1, 2) else 0.35
    if family_id in SUMMER:
        return 1.0 if month in (4, 5, 6, 7, 8) else 0.45
    return 1.0


# --- what the run works with ----------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    variant_id: int
    sku: str
    title: str
    options: dict[str, str]
    price: Decimal
    cost: Decimal | None
    tax_rate: Decimal
    family: int


@dataclass
class Picker:
    """The variants one channel sells from one location, drawn by popularity."""

    items: list[Item]
    cum: list[float]

    def draw(self, rng: random.Random, month: int) -> Item:
        for _ in range(4):
            item = rng.choices(self.items, cum_weights=self.cum)[0]
            if rng.random() < _season(item.family, month):
                return item
        return item


@dataclass
class World:
    now: datetime
    start: date
    end: date  # inclusive
    channels: dict[str, Channel]
    countries: dict[str, str]
    locations: dict[int, Location]
    stock: dict[tuple[int, int], int]  # (variant, location) -> stock level id
    pickers: dict[tuple[str, int], Picker]
    ship_from: dict[str, tuple[list[int], list[float]]]
    stores: dict[str, tuple[list[int], list[float]]]  # pickup / POS stores per channel
    returns_at: int  # the warehouse that takes returns sent back
    customers: dict[str, tuple[list[int], list[float]]]  # per channel: ids, cum weights
    people: dict[int, tuple[str, str]]  # customer id -> (email, name)


# --- plans (pure data), then rows ---------------------------------------------------------------


@dataclass(slots=True)
class LinePlan:
    item: Item
    quantity: int
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    cancelled: bool = False

    @property
    def paid(self) -> Decimal:
        return self.subtotal - self.discount  # as the channel shows prices


@dataclass(slots=True)
class ReturnPlan:
    location_id: int
    created_at: datetime
    received_at: datetime | None
    refund_at: datetime | None
    reason: str
    lines: list[tuple[int, int, str]]  # line index, quantity, reason


@dataclass(slots=True)
class OrderPlan:
    n: int
    channel: str
    method: str
    location_id: int
    customer_id: int | None
    placed_at: datetime
    lines: list[LinePlan]
    shipping: Decimal
    shipping_tax: Decimal
    discount_name: str = ""
    ready_at: datetime | None = None
    done_at: datetime | None = None
    cancelled_at: datetime | None = None
    line_cancelled_at: datetime | None = None
    city: str = ""
    tender: str = Payment.Tender.CARD
    returns: list[ReturnPlan] = field(default_factory=list)


# --- the run --------------------------------------------------------------------------------------


def history_exists() -> bool:
    return Order.objects.filter(external_id=f"{MARK}{0:07d}").exists()


def seed_history(size: str, *, now: datetime | None = None) -> HistoryResult:
    """Write the demo's order history for ``size`` (``small``: about 400 orders over the last
    92 days; ``large``: about 205,000 over the last 365), unless it is already there. Run it in
    one transaction: a run that fails leaves nothing behind."""
    result = HistoryResult()
    if history_exists():
        return result
    spec = SIZES[size]
    started = time_monotonic()
    now = now or timezone.now()
    rng = random.Random(f"{SEED}:{size}")
    result.costed_variants = variant_costs_set()
    world = _world(spec=spec, now=now, rng=rng, result=result)
    if world is None:
        log.warning("demo_history_skipped", reason="no sellable stocked variants")
        return result
    sold: dict[tuple[int, date], int] = defaultdict(int)  # (stock id, week) -> units
    seen: dict[tuple[int, str], datetime] = {}  # (customer, channel) -> first order
    chunk: list[OrderPlan] = []
    for plan in _plans(world=world, spec=spec, rng=rng):
        chunk.append(plan)
        if len(chunk) >= CHUNK:
            _write(chunk, world=world, sold=sold, seen=seen, result=result)
            chunk = []
    _write(chunk, world=world, sold=sold, seen=seen, result=result)
    result.movements += _receipts_write(sold=sold, world=world)
    _customer_channels_write(seen)
    _opening_stock_backdate(before=world.start)
    stock_levels_match_ledger(now=now)
    log.info(
        "demo_history_written",
        size=size,
        seconds=round(time_monotonic() - started, 1),
        **result.__dict__,
    )
    return result


def history_rollups_rebuild(*, force: bool = False) -> bool:
    """Rebuild the report rollups when the history was just written (``force``) or they are
    still empty while orders exist (a database seeded before the reports); returns whether it
    ran. The rebuild reads everything again, so a second seeding run skips it."""
    from reports.models import DailyOrders
    from reports.rollups import rollups_rebuild

    if not force and (DailyOrders.objects.exists() or not Order.objects.exists()):
        return False
    rollups_rebuild()
    return True


def variant_costs_set() -> int:
    """Give 19 variants in 20 without a cost price one: 40-60 % of their webshop price (or any
    base price), stable per SKU. Returns how many were set. One bulk update."""
    prices: dict[int, Decimal] = {}
    for variant_id, amount, code in Price.objects.filter(starts_at__isnull=True).values_list(
        "variant_id", "amount", "channel__code"
    ):
        if code == "webshop" or variant_id not in prices:
            prices[variant_id] = amount
    updates = []
    for variant_id, sku in Variant.objects.filter(cost_price__isnull=True).values_list("pk", "sku"):
        roll = zlib.crc32(f"cost:{sku}".encode())
        if roll % 20 == 7 or variant_id not in prices:
            continue  # the cost of a few is unknown: the margin report shows them apart
        share = Decimal(40 + roll % 21) / 100
        updates.append(Variant(pk=variant_id, cost_price=money_round(prices[variant_id] * share)))
    bulk.update(updates, Variant, ["cost_price"], history=False)
    return len(updates)


# --- the world: channels, locations, what sells where, customers ----------------------------------


def _world(
    *, spec: HistorySize, now: datetime, rng: random.Random, result: HistoryResult
) -> World | None:
    channels = {
        c.code: c
        for c in Channel.objects.filter(code__in=CHANNELS, is_active=True).prefetch_related(
            "countries"
        )
    }
    locations = {loc.pk: loc for loc in Location.objects.filter(is_active=True).order_by("code")}
    links: dict[str, set[int]] = defaultdict(set)
    by_id = {c.pk: code for code, c in channels.items()}
    for channel_id, location_id in ChannelLocation.objects.filter(
        channel_id__in=list(by_id)
    ).values_list("channel_id", "location_id"):
        if location_id in locations:
            links[by_id[channel_id]].add(location_id)
    stock = {
        (v, loc): pk
        for v, loc, pk in StockLevel.objects.filter(location_id__in=list(locations)).values_list(
            "variant_id", "location_id", "pk"
        )
    }
    stocked = sorted({v for v, _ in stock})
    variants = {
        pk: (sku, handle, class_id)
        for pk, sku, handle, class_id in Variant.objects.filter(pk__in=stocked).values_list(
            "pk", "sku", "product__handle", "product__product_type__tax_class_id"
        )
    }
    # popularity: a long tail, in an order that has nothing to do with the ids
    ranked = list(stocked)
    rng.shuffle(ranked)
    popularity = {v: 1 / (rank + 8) ** 0.85 for rank, v in enumerate(ranked)}
    countries = {code: c.default_country or "NL" for code, c in channels.items()}
    pickers: dict[tuple[str, int], Picker] = {}
    for code in channels:
        rates = country_rates(
            country=countries[code], tax_class_ids={c for _, _, c in variants.values()}
        )
        offers = channel_variant_offers(
            channel_code=code, skus=[sku for sku, _, _ in variants.values()]
        )
        items = []
        for offer in offers.values():
            if not offer.sellable or offer.price is None or offer.is_gift_card:
                continue
            sku, handle, class_id = variants[offer.variant_id]
            index = int(handle.split("-")[1]) if handle.startswith("demo-") else 0
            items.append(
                Item(
                    variant_id=offer.variant_id,
                    sku=sku,
                    title=offer.title,
                    options=offer.options,
                    price=offer.price,
                    cost=offer.cost_price,
                    tax_rate=rates.get(class_id, Decimal(0)),
                    family=FAMILIES[index % len(FAMILIES)].google_id,
                )
            )
        items.sort(key=lambda item: item.variant_id)
        for location_id in sorted(links[code]):
            here = [item for item in items if (item.variant_id, location_id) in stock]
            if here:
                cum = list(accumulate(popularity[item.variant_id] for item in here))
                pickers[(code, location_id)] = Picker(here, cum)
    ship_from: dict[str, tuple[list[int], list[float]]] = {}
    stores: dict[str, tuple[list[int], list[float]]] = {}
    for code in channels:
        usable = [loc for loc in sorted(links[code]) if (code, loc) in pickers]
        ships = [
            (loc, 4.0 if locations[loc].kind == Location.Kind.WAREHOUSE else 0.8)
            for loc in usable
            if locations[loc].ships_orders
        ]
        wanted = "sells_in_store" if code == "pos" else "offers_pickup"
        # the first stores (the flagship in Amsterdam) are the busiest
        shops = [
            (loc, 1 / (n + 2) ** 0.5)
            for n, loc in enumerate(loc for loc in usable if getattr(locations[loc], wanted))
        ]
        if ships:
            ship_from[code] = _weighted(ships)
        if shops:
            stores[code] = _weighted(shops)
    active = [c for c in CHANNELS if c in ship_from or c in stores]
    if not active:
        return None
    warehouses = [
        pk for pk, loc in locations.items() if loc.kind == Location.Kind.WAREHOUSE
    ] or list(locations)
    people, per_channel = _customers(spec=spec, now=now, rng=rng, active=active, result=result)
    return World(
        now=now,
        start=now.date() - timedelta(days=spec.days),
        end=now.date() - timedelta(days=1),
        channels={code: channels[code] for code in active},
        countries=countries,
        locations=locations,
        stock=stock,
        pickers=pickers,
        ship_from=ship_from,
        stores=stores,
        returns_at=min(warehouses),
        customers=per_channel,
        people=people,
    )


def _customers(
    *,
    spec: HistorySize,
    now: datetime,
    rng: random.Random,
    active: list[str],
    result: HistoryResult,
) -> tuple[dict[int, tuple[str, str]], dict[str, tuple[list[int], list[float]]]]:
    """The customer pool: the demo's own shoppers first, then ``shopper<n>@example.com``. Each
    has a home channel and some a second one; a few buy very often (a long tail of weights)."""
    known = list(
        CustomerIdentifier.objects.filter(
            kind="email", value__endswith="@example.com", customer__status="active"
        )
        .exclude(value__startswith="shopper")
        .order_by("customer_id")
        .values_list("customer_id", "value", "customer__name")
    )
    people: dict[int, tuple[str, str]] = {}
    for customer_id, email, name in known:
        people.setdefault(customer_id, (email, name))
    new: list[tuple[str, datetime, str]] = []  # name, joined, email
    for n in range(spec.customers - len(people)):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        joined = now - timedelta(days=spec.days + rng.randint(1, 900), minutes=rng.randint(0, 1439))
        new.append((name, joined, f"shopper{n:06d}@example.com"))
    ids = bulk.create_rows(
        Customer,
        ("name", "created_at", "updated_at"),
        [(name, joined, joined) for name, joined, _ in new],
    )
    online = [c for c in active if c != "pos"] or active
    bulk.create_rows(
        CustomerIdentifier,
        ("customer_id", "kind", "value", "channel_code", "created_at"),
        [
            (pk, "email", email, online[pk % len(online)], joined)
            for pk, (_, joined, email) in zip(ids, new, strict=True)
        ],
        pks=False,
    )
    for pk, (name, _, email) in zip(ids, new, strict=True):
        people[pk] = (email, name)
    result.customers = len(new)
    home_codes = list(active)
    home_weights = [CHANNEL_SHARE[c] for c in home_codes]
    per_channel: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for rank, customer_id in enumerate(people):
        weight = 1 / (rank + 3) ** 0.75
        home = rng.choices(home_codes, weights=home_weights)[0]
        per_channel[home].append((customer_id, weight))
        if rng.random() < 0.35:  # shops on a second channel too, less often
            other = rng.choice([c for c in home_codes if c != home] or [home])
            if other != home:
                per_channel[other].append((customer_id, weight * 0.4))
    return people, {code: _weighted(pairs) for code, pairs in per_channel.items()}


# --- the orders, as plans -------------------------------------------------------------------------


def _day_counts(world: World, spec: HistorySize) -> Iterator[tuple[date, str, int]]:
    """How many orders each channel takes each day: its share of the total, spread by weekday,
    month and a trend (the app grows, the marketplace a little); fractions carried over."""
    days = [world.start + timedelta(days=d) for d in range((world.end - world.start).days + 1)]
    weights: dict[str, list[float]] = {}
    for code in world.channels:
        week = WEEKDAY_STORE if code == "pos" else WEEKDAY_ONLINE
        growth = {"app": 0.6, "marketplace": 0.25}.get(code, 0.1)
        weights[code] = [
            week[day.weekday()]
            * MONTH[day.month - 1]
            * (1 + growth * (n / max(len(days) - 1, 1) - 0.5))
            * (1.6 if day.month == 11 and 22 <= day.day <= 30 and code != "pos" else 1.0)
            for n, day in enumerate(days)
        ]
    share = sum(CHANNEL_SHARE[c] for c in world.channels)
    totals = {code: sum(w) for code, w in weights.items()}
    carry = dict.fromkeys(world.channels, 0.0)
    for n, day in enumerate(days):
        for code in world.channels:
            expected = spec.orders * CHANNEL_SHARE[code] / share
            exact = expected * weights[code][n] / totals[code] + carry[code]
            count = math.floor(exact)
            carry[code] = exact - count
            yield day, code, count


_STORE_HOURS = _weighted(list(HOURS_STORE.items()))
_ONLINE_HOURS = _weighted(list(enumerate(HOURS_ONLINE)))


def _at(day: date, rng: random.Random, *, store: bool) -> datetime:
    hours, cum = _STORE_HOURS if store else _ONLINE_HOURS
    hour = rng.choices(hours, cum_weights=cum)[0]
    moment = datetime.combine(day, time(hour), tzinfo=UTC)
    return moment + timedelta(seconds=rng.randint(0, 3599))


def _plans(*, world: World, spec: HistorySize, rng: random.Random) -> Iterator[OrderPlan]:
    """The orders in the order they were placed."""
    n = 0
    line_counts, line_cum = _weighted(LINES)
    quantities, quantity_cum = _weighted(QUANTITY)
    for day, code, count in _day_counts(world, spec):
        placed = sorted(_at(day, rng, store=code == "pos") for _ in range(count))
        for placed_at in placed:
            plan = _plan(
                n=n,
                code=code,
                placed_at=placed_at,
                world=world,
                rng=rng,
                line_count=rng.choices(line_counts, cum_weights=line_cum)[0],
                quantities=(quantities, quantity_cum),
            )
            if plan is not None:
                n += 1
                yield plan


def _plan(
    *,
    n: int,
    code: str,
    placed_at: datetime,
    world: World,
    rng: random.Random,
    line_count: int,
    quantities: tuple[list[int], list[float]],
) -> OrderPlan | None:
    if code == "pos":
        method = FulfillmentMethod.CARRY_OUT
    elif code in world.stores and rng.random() < PICKUP_SHARE.get(code, 0):
        method = FulfillmentMethod.PICKUP
    else:
        method = FulfillmentMethod.SHIP
    where = world.stores if method != FulfillmentMethod.SHIP else world.ship_from
    if code not in where:
        return None
    ids, cum = where[code]
    location_id = rng.choices(ids, cum_weights=cum)[0]
    picker = world.pickers[(code, location_id)]
    channel = world.channels[code]
    customer_id = None
    if rng.random() >= GUEST_RATE[code] and code in world.customers:
        people, people_cum = world.customers[code]
        customer_id = rng.choices(people, cum_weights=people_cum)[0]
    # lines: distinct variants, mostly one unit each
    chosen: dict[int, tuple[Item, int]] = {}
    for _ in range(line_count):
        item = picker.draw(rng, placed_at.month)
        if item.variant_id not in chosen:
            chosen[item.variant_id] = (
                item,
                rng.choices(quantities[0], cum_weights=quantities[1])[0],
            )
    discount_rate = Decimal(0)
    discount_name = ""
    if rng.random() < DISCOUNT_RATE[code]:
        black_friday = placed_at.month == 11 and placed_at.day >= 22
        discount_rate = Decimal("0.20") if black_friday else Decimal("0.10")
        discount_name = "Black Friday 20 %" if black_friday else "Members 10 %"
    include = channel.prices_include_tax
    lines = []
    for item, qty in chosen.values():
        subtotal = money_round(item.price * qty)
        discount = money_round(subtotal * discount_rate)
        tax = tax_line(
            key=item.sku, amount=subtotal - discount, rate=item.tax_rate, prices_include_tax=include
        ).tax
        lines.append(LinePlan(item, qty, subtotal, discount, tax))
    goods = sum((line.paid for line in lines), ZERO)
    shipping = ZERO
    shipping_tax = ZERO
    if method == FulfillmentMethod.SHIP and goods < 75:
        shipping = Decimal("4.95")
        top = max(line.item.tax_rate for line in lines)
        shipping_tax = tax_line(
            key="shipping", amount=shipping, rate=top, prices_include_tax=include
        ).tax
    plan = OrderPlan(
        n=n,
        channel=code,
        method=method,
        location_id=location_id,
        customer_id=customer_id,
        placed_at=placed_at,
        lines=lines,
        shipping=shipping,
        shipping_tax=shipping_tax,
        discount_name=discount_name,
        city=rng.choice(CITIES).replace("-", " "),
        tender=(
            Payment.Tender.CASH if code == "pos" and rng.random() < 0.22 else Payment.Tender.CARD
        ),
    )
    _timeline(plan, world=world, rng=rng)
    if plan.cancelled_at is None:
        _returns(plan, world=world, rng=rng)
    return plan


def _clamp(moment: datetime, world: World, *, before: datetime | None = None) -> datetime:
    """Nothing happens after the present (nor, given ``before``, after that)."""
    limit = world.now - timedelta(minutes=2) if before is None else before
    return min(moment, limit)


def _timeline(plan: OrderPlan, *, world: World, rng: random.Random) -> None:
    placed = plan.placed_at
    if rng.random() < CANCEL_RATE[plan.channel]:
        if plan.method == FulfillmentMethod.PICKUP and rng.random() < 0.5:
            # made ready, never collected: cancelled when the hold ran out
            plan.ready_at = _clamp(placed + timedelta(minutes=rng.randint(20, 480)), world)
            hold = plan.ready_at + timedelta(days=7)
            if hold < world.now:
                plan.cancelled_at = hold
                return
        else:
            plan.cancelled_at = _clamp(placed + timedelta(minutes=rng.randint(10, 2 * 1440)), world)
            return
    if plan.method == FulfillmentMethod.CARRY_OUT:
        plan.ready_at = plan.done_at = placed + timedelta(seconds=rng.randint(20, 180))
        return
    if plan.method == FulfillmentMethod.PICKUP:
        # most are ready within the store's preparation time; a few wait for the next morning
        minutes = rng.lognormvariate(math.log(75), 0.7)
        ready = placed + timedelta(minutes=min(max(minutes, 20), 480))
        done = ready + timedelta(
            days=rng.choices((0, 1, 2, 3, 4, 5), weights=(30, 30, 17, 10, 8, 5))[0],
            minutes=rng.randint(30, 480),
        )
    else:
        ready = placed + timedelta(hours=rng.uniform(2, 30))
        done = ready + timedelta(days=rng.choice((1, 1, 1, 2, 2, 3)), hours=rng.uniform(-6, 6))
    plan.done_at = max(_clamp(done, world), placed + timedelta(minutes=2))
    plan.ready_at = _clamp(ready, world, before=plan.done_at - timedelta(minutes=1))
    if (
        plan.method == FulfillmentMethod.SHIP
        and len(plan.lines) > 1
        and rng.random() < 0.05
        and plan.ready_at > placed + timedelta(minutes=2)
    ):
        # one item could not be found when picking: its line is cancelled
        plan.lines[-1].cancelled = True
        plan.line_cancelled_at = plan.ready_at - timedelta(minutes=1)


def _returns(plan: OrderPlan, *, world: World, rng: random.Random) -> None:
    if plan.done_at is None or rng.random() >= RETURN_RATE[plan.channel]:
        return
    kept = [i for i, line in enumerate(plan.lines) if not line.cancelled]
    if not kept:
        return
    picked = kept if rng.random() < 0.2 else [rng.choice(kept)]
    apparel = any(plan.lines[i].item.family not in (2169, 602, 1985) for i in picked)
    reasons, cum = _weighted(REASONS if apparel else HOME_REASONS)
    reason = rng.choices(reasons, cum_weights=cum)[0]
    # where it comes back: the store it was bought or collected at, a store for some online
    # orders, else the returns warehouse
    location_id = world.returns_at
    if plan.method != FulfillmentMethod.SHIP:
        location_id = plan.location_id
    if plan.channel in ("webshop", "app") and "webshop" in world.stores and rng.random() < 0.3:
        ids, stores_cum = world.stores["webshop"]
        location_id = rng.choices(ids, cum_weights=stores_cum)[0]
    lines = []
    for i in picked:
        line = plan.lines[i]
        qty = line.quantity if rng.random() < 0.7 else rng.randint(1, line.quantity)
        lines.append((i, qty, reason))
    if any((plan.lines[i].item.variant_id, location_id) not in world.stock for i, _, _ in lines):
        location_id = plan.location_id  # the store never stocked it: back where it came from
    in_store = world.locations[location_id].kind == Location.Kind.STORE
    if in_store:
        received = plan.done_at + timedelta(days=rng.randint(1, 21), hours=rng.uniform(0, 8))
        created = received
    else:
        created = plan.done_at + timedelta(days=rng.randint(1, 14), hours=rng.uniform(0, 12))
        received = created + timedelta(days=rng.randint(2, 6), hours=rng.uniform(0, 6))
    if created >= world.now:
        return
    received_at = received if received < world.now else None
    refund_at = None
    if received_at is not None:
        refund = received_at + timedelta(minutes=1 if in_store else rng.randint(60, 3 * 1440))
        refund_at = refund if refund < world.now else None
    plan.returns.append(ReturnPlan(location_id, created, received_at, refund_at, reason, lines))


# --- rows ---------------------------------------------------------------------------------------
#
# Rows are built as tuples of the columns below and written by ``bulk.create_rows``: at 200,000
# orders a model instance per row (about three million of them) cost more than all the rest.


DONE: dict[str, str] = {
    FulfillmentMethod.SHIP: Fulfillment.Status.DELIVERED,
    FulfillmentMethod.PICKUP: Fulfillment.Status.PICKED_UP,
    FulfillmentMethod.CARRY_OUT: Fulfillment.Status.CARRIED_OUT,
}
TENDERS = {tender.value: tender.label.lower() for tender in Payment.Tender}
ACTOR_FIELDS = tuple(ACTOR.fields())
ACTOR_VALUES = tuple(ACTOR.fields().values())
ORDER_FIELDS = (
    *("number", "channel_id", "external_id", "status", "fulfillment_method", "customer_id"),
    *("customer_email", "customer_name", "shipping_address", "currency", "subtotal"),
    *("discount_total", "shipping_total", "tax_total", "total", "prices_include_tax"),
    *("tax_country", "promotions", "payment_status", "amount_captured", "amount_refunded"),
    *("placed_at", "created_at", "updated_at"),
)
LINE_FIELDS = (
    *("order_id", "variant_id", "sku", "title", "options", "quantity", "unit_price"),
    *("line_total", "discount_amount", "tax_rate", "tax_amount", "quantity_cancelled"),
    *("quantity_refunded", "cost_price"),
)
TAX_LINE_FIELDS = ("order_id", "kind", "country", "rate", "net", "tax", "gross")
FULFILLMENT_FIELDS = (
    *("order_id", "location_id", "method", "status", "promised_at", "carrier"),
    *("tracking_number", "created_at", "updated_at"),
)
FULFILLMENT_LINE_FIELDS = ("fulfillment_id", "order_line_id", "quantity")
PAYMENT_FIELDS = (
    *("order_id", "tender", "status", "amount_authorised", "amount_captured"),
    *("amount_refunded", "provider_reference", "location_id", "created_at"),
)
RETURN_FIELDS = (
    *("rma", "order_id", "customer_id", "status", "reason", "location_id", "received_at"),
    *("created_at", "updated_at"),
)
RETURN_LINE_FIELDS = ("return_request_id", "order_line_id", "quantity", "reason", "disposition")
REFUND_FIELDS = (
    *("order_id", "return_request_id", "payment_id", "key", "amount", "tax_amount", "reason"),
    "created_at",
)
REFUND_LINE_FIELDS = ("refund_id", "order_line_id", "quantity", "amount", "tax_amount")
EVENT_FIELDS = (
    *ACTOR_FIELDS,
    "order_id",
    "kind",
    "message",
    "fulfillment_id",
    "data",
    "created_at",
)
MOVEMENT_FIELDS = (
    *ACTOR_FIELDS,
    *("stock_id", "kind", "on_hand_delta", "damaged_delta", "reason", "reference_type"),
    *("reference", "created_at"),
)
SHIP_PROMISE = timedelta(days=2)
PICKUP_PROMISE = timedelta(hours=1)
ONE_SECOND = timedelta(seconds=1)


@dataclass(slots=True)
class RefundPlan:
    """The refund of one received return: (line index, quantity, amount, tax) per line."""

    amount: Decimal
    tax: Decimal
    lines: list[tuple[int, int, Decimal, Decimal]]


@dataclass(slots=True)
class Sums:
    """An order's amounts, its refunds included, worked out before any of its rows is built, so
    that every row is written once and final (no update after the refunds)."""

    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal
    captured: Decimal
    updated_at: datetime
    refunded: Decimal = ZERO
    refunds: dict[int, RefundPlan] = field(default_factory=dict)  # by index of the return
    line_refunded: list[int] = field(default_factory=list)  # units refunded, per line

    @property
    def paid(self) -> bool:
        """Whether a payment was captured (and so can be refunded): never when cancelled."""
        return self.captured > 0


def _number(prefix: str, moment: datetime, n: int, width: int) -> str:
    return f"{prefix}{moment:%y%m%d}-{n:0{width}d}"


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _sums(plan: OrderPlan, *, include: bool) -> Sums:
    """The order's totals as ``orders.pricing`` adds them up (``include``: prices include tax),
    what was captured (nothing when cancelled, less the cancelled lines) and the refunds."""
    subtotal = sum((line.subtotal for line in plan.lines), ZERO)
    discount = sum((line.discount for line in plan.lines), ZERO)
    tax = sum((line.tax for line in plan.lines), ZERO) + plan.shipping_tax
    total = subtotal - discount + plan.shipping + (ZERO if include else tax)
    captured = ZERO
    if plan.cancelled_at is None:
        captured = total - sum(
            (line.paid + (ZERO if include else line.tax) for line in plan.lines if line.cancelled),
            ZERO,
        )
    last = max(
        [plan.placed_at, plan.done_at or plan.placed_at, plan.cancelled_at or plan.placed_at]
        + [r.refund_at or r.received_at or r.created_at for r in plan.returns]
    )
    sums = Sums(subtotal, discount, tax, total, captured, last, line_refunded=[0] * len(plan.lines))
    if sums.paid:
        _refunds_plan(plan, sums, include=include)
    return sums


def _refunds_plan(plan: OrderPlan, sums: Sums, *, include: bool) -> None:
    """A refund per received return that is due, in the order of the returns, each of the paid
    share of its lines and at most what is left of the capture."""
    for n, r in enumerate(plan.returns):
        if r.received_at is None or r.refund_at is None:
            continue
        lines = []
        for index, qty, _reason in r.lines:
            line = plan.lines[index]
            gross = line.paid + (ZERO if include else line.tax)
            lines.append(
                (
                    index,
                    qty,
                    money_round(gross * qty / line.quantity),
                    money_round(line.tax * qty / line.quantity),
                )
            )
        amount = sum((amount for _, _, amount, _ in lines), ZERO)
        amount = min(amount, sums.captured - sums.refunded)
        if amount <= 0:
            continue
        sums.refunds[n] = RefundPlan(amount, sum((tax for _, _, _, tax in lines), ZERO), lines)
        sums.refunded += amount
        for index, qty, _amount, _tax in lines:
            sums.line_refunded[index] += qty


def _payment_status(plan: OrderPlan, sums: Sums) -> str:
    if plan.cancelled_at is not None:
        return Order.PaymentStatus.AUTHORIZED
    if not sums.refunded:
        return Order.PaymentStatus.CAPTURED
    if sums.refunded >= sums.captured:
        return Order.PaymentStatus.REFUNDED
    return Order.PaymentStatus.PARTIALLY_REFUNDED


def _order_row(plan: OrderPlan, sums: Sums, world: World) -> tuple[Any, ...]:
    channel = world.channels[plan.channel]
    country = world.countries[plan.channel]
    email, name = world.people.get(plan.customer_id or 0, ("", ""))
    ship = plan.method == FulfillmentMethod.SHIP
    return (
        _number("H", plan.placed_at, plan.n, 7),
        channel.pk,
        f"{MARK}{plan.n:07d}",
        Order.Status.COMPLETED if plan.cancelled_at is None else Order.Status.CANCELLED,
        plan.method,
        plan.customer_id,
        email,
        name,
        {"country": country, "city": plan.city} if ship else {},
        channel.currency,
        sums.subtotal,
        sums.discount,
        plan.shipping,
        sums.tax,
        sums.total,
        channel.prices_include_tax,
        country,
        [{"name": plan.discount_name, "amount": str(sums.discount)}] if plan.discount_name else [],
        _payment_status(plan, sums),
        sums.captured,
        sums.refunded,
        plan.placed_at,
        plan.placed_at,
        sums.updated_at,
    )


def _line_rows(plan: OrderPlan, sums: Sums, order_id: int) -> list[tuple[Any, ...]]:
    cancelled = plan.cancelled_at is not None
    return [
        (
            order_id,
            line.item.variant_id,
            line.item.sku,
            line.item.title,
            line.item.options,
            line.quantity,
            line.item.price,
            line.subtotal,
            line.discount,
            line.item.tax_rate,
            line.tax,
            line.quantity if line.cancelled or cancelled else 0,
            refunded,
            line.item.cost,
        )
        for line, refunded in zip(plan.lines, sums.line_refunded, strict=True)
    ]


def _tax_rows(
    plan: OrderPlan, order_id: int, *, include: bool, country: str
) -> list[tuple[Any, ...]]:
    """The order's tax lines: net, tax and gross per kind (goods, shipping) and rate."""
    by_rate: dict[tuple[str, Decimal], list[Decimal]] = {}
    parts = [("goods", line.item.tax_rate, line.paid, line.tax) for line in plan.lines]
    if plan.shipping:
        top = max(line.item.tax_rate for line in plan.lines)
        parts.append(("shipping", top, plan.shipping, plan.shipping_tax))
    for kind, rate, amount, tax in parts:
        sums = by_rate.setdefault((kind, rate), [ZERO, ZERO, ZERO])
        net = amount - tax if include else amount
        sums[0] += net
        sums[1] += tax
        sums[2] += net + tax
    return [(order_id, kind, country, rate, n, t, g) for (kind, rate), (n, t, g) in by_rate.items()]


def _parcel(plan: OrderPlan) -> tuple[str, str]:
    """The carrier and tracking number of a shipped order."""
    return ("PostNL" if plan.n % 3 else "DHL"), f"3SHIST{plan.n:09d}"


def _fulfillment_row(plan: OrderPlan, sums: Sums, order_id: int) -> tuple[Any, ...]:
    ship = plan.method == FulfillmentMethod.SHIP
    carrier, tracking = _parcel(plan) if ship and plan.cancelled_at is None else ("", "")
    return (
        order_id,
        plan.location_id,
        plan.method,
        Fulfillment.Status.CANCELLED if plan.cancelled_at is not None else DONE[plan.method],
        plan.placed_at + (SHIP_PROMISE if ship else PICKUP_PROMISE),
        carrier,
        tracking,
        plan.placed_at,
        sums.updated_at,
    )


def _payment_row(plan: OrderPlan, sums: Sums, order_id: int) -> tuple[Any, ...]:
    till = plan.method == FulfillmentMethod.CARRY_OUT
    return (
        order_id,
        plan.tender,
        Payment.Status.CAPTURED,
        None if till else sums.total,
        sums.captured,
        sums.refunded,
        f"{MARK}{plan.n:07d}",
        plan.location_id if till else None,
        plan.placed_at,
    )


def _event(
    order_id: int,
    kind: str,
    message: str,
    at: datetime,
    fulfillment_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    return (*ACTOR_VALUES, order_id, kind, message, fulfillment_id, data or {}, at)


def _movement(
    stock_id: int,
    kind: str,
    delta: int,
    at: datetime,
    reference: str,
    *,
    reference_type: str,
    damaged_delta: int = 0,
    reason: str = "",
) -> tuple[Any, ...]:
    return (
        *ACTOR_VALUES,
        stock_id,
        kind,
        delta,
        damaged_delta,
        reason,
        reference_type,
        reference,
        at,
    )


@dataclass(slots=True)
class Returned:
    """A return of the chunk with the keys its rows point at."""

    rma: str
    plan: ReturnPlan
    order: OrderPlan
    refund: RefundPlan | None
    order_id: int
    line_ids: list[int]  # the order's lines, in the plan's order
    payment_id: int | None


@dataclass
class Chunk:
    """The rows of one chunk of orders that are written last (they point at everything else),
    and the returns waiting for their keys."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    movements: list[tuple[Any, ...]] = field(default_factory=list)
    returns: list[Returned] = field(default_factory=list)


def _write(
    plans: list[OrderPlan],
    *,
    world: World,
    sold: dict[tuple[int, date], int],
    seen: dict[tuple[int, str], datetime],
    result: HistoryResult,
) -> None:
    """One chunk of orders and everything hanging on them, one bulk insert per table."""
    if not plans:
        return
    sums = [_sums(p, include=world.channels[p.channel].prices_include_tax) for p in plans]
    order_ids = bulk.create_rows(
        Order, ORDER_FIELDS, [_order_row(p, s, world) for p, s in zip(plans, sums, strict=True)]
    )
    for plan in plans:
        if plan.customer_id is not None:
            seen.setdefault((plan.customer_id, plan.channel), plan.placed_at)
    lines_of = _lines_write(plans, sums, order_ids, world=world)
    result.lines += sum(len(ids) for ids in lines_of)
    fulfillment_ids = _fulfillments_write(plans, sums, order_ids, lines_of)
    paid = [i for i, s in enumerate(sums) if s.paid]
    payment_ids = bulk.create_rows(
        Payment, PAYMENT_FIELDS, [_payment_row(plans[i], sums[i], order_ids[i]) for i in paid]
    )
    payment_of = dict(zip(paid, payment_ids, strict=True))
    chunk = Chunk()
    for i, (plan, s, order_id, f_id, ids) in enumerate(
        zip(plans, sums, order_ids, fulfillment_ids, lines_of, strict=True)
    ):
        _order_events(plan, s, order_id, f_id, world=world, chunk=chunk)
        if plan.cancelled_at is not None:
            result.cancelled += 1
            continue
        _sales(plan, world=world, sold=sold, chunk=chunk)
        for n, r in enumerate(plan.returns):
            rma = _number("HR", r.created_at, result.returns + len(chunk.returns), 6)
            chunk.returns.append(
                Returned(rma, r, plan, s.refunds.get(n), order_id, ids, payment_of.get(i))
            )
    refunds = _returns_write(chunk, world=world)
    bulk.create_rows(TimelineEvent, EVENT_FIELDS, chunk.events, pks=False)
    bulk.create_rows(StockMovement, MOVEMENT_FIELDS, chunk.movements, pks=False)
    result.orders += len(order_ids)
    result.returns += len(chunk.returns)
    result.refunds += refunds
    result.movements += len(chunk.movements)


def _lines_write(
    plans: list[OrderPlan], sums: list[Sums], order_ids: list[int], *, world: World
) -> list[list[int]]:
    """The orders' lines and tax lines; returns the line ids of each order."""
    line_ids = bulk.create_rows(
        OrderLine,
        LINE_FIELDS,
        [
            row
            for p, s, order_id in zip(plans, sums, order_ids, strict=True)
            for row in _line_rows(p, s, order_id)
        ],
    )
    bulk.create_rows(
        OrderTaxLine,
        TAX_LINE_FIELDS,
        [
            row
            for p, order_id in zip(plans, order_ids, strict=True)
            for row in _tax_rows(
                p,
                order_id,
                include=world.channels[p.channel].prices_include_tax,
                country=world.countries[p.channel],
            )
        ],
        pks=False,
    )
    starts = accumulate((len(p.lines) for p in plans), initial=0)  # one more: the end
    return [line_ids[a : a + len(p.lines)] for p, a in zip(plans, starts, strict=False)]


def _fulfillments_write(
    plans: list[OrderPlan], sums: list[Sums], order_ids: list[int], lines_of: list[list[int]]
) -> list[int]:
    """One fulfilment per order with all its lines; returns their ids."""
    fulfillment_ids = bulk.create_rows(
        Fulfillment,
        FULFILLMENT_FIELDS,
        [_fulfillment_row(p, s, o) for p, s, o in zip(plans, sums, order_ids, strict=True)],
    )
    bulk.create_rows(
        FulfillmentLine,
        FULFILLMENT_LINE_FIELDS,
        [
            (fulfillment_id, line_id, line.quantity)
            for p, fulfillment_id, ids in zip(plans, fulfillment_ids, lines_of, strict=True)
            for line, line_id in zip(p.lines, ids, strict=True)
        ],
        pks=False,
    )
    return fulfillment_ids


def _order_events(
    plan: OrderPlan, sums: Sums, order_id: int, f_id: int, *, world: World, chunk: Chunk
) -> None:
    """The order's timeline up to its hand-over (or its cancellation)."""
    K = TimelineEvent.Kind
    location = world.locations[plan.location_id]
    events = chunk.events
    events.append(
        _event(
            order_id,
            K.PLACED,
            f"Order placed on {plan.channel}: {len(plan.lines)} line(s), "
            f"{sums.total} {world.channels[plan.channel].currency}.",
            plan.placed_at,
            data={"fulfillments": 1},
        )
    )
    if plan.ready_at is not None and plan.method == FulfillmentMethod.PICKUP:
        events.append(
            _event(
                order_id,
                K.READY_FOR_PICKUP,
                f"Ready for pickup at {location.name}.",
                plan.ready_at,
                f_id,
            )
        )
    if plan.cancelled_at is not None:
        events.append(
            _event(
                order_id,
                K.FULFILLMENT_CANCELLED,
                f"Fulfilment at {location.code} cancelled"
                + (": not collected in time." if plan.ready_at else ": cancelled on request."),
                plan.cancelled_at,
                f_id,
            )
        )
        return
    assert plan.done_at is not None and plan.ready_at is not None
    if plan.line_cancelled_at is not None:
        for line in plan.lines:
            if line.cancelled:
                events.append(
                    _event(
                        order_id,
                        K.LINE_CANCELLED,
                        f"{line.quantity} x {line.item.sku} cancelled: none to be had.",
                        plan.line_cancelled_at,
                    )
                )
    if plan.method == FulfillmentMethod.SHIP:
        carrier, tracking = _parcel(plan)
        events.append(
            _event(
                order_id,
                K.SHIPPED,
                f"Shipped from {location.code} with {carrier}, {tracking}.",
                plan.ready_at,
                f_id,
            )
        )
        events.append(_event(order_id, K.DELIVERED, "Delivered.", plan.done_at, f_id))
    elif plan.method == FulfillmentMethod.PICKUP:
        events.append(
            _event(order_id, K.PICKED_UP, f"Picked up at {location.code}.", plan.done_at, f_id)
        )
    else:
        events.append(
            _event(
                order_id,
                K.CARRIED_OUT,
                f"Sold at {location.name} ({location.code}) and carried out.",
                plan.done_at,
                f_id,
            )
        )


def _sales(
    plan: OrderPlan, *, world: World, sold: dict[tuple[int, date], int], chunk: Chunk
) -> None:
    """The stock left when it was handed over: a sale per line, counted for the week's receipt."""
    assert plan.done_at is not None and plan.ready_at is not None
    sold_at = plan.done_at if plan.method != FulfillmentMethod.SHIP else plan.ready_at
    week = max(_week(sold_at.date()), world.start)
    reference = _number("H", plan.placed_at, plan.n, 7)
    for line in plan.lines:
        if line.cancelled:
            continue
        stock_id = world.stock[(line.item.variant_id, plan.location_id)]
        chunk.movements.append(
            _movement(
                stock_id,
                StockMovement.Kind.SALE,
                -line.quantity,
                sold_at,
                reference,
                reference_type=StockMovement.ReferenceType.ORDER,
            )
        )
        sold[(stock_id, week)] += line.quantity


def _returns_write(chunk: Chunk, *, world: World) -> int:
    """The chunk's returns with their lines, their refunds, their timeline and the stock they
    brought back; returns how many refunds were written."""
    return_ids = bulk.create_rows(
        Return,
        RETURN_FIELDS,
        [
            (
                x.rma,
                x.order_id,
                x.order.customer_id,
                Return.Status.RECEIVED if x.plan.received_at else Return.Status.AUTHORIZED,
                x.plan.reason,
                x.plan.location_id,
                x.plan.received_at,
                x.plan.created_at,
                x.plan.received_at or x.plan.created_at,
            )
            for x in chunk.returns
        ],
    )
    return_lines: list[tuple[Any, ...]] = []
    refunds: list[tuple[Any, ...]] = []
    refund_lines: list[list[tuple[int, int, Decimal, Decimal]]] = []
    for return_id, x in zip(return_ids, chunk.returns, strict=True):
        r, ids = x.plan, x.line_ids
        disposition = (
            ReturnLine.Disposition.PENDING
            if r.received_at is None
            else ReturnLine.Disposition.DAMAGED
            if r.reason == "damaged"
            else ReturnLine.Disposition.RESTOCK
        )
        return_lines.extend(
            (return_id, ids[index], qty, reason, disposition) for index, qty, reason in r.lines
        )
        _return_events(x, world=world, chunk=chunk)
        if x.refund is not None and x.payment_id is not None:
            refunds.append(
                (
                    x.order_id,
                    return_id,
                    x.payment_id,
                    f"demo:{x.rma}",
                    x.refund.amount,
                    x.refund.tax,
                    f"return {x.rma}",
                    r.refund_at,
                )
            )
            refund_lines.append([(ids[i], qty, a, t) for i, qty, a, t in x.refund.lines])
    bulk.create_rows(ReturnLine, RETURN_LINE_FIELDS, return_lines, pks=False)
    refund_ids = bulk.create_rows(Refund, REFUND_FIELDS, refunds)
    bulk.create_rows(
        RefundLine,
        REFUND_LINE_FIELDS,
        [
            (refund_id, *line)
            for refund_id, lines in zip(refund_ids, refund_lines, strict=True)
            for line in lines
        ],
        pks=False,
    )
    return len(refund_ids)


def _return_events(x: Returned, *, world: World, chunk: Chunk) -> None:
    """A return's timeline (its refund included) and the stock it brought back."""
    K = TimelineEvent.Kind
    rma, r, plan, refund, order_id = x.rma, x.plan, x.order, x.refund, x.order_id
    where = world.locations[r.location_id]
    chunk.events.append(
        _event(
            order_id,
            K.RETURN_CREATED,
            f"Return {rma} authorised, to be received at {where.code}.",
            r.created_at,
            data={"rma": rma},
        )
    )
    if r.received_at is None:
        return
    damaged = r.reason == "damaged"
    disposition = "damaged" if damaged else "restock"
    chunk.events.append(
        _event(
            order_id,
            K.RETURN_RECEIVED,
            f"Return {rma} received at {where.code}: "
            + ", ".join(f"{qty} x {plan.lines[i].item.sku} {disposition}" for i, qty, _ in r.lines)
            + ".",
            r.received_at,
            data={"rma": rma},
        )
    )
    for index, qty, _reason in r.lines:
        stock_id = world.stock[(plan.lines[index].item.variant_id, r.location_id)]
        chunk.movements.append(
            _movement(
                stock_id,
                StockMovement.Kind.RETURN,
                qty,
                r.received_at,
                rma,
                reference_type=StockMovement.ReferenceType.DOCUMENT,
            )
        )
        if damaged:
            chunk.movements.append(
                _movement(
                    stock_id,
                    StockMovement.Kind.DAMAGE,
                    -qty,
                    r.received_at + ONE_SECOND,
                    rma,
                    damaged_delta=qty,
                    reason=f"returned damaged ({rma})",
                    reference_type=StockMovement.ReferenceType.DOCUMENT,
                )
            )
    if refund is None:
        return
    assert r.refund_at is not None  # a refund is made only when it is due
    tender = plan.tender
    chunk.events.append(
        _event(
            order_id,
            K.REFUNDED,
            f"Refunded {refund.amount} {world.channels[plan.channel].currency} "
            f"to {TENDERS[tender]}.",
            r.refund_at,
            data={"amount": str(refund.amount), "tender": tender},
        )
    )


def _receipts_write(*, sold: dict[tuple[int, date], int], world: World) -> int:
    """A receipt per level and week of what it sold that week, at the start of the week (the
    first week: the first day of the history), before any of those sales. Written in slices,
    so that only one slice of rows is in memory at a time."""
    keys = sorted(sold)
    weeks = {
        week: (
            datetime.combine(week, time(0), tzinfo=UTC),
            f"demo weekly replenishment {week:%G-W%V}",
        )
        for week in {week for _, week in keys}
    }
    step = CHUNK * 5
    for start in range(0, len(keys), step):
        movements = [
            _movement(
                stock_id,
                StockMovement.Kind.RECEIPT,
                sold[(stock_id, week)],
                weeks[week][0],
                weeks[week][1],
                reference_type=StockMovement.ReferenceType.DOCUMENT,
            )
            for stock_id, week in keys[start : start + step]
        ]
        bulk.create_rows(StockMovement, MOVEMENT_FIELDS, movements, pks=False)
    return len(keys)


def _customer_channels_write(seen: dict[tuple[int, str], datetime]) -> None:
    """Link each customer to the channels they ordered on (those not linked yet)."""
    links = [
        CustomerChannel(customer_id=customer_id, channel_code=code, first_seen=first)
        for (customer_id, code), first in sorted(seen.items())
    ]
    for start in range(0, len(links), CHUNK * 5):
        bulk.create_ignore_conflicts(
            links[start : start + CHUNK * 5], CustomerChannel, timestamps="given"
        )


def _opening_stock_backdate(*, before: date) -> None:
    """The demo's opening stock was there before the history began (it was received when the
    demo was seeded, a moment ago): date it the day before, so the ledger tells the story in
    order and the stock snapshots have a level from the first day."""
    at = datetime.combine(before - timedelta(days=1), time(6), tzinfo=UTC)
    StockMovement.objects.filter(
        kind=StockMovement.Kind.RECEIPT, reference="demo opening stock", created_at__gt=at
    ).update(created_at=at)


def stock_levels_match_ledger(*, now: datetime | None = None) -> None:
    """Set every level's on hand and damaged to the sums of its movements (what ``stock_check``
    compares), one statement. Used after bulk movements, which leave the counters alone."""
    level = StockLevel._meta.db_table
    movement = StockMovement._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{level}" SET on_hand = ledger.on_hand, damaged = ledger.damaged, '
            "updated_at = %s "
            "FROM (SELECT stock_id, SUM(on_hand_delta) AS on_hand, SUM(damaged_delta) AS damaged "
            f'FROM "{movement}" GROUP BY stock_id) AS ledger '
            f'WHERE "{level}".id = ledger.stock_id '
            f'AND ("{level}".on_hand <> ledger.on_hand OR "{level}".damaged <> ledger.damaged)',
            [connection.ops.adapt_datetimefield_value(now or timezone.now())],
        )
