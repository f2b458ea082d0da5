"""Placing an order: the one way in for the API, the admin, the store page, carts and channel
imports (see docs/orders.md, "Placing an order").

Validation and sourcing read before the transaction (:func:`_placement_prepare`); the order, its
lines and fulfilments, the stock commitment, the timeline and the outbox event are written in one
transaction (:func:`_order_place_in`). :func:`order_place` owns that transaction;
``exchange_create`` writes the new order inside its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.selectors import channel_variant_offers
from core.actors import SYSTEM, Actor
from core.events import EventType
from core.models import Channel
from customers import services as customer_services
from inventory import services as inventory_services
from inventory.models import Location
from inventory.services import StockLine
from orders.exceptions import OrderInvalid
from orders.models import (
    Fulfillment,
    FulfillmentLine,
    FulfillmentMethod,
    Notification,
    Order,
    OrderLine,
    TimelineEvent,
)
from orders.services.notifications import notification_queue
from orders.services.records import CENT, number_new, order_event_record, timeline_add
from orders.services.sourcing import (
    FewestParcelsStrategy,
    Sourced,
    SourcingStrategy,
    held_units,
    pickup_source,
    ship_source,
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


@dataclass(frozen=True)
class _Placement:
    """An order request that passed validation and sourcing, ready to be written."""

    channel: Any
    method: str
    address: dict[str, Any]
    customer: CustomerInput
    external_id: str
    wanted_by_sku: dict[str, int]
    offers: dict[str, Any]
    sourced: Sourced
    subtotal: Decimal
    shipping_total: Decimal
    discount_total: Decimal
    payment_status: str
    loyalty_points: int
    identified: bool
    hold_reference: str | None
    now: datetime


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
) -> _Placement:
    """Validate and source an order request (reads only; the refusals of :func:`order_place`)."""
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
    wanted = {offers[sku].variant_id: qty for sku, qty in wanted_by_sku.items()}
    now = timezone.now()
    held = held_units(hold_reference=hold_reference, now=now)
    if method == FulfillmentMethod.PICKUP:
        sourced = pickup_source(wanted=wanted, location=location, now=now, held=held)
    else:
        sourced = ship_source(
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
    return _Placement(
        channel=channel,
        method=method,
        address=address,
        customer=customer,
        external_id=external_id,
        wanted_by_sku=wanted_by_sku,
        offers=offers,
        sourced=sourced,
        subtotal=subtotal,
        shipping_total=shipping_total,
        discount_total=discount_total,
        payment_status=payment_status,
        loyalty_points=loyalty_points,
        identified=identified,
        hold_reference=hold_reference,
        now=now,
    )


def _order_place_in(placement: _Placement, *, actor: Actor) -> Order:
    """Write a prepared order in the caller's transaction: the customer resolved, points
    redeemed, the order with its price snapshot and fulfilments, every allocated unit committed
    (``stock_commit`` locks the stock levels), the timeline, ``order.created`` and the
    confirmation email queued after commit."""
    p = placement
    channel, customer, offers = p.channel, p.customer, p.offers
    number = number_new(prefix="O")
    discount_total = p.discount_total
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
        discount_total += redemption.value
    if discount_total > p.subtotal:
        raise OrderInvalid(
            f"The discount ({discount_total}) is more than the goods ({p.subtotal}).",
            errors=[{"field": "loyalty_points", "code": "max_value", "message": "too many"}],
        )
    total = (p.subtotal - discount_total + p.shipping_total).quantize(CENT)
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
        currency=channel.currency,
        subtotal=p.subtotal,
        discount_total=discount_total,
        shipping_total=p.shipping_total,
        total=total,
        payment_status=p.payment_status,
        amount_captured=total if p.payment_status == Order.PaymentStatus.CAPTURED else Decimal("0"),
        placed_at=p.now,
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
        for sku, qty in p.wanted_by_sku.items()
    }
    stock: list[StockLine] = []
    for status, plan in (
        (FS.ALLOCATED, p.sourced.committed),
        (FS.AWAITING_TRANSFER, p.sourced.awaiting),
    ):
        for location_id, per_variant in sorted(plan.items()):
            fulfillment = Fulfillment.objects.create(
                order=order,
                location_id=location_id,
                method=p.method,
                status=status,
                promised_at=p.sourced.promised_at,
            )
            FulfillmentLine.objects.bulk_create(
                FulfillmentLine(fulfillment=fulfillment, order_line=order_lines[v], quantity=q)
                for v, q in sorted(per_variant.items())
            )
            if status == FS.ALLOCATED:
                stock.extend(StockLine(v, location_id, q) for v, q in per_variant.items())
    if stock:
        inventory_services.stock_commit(
            lines=stock, reference=order.number, hold_reference=p.hold_reference
        )
    timeline_add(
        order=order,
        kind=TimelineEvent.Kind.PLACED,
        message=f"Order placed on {channel.code}: {len(order_lines)} line(s), "
        f"{total} {order.currency}.",
        data={"fulfillments": order.fulfillments.count()},
        actor=actor,
    )
    order_event_record(order=order, topic=EventType.ORDER_CREATED)
    notification_queue(order=order, kind=Notification.Kind.CONFIRMATION)
    return order


def _order_by_external_id(channel_code: str, external_id: str) -> Order | None:
    return Order.objects.filter(channel__code=channel_code, external_id=external_id).first()


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
    actor: Actor = SYSTEM,
) -> PlaceResult:
    """Place an order: every line committed against stock, or nothing at all.

    Idempotent by ``external_id`` per channel: the same id returns the existing order
    (``created=False``), also when two arrive at once (the unique constraint decides). Prices
    are the channel's at placement (a snapshot). Pickup commits the chosen store's units (or
    promises them through an open transfer); ship splits the lines over the channel's shipping
    locations with ``strategy``. ``hold_reference`` names a cart's active stock hold the order
    consumes. Raises :class:`OrderInvalid` (400, per-field errors), :class:`InsufficientStock` /
    :class:`PickupUnavailable` (409, per-line ``shortages``). Durable: must not run inside
    another transaction.
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
    )
    try:
        with transaction.atomic(durable=True):
            order = _order_place_in(placement, actor=actor)
    except IntegrityError:
        if external_id:
            existing = _order_by_external_id(channel_code, external_id)
            if existing is not None:  # a concurrent placement with the same external id won
                return PlaceResult(existing, False)
        raise
    return PlaceResult(order, True)
