"""The fulfilment lifecycle: an explicit state machine (:data:`FULFILLMENT_TRANSITIONS`) for
picking, packing (parcels), ready for pickup, hand over, ship, deliver and cancel; items missing
when picking (taken off the stock and sourced again); uncollected pickups expiring; and cancelling
a whole order.

Every service here locks the order row first (``records.order_lock``), so changes to one order
queue behind each other; stock changes go through ``inventory.services`` with the order number as
reference.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.actors import SYSTEM, Actor
from core.events import EventType
from inventory import services as inventory_services
from inventory.exceptions import InsufficientStock
from inventory.services import MovementInput, StockLine
from orders.exceptions import (
    InvalidTransition,
    OrderInvalid,
    PickupCodeInvalid,
    PickupUnavailable,
)
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
from orders.services.payments import payment_capture_fulfillment, payment_settle
from orders.services.promotions import coupon_redemption_release
from orders.services.records import (
    order_event_record,
    order_lock,
    order_status_refresh,
    timeline_add,
)
from orders.services.sourcing import FewestParcelsStrategy, pickup_source, ship_source

FS = Fulfillment.Status

# The fulfilment state machine: status -> statuses it may move to.
FULFILLMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    FS.AWAITING_TRANSFER: frozenset({FS.PICKING, FS.CANCELLED}),
    FS.ALLOCATED: frozenset({FS.PICKING, FS.SHIPPED, FS.CANCELLED}),
    FS.PICKING: frozenset({FS.READY_FOR_PICKUP, FS.PACKED, FS.SHIPPED, FS.CANCELLED}),
    # ship only, and only once picked: a parcel is packed from what was picked
    FS.PACKED: frozenset({FS.SHIPPED, FS.CANCELLED}),
    FS.READY_FOR_PICKUP: frozenset({FS.PICKED_UP, FS.CANCELLED}),
    FS.SHIPPED: frozenset({FS.DELIVERED}),
    FS.PICKED_UP: frozenset(),
    FS.CARRIED_OUT: frozenset(),  # a till sale: sold and carried out at once (services.sales)
    FS.DELIVERED: frozenset(),
    FS.CANCELLED: frozenset(),
}


@dataclass(frozen=True)
class MissingOutcome:
    """What became of units reported missing: sourced again (``fulfillments`` that now carry
    them, ``placed`` units per fulfilment id) or ``cancelled`` on the order line (as any
    cancelled units, they are not charged when the payment is captured)."""

    fulfillments: list[Fulfillment]
    placed: dict[int, int]
    cancelled: int


def _transition(fulfillment: Fulfillment, to: str) -> None:
    if to not in FULFILLMENT_TRANSITIONS[fulfillment.status]:
        raise InvalidTransition(
            f"A fulfilment {fulfillment.status} cannot become {to}.",
            extra={"fulfillment_status": fulfillment.status, "to": to},
        )


def _fulfillment_lock(fulfillment_id: int) -> tuple[Order, Fulfillment]:
    """Lock the fulfilment's order, then read the fulfilment (with its location)."""
    order_id = Fulfillment.objects.values_list("order_id", flat=True).get(pk=fulfillment_id)
    order = order_lock(order_id=order_id)
    fulfillment = Fulfillment.objects.select_related("location").get(pk=fulfillment_id)
    return order, fulfillment


def _stock_lines(fulfillment: Fulfillment) -> list[StockLine]:
    return [
        StockLine(line.order_line.variant_id, fulfillment.location_id, line.quantity)
        for line in fulfillment.lines.select_related("order_line")
    ]


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def _fulfillment_cancel_locked(
    order: Order, fulfillment: Fulfillment, *, reason: str, actor: Actor
) -> None:
    """Cancel one fulfilment of the locked ``order``, releasing its committed units."""
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
        kind=TimelineEvent.Kind.FULFILLMENT_CANCELLED,
        message=f"Fulfilment at {fulfillment.location.code} cancelled"
        + (f": {reason}." if reason else "."),
        fulfillment=fulfillment,
        actor=actor,
    )
    payment_settle(order=order, actor=actor)


def order_cancel(*, order_id: int, reason: str = "", actor: Actor = SYSTEM) -> Order:
    """Cancel every fulfilment not yet shipped or handed over, releasing its committed units.

    Locks the order. Raises :class:`InvalidTransition` when nothing is left to cancel.
    """
    with transaction.atomic(durable=True):
        order = order_lock(order_id=order_id)
        open_ones = [
            f
            for f in order.fulfillments.order_by("id")
            if FS.CANCELLED in FULFILLMENT_TRANSITIONS[f.status]
        ]
        if not open_ones:
            raise InvalidTransition(
                f"Order {order.number} has nothing left to cancel.",
                extra={"order_status": order.status},
            )
        for fulfillment in open_ones:
            _fulfillment_cancel_locked(order, fulfillment, reason=reason, actor=actor)
        if not order_status_refresh(order=order, actor=actor):
            # the status stays, but the fulfilment changed: partners and the report rollups
            # follow the outbox, so the change must be in it
            order_event_record(order=order, topic=EventType.ORDER_UPDATED)
        if order.status == Order.Status.CANCELLED:
            coupon_redemption_release(order_id=order.pk)  # the codes can be used again
            notification_queue(order=order, kind=Notification.Kind.CANCELLED)
        return order


def fulfillment_pick(*, fulfillment_id: int, actor: Actor = SYSTEM) -> Fulfillment:
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
            kind=TimelineEvent.Kind.PICKING,
            message=f"Picking started at {fulfillment.location.code}.",
            fulfillment=fulfillment,
            actor=actor,
        )
        order_status_refresh(order=order, actor=actor)
        return fulfillment


def fulfillment_ready_for_pickup(
    *, fulfillment_id: int, actor: Actor = SYSTEM, now: datetime | None = None
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
            kind=TimelineEvent.Kind.READY_FOR_PICKUP,
            message=f"Ready for pickup at {fulfillment.location.name} until "
            f"{fulfillment.hold_until:%Y-%m-%d}.",
            fulfillment=fulfillment,
            actor=actor,
        )
        order_status_refresh(order=order, actor=actor)
        order_event_record(
            order=order,
            topic=EventType.FULFILLMENT_READY_FOR_PICKUP,
            extra={"fulfillment_id": fulfillment.pk},
        )
        notification_queue(
            order=order,
            kind=Notification.Kind.READY_FOR_PICKUP,
            subject_key=str(fulfillment.pk),
            pickup_code=code,
        )
        return fulfillment, code


def fulfillment_hand_over(*, fulfillment_id: int, code: str, actor: Actor = SYSTEM) -> Fulfillment:
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
            kind=TimelineEvent.Kind.PICKED_UP,
            message=f"Picked up at {fulfillment.location.code}.",
            fulfillment=fulfillment,
            actor=actor,
        )
        payment_capture_fulfillment(order=order, fulfillment=fulfillment, actor=actor)
        order_status_refresh(order=order, actor=actor)
        order_event_record(
            order=order,
            topic=EventType.FULFILLMENT_PICKED_UP,
            extra={"fulfillment_id": fulfillment.pk},
        )
        return fulfillment


def fulfillment_pack(*, fulfillment_id: int, actor: Actor = SYSTEM) -> Fulfillment:
    """Record that a picked parcel is packed and waits for the carrier (ship-from-store and
    warehouses that report it). Its units stay committed until it ships; only ``picking``
    fulfilments of method ``ship`` can be packed. Locks the order."""
    with transaction.atomic(durable=True):
        order, fulfillment = _fulfillment_lock(fulfillment_id)
        if fulfillment.method != FulfillmentMethod.SHIP:
            raise InvalidTransition(
                "Only a parcel is packed; a pickup becomes ready for pickup.",
                extra={"fulfillment_status": fulfillment.status, "to": FS.PACKED},
            )
        _transition(fulfillment, FS.PACKED)
        fulfillment.status = FS.PACKED
        fulfillment.save(update_fields=["status", "updated_at"])
        timeline_add(
            order=order,
            kind=TimelineEvent.Kind.PACKED,
            message=f"Packed at {fulfillment.location.code}, waiting for the carrier.",
            fulfillment=fulfillment,
            actor=actor,
        )
        if not order_status_refresh(order=order, actor=actor):
            # the order's status stays (processing) but partners see the fulfilment's packed
            # status in the event's payload; a status change already recorded the event
            order_event_record(order=order, topic=EventType.ORDER_UPDATED)
        return fulfillment


def fulfillment_ship(
    *, fulfillment_id: int, carrier: str, tracking_number: str, actor: Actor = SYSTEM
) -> Fulfillment:
    """Ship a fulfilment with its carrier and tracking number; its units leave the location.
    Locks the order."""
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
            kind=TimelineEvent.Kind.SHIPPED,
            message=f"Shipped from {fulfillment.location.code} with {fulfillment.carrier}, "
            f"tracking {fulfillment.tracking_number}.",
            fulfillment=fulfillment,
            actor=actor,
        )
        payment_capture_fulfillment(order=order, fulfillment=fulfillment, actor=actor)
        order_status_refresh(order=order, actor=actor)
        order_event_record(
            order=order,
            topic=EventType.FULFILLMENT_SHIPPED,
            extra={"fulfillment_id": fulfillment.pk, "carrier": fulfillment.carrier},
        )
        notification_queue(
            order=order, kind=Notification.Kind.SHIPPED, subject_key=str(fulfillment.pk)
        )
        return fulfillment


def fulfillment_deliver(*, fulfillment_id: int, actor: Actor = SYSTEM) -> Fulfillment:
    """Record that a shipped parcel arrived. Locks the order."""
    with transaction.atomic(durable=True):
        order, fulfillment = _fulfillment_lock(fulfillment_id)
        _transition(fulfillment, FS.DELIVERED)
        fulfillment.status = FS.DELIVERED
        fulfillment.save(update_fields=["status", "updated_at"])
        timeline_add(
            order=order,
            kind=TimelineEvent.Kind.DELIVERED,
            message="Delivered.",
            fulfillment=fulfillment,
            actor=actor,
        )
        if not order_status_refresh(order=order, actor=actor):
            # the status stays, but the fulfilment changed: partners and the report rollups
            # follow the outbox, so the change must be in it
            order_event_record(order=order, topic=EventType.ORDER_UPDATED)
        return fulfillment


def fulfillment_cancel(
    *, fulfillment_id: int, reason: str = "", actor: Actor = SYSTEM
) -> Fulfillment:
    """Cancel one fulfilment (units released); the order status follows. Locks the order."""
    with transaction.atomic(durable=True):
        order, fulfillment = _fulfillment_lock(fulfillment_id)
        _fulfillment_cancel_locked(order, fulfillment, reason=reason, actor=actor)
        if not order_status_refresh(order=order, actor=actor):
            # the status stays, but the fulfilment changed: partners and the report rollups
            # follow the outbox, so the change must be in it
            order_event_record(order=order, topic=EventType.ORDER_UPDATED)
        if order.status == Order.Status.CANCELLED:
            notification_queue(order=order, kind=Notification.Kind.CANCELLED)
        return fulfillment


def fulfillment_report_missing(
    *, fulfillment_id: int, line_id: int, quantity: int, actor: Actor = SYSTEM
) -> MissingOutcome:
    """Units of a fulfilment line cannot be found where they were allocated (a store picking a
    click & collect order, a warehouse picking a parcel). The units are taken off that
    location's on-hand as a written-off adjustment (the shelf did not have them), then sourced
    again as the order was: a pickup from what the same store still has or an open transfer
    brings (a new promise date), a parcel from the channel's shipping locations; what cannot be
    sourced is cancelled. The customer is told of any change. All or nothing; locks the order."""
    with transaction.atomic(durable=True):
        order, fulfillment = _fulfillment_lock(fulfillment_id)
        if fulfillment.status not in (FS.ALLOCATED, FS.PICKING):
            raise InvalidTransition(
                f"Only a fulfilment being prepared can miss items; this one is "
                f"{fulfillment.get_status_display().lower()}.",
                extra={"fulfillment_status": fulfillment.status},
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
            kind=TimelineEvent.Kind.ITEM_MISSING,
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
                kind=TimelineEvent.Kind.LINE_CANCELLED,
                message=f"{cancelled} x {line.order_line.sku} cancelled: none to be had.",
                actor=actor,
            )
            payment_settle(order=order, actor=actor)
        order_status_refresh(order=order, actor=actor)
        order_event_record(order=order, topic=EventType.ORDER_UPDATED)
        kind = (
            Notification.Kind.CANCELLED
            if order.status == Order.Status.CANCELLED
            else Notification.Kind.CHANGED
        )
        notification_queue(
            order=order, kind=kind, subject_key=f"missing-{fulfillment.pk}-{line_id}"
        )
        fulfillments = list(Fulfillment.objects.filter(pk__in=placed).order_by("pk"))
        return MissingOutcome(fulfillments, placed, cancelled)


def _resource(
    order: Order, fulfillment: Fulfillment, wanted: dict[int, int], *, actor: Actor
) -> dict[int, int]:
    """Source ``wanted`` again the way ``fulfillment`` was; returns the units placed per
    fulfilment id (empty when nothing can be had, which is not an error here)."""
    now = timezone.now()
    try:
        if fulfillment.method == FulfillmentMethod.PICKUP:
            sourced = pickup_source(wanted=wanted, location=fulfillment.location, now=now)
        else:
            sourced = ship_source(
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
                kind=TimelineEvent.Kind.RESOURCED,
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


PICKUPS_EXPIRE = Actor.system("system")  # the order page has always shown "(system)"


def pickups_expire(*, now: datetime | None = None, actor: Actor = PICKUPS_EXPIRE) -> list[str]:
    """Cancel ready pickups not collected by their hold date (units released, customer told).
    Returns the order numbers touched. Each order in its own transaction, locking it."""
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
                order, fulfillment, reason="not collected within the hold period", actor=actor
            )
            if not order_status_refresh(order=order, actor=actor):
                order_event_record(order=order, topic=EventType.ORDER_UPDATED)
            notification_queue(
                order=order, kind=Notification.Kind.CANCELLED, subject_key=str(fulfillment.pk)
            )
            touched.append(order.number)
    return touched
