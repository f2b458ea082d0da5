"""Writes to orders: placement, cancellation, the fulfilment lifecycle, returns and refunds.

Every entry point (API, admin, store page, channel imports) places orders through
:func:`order_place`. Stock only changes through ``inventory.services`` with the order number as
reference; the order row is the lock that serialises changes to one order (``_order_lock``).
Partner-visible changes record an outbox event in the same transaction; customer emails are
queued after commit (``orders.tasks``) and sent once per (order, kind, subject).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from catalog.selectors import channel_variant_offers
from core.models import Channel
from core.outbox.events import EventType
from core.outbox.services import event_record
from customers import services as customer_services
from customers.exceptions import UnknownLoyaltyReference
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.exceptions import InsufficientStock
from inventory.models import Location
from inventory.services import MovementInput, StockLine
from orders.exceptions import (
    InvalidTransition,
    OrderInvalid,
    PickupCodeInvalid,
    PickupUnavailable,
    RefundExceedsPaid,
    RefundInvalid,
    ReturnInvalid,
)
from orders.models import (
    Fulfillment,
    FulfillmentLine,
    FulfillmentMethod,
    Notification,
    Order,
    OrderLine,
    Refund,
    RefundLine,
    Return,
    ReturnLine,
    TimelineEvent,
)
from orders.sourcing import Candidate, FewestParcelsStrategy, SourcingStrategy

FS = Fulfillment.Status
CENT = Decimal("0.01")

# The fulfilment state machine: status -> statuses it may move to.
FULFILLMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    FS.AWAITING_TRANSFER: frozenset({FS.PICKING, FS.CANCELLED}),
    FS.ALLOCATED: frozenset({FS.PICKING, FS.SHIPPED, FS.CANCELLED}),
    FS.PICKING: frozenset({FS.READY_FOR_PICKUP, FS.SHIPPED, FS.CANCELLED}),
    FS.READY_FOR_PICKUP: frozenset({FS.PICKED_UP, FS.CANCELLED}),
    FS.SHIPPED: frozenset({FS.DELIVERED}),
    FS.PICKED_UP: frozenset(),
    FS.DELIVERED: frozenset(),
    FS.CANCELLED: frozenset(),
}


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


@dataclass
class _Sourced:
    """Per location: committed units now, or units promised through a transfer."""

    committed: dict[int, dict[int, int]] = field(default_factory=dict)
    awaiting: dict[int, dict[int, int]] = field(default_factory=dict)
    promised_at: datetime | None = None


# --- helpers ------------------------------------------------------------------------------------


def _order_lock(order_id: int) -> Order:
    """Lock one order row (the lock every change of that order takes first)."""
    return Order.objects.select_for_update(of=("self",)).select_related("channel").get(pk=order_id)


def _number(prefix: str) -> str:
    return f"{prefix}{timezone.now():%y%m%d}-{secrets.token_hex(3).upper()}"


def timeline_add(
    *,
    order: Order,
    kind: str,
    message: str,
    fulfillment: Fulfillment | None = None,
    data: dict[str, Any] | None = None,
    actor: str = "",
) -> TimelineEvent:
    """Append to the order timeline (in the caller's transaction)."""
    return TimelineEvent.objects.create(
        order=order,
        kind=kind,
        message=message,
        fulfillment=fulfillment,
        data=data or {},
        actor=actor,
    )


def _order_payload(order: Order) -> dict[str, Any]:
    fulfillments = list(order.fulfillments.select_related("location").order_by("id"))
    return {
        "number": order.number,
        "external_id": order.external_id,
        "status": order.status,
        "payment_status": order.payment_status,
        "total": str(order.total),
        "amount_refunded": str(order.amount_refunded),
        "currency": order.currency,
        "fulfillments": [
            {
                "id": f.pk,
                "location": f.location.code,
                "method": f.method,
                "status": f.status,
                "tracking_number": f.tracking_number,
            }
            for f in fulfillments
        ],
    }


def _event(order: Order, topic: str, extra: dict[str, Any] | None = None) -> None:
    payload = _order_payload(order)
    if extra:
        payload.update(extra)
    event_record(
        topic=topic,
        aggregate="order",
        aggregate_id=order.number,
        payload=payload,
        channel_code=order.channel.code,
    )


def _notify(order: Order, kind: str, subject_key: str = "", pickup_code: str = "") -> None:
    """Queue a customer email after commit (the task sends it at most once). The pickup code
    travels only in the task message: the database keeps its hash."""
    if not order.customer_email:
        return
    from orders.tasks import order_notification_send

    order_id = order.pk
    transaction.on_commit(
        lambda: order_notification_send.delay(order_id, kind, subject_key, pickup_code)  # type: ignore[attr-defined]
    )


def _derive_status(order: Order) -> str:
    statuses = list(order.fulfillments.values_list("status", flat=True))
    live = [s for s in statuses if s != FS.CANCELLED]
    if not live:
        return Order.Status.CANCELLED
    done = {FS.PICKED_UP, FS.DELIVERED}
    out = {FS.SHIPPED, FS.DELIVERED, FS.PICKED_UP}
    if all(s in done for s in live):
        return Order.Status.COMPLETED
    if all(s in out for s in live):
        return Order.Status.SHIPPED
    if any(s == FS.READY_FOR_PICKUP for s in live):
        return Order.Status.READY_FOR_PICKUP
    if any(s in out for s in live):
        return Order.Status.PARTIALLY_SHIPPED
    if any(s == FS.PICKING for s in live):
        return Order.Status.PROCESSING
    return Order.Status.PLACED


def _status_refresh(order: Order, *, actor: str = "") -> bool:
    """Derive the order status from its fulfilments; record the change. Returns if it changed."""
    status = _derive_status(order)
    if status == order.status:
        return False
    previous, order.status = order.status, status
    order.save(update_fields=["status", "updated_at"])
    timeline_add(
        order=order,
        kind="status_changed",
        message=f"Order status {previous} -> {status}.",
        data={"from": previous, "to": status},
        actor=actor,
    )
    if status == Order.Status.CANCELLED:
        _event(order, EventType.ORDER_CANCELLED)
        if (
            order.loyalty_points_redeemed
            and not order.fulfillments.exclude(status=FS.CANCELLED).exists()
        ):
            points = customer_services.loyalty_redemption_reverse(reference=f"order:{order.number}")
            if points:
                timeline_add(
                    order=order,
                    kind="loyalty_restored",
                    message=f"{points} loyalty points given back.",
                    actor=actor,
                )
    else:
        _event(order, EventType.ORDER_UPDATED)
    if status == Order.Status.COMPLETED and order.customer_id is not None:
        earned_on = order.total - order.shipping_total - order.amount_refunded
        points = customer_services.loyalty_earn(
            customer_id=order.customer_id,
            amount=max(earned_on, Decimal("0")),
            currency=order.currency,
            channel_code=order.channel.code,
            reference=order.number,
        )
        timeline_add(
            order=order,
            kind="loyalty_earned",
            message=f"{points} loyalty points earned.",
            actor=actor,
        )
    return True


def _stock_lines(fulfillment: Fulfillment) -> list[StockLine]:
    return [
        StockLine(line.order_line.variant_id, fulfillment.location_id, line.quantity)
        for line in fulfillment.lines.select_related("order_line")
    ]


def _transition(fulfillment: Fulfillment, to: str) -> None:
    if to not in FULFILLMENT_TRANSITIONS[fulfillment.status]:
        raise InvalidTransition(
            f"A fulfilment {fulfillment.status} cannot become {to}.",
            extra={"status": fulfillment.status, "to": to},
        )


# --- placement ----------------------------------------------------------------------------------


def _validate(
    *,
    channel_code: str,
    lines: Sequence[LineInput],
    method: str,
    pickup_location_code: str,
    address: Mapping[str, Any],
    shipping_total: Decimal,
) -> tuple[Any, dict[str, int], dict[str, Any], Any]:
    errors: list[dict[str, str]] = []
    channel = Channel.objects.filter(code=channel_code, is_active=True).first()
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
        location = Location.objects.filter(
            code=pickup_location_code, is_active=True, offers_pickup=True
        ).first()
        if location is None:
            errors.append(
                {
                    "field": "fulfillment.location",
                    "code": "does_not_exist",
                    "message": "no active pickup location with this code",
                }
            )
        elif channel is not None and not channel.locations.filter(pk=location.pk).exists():
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


def _held(hold_reference: str | None, now: datetime) -> dict[tuple[int, int], int]:
    """Units the caller's own active hold keeps aside, by (variant, location): they count as
    available to the order that consumes the hold."""
    if not hold_reference:
        return {}
    held: dict[tuple[int, int], int] = defaultdict(int)
    holds = inventory_selectors.stock_hold_list().filter(
        reference=hold_reference, status="active", expires_at__gt=now
    )
    for variant_id, location_id, quantity in holds.values_list(
        "stock__variant_id", "stock__location_id", "quantity"
    ):
        held[(variant_id, location_id)] += quantity
    return held


def _source_pickup(
    *,
    wanted: dict[int, int],
    location: Any,
    now: datetime,
    held: Mapping[tuple[int, int], int] | None = None,
) -> _Sourced:
    """Commit what the store has now; promise the rest when an open transfer brings it
    (``inventory.selectors.pickup_promises``); otherwise refuse with per-line shortages."""
    sourced = _Sourced()
    held = held or {}
    for variant_id, quantity in list(wanted.items()):
        if held.get((variant_id, location.pk), 0) >= quantity:  # kept aside by the cart's hold
            sourced.committed.setdefault(location.pk, {})[variant_id] = quantity
    wanted = {v: q for v, q in wanted.items() if v not in sourced.committed.get(location.pk, {})}
    if not wanted:
        sourced.promised_at = now + timedelta(minutes=location.pickup_preparation_minutes)
        return sourced
    promises = inventory_selectors.pickup_promises(lines=wanted, location_id=location.pk, now=now)
    here = inventory_selectors.availability_for_variants(
        variant_ids=wanted, location_ids=[location.pk], now=now
    )
    shortages = []
    for variant_id, quantity in sorted(wanted.items()):
        promise = promises[variant_id]
        if promise.via_transfer is None and promise.ready_at is not None:
            sourced.committed.setdefault(location.pk, {})[variant_id] = quantity
            continue
        if promise.ready_at is None:
            shortages.append(
                {
                    "variant_id": variant_id,
                    "location_id": location.pk,
                    "requested": quantity,
                    "available": here[variant_id].total,
                }
            )
            continue
        # Part of it may be here already; the whole line waits for the transfer, so the store's
        # units are not taken from walk-in shoppers before the promise date.
        sourced.awaiting.setdefault(location.pk, {})[variant_id] = quantity
        if sourced.promised_at is None or promise.ready_at > sourced.promised_at:
            sourced.promised_at = promise.ready_at
    if shortages:
        raise PickupUnavailable(
            f"{location.code} cannot serve {len(shortages)} line(s), not even by transfer.",
            extra={"shortages": shortages},
        )
    if sourced.committed and sourced.promised_at is None:
        sourced.promised_at = now + timedelta(minutes=location.pickup_preparation_minutes)
    return sourced


def _source_ship(
    *,
    wanted: dict[int, int],
    channel: Any,
    address: Mapping[str, Any],
    strategy: SourcingStrategy,
    now: datetime,
    held: Mapping[tuple[int, int], int] | None = None,
) -> _Sourced:
    held = held or {}
    locations = list(channel.locations.filter(is_active=True, ships_orders=True))
    availability = inventory_selectors.availability_for_variants(
        variant_ids=wanted, location_ids=[loc.pk for loc in locations], now=now
    )
    candidates = [
        Candidate(
            location_id=loc.pk,
            code=loc.code,
            priority=loc.sourcing_priority,
            latitude=float(loc.latitude) if loc.latitude is not None else None,
            longitude=float(loc.longitude) if loc.longitude is not None else None,
            available={
                v: availability[v].by_location.get(loc.pk, 0) + held.get((v, loc.pk), 0)
                for v in wanted
            },
        )
        for loc in locations
    ]
    destination = None
    if address.get("latitude") is not None and address.get("longitude") is not None:
        destination = (float(address["latitude"]), float(address["longitude"]))
    plan, missing = strategy.plan(wanted=wanted, candidates=candidates, destination=destination)
    if missing:
        raise InsufficientStock(
            f"Not enough stock for {len(missing)} line(s).",
            extra={
                "shortages": [
                    {
                        "variant_id": v,
                        "location_id": None,
                        "requested": wanted[v],
                        "available": wanted[v] - q,
                    }
                    for v, q in sorted(missing.items())
                ]
            },
        )
    return _Sourced(committed=plan)


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
    actor: str = "",
    _nested: bool = False,
) -> PlaceResult:
    """Place an order: every line committed against stock, or nothing at all.

    Idempotent by ``external_id`` per channel: the same id returns the existing order
    (``created=False``). Prices are the channel's at placement (a snapshot). Pickup commits the
    chosen store's units (or promises them through an open transfer); ship splits the lines over
    the channel's shipping locations with ``strategy``. Raises :class:`OrderInvalid` (400,
    per-field errors), :class:`InsufficientStock` / :class:`PickupUnavailable` (409, per-line
    ``shortages``). Durable: must not run inside another transaction.
    """
    address = dict(address or {})
    customer = customer or CustomerInput()
    if external_id:
        existing = Order.objects.filter(channel__code=channel_code, external_id=external_id).first()
        if existing is not None:
            return PlaceResult(existing, False)
    if payment_status not in (
        Order.PaymentStatus.PENDING,
        Order.PaymentStatus.AUTHORIZED,
        Order.PaymentStatus.CAPTURED,
    ):
        raise OrderInvalid(
            "payment_status must be pending, authorized or captured.",
            errors=[{"field": "payment_status", "code": "invalid", "message": payment_status}],
        )
    channel, wanted_by_sku, offers, location = _validate(
        channel_code=channel_code,
        lines=lines,
        method=method,
        pickup_location_code=pickup_location_code,
        address=address,
        shipping_total=shipping_total,
    )
    wanted = {offers[sku].variant_id: qty for sku, qty in wanted_by_sku.items()}
    now = timezone.now()
    held = _held(hold_reference, now)
    if method == FulfillmentMethod.PICKUP:
        sourced = _source_pickup(wanted=wanted, location=location, now=now, held=held)
    else:
        sourced = _source_ship(
            wanted=wanted,
            channel=channel,
            address=address,
            strategy=strategy or FewestParcelsStrategy(),
            now=now,
            held=held,
        )
    subtotal = sum(
        (offers[sku].price * qty for sku, qty in wanted_by_sku.items()), Decimal("0")
    ).quantize(CENT)
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
    number = _number("O")
    try:
        with transaction.atomic(durable=not _nested):
            customer_id = None
            if identified:
                customer_id = customer_services.customer_resolve(
                    email=customer.email,
                    phone=customer.phone,
                    loyalty_card=customer.loyalty_card,
                    name=customer.name,
                    channel_code=channel.code,
                ).customer.pk
            if loyalty_points:
                assert customer_id is not None
                redemption = customer_services.loyalty_redeem(
                    customer_id=customer_id,
                    points=loyalty_points,
                    channel_code=channel.code,
                    reference=f"order:{number}",
                )
                discount_total += redemption.value
            if discount_total > subtotal:
                raise OrderInvalid(
                    f"The discount ({discount_total}) is more than the goods ({subtotal}).",
                    errors=[
                        {"field": "loyalty_points", "code": "max_value", "message": "too many"}
                    ],
                )
            total = (subtotal - discount_total + shipping_total).quantize(CENT)
            order = Order.objects.create(
                number=number,
                customer_id=customer_id,
                loyalty_points_redeemed=loyalty_points,
                channel=channel,
                external_id=external_id,
                fulfillment_method=method,
                customer_email=customer.email.strip().lower(),
                customer_phone=customer.phone.strip(),
                customer_name=customer.name.strip(),
                loyalty_card=customer.loyalty_card.strip(),
                shipping_address=address,
                currency=channel.currency,
                subtotal=subtotal,
                discount_total=discount_total,
                shipping_total=shipping_total,
                total=total,
                payment_status=payment_status,
                amount_captured=total
                if payment_status == Order.PaymentStatus.CAPTURED
                else Decimal("0"),
                placed_at=now,
            )
            order_lines = {
                offers[sku].variant_id: OrderLine.objects.create(
                    order=order,
                    variant_id=offers[sku].variant_id,
                    sku=sku,
                    title=offers[sku].title,
                    options=offers[sku].options,
                    quantity=qty,
                    unit_price=offers[sku].price,
                    line_total=(offers[sku].price * qty).quantize(CENT),
                )
                for sku, qty in wanted_by_sku.items()
            }
            stock: list[StockLine] = []
            for status, plan in (
                (FS.ALLOCATED, sourced.committed),
                (FS.AWAITING_TRANSFER, sourced.awaiting),
            ):
                for location_id, per_variant in sorted(plan.items()):
                    fulfillment = Fulfillment.objects.create(
                        order=order,
                        location_id=location_id,
                        method=method,
                        status=status,
                        promised_at=sourced.promised_at,
                    )
                    FulfillmentLine.objects.bulk_create(
                        FulfillmentLine(
                            fulfillment=fulfillment, order_line=order_lines[v], quantity=q
                        )
                        for v, q in sorted(per_variant.items())
                    )
                    if status == FS.ALLOCATED:
                        stock.extend(StockLine(v, location_id, q) for v, q in per_variant.items())
            if stock:
                inventory_services.stock_commit(
                    lines=stock, reference=order.number, hold_reference=hold_reference
                )
            timeline_add(
                order=order,
                kind="placed",
                message=f"Order placed on {channel.code}: {len(order_lines)} line(s), "
                f"{total} {order.currency}.",
                data={"fulfillments": order.fulfillments.count()},
                actor=actor,
            )
            _event(order, EventType.ORDER_CREATED)
            _notify(order, Notification.Kind.CONFIRMATION)
    except IntegrityError:
        if external_id:
            existing = Order.objects.filter(
                channel__code=channel_code, external_id=external_id
            ).first()
            if existing is not None:  # a concurrent placement with the same external id won
                return PlaceResult(existing, False)
        raise
    return PlaceResult(order, True)


# --- cancellation -------------------------------------------------------------------------------


def order_cancel(*, order_id: int, reason: str = "", actor: str = "") -> Order:
    """Cancel every fulfilment not yet shipped or handed over, releasing its committed units.

    Locks the order. Raises :class:`InvalidTransition` when nothing is left to cancel.
    """
    with transaction.atomic(durable=True):
        order = _order_lock(order_id)
        open_ones = [
            f
            for f in order.fulfillments.order_by("id")
            if FS.CANCELLED in FULFILLMENT_TRANSITIONS[f.status]
        ]
        if not open_ones:
            raise InvalidTransition(
                f"Order {order.number} has nothing left to cancel.",
                extra={"status": order.status},
            )
        for fulfillment in open_ones:
            _fulfillment_cancel_locked(order, fulfillment, reason=reason, actor=actor)
        _status_refresh(order, actor=actor)
        if order.status == Order.Status.CANCELLED:
            _notify(order, Notification.Kind.CANCELLED)
        return order


def _fulfillment_cancel_locked(
    order: Order, fulfillment: Fulfillment, *, reason: str, actor: str
) -> None:
    _transition(fulfillment, FS.CANCELLED)
    if fulfillment.stock_committed:
        inventory_services.stock_release(lines=_stock_lines(fulfillment), reference=order.number)
    for line in fulfillment.lines.all():
        OrderLine.objects.filter(pk=line.order_line_id).update(
            quantity_cancelled=F("quantity_cancelled") + line.quantity
        )
    fulfillment.status = FS.CANCELLED
    fulfillment.save(update_fields=["status", "updated_at"])
    timeline_add(
        order=order,
        kind="fulfillment_cancelled",
        message=f"Fulfilment at {fulfillment.location.code} cancelled"
        + (f": {reason}." if reason else "."),
        fulfillment=fulfillment,
        actor=actor,
    )


# --- fulfilment lifecycle -----------------------------------------------------------------------


def _fulfillment_lock(fulfillment_id: int) -> tuple[Order, Fulfillment]:
    order_id = Fulfillment.objects.values_list("order_id", flat=True).get(pk=fulfillment_id)
    order = _order_lock(order_id)
    fulfillment = Fulfillment.objects.select_related("location").get(pk=fulfillment_id)
    return order, fulfillment


def fulfillment_pick(*, fulfillment_id: int, actor: str = "") -> Fulfillment:
    """Start picking. A fulfilment awaiting a transfer commits the store's units now (409
    ``insufficient_stock`` while they have not arrived). Locks the order."""
    with transaction.atomic(durable=True):
        order, fulfillment = _fulfillment_lock(fulfillment_id)
        _transition(fulfillment, FS.PICKING)
        if fulfillment.status == FS.AWAITING_TRANSFER:
            inventory_services.stock_commit(lines=_stock_lines(fulfillment), reference=order.number)
        fulfillment.status = FS.PICKING
        fulfillment.save(update_fields=["status", "updated_at"])
        timeline_add(
            order=order,
            kind="picking",
            message=f"Picking started at {fulfillment.location.code}.",
            fulfillment=fulfillment,
            actor=actor,
        )
        _status_refresh(order, actor=actor)
        return fulfillment


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def fulfillment_ready_for_pickup(
    *, fulfillment_id: int, actor: str = "", now: datetime | None = None
) -> tuple[Fulfillment, str]:
    """Mark a picked pickup fulfilment ready; returns it with the pickup code (only its hash is
    stored). It waits ``pickup_hold_days`` of its store before being cancelled. Locks the order."""
    moment = now or timezone.now()
    with transaction.atomic(durable=True):
        order, fulfillment = _fulfillment_lock(fulfillment_id)
        if fulfillment.method != FulfillmentMethod.PICKUP:
            raise InvalidTransition("Only pickup fulfilments become ready for pickup.")
        _transition(fulfillment, FS.READY_FOR_PICKUP)
        code = f"{secrets.randbelow(10**6):06d}"
        fulfillment.status = FS.READY_FOR_PICKUP
        fulfillment.pickup_code_hash = _code_hash(code)
        fulfillment.hold_until = moment + timedelta(days=fulfillment.location.pickup_hold_days)
        fulfillment.save(update_fields=["status", "pickup_code_hash", "hold_until", "updated_at"])
        timeline_add(
            order=order,
            kind="ready_for_pickup",
            message=f"Ready for pickup at {fulfillment.location.name} until "
            f"{fulfillment.hold_until:%Y-%m-%d}.",
            fulfillment=fulfillment,
            actor=actor,
        )
        _status_refresh(order, actor=actor)
        _event(order, EventType.FULFILLMENT_READY_FOR_PICKUP, {"fulfillment_id": fulfillment.pk})
        _notify(order, Notification.Kind.READY_FOR_PICKUP, str(fulfillment.pk), pickup_code=code)
        return fulfillment, code


def fulfillment_hand_over(*, fulfillment_id: int, code: str, actor: str = "") -> Fulfillment:
    """Hand a ready pickup to the customer after checking the code (constant-time compare);
    the committed units leave the store (``stock_fulfil``). Locks the order."""
    with transaction.atomic(durable=True):
        order, fulfillment = _fulfillment_lock(fulfillment_id)
        _transition(fulfillment, FS.PICKED_UP)
        if not hmac.compare_digest(_code_hash(code), fulfillment.pickup_code_hash):
            raise PickupCodeInvalid("The pickup code does not match.")
        inventory_services.stock_fulfil(lines=_stock_lines(fulfillment), reference=order.number)
        fulfillment.status = FS.PICKED_UP
        fulfillment.save(update_fields=["status", "updated_at"])
        timeline_add(
            order=order,
            kind="picked_up",
            message=f"Picked up at {fulfillment.location.code}.",
            fulfillment=fulfillment,
            actor=actor,
        )
        _capture_on_completion(order)
        _status_refresh(order, actor=actor)
        _event(order, EventType.FULFILLMENT_PICKED_UP, {"fulfillment_id": fulfillment.pk})
        return fulfillment


def fulfillment_ship(
    *, fulfillment_id: int, carrier: str, tracking_number: str, actor: str = ""
) -> Fulfillment:
    """Ship a fulfilment with its carrier and tracking number; its units leave the location."""
    if not carrier.strip() or not tracking_number.strip():
        raise InvalidTransition("Shipping needs a carrier and a tracking number.")
    with transaction.atomic(durable=True):
        order, fulfillment = _fulfillment_lock(fulfillment_id)
        if fulfillment.method != FulfillmentMethod.SHIP:
            raise InvalidTransition("A pickup fulfilment is handed over, not shipped.")
        _transition(fulfillment, FS.SHIPPED)
        inventory_services.stock_fulfil(lines=_stock_lines(fulfillment), reference=order.number)
        fulfillment.status = FS.SHIPPED
        fulfillment.carrier = carrier.strip()
        fulfillment.tracking_number = tracking_number.strip()
        fulfillment.save(update_fields=["status", "carrier", "tracking_number", "updated_at"])
        timeline_add(
            order=order,
            kind="shipped",
            message=f"Shipped from {fulfillment.location.code} with {fulfillment.carrier}, "
            f"tracking {fulfillment.tracking_number}.",
            fulfillment=fulfillment,
            actor=actor,
        )
        _capture_on_completion(order)
        _status_refresh(order, actor=actor)
        _event(
            order,
            EventType.FULFILLMENT_SHIPPED,
            {"fulfillment_id": fulfillment.pk, "carrier": fulfillment.carrier},
        )
        _notify(order, Notification.Kind.SHIPPED, str(fulfillment.pk))
        return fulfillment


def fulfillment_deliver(*, fulfillment_id: int, actor: str = "") -> Fulfillment:
    with transaction.atomic(durable=True):
        order, fulfillment = _fulfillment_lock(fulfillment_id)
        _transition(fulfillment, FS.DELIVERED)
        fulfillment.status = FS.DELIVERED
        fulfillment.save(update_fields=["status", "updated_at"])
        timeline_add(
            order=order,
            kind="delivered",
            message="Delivered.",
            fulfillment=fulfillment,
            actor=actor,
        )
        _status_refresh(order, actor=actor)
        return fulfillment


def fulfillment_cancel(*, fulfillment_id: int, reason: str = "", actor: str = "") -> Fulfillment:
    """Cancel one fulfilment (units released); the order status follows. Locks the order."""
    with transaction.atomic(durable=True):
        order, fulfillment = _fulfillment_lock(fulfillment_id)
        _fulfillment_cancel_locked(order, fulfillment, reason=reason, actor=actor)
        _status_refresh(order, actor=actor)
        if order.status == Order.Status.CANCELLED:
            _notify(order, Notification.Kind.CANCELLED)
        return fulfillment


@dataclass(frozen=True)
class MissingOutcome:
    """What became of units reported missing: sourced again (``fulfillments`` that now carry
    them, ``placed`` units per fulfilment id) or ``cancelled`` on the order line (as any
    cancelled units, they are not charged when the payment is captured)."""

    fulfillments: list[Fulfillment]
    placed: dict[int, int]
    cancelled: int


def fulfillment_report_missing(
    *, fulfillment_id: int, line_id: int, quantity: int, actor: str = ""
) -> MissingOutcome:
    """Units of a fulfilment line cannot be found where they were allocated (a store picking a
    click & collect order, a warehouse picking a parcel). The units are taken off that
    location's on-hand as a written-off adjustment (the shelf did not have them), then sourced
    again as the order was: a pickup from what the same store still has or an open transfer
    brings (a new promise date), a parcel from the channel's shipping locations; what cannot be
    sourced is cancelled. The customer is told of any change. All or nothing; locks the order."""
    from orders.models import Notification

    with transaction.atomic(durable=True):
        order, fulfillment = _fulfillment_lock(fulfillment_id)
        if fulfillment.status not in (FS.ALLOCATED, FS.PICKING):
            raise InvalidTransition(
                f"Only a fulfilment being prepared can miss items; this one is "
                f"{fulfillment.get_status_display().lower()}.",
                extra={"status": fulfillment.status},
            )
        line = (
            fulfillment.lines.select_related("order_line").filter(pk=line_id).first()
            if isinstance(line_id, int)
            else None
        )
        if line is None:
            raise OrderInvalid(
                "No such line in this fulfilment.",
                errors=[{"field": "line", "code": "not_found", "message": str(line_id)}],
            )
        if not 1 <= quantity <= line.quantity:
            raise OrderInvalid(
                f"Between 1 and {line.quantity} units of {line.order_line.sku} can be missing.",
                errors=[{"field": "quantity", "code": "out_of_range", "message": str(quantity)}],
            )
        variant_id, location = line.order_line.variant_id, fulfillment.location
        stock = [StockLine(variant_id, location.pk, quantity)]
        inventory_services.stock_release(lines=stock, reference=order.number)
        inventory_services.stock_movements_apply(
            movements=[
                MovementInput(
                    variant_id=variant_id,
                    location_id=location.pk,
                    kind=inventory_services.Kind.ADJUSTMENT,
                    quantity=-quantity,
                    reason=f"missing when picking {order.number}",
                    reference=order.number,
                )
            ]
        )
        if quantity == line.quantity:
            line.delete()
        else:
            line.quantity -= quantity
            line.save(update_fields=["quantity"])
        timeline_add(
            order=order,
            kind="item_missing",
            message=f"{quantity} x {line.order_line.sku} missing at {location.code}: "
            "taken off the stock.",
            fulfillment=fulfillment,
            actor=actor,
        )
        if not fulfillment.lines.exists():
            _transition(fulfillment, FS.CANCELLED)
            fulfillment.status = FS.CANCELLED
            fulfillment.save(update_fields=["status", "updated_at"])
        placed = _resource(order, fulfillment, {variant_id: quantity}, actor=actor)
        cancelled = quantity - sum(placed.values())
        if cancelled:
            OrderLine.objects.filter(pk=line.order_line_id).update(
                quantity_cancelled=F("quantity_cancelled") + cancelled
            )
            timeline_add(
                order=order,
                kind="line_cancelled",
                message=f"{cancelled} x {line.order_line.sku} cancelled: none to be had.",
                actor=actor,
            )
        _status_refresh(order, actor=actor)
        _event(order, EventType.ORDER_UPDATED)
        kind = (
            Notification.Kind.CANCELLED
            if order.status == Order.Status.CANCELLED
            else Notification.Kind.CHANGED
        )
        _notify(order, kind, f"missing-{fulfillment.pk}-{line_id}")
        fulfillments = list(Fulfillment.objects.filter(pk__in=placed).order_by("pk"))
        return MissingOutcome(fulfillments, placed, cancelled)


def _resource(
    order: Order, fulfillment: Fulfillment, wanted: dict[int, int], *, actor: str
) -> dict[int, int]:
    """Source ``wanted`` again the way ``fulfillment`` was; returns the units placed per
    fulfilment id (empty when nothing can be had, which is not an error here)."""
    now = timezone.now()
    try:
        if fulfillment.method == FulfillmentMethod.PICKUP:
            sourced = _source_pickup(wanted=wanted, location=fulfillment.location, now=now)
        else:
            sourced = _source_ship(
                wanted=wanted,
                channel=order.channel,
                address=order.shipping_address or {},
                strategy=FewestParcelsStrategy(),
                now=now,
            )
    except (PickupUnavailable, InsufficientStock):
        return {}
    order_line = {
        line.variant_id: line
        for line in OrderLine.objects.filter(order=order, variant_id__in=wanted)
    }
    placed: dict[int, int] = defaultdict(int)
    commit: list[StockLine] = []
    for status, plan in (
        (FS.ALLOCATED, sourced.committed),
        (FS.AWAITING_TRANSFER, sourced.awaiting),
    ):
        for location_id, per_variant in sorted(plan.items()):
            same_place = (
                location_id == fulfillment.location_id
                and status == FS.ALLOCATED
                and fulfillment.status in (FS.ALLOCATED, FS.PICKING)
            )
            if same_place:
                # more on the books here: the same fulfilment carries them (one card to pick)
                new = fulfillment
                for v, q in sorted(per_variant.items()):
                    row, made = FulfillmentLine.objects.get_or_create(
                        fulfillment=new, order_line=order_line[v], defaults={"quantity": q}
                    )
                    if not made:
                        row.quantity += q
                        row.save(update_fields=["quantity"])
            else:
                new = Fulfillment.objects.create(
                    order=order,
                    location_id=location_id,
                    method=fulfillment.method,
                    status=status,
                    promised_at=sourced.promised_at,
                )
                FulfillmentLine.objects.bulk_create(
                    FulfillmentLine(fulfillment=new, order_line=order_line[v], quantity=q)
                    for v, q in sorted(per_variant.items())
                )
            if status == FS.ALLOCATED:
                commit.extend(StockLine(v, location_id, q) for v, q in per_variant.items())
            placed[new.pk] += sum(per_variant.values())
            where = new.location.code
            timeline_add(
                order=order,
                kind="resourced",
                message=(
                    f"{sum(per_variant.values())} unit(s) sourced again at {where}"
                    + (
                        f", expected {timezone.localtime(sourced.promised_at):%a %d %b %H:%M}"
                        if sourced.promised_at and not same_place
                        else ""
                    )
                    + (" (awaiting a transfer)." if status == FS.AWAITING_TRANSFER else ".")
                ),
                fulfillment=new,
                actor=actor,
            )
    if commit:
        inventory_services.stock_commit(lines=commit, reference=order.number)
    return dict(placed)


def _capture_on_completion(order: Order) -> None:
    """An authorised payment is captured when goods first leave (no gateway: recorded only)."""
    if order.payment_status == Order.PaymentStatus.AUTHORIZED:
        order.payment_status = Order.PaymentStatus.CAPTURED
        order.amount_captured = order.total
        order.save(update_fields=["payment_status", "amount_captured", "updated_at"])
        timeline_add(
            order=order,
            kind="payment_captured",
            message=f"Payment captured: {order.total} {order.currency}.",
        )


def pickups_expire(*, now: datetime | None = None) -> list[str]:
    """Cancel ready pickups not collected by their hold date (units released, customer told).
    Returns the order numbers touched. Each order in its own transaction."""
    moment = now or timezone.now()
    due = list(
        Fulfillment.objects.filter(status=FS.READY_FOR_PICKUP, hold_until__lte=moment)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    touched = []
    for fulfillment_id in due:
        with transaction.atomic(durable=True):
            order, fulfillment = _fulfillment_lock(fulfillment_id)
            if fulfillment.status != FS.READY_FOR_PICKUP:
                continue  # handed over meanwhile
            _fulfillment_cancel_locked(
                order, fulfillment, reason="not collected within the hold period", actor="system"
            )
            _status_refresh(order, actor="system")
            _notify(order, Notification.Kind.CANCELLED, str(fulfillment.pk))
            touched.append(order.number)
    return touched


# --- returns and refunds ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnLineInput:
    sku: str
    quantity: int
    reason: str = ""


def _fulfilled_quantities(order: Order) -> dict[int, int]:
    done = (FS.SHIPPED, FS.DELIVERED, FS.PICKED_UP)
    result: dict[int, int] = defaultdict(int)
    for line in FulfillmentLine.objects.filter(
        fulfillment__order=order, fulfillment__status__in=done
    ):
        result[line.order_line_id] += line.quantity
    return result


def return_create(
    *,
    order_id: int,
    lines: Sequence[ReturnLineInput],
    location_code: str,
    reason: str = "",
    actor: str = "",
    _nested: bool = False,
) -> Return:
    """Authorise a return of fulfilled units of any channel's order, received at any active
    location. Refuses more than was fulfilled minus what earlier returns hold. Locks the order."""
    location = Location.objects.filter(code=location_code, is_active=True).first()
    errors: list[dict[str, str]] = []
    if location is None:
        errors.append({"field": "location", "code": "does_not_exist", "message": location_code})
    if not lines:
        errors.append({"field": "lines", "code": "required", "message": "a return needs lines"})
    with transaction.atomic(durable=not _nested):
        order = _order_lock(order_id)
        by_sku = {line.sku: line for line in order.lines.all()}
        fulfilled = _fulfilled_quantities(order)
        already: dict[int, int] = defaultdict(int)
        for row in ReturnLine.objects.filter(return_request__order=order).exclude(
            return_request__status=Return.Status.CANCELLED
        ):
            already[row.order_line_id] += row.quantity
        asked: dict[int, int] = defaultdict(int)
        for index, item in enumerate(lines):
            order_line = by_sku.get(item.sku)
            if order_line is None:
                errors.append(
                    {"field": f"lines.{index}.sku", "code": "not_in_order", "message": item.sku}
                )
                continue
            if item.quantity <= 0:
                errors.append(
                    {"field": f"lines.{index}.quantity", "code": "min_value", "message": "> 0"}
                )
                continue
            asked[order_line.pk] += item.quantity
            returnable = fulfilled[order_line.pk] - already[order_line.pk]
            if asked[order_line.pk] > returnable:
                errors.append(
                    {
                        "field": f"lines.{index}.quantity",
                        "code": "exceeds_returnable",
                        "message": f"{returnable} unit(s) of {item.sku} can be returned",
                    }
                )
        if errors:
            raise ReturnInvalid(
                "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors
            )
        return_request = Return.objects.create(
            rma=_number("R"),
            order=order,
            customer_id=order.customer_id,
            reason=reason,
            location=location,
        )
        ReturnLine.objects.bulk_create(
            ReturnLine(
                return_request=return_request,
                order_line=by_sku[item.sku],
                quantity=item.quantity,
                reason=item.reason,
            )
            for item in lines
        )
        timeline_add(
            order=order,
            kind="return_created",
            message=f"Return {return_request.rma} authorised, to be received at {location.code}.",
            data={"rma": return_request.rma},
            actor=actor,
        )
        _event(order, EventType.RETURN_CREATED, {"rma": return_request.rma})
        return return_request


def return_receive(
    *, return_id: int, dispositions: Mapping[int, str], user_id: int | None = None, actor: str = ""
) -> Return:
    """Receive and inspect a return: each line (by return line id) is ``restock`` (back on hand
    at the receiving location) or ``damaged`` (received, then moved to damaged), through
    inventory services. Locks the order."""
    order_id = Return.objects.values_list("order_id", flat=True).get(pk=return_id)
    with transaction.atomic(durable=True):
        order = _order_lock(order_id)
        return_request = Return.objects.select_related("location").get(pk=return_id)
        if return_request.status != Return.Status.AUTHORIZED:
            raise InvalidTransition(f"Return {return_request.rma} is {return_request.status}.")
        lines = list(return_request.lines.select_related("order_line"))
        wrong = [
            {"field": f"dispositions.{line.pk}", "code": "invalid", "message": "restock or damaged"}
            for line in lines
            if dispositions.get(line.pk)
            not in (ReturnLine.Disposition.RESTOCK, ReturnLine.Disposition.DAMAGED)
        ]
        if wrong or set(dispositions) - {line.pk for line in lines}:
            raise ReturnInvalid(
                "Every return line needs a disposition: restock or damaged.", errors=wrong
            )
        location_id = return_request.location_id
        movements = [
            MovementInput(
                variant_id=line.order_line.variant_id,
                location_id=location_id,
                kind="return",
                quantity=line.quantity,
                reference=return_request.rma,
                reference_type="document",
            )
            for line in lines
        ] + [
            MovementInput(
                variant_id=line.order_line.variant_id,
                location_id=location_id,
                kind="damage",
                quantity=line.quantity,
                reason=f"returned damaged ({return_request.rma})",
                reference=return_request.rma,
                reference_type="document",
            )
            for line in lines
            if dispositions[line.pk] == ReturnLine.Disposition.DAMAGED
        ]
        inventory_services.stock_movements_apply(movements=movements, user_id=user_id)
        for line in lines:
            line.disposition = dispositions[line.pk]
        ReturnLine.objects.bulk_update(lines, ["disposition"])
        return_request.status = Return.Status.RECEIVED
        return_request.received_at = timezone.now()
        return_request.save(update_fields=["status", "received_at", "updated_at"])
        timeline_add(
            order=order,
            kind="return_received",
            message=f"Return {return_request.rma} received at {return_request.location.code}: "
            + ", ".join(
                f"{line.quantity} x {line.order_line.sku} {line.disposition}" for line in lines
            )
            + ".",
            data={"rma": return_request.rma},
            actor=actor,
        )
        _event(order, EventType.RETURN_RECEIVED, {"rma": return_request.rma})
        return return_request


def exchange_create(
    *,
    order_id: int,
    return_sku: str,
    new_sku: str,
    quantity: int,
    location_code: str,
    method: str = FulfillmentMethod.PICKUP,
    pickup_location_code: str = "",
    address: Mapping[str, Any] | None = None,
    reason: str = "exchange",
    actor: str = "",
) -> tuple[Return, Order]:
    """A size exchange in one transaction: a return line for ``return_sku`` and a new order for
    ``new_sku`` on the same channel and customer, discounted by what the returned units were
    paid (a difference in price is left to pay: payment ``pending``). Either both exist or
    neither; refusals are those of :func:`return_create` and :func:`order_place`."""
    original = Order.objects.select_related("channel").get(pk=order_id)
    paid = OrderLine.objects.filter(order=original, sku=return_sku).first()
    if paid is None:
        raise ReturnInvalid(
            f"{return_sku} is not in order {original.number}.",
            errors=[{"field": "return_sku", "code": "not_in_order", "message": return_sku}],
        )
    credit = (paid.unit_price * quantity).quantize(CENT)
    with transaction.atomic(durable=True):
        return_request = return_create(
            order_id=order_id,
            lines=[ReturnLineInput(return_sku, quantity, reason)],
            location_code=location_code,
            reason=reason,
            actor=actor,
            _nested=True,
        )
        offers = channel_variant_offers(channel_code=original.channel.code, skus=[new_sku])
        offer = offers.get(new_sku)
        price = offer.price if offer is not None and offer.price is not None else Decimal("0")
        new_total = (price * quantity - credit).quantize(CENT)
        result = order_place(
            channel_code=original.channel.code,
            lines=[LineInput(new_sku, quantity)],
            method=method,
            pickup_location_code=pickup_location_code or location_code,
            address=address or original.shipping_address,
            customer=CustomerInput(
                email=original.customer_email,
                phone=original.customer_phone,
                name=original.customer_name,
                loyalty_card=original.loyalty_card,
            ),
            external_id=f"exchange:{return_request.rma}",
            discount_total=min(credit, price * quantity),
            payment_status=Order.PaymentStatus.CAPTURED
            if new_total <= 0
            else Order.PaymentStatus.PENDING,
            actor=actor,
            _nested=True,
        )
        timeline_add(
            order=original,
            kind="exchange",
            message=f"Exchange: {quantity} x {return_sku} for {new_sku} "
            f"(return {return_request.rma}, order {result.order.number}).",
            data={"rma": return_request.rma, "order": result.order.number},
            actor=actor,
        )
        timeline_add(
            order=result.order,
            kind="exchange",
            message=f"Exchange of {quantity} x {return_sku} from order {original.number}.",
            data={"rma": return_request.rma, "order": original.number},
            actor=actor,
        )
        return return_request, result.order


@dataclass(frozen=True)
class RefundLineInput:
    sku: str
    quantity: int


def refund_create(
    *,
    order_id: int,
    key: str,
    lines: Sequence[RefundLineInput] = (),
    shipping_amount: Decimal = Decimal("0"),
    return_id: int | None = None,
    reason: str = "",
    actor: str = "",
) -> tuple[Refund, bool]:
    """Refund units at their snapshot price (minus their share of the order discount) and
    shipping, never more than was captured in total. ``key`` (e.g. the button's form token or
    an Idempotency-Key) makes a retry return the first refund (``created=False``); two presses
    at once queue on the order lock and the second sees what the first refunded."""
    if not key.strip():
        raise RefundInvalid("A refund needs an idempotency key.")
    with transaction.atomic(durable=True):
        order = _order_lock(order_id)
        existing = Refund.objects.filter(order=order, key=key).first()
        if existing is not None:
            return existing, False
        by_sku = {line.sku: line for line in order.lines.all()}
        errors: list[dict[str, str]] = []
        amount = Decimal("0")
        refund_lines: list[tuple[OrderLine, int, Decimal]] = []
        for index, item in enumerate(lines):
            order_line = by_sku.get(item.sku)
            if order_line is None or item.quantity <= 0:
                errors.append({"field": f"lines.{index}", "code": "invalid", "message": item.sku})
                continue
            if order_line.quantity_refunded + item.quantity > order_line.quantity:
                errors.append(
                    {
                        "field": f"lines.{index}.quantity",
                        "code": "exceeds_refundable",
                        "message": f"{order_line.quantity - order_line.quantity_refunded} "
                        f"unit(s) of {item.sku} left to refund",
                    }
                )
                continue
            share = Decimal("1")
            if order.subtotal:
                share = (order.subtotal - order.discount_total) / order.subtotal
            line_amount = (order_line.unit_price * item.quantity * share).quantize(CENT)
            refund_lines.append((order_line, item.quantity, line_amount))
            amount += line_amount
        if shipping_amount < 0:
            errors.append({"field": "shipping_amount", "code": "min_value", "message": ">= 0"})
        refunded_shipping = sum((r.shipping_amount for r in order.refunds.all()), Decimal("0"))
        if shipping_amount + refunded_shipping > order.shipping_total:
            errors.append(
                {
                    "field": "shipping_amount",
                    "code": "exceeds_refundable",
                    "message": f"{order.shipping_total - refunded_shipping} shipping left",
                }
            )
        if errors:
            raise RefundInvalid(
                "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors
            )
        amount += shipping_amount
        if amount <= 0:
            raise RefundInvalid("A refund needs lines or a shipping amount.")
        if order.amount_refunded + amount > order.amount_captured:
            raise RefundExceedsPaid(
                f"{amount} would exceed what was paid ({order.amount_captured}, "
                f"{order.amount_refunded} already refunded).",
                extra={
                    "captured": str(order.amount_captured),
                    "refunded": str(order.amount_refunded),
                },
            )
        refund = Refund.objects.create(
            order=order,
            return_request_id=return_id,
            key=key,
            amount=amount,
            shipping_amount=shipping_amount,
            reason=reason,
        )
        RefundLine.objects.bulk_create(
            RefundLine(refund=refund, order_line=ol, quantity=q, amount=a)
            for ol, q, a in refund_lines
        )
        for ol, q, _a in refund_lines:
            OrderLine.objects.filter(pk=ol.pk).update(quantity_refunded=F("quantity_refunded") + q)
        goods = amount - shipping_amount
        if goods > 0 and order.customer_id is not None:
            try:
                taken = customer_services.loyalty_earn_reverse(reference=order.number, amount=goods)
            except UnknownLoyaltyReference:
                taken = 0  # refunded before completion: nothing was earned yet
            if taken:
                timeline_add(
                    order=order,
                    kind="loyalty_reversed",
                    message=f"{taken} loyalty points taken back for the refund.",
                    actor=actor,
                )
        order.amount_refunded += amount
        order.payment_status = (
            Order.PaymentStatus.REFUNDED
            if order.amount_refunded == order.amount_captured
            else Order.PaymentStatus.PARTIALLY_REFUNDED
        )
        order.save(update_fields=["amount_refunded", "payment_status", "updated_at"])
        timeline_add(
            order=order,
            kind="refunded",
            message=f"Refunded {amount} {order.currency}.",
            data={"refund_id": refund.pk, "amount": str(amount)},
            actor=actor,
        )
        _event(order, EventType.REFUND_CREATED, {"refund_amount": str(amount)})
        _notify(order, Notification.Kind.REFUNDED, str(refund.pk))
        return refund, True


# --- notifications ------------------------------------------------------------------------------


SUBJECTS: dict[str, str] = {
    Notification.Kind.CONFIRMATION: "Your order {number} is confirmed",
    Notification.Kind.READY_FOR_PICKUP: "Your order {number} is ready for pickup",
    Notification.Kind.SHIPPED: "Your order {number} has shipped",
    Notification.Kind.CANCELLED: "Your order {number} was cancelled",
    Notification.Kind.REFUNDED: "A refund for your order {number}",
    Notification.Kind.CHANGED: "Your order {number} has changed",
}


def notification_send(
    *, order_id: int, kind: str, subject_key: str = "", pickup_code: str = ""
) -> bool:
    """Email the customer about ``kind`` once: the sent-notification row and the email go
    together (a failed send rolls the row back so a retry sends; a row already there means it
    was sent). The body is the order timeline, as the admin and the API show it. Returns whether
    an email was sent now."""
    from django.core.mail import send_mail

    if kind not in Notification.Kind.values:
        raise ValueError(f"Unknown notification kind {kind!r}")
    order = Order.objects.get(pk=order_id)
    if not order.customer_email:
        return False
    try:
        with transaction.atomic():
            Notification.objects.create(
                order=order, kind=kind, subject_key=subject_key, recipient=order.customer_email
            )
            lines = [
                f"{event.created_at:%Y-%m-%d %H:%M} {event.message}"
                for event in order.timeline.order_by("created_at", "id")
                if event.kind not in ("status_changed",)
            ]
            body = "\n".join(lines)
            if pickup_code:
                body += f"\n\nYour pickup code: {pickup_code}"
            send_mail(
                SUBJECTS[kind].format(number=order.number),
                body,
                None,
                [order.customer_email],
            )
    except IntegrityError:
        return False
    return True
