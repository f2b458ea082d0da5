"""Placing an order: the one way in for the API, the admin, the store page, carts and channel
imports (see docs/orders.md, "Placing an order").

Validation reads before the transaction (:func:`_placement_prepare`: the channel from the shared
channel cache, the offers with their prices in one query, the caller's hold). The order and its
lines, the stock commitment, the fulfilments, the timeline, the payment and the outbox events are
written in one transaction (:func:`_order_place_in`), with one statement per table where there
are several rows. Sourcing happens inside it, under the stock lock: the stock levels of every
candidate location are locked at once (primary-key order) and the plan is made from those locked,
current levels (``inventory.services.stock_commit_sourced``), so an order is never refused for a
plan that another order overtook while stock is still free elsewhere: it is refused only when the
channel's locations really lack the units. :func:`order_place` owns that transaction;
``exchange_create`` and ``cart_checkout`` write the new order inside their own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.selectors import channel_variant_offers
from core.actors import SYSTEM, Actor
from core.events import EventType
from core.metrics import orders_placed
from customers import services as customer_services
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.exceptions import HoldNotActive
from inventory.models import Location
from inventory.services import StockLine
from orders.exceptions import HoldLocationMismatch, HoldNotFound, OrderInvalid
from orders.models import (
    Fulfillment,
    FulfillmentLine,
    FulfillmentMethod,
    GiftCard,
    Notification,
    Order,
    OrderLine,
    OrderTaxLine,
    Payment,
    TimelineEvent,
)
from orders.models.shipping import ShippingMethod
from orders.pricing import BasketItem, Pricing, basket_price
from orders.services.giftcards import (
    GiftCardInput,
    giftcards_check,
    giftcards_issue_for_lines,
    giftcards_redeem,
)
from orders.services.notifications import notification_queue
from orders.services.pricing import (
    order_line_pricing_fields,
    order_pricing_fields,
    order_tax_lines_write,
)
from orders.services.promotions import coupon_redeem
from orders.services.records import CENT, number_new, order_event_record
from orders.services.sourcing import (
    FewestParcelsStrategy,
    Plan,
    Sourced,
    SourcingStrategy,
    pickup_plan,
    ship_plan,
)
from orders.shipping import (
    HORIZON_DAYS,
    delivery_promise,
    location_timezone,
    non_working_days,
    shipping_method_quote,
    weight_or_default,
)

FS = Fulfillment.Status


@dataclass(frozen=True)
class LineInput:
    sku: str
    quantity: int


@dataclass(frozen=True)
class CustomerInput:
    email: str = ""
    phone: str = ""
    name: str = ""
    loyalty_card: str = ""


@dataclass(frozen=True)
class PlaceResult:
    order: Order
    created: bool


def placement_validate(
    *,
    channel_code: str,
    lines: Sequence[LineInput],
    method: str,
    pickup_location_code: str,
    address: Mapping[str, Any],
    shipping_total: Decimal,
) -> tuple[Any, dict[str, int], dict[str, Any], Any]:
    """Check an order request (or a cart about to be held) without writing anything: returns the
    channel, the units wanted per SKU, the channel's offers per SKU and the pickup location
    (``None`` for ship). Raises :class:`OrderInvalid` listing every bad field or line."""
    errors: list[dict[str, str]] = []
    channel = inventory_selectors.channel_get(code=channel_code, visible_codes=None)
    if channel is None:
        errors.append({"field": "channel", "code": "does_not_exist", "message": "unknown channel"})
    if not lines:
        errors.append({"field": "lines", "code": "required", "message": "an order needs lines"})
    wanted: dict[str, int] = defaultdict(int)
    for index, line in enumerate(lines):
        if line.quantity <= 0:
            errors.append(
                {
                    "field": f"lines.{index}.quantity",
                    "code": "min_value",
                    "message": "must be positive",
                }
            )
        else:
            wanted[line.sku] += line.quantity
    if method not in FulfillmentMethod.values:
        errors.append(
            {"field": "fulfillment.method", "code": "invalid", "message": "ship or pickup"}
        )
    if shipping_total < 0:
        errors.append(
            {"field": "shipping_total", "code": "min_value", "message": "must not be negative"}
        )
    location = None
    if method == FulfillmentMethod.PICKUP:
        location = next(
            (
                loc
                for loc in (channel.locations.all() if channel is not None else ())
                if loc.code == pickup_location_code and loc.is_active and loc.offers_pickup
            ),
            None,
        ) or (
            Location.objects.filter(
                code=pickup_location_code, is_active=True, offers_pickup=True
            ).first()
        )
        if location is None:
            errors.append(
                {
                    "field": "fulfillment.location",
                    "code": "does_not_exist",
                    "message": "no active pickup location with this code",
                }
            )
        elif channel is not None and location not in channel.locations.all():
            errors.append(
                {
                    "field": "fulfillment.location",
                    "code": "not_on_channel",
                    "message": "this store is not a location of the channel",
                }
            )
    if method == FulfillmentMethod.SHIP and not address.get("country"):
        errors.append(
            {"field": "fulfillment.address", "code": "required", "message": "ship needs a country"}
        )
    offers: dict[str, Any] = {}
    if channel is not None and lines:
        offers = channel_variant_offers(channel_code=channel_code, skus=[x.sku for x in lines])
        for index, line in enumerate(lines):
            offer = offers.get(line.sku)
            if offer is None:
                errors.append(
                    {"field": f"lines.{index}.sku", "code": "unknown_sku", "message": line.sku}
                )
            elif not offer.sellable or offer.price is None:
                errors.append(
                    {
                        "field": f"lines.{index}.sku",
                        "code": offer.reason or "not_sellable",
                        "message": f"{line.sku} cannot be sold on {channel_code}",
                    }
                )
    if errors:
        raise OrderInvalid(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors
        )
    return channel, dict(wanted), offers, location


@dataclass(frozen=True)
class _Placement:
    """An order request that passed validation, ready to be sourced and written."""

    channel: Any
    method: str
    address: dict[str, Any]
    customer: CustomerInput
    external_id: str
    wanted_by_sku: dict[str, int]
    offers: dict[str, Any]
    wanted: dict[int, int]  # variant_id -> units
    pickup_location: Any  # the store for pickup, else None
    locations: list[Any]  # where units may come from: the pickup store, or the shipping locations
    strategy: SourcingStrategy
    subtotal: Decimal
    shipping_total: Decimal
    discount_total: Decimal
    payment_status: str
    loyalty_points: int
    identified: bool
    hold_reference: str | None
    now: datetime
    # gift cards tendered (checked, re-checked under their row lock when spent), and the
    # variants that are gift cards: no stock, no sourcing, a card issued per unit
    gift_tendered: tuple[tuple[GiftCard, Decimal], ...] = ()
    gift_variants: frozenset[int] = frozenset()
    # the coupon codes entered (checked at prepare, redeemed under their row locks), the country
    # whose rates tax the order, and the shipping method that priced the shipping (ship only)
    coupons: tuple[str, ...] = ()
    tax_country: str = ""
    shipping_method: ShippingMethod | None = None

    def items(self) -> list[BasketItem]:
        """The order's lines as the pricing function takes them, keyed by SKU."""
        return [
            BasketItem(variant_id=self.offers[sku].variant_id, quantity=qty, key=sku)
            for sku, qty in self.wanted_by_sku.items()
        ]


def gift_card_variants(offers: Mapping[str, Any]) -> frozenset[int]:
    """The variants among the channel's ``offers`` whose product type sells gift cards (no
    stock, no sourcing: a card is issued per unit)."""
    return frozenset(offer.variant_id for offer in offers.values() if offer.is_gift_card)


def _gift_total(p: _Placement) -> Decimal:
    return sum((amount for _card, amount in p.gift_tendered), Decimal("0"))


def _gift_exceeds(gift_total: Decimal, total: Decimal) -> OrderInvalid:
    return OrderInvalid(
        f"The gift cards ({gift_total}) are more than the order's total ({total}).",
        errors=[{"field": "gift_cards", "code": "exceeds_total", "message": str(total)}],
    )


def _hold_check(
    *,
    hold_reference: str | None,
    wanted: Mapping[int, int],
    method: str,
    allowed: set[int],
    location: Any,
    now: datetime,
) -> None:
    """Refuse a hold the order cannot use, before anything is written (docs/orders.md, "Holds
    at placement"). Reads only; which held units the order takes is decided under the stock
    lock (:func:`_hold_take`), where ``stock_commit_sourced`` re-checks the hold and consumes it.

    Raises :class:`HoldNotFound` (404) when no hold has this reference, ``HoldNotActive`` (409)
    when it expired, was released or was already used, and :class:`HoldLocationMismatch` (409)
    when units held for the order's SKUs are where the order cannot be served from (``allowed``:
    the pickup store, or the channel's shipping locations).
    """
    if hold_reference is None:
        return
    rows = list(
        inventory_selectors.stock_hold_list()
        .filter(reference=hold_reference)
        .values_list("stock__variant_id", "stock__location_id", "status", "expires_at")
    )
    if not rows:
        raise HoldNotFound(
            "No hold with this reference.",
            errors=[{"field": "hold", "code": "does_not_exist", "message": "unknown hold"}],
        )
    live = {
        (variant_id, location_id)
        for variant_id, location_id, status, expires_at in rows
        if status == "active" and expires_at > now
    }
    if not live:
        raise HoldNotActive(
            "The hold is no longer active: it expired, was released or was used. Nothing was "
            "placed."
        )
    elsewhere = sorted({loc for (v, loc) in live if v in wanted and loc not in allowed})
    if elsewhere:
        codes = list(
            Location.objects.filter(pk__in=elsewhere)
            .order_by("code")
            .values_list("code", flat=True)
        )
        where = f"the pickup store {location.code}" if location is not None else "a location"
        raise HoldLocationMismatch(
            f"The hold keeps units at {', '.join(codes)}, not at {where} that can serve "
            "this order.",
            extra={"hold_locations": codes},
        )


def _hold_take(
    *,
    held: Mapping[tuple[int, int], int],
    wanted: Mapping[int, int],
    available: dict[tuple[int, int], int],
) -> tuple[Plan, dict[int, int]]:
    """Under the stock lock: the order's units taken from the caller's hold first, at the hold's
    own locations (whatever the ship strategy would have chosen), and what is left to source as
    usual (a line the hold covers only partly). Takes only from locked levels and decrements
    ``available`` by what it takes."""
    plan: Plan = {}
    remainder = dict(wanted)
    for (variant_id, location_id), quantity in sorted(held.items()):
        pair = (variant_id, location_id)
        take = min(remainder.get(variant_id, 0), quantity, available.get(pair, 0))
        if take > 0:
            plan.setdefault(location_id, {})[variant_id] = take
            remainder[variant_id] -= take
            available[pair] -= take
    return plan, {v: q for v, q in remainder.items() if q > 0}


def _with_held(
    sourced: Sourced, from_hold: Plan, *, pickup_location: Any, now: datetime
) -> Sourced:
    """The sourced remainder plus the units taken from the hold, committed at its locations."""
    if not from_hold:
        return sourced
    committed: Plan = {loc: dict(per) for loc, per in sourced.committed.items()}
    for location_id, per_variant in from_hold.items():
        here = committed.setdefault(location_id, {})
        for variant_id, quantity in per_variant.items():
            here[variant_id] = here.get(variant_id, 0) + quantity
    promised_at = sourced.promised_at
    if promised_at is None and pickup_location is not None:
        promised_at = now + timedelta(minutes=pickup_location.pickup_preparation_minutes)
    return Sourced(committed=committed, awaiting=sourced.awaiting, promised_at=promised_at)


# The largest amount an order's money columns hold (``max_digits=12, decimal_places=2``).
MONEY_MAX = Decimal("9999999999.99")


def _money_bounds_check(*, subtotal: Decimal, shipping_total: Decimal) -> None:
    """Refuse an order whose goods or total would not fit its money columns (a line total is at
    most the subtotal, the total at most subtotal plus shipping): 400 ``order_invalid`` naming
    ``lines`` or ``shipping_total`` instead of a database error."""
    if subtotal > MONEY_MAX:
        field = "lines"
    elif subtotal + shipping_total > MONEY_MAX:
        field = "shipping_total"
    else:
        return
    raise OrderInvalid(
        f"The order's total would exceed {MONEY_MAX}.",
        errors=[{"field": field, "code": "max_value", "message": f"total above {MONEY_MAX}"}],
    )


def _placement_prepare(
    *,
    channel_code: str,
    lines: Sequence[LineInput],
    method: str,
    pickup_location_code: str,
    address: dict[str, Any],
    customer: CustomerInput,
    external_id: str,
    shipping_total: Decimal,
    discount_total: Decimal,
    payment_status: str,
    loyalty_points: int,
    hold_reference: str | None,
    strategy: SourcingStrategy | None,
    gift_cards: Sequence[GiftCardInput] = (),
    coupons: Sequence[str] = (),
    shipping_method: str = "",
) -> _Placement:
    """Validate an order request (reads only; the refusals of :func:`order_place` that do not
    depend on stock). Sourcing happens under the stock lock in :func:`_order_place_in`.

    With ``shipping_method`` the shipping charge is the method's quote for the address and the
    parcel (its refusals: 404 ``shipping_method_unknown``, 422 ``shipping_zone_unserved``, 422
    ``shipping_rate_missing``, 400 ``invalid_address``). With ``coupons`` the basket is priced
    here too (``basket_price``), so that a coupon error refuses the order before anything is
    written; it is priced again under the locks in :func:`_order_write`."""
    if payment_status not in (
        Order.PaymentStatus.PENDING,
        Order.PaymentStatus.AUTHORIZED,
        Order.PaymentStatus.CAPTURED,
    ):
        raise OrderInvalid(
            "payment_status must be pending, authorized or captured.",
            errors=[{"field": "payment_status", "code": "invalid", "message": payment_status}],
        )
    channel, wanted_by_sku, offers, location = placement_validate(
        channel_code=channel_code,
        lines=lines,
        method=method,
        pickup_location_code=pickup_location_code,
        address=address,
        shipping_total=shipping_total,
    )
    gift_variants = gift_card_variants(offers)
    wanted = {
        offers[sku].variant_id: qty
        for sku, qty in wanted_by_sku.items()
        if offers[sku].variant_id not in gift_variants
    }
    now = timezone.now()
    if method == FulfillmentMethod.PICKUP:
        locations = [location]
    else:
        locations = sorted(
            (loc for loc in channel.locations.all() if loc.is_active and loc.ships_orders),
            key=lambda loc: loc.pk,
        )
    _hold_check(
        hold_reference=hold_reference,
        wanted=wanted,
        method=method,
        allowed={loc.pk for loc in locations},
        location=location,
        now=now,
    )
    subtotal = sum(
        (offers[sku].price * qty for sku, qty in wanted_by_sku.items()), Decimal("0")
    ).quantize(CENT)
    _money_bounds_check(subtotal=subtotal, shipping_total=shipping_total)
    if loyalty_points < 0:
        raise OrderInvalid(
            "Loyalty points cannot be negative.",
            errors=[{"field": "loyalty_points", "code": "min_value", "message": ">= 0"}],
        )
    identified = any((customer.email, customer.phone, customer.loyalty_card))
    if loyalty_points and not identified:
        raise OrderInvalid(
            "Redeeming points needs the customer's email, phone or loyalty card.",
            errors=[{"field": "customer", "code": "required", "message": "no identifier"}],
        )
    tax_country = _tax_country_of(
        channel=channel, method=method, address=address, pickup_location=location
    )
    codes = _coupon_codes(coupons)
    method_row: ShippingMethod | None = None
    if shipping_method:
        shipping_total, method_row = _shipping_priced(
            channel=channel,
            method=method,
            method_code=shipping_method,
            address=address,
            offers=offers,
            wanted_by_sku=wanted_by_sku,
            gift_variants=gift_variants,
            goods_value=subtotal,
            shipping_total=shipping_total,
        )
        _money_bounds_check(subtotal=subtotal, shipping_total=shipping_total)
    gift_tendered = tuple(giftcards_check(gift_cards=gift_cards, currency=channel.currency))
    gift_total = sum((amount for _card, amount in gift_tendered), Decimal("0"))
    most = subtotal - discount_total + shipping_total
    if codes:
        # coupon errors refuse here, before anything is written (customer by email only: the
        # customer is resolved in the transaction, where the basket is priced again)
        priced = basket_price(
            channel=channel,
            items=[
                BasketItem(variant_id=offers[sku].variant_id, quantity=qty, key=sku)
                for sku, qty in wanted_by_sku.items()
            ],
            country=tax_country,
            shipping=shipping_total,
            coupon_codes=codes,
            customer_email=customer.email,
            at=now,
        )
        most = priced.total - discount_total
    if gift_total > most:
        raise _gift_exceeds(gift_total, most)
    return _Placement(
        channel=channel,
        method=method,
        address=address,
        customer=customer,
        external_id=external_id,
        wanted_by_sku=wanted_by_sku,
        offers=offers,
        wanted=wanted,
        pickup_location=location,
        locations=locations,
        strategy=strategy or FewestParcelsStrategy(),
        subtotal=subtotal,
        shipping_total=shipping_total,
        discount_total=discount_total,
        payment_status=payment_status,
        loyalty_points=loyalty_points,
        identified=identified,
        hold_reference=hold_reference,
        now=now,
        gift_tendered=gift_tendered,
        gift_variants=gift_variants,
        coupons=codes,
        tax_country=tax_country,
        shipping_method=method_row,
    )


def _coupon_codes(coupons: Sequence[str]) -> tuple[str, ...]:
    """The codes as stored and compared (trimmed, upper-case), each once, blanks dropped."""
    return tuple(dict.fromkeys(code.strip().upper() for code in coupons if code.strip()))


def _tax_country_of(
    *, channel: Any, method: str, address: Mapping[str, Any], pickup_location: Any
) -> str:
    """Where the order is taxed: the address's country for ship, the store's country for
    pickup, else the channel's default country."""
    if method == FulfillmentMethod.SHIP and address.get("country"):
        return str(address["country"]).upper()
    if method == FulfillmentMethod.PICKUP and pickup_location is not None:
        return str(pickup_location.country).upper()
    return str(channel.default_country or "").upper()


def _shipping_priced(
    *,
    channel: Any,
    method: str,
    method_code: str,
    address: Mapping[str, Any],
    offers: Mapping[str, Any],
    wanted_by_sku: Mapping[str, int],
    gift_variants: frozenset[int],
    goods_value: Decimal,
    shipping_total: Decimal,
) -> tuple[Decimal, ShippingMethod]:
    """The shipping charge of ``method_code`` for the order's parcel (the weight of the goods
    that ship, the goods' value at the channel's prices) to the address, and the method."""
    if method != FulfillmentMethod.SHIP:
        raise OrderInvalid(
            "A shipping method prices a ship order only.",
            errors=[{"field": "shipping_method", "code": "invalid", "message": "ship only"}],
        )
    if shipping_total:
        raise OrderInvalid(
            "Give shipping_method or shipping_total, not both: the method prices the shipping.",
            errors=[
                {"field": "shipping_total", "code": "invalid", "message": "with shipping_method"}
            ],
        )
    weight = sum(
        weight_or_default(offers[sku].weight_grams) * qty
        for sku, qty in wanted_by_sku.items()
        if offers[sku].variant_id not in gift_variants
    )
    postcode = str(address.get("postal_code") or "") or None
    option, row = shipping_method_quote(
        channel_code=channel.code,
        country=str(address.get("country") or ""),
        postcode=postcode,
        weight_grams=weight,
        goods_value=goods_value,
        currency=channel.currency,
        method_code=method_code,
    )
    return option.price, row


def _ship_promises(*, p: _Placement, fulfillments: Sequence[Fulfillment], now: datetime) -> None:
    """Each ship fulfilment's ``promised_at`` from the method's delivery promise for its
    location (``orders.shipping.delivery_promise``, the promise the availability API quotes):
    the end of the ``delivered_by`` day, in the location's time zone."""
    method = p.shipping_method
    if method is None or p.method != FulfillmentMethod.SHIP or not fulfillments:
        return
    by_pk = {loc.pk: loc for loc in p.locations}
    here = [by_pk[f.location_id] for f in fulfillments]
    start = min(now.astimezone(location_timezone(loc)).date() for loc in here)
    closed = non_working_days(
        countries={p.tax_country, *(loc.country for loc in here)},
        start=start,
        end=start + timedelta(days=HORIZON_DAYS + 1),
    )
    for fulfillment, location in zip(fulfillments, here, strict=True):
        promise = delivery_promise(
            location=location, method=method, country=p.tax_country, now=now, closed=closed
        )
        fulfillment.promised_at = datetime.combine(
            promise.delivered_by, time(23, 59, 59), tzinfo=location_timezone(location)
        )


def _source_and_commit(p: _Placement, *, number: str) -> tuple[Sourced, datetime]:
    """Lock the stock levels of every wanted variant at every candidate location, plan from
    those locked, current levels (the caller's held units first, then the pickup store or the
    ship strategy) and commit the plan: one lock round, so a plan cannot be overtaken before it
    is committed, and the order is refused (409) only when the candidates really lack the
    units. Returns the plan and the time read under the lock (when the order is placed). An
    order of gift cards only has nothing to source."""
    if not p.wanted:
        return Sourced(), timezone.now()
    result: list[Sourced] = []

    def source(
        available: Mapping[tuple[int, int], int],
        held: Mapping[tuple[int, int], int],
        now: datetime,
    ) -> list[StockLine]:
        free = dict(available)
        from_hold, remainder = _hold_take(held=held, wanted=p.wanted, available=free)
        if not remainder:
            sourced = Sourced()
        elif p.method == FulfillmentMethod.PICKUP:
            store = p.pickup_location
            sourced = pickup_plan(
                wanted=remainder,
                location=store,
                available={v: free.get((v, store.pk), 0) for v in remainder},
                now=now,
            )
        else:
            sourced = ship_plan(
                wanted=remainder,
                locations=p.locations,
                available=free,
                address=p.address,
                strategy=p.strategy,
            )
        sourced = _with_held(sourced, from_hold, pickup_location=p.pickup_location, now=now)
        result.append(sourced)
        return [
            StockLine(v, loc, q)
            for loc, per_variant in sorted(sourced.committed.items())
            for v, q in sorted(per_variant.items())
        ]

    committed = inventory_services.stock_commit_sourced(
        pairs=[(v, loc.pk) for v in p.wanted for loc in p.locations],
        source=source,
        reference=number,
        hold_reference=p.hold_reference,
    )
    return result[-1], committed.at


def _order_place_in(placement: _Placement, *, actor: Actor) -> Order:
    """Write a prepared order in the caller's transaction: the customer resolved, points
    redeemed, the stock sourced and committed under the stock lock (taken after the customer
    work, so it is held only for the inserts that follow), the order with its price snapshot
    and lines, the fulfilments, the timeline and the payment, ``order.created``, and the
    confirmation email queued after commit. Several rows of one table go in one statement."""
    return _order_write(placement, actor=actor).order


@dataclass(frozen=True)
class _Written:
    order: Order
    lines: list[OrderLine]
    fulfillments: list[Fulfillment]
    fulfillment_lines: list[FulfillmentLine]
    timeline: list[TimelineEvent]
    payments: list[Payment]
    tax_lines: list[OrderTaxLine]


def _order_write(placement: _Placement, *, actor: Actor) -> _Written:
    """:func:`_order_place_in`, returning the rows written too."""
    p = placement
    channel, customer, offers = p.channel, p.customer, p.offers
    number = number_new(prefix="O")
    extra_discount = p.discount_total
    customer_id = None
    if p.identified:
        customer_id = customer_services.customer_resolve(
            email=customer.email,
            phone=customer.phone,
            loyalty_card=customer.loyalty_card,
            name=customer.name,
            channel_code=channel.code,
        ).customer.pk
    if p.loyalty_points:
        assert customer_id is not None
        redemption = customer_services.loyalty_redeem(
            customer_id=customer_id,
            points=p.loyalty_points,
            channel_code=channel.code,
            reference=f"order:{number}",
        )
        extra_discount += redemption.value
    pricing = _order_priced(p, customer_id=customer_id, extra_discount=extra_discount)
    total = pricing.total
    gift_total = _gift_total(p)
    if gift_total > total:
        raise _gift_exceeds(gift_total, total)
    payment_status = p.payment_status
    if gift_total and gift_total == total:  # the gift cards paid it all
        payment_status = Order.PaymentStatus.CAPTURED
    # the stock is locked, sourced and committed first; the order is placed at the time read
    # under that lock (every unit it got was free then), and the rows below are plain inserts
    sourced, placed_at = _source_and_commit(p, number=number)
    order = Order.objects.create(
        number=number,
        customer_id=customer_id,
        loyalty_points_redeemed=p.loyalty_points,
        channel=channel,
        external_id=p.external_id,
        fulfillment_method=p.method,
        customer_email=customer.email.strip().lower(),
        customer_phone=customer.phone.strip(),
        customer_name=customer.name.strip(),
        loyalty_card=customer.loyalty_card.strip(),
        shipping_address=p.address,
        shipping_method=p.shipping_method.code if p.shipping_method is not None else "",
        **order_pricing_fields(pricing),
        payment_status=payment_status,
        # gift card money is taken at placement; the rest when the payment is captured
        amount_captured=total if payment_status == Order.PaymentStatus.CAPTURED else gift_total,
        placed_at=placed_at,
    )
    order_lines = order_lines_create(
        order=order, offers=offers, wanted_by_sku=p.wanted_by_sku, pricing=pricing
    )
    tax_lines = order_tax_lines_write(order=order, pricing=pricing, replace=False)
    if pricing.coupons:  # under the coupons' row locks: a code used up meanwhile refuses all
        coupon_redeem(
            codes=[coupon.code for coupon in pricing.coupons],
            order_id=order.pk,
            customer_id=customer_id,
            customer_email=order.customer_email,
            channel_code=channel.code,
        )
    gift_payments = (
        giftcards_redeem(order=order, tendered=p.gift_tendered, actor=actor)
        if p.gift_tendered
        else []
    )
    by_variant = {line.variant_id: line for line in order_lines}
    plans = [
        (status, location_id, per_variant)
        for status, plan in (
            (FS.ALLOCATED, sourced.committed),
            (FS.AWAITING_TRANSFER, sourced.awaiting),
        )
        for location_id, per_variant in sorted(plan.items())
    ]
    new_fulfillments = [
        Fulfillment(
            order=order,
            location_id=location_id,
            method=p.method,
            status=status,
            promised_at=sourced.promised_at,
        )
        for status, location_id, _per in plans
    ]
    _ship_promises(p=p, fulfillments=new_fulfillments, now=placed_at)
    fulfillments = Fulfillment.objects.bulk_create(new_fulfillments)
    locations = {loc.pk: loc for loc in p.locations}
    fulfillment_lines = FulfillmentLine.objects.bulk_create(
        FulfillmentLine(fulfillment=fulfillment, order_line=by_variant[v], quantity=q)
        for fulfillment, (_status, _loc, per_variant) in zip(fulfillments, plans, strict=True)
        for v, q in sorted(per_variant.items())
    )
    events = [
        TimelineEvent(
            order=order,
            kind=TimelineEvent.Kind.PLACED,
            message=f"Order placed on {channel.code}: {len(order_lines)} line(s), "
            f"{total} {order.currency}.",
            data={"fulfillments": len(fulfillments)},
            **actor.fields(),
        )
    ]
    payments: list[Payment] = list(gift_payments)
    # Online money captured at placement gets its payment record (``payment_capture_record``:
    # a new order has no payment yet, so the gap is what was captured beyond the gift cards); a
    # till records its own tenders.
    if p.method != FulfillmentMethod.CARRY_OUT and order.amount_captured > gift_total:
        payment = Payment.objects.create(
            order=order,
            tender=Payment.Tender.CARD,
            status=Payment.Status.CAPTURED,
            amount_authorised=order.amount_captured - gift_total,
            amount_captured=order.amount_captured - gift_total,
            provider_reference=order.external_id[:100],
        )
        payments.append(payment)
        events.append(
            TimelineEvent(
                order=order,
                kind=TimelineEvent.Kind.PAYMENT_RECORDED,
                message=f"Payment recorded: {payment.amount} {order.currency} by "
                f"{payment.get_tender_display()}.",
                data={
                    "payment_id": payment.pk,
                    "tender": payment.tender,
                    "amount": str(payment.amount),
                },
                **actor.fields(),
            )
        )
    events = TimelineEvent.objects.bulk_create(events)
    gift_lines = [line for line in order_lines if line.variant_id in p.gift_variants]
    if gift_lines:
        giftcards_issue_for_lines(order=order, lines=gift_lines, actor=actor)
    if gift_payments or gift_lines:  # written one by one: the timeline as stored, in order
        events = list(order.timeline.all())
    for fulfillment in fulfillments:
        fulfillment.location = locations[fulfillment.location_id]
    order_event_record(order=order, topic=EventType.ORDER_CREATED, fulfillments=fulfillments)
    notification_queue(order=order, kind=Notification.Kind.CONFIRMATION)
    transaction.on_commit(orders_placed.labels(channel=channel.code).inc)  # /metrics
    return _Written(
        order=order,
        lines=order_lines,
        fulfillments=fulfillments,
        fulfillment_lines=fulfillment_lines,
        timeline=events,
        payments=payments,
        tax_lines=tax_lines,
    )


def _written_prefetch(written: _Written) -> Order:
    """The new order with the related rows just written, as ``orders.selectors.order_list``
    prefetches them (same order, same joins), so that answering with it reads nothing back.
    Only for an order nothing else changed after it was written (``order_place``)."""
    order, lines, fulfillments = written.order, written.lines, written.fulfillments

    def cached(manager: Any, rows: list[Any]) -> Any:
        queryset = manager.all()
        queryset._result_cache = rows
        queryset._prefetch_done = True
        return queryset

    by_line = {line.pk: line for line in lines}
    per_fulfillment: dict[int, list[FulfillmentLine]] = defaultdict(list)
    for row in written.fulfillment_lines:
        row.order_line = by_line[row.order_line_id]
        per_fulfillment[row.fulfillment_id].append(row)
    for fulfillment in fulfillments:
        fulfillment._prefetched_objects_cache = {  # type: ignore[attr-defined]
            "lines": cached(fulfillment.lines, per_fulfillment[fulfillment.pk])
        }
    for payment in written.payments:
        payment.location = None
    order._prefetched_objects_cache = {  # type: ignore[attr-defined]
        "lines": cached(order.lines, sorted(lines, key=lambda x: x.pk)),
        "fulfillments": cached(order.fulfillments, sorted(fulfillments, key=lambda x: x.pk)),
        "timeline": cached(order.timeline, list(written.timeline)),
        "payments": cached(order.payments, list(written.payments)),
        "tax_lines": cached(order.tax_lines, list(written.tax_lines)),
    }
    return order


def _order_by_external_id(channel_code: str, external_id: str) -> Order | None:
    return Order.objects.filter(channel__code=channel_code, external_id=external_id).first()


def order_lines_create(
    *,
    order: Order,
    offers: Mapping[str, Any],
    wanted_by_sku: Mapping[str, int],
    pricing: Pricing | None = None,
) -> list[OrderLine]:
    """The order's lines, one insert: each SKU's channel offer (title, options) as a snapshot,
    with its price, discount and tax from ``pricing`` (``basket_price`` keyed by SKU); without
    it, the offer's price times the quantity. Each line keeps the variant's cost price at this
    moment (``VariantOffer.cost_price``, unknown stays ``None``), for margins."""
    return OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            variant_id=offers[sku].variant_id,
            sku=sku,
            title=offers[sku].title,
            options=offers[sku].options,
            quantity=qty,
            cost_price=offers[sku].cost_price,
            **(
                order_line_pricing_fields(pricing, sku)
                if pricing is not None
                else {
                    "unit_price": offers[sku].price,
                    "line_total": (offers[sku].price * qty).quantize(CENT),
                }
            ),
        )
        for sku, qty in wanted_by_sku.items()
    )


def _order_priced(p: _Placement, *, customer_id: int | None, extra_discount: Decimal) -> Pricing:
    """The order priced under the locks (``basket_price``): the channel's prices, the running
    promotions and the coupons for the resolved customer, ``extra_discount`` (the caller's
    discount plus the points' value) after them, tax at the order's country. Refuses a discount
    larger than what the promotions leave of the goods, a line whose price went away since the
    order was checked, and a total beyond the money columns."""
    pricing = basket_price(
        channel=p.channel,
        items=p.items(),
        country=p.tax_country,
        shipping=p.shipping_total,
        coupon_codes=p.coupons,
        customer_id=customer_id,
        customer_email=p.customer.email,
        extra_discount=extra_discount,
    )
    # basket_price takes off at most what the promotions leave of the goods
    if pricing.discount_total - pricing.promotion_discount < extra_discount:
        left = pricing.subtotal - pricing.promotion_discount
        field = "loyalty_points" if p.loyalty_points else "discount_total"
        raise OrderInvalid(
            f"The discount ({extra_discount}) is more than the goods ({left}).",
            errors=[{"field": field, "code": "max_value", "message": "too many"}],
        )
    if pricing.unpriced:
        skus = sorted(sku for sku, o in p.offers.items() if o.variant_id in pricing.unpriced)
        raise OrderInvalid(
            "A line lost its price on the channel meanwhile.",
            errors=[{"field": "lines", "code": "no_price", "message": ", ".join(skus)}],
        )
    if pricing.total > MONEY_MAX:
        raise OrderInvalid(
            f"The order's total would exceed {MONEY_MAX}.",
            errors=[{"field": "lines", "code": "max_value", "message": f"total above {MONEY_MAX}"}],
        )
    return pricing


def order_place(
    *,
    channel_code: str,
    lines: Sequence[LineInput],
    method: str,
    pickup_location_code: str = "",
    address: Mapping[str, Any] | None = None,
    customer: CustomerInput | None = None,
    external_id: str = "",
    shipping_total: Decimal = Decimal("0"),
    discount_total: Decimal = Decimal("0"),
    payment_status: str = Order.PaymentStatus.AUTHORIZED,
    loyalty_points: int = 0,
    hold_reference: str | None = None,
    strategy: SourcingStrategy | None = None,
    gift_cards: Sequence[GiftCardInput] = (),
    coupons: Sequence[str] = (),
    shipping_method: str = "",
    actor: Actor = SYSTEM,
) -> PlaceResult:
    """Place an order: every line committed against stock, or nothing at all.

    Idempotent by ``external_id`` per channel: the same id returns the existing order
    (``created=False``), also when two arrive at once (the unique constraint decides). Prices
    are the channel's at placement (a snapshot). Pickup commits the chosen store's units (or
    promises them through an open transfer); ship splits the lines over the channel's shipping
    locations with ``strategy``. ``hold_reference`` names the caller's stock hold (its stored
    reference): its units are committed first at the hold's locations, the rest is sourced as
    usual, and the whole hold is consumed in the same transaction (unused units back on sale);
    see :func:`_hold_check` for its refusals (404 ``hold_not_found``, 409 ``hold_not_active``,
    409 ``hold_location_mismatch``). ``gift_cards`` (code and amount each, together at most the
    total) are spent in the same transaction, one ``gift_card`` payment each: 404
    ``gift_card_unknown``, 409 ``gift_card_insufficient`` / ``_expired`` / ``_disabled`` /
    ``_currency``, and nothing is written. Lines of a gift-card product type take no stock and
    issue a card per unit (its code on the order timeline).

    Priced by ``orders.pricing.basket_price`` (at prepare when ``coupons`` are given, so a
    coupon error refuses before anything is written; and under the locks, with the points'
    value plus ``discount_total`` as the order-level discount): the channel's prices, the
    running promotions and the ``coupons`` (``coupon_*`` errors), tax at the order's country
    (ship: the address's; pickup: the store's; else the channel's default country). With
    ``shipping_method`` the shipping is the method's quote for the address and the parcel
    (``shipping_method_unknown``, ``shipping_zone_unserved``, ``shipping_rate_missing``) and
    each ship fulfilment is promised the method's delivery day from its location; without it,
    ``shipping_total`` is the caller's charge. A free-shipping promotion takes the shipping
    off. The coupons are redeemed in the order's transaction (``coupon_exhausted`` when used
    up meanwhile: nothing is written). Sourcing happens under the stock
    lock from the locked, current levels (:func:`_source_and_commit`), so the order is refused
    only when the candidate locations really lack the units. Raises :class:`OrderInvalid` (400,
    per-field errors), :class:`InsufficientStock` / :class:`PickupUnavailable` (409, per-line
    ``shortages``). Durable: must not run inside another transaction. A new order is returned
    with its lines, fulfilments, payments and timeline as written (prefetched, like
    ``orders.selectors.order_get``); read it again after changing it.
    """
    if external_id:
        existing = _order_by_external_id(channel_code, external_id)
        if existing is not None:
            return PlaceResult(existing, False)
    placement = _placement_prepare(
        channel_code=channel_code,
        lines=lines,
        method=method,
        pickup_location_code=pickup_location_code,
        address=dict(address or {}),
        customer=customer or CustomerInput(),
        external_id=external_id,
        shipping_total=shipping_total,
        discount_total=discount_total,
        payment_status=payment_status,
        loyalty_points=loyalty_points,
        hold_reference=hold_reference,
        strategy=strategy,
        gift_cards=gift_cards,
        coupons=coupons,
        shipping_method=shipping_method,
    )
    try:
        with transaction.atomic(durable=True):
            written = _order_write(placement, actor=actor)
    except IntegrityError:
        if external_id:
            existing = _order_by_external_id(channel_code, external_id)
            if existing is not None:  # a concurrent placement with the same external id won
                return PlaceResult(existing, False)
        raise
    return PlaceResult(_written_prefetch(written), True)
