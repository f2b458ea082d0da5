"""Returns of any channel's order at any location: authorising an RMA, receiving and inspecting
it (restock or damaged, through inventory services), and size exchanges (a return and a new
order in one transaction). Refunds are ``orders.services.refunds``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.selectors import channel_variant_offers
from core.actors import SYSTEM, Actor
from core.events import EventType
from inventory import services as inventory_services
from inventory.exceptions import InsufficientStock
from inventory.models import Location
from inventory.services import MovementInput, StockLine
from orders.exceptions import ExchangeInvalid, InvalidTransition, ReturnInvalid
from orders.models import (
    Fulfillment,
    FulfillmentLine,
    FulfillmentMethod,
    Order,
    OrderLine,
    Refund,
    Return,
    ReturnLine,
    TimelineEvent,
)
from orders.services.placement import (
    CustomerInput,
    LineInput,
    _order_place_in,
    _placement_prepare,
)
from orders.services.records import (
    CENT,
    number_new,
    order_event_record,
    order_lock,
    order_status_refresh,
    timeline_add,
)
from orders.services.refunds import RefundLineInput, refund_create_in

FS = Fulfillment.Status


@dataclass(frozen=True)
class ReturnLineInput:
    sku: str
    quantity: int
    reason: str = ""


def _fulfilled_quantities(order: Order) -> dict[int, int]:
    done = (FS.SHIPPED, FS.DELIVERED, FS.PICKED_UP, FS.CARRIED_OUT)
    result: dict[int, int] = defaultdict(int)
    for line in FulfillmentLine.objects.filter(
        fulfillment__order=order, fulfillment__status__in=done
    ):
        result[line.order_line_id] += line.quantity
    return result


def _return_create_in(
    *,
    order_id: int,
    lines: Sequence[ReturnLineInput],
    location_code: str,
    reason: str,
    actor: Actor,
) -> Return:
    """:func:`return_create` in the caller's transaction (locks the order)."""
    location = Location.objects.filter(code=location_code, is_active=True).first()
    errors: list[dict[str, str]] = []
    if location is None:
        errors.append({"field": "location", "code": "does_not_exist", "message": location_code})
    if not lines:
        errors.append({"field": "lines", "code": "required", "message": "a return needs lines"})
    order = order_lock(order_id=order_id)
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
    assert location is not None
    return_request = Return.objects.create(
        rma=number_new(prefix="R"),
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
        kind=TimelineEvent.Kind.RETURN_CREATED,
        message=f"Return {return_request.rma} authorised, to be received at {location.code}.",
        data={"rma": return_request.rma},
        actor=actor,
    )
    order_event_record(
        order=order, topic=EventType.RETURN_CREATED, extra={"rma": return_request.rma}
    )
    return return_request


def return_create(
    *,
    order_id: int,
    lines: Sequence[ReturnLineInput],
    location_code: str,
    reason: str = "",
    actor: Actor = SYSTEM,
) -> Return:
    """Authorise a return of fulfilled units of any channel's order, received at any active
    location. Refuses more than was fulfilled minus what earlier returns hold. Locks the order.
    Durable: must not run inside another transaction."""
    with transaction.atomic(durable=True):
        return _return_create_in(
            order_id=order_id,
            lines=lines,
            location_code=location_code,
            reason=reason,
            actor=actor,
        )


def return_receive(
    *, return_id: int, dispositions: Mapping[int, str], actor: Actor = SYSTEM
) -> Return:
    """Receive and inspect a return: each line (by return line id) is ``restock`` (back on hand
    at the receiving location) or ``damaged`` (received, then moved to damaged), through
    inventory services, the stock movements recorded as done by ``actor``. Locks the order."""
    order_id = Return.objects.values_list("order_id", flat=True).get(pk=return_id)
    with transaction.atomic(durable=True):
        return _return_receive_in(
            order_id=order_id, return_id=return_id, dispositions=dispositions, actor=actor
        )


def return_is_exchange(*, return_request: Return) -> bool:
    """Whether the RMA is the return half of an exchange: its value went to the new order as a
    discount, so receiving it refunds nothing."""
    return Order.objects.filter(
        channel_id=return_request.order.channel_id,
        external_id=f"exchange:{return_request.rma}",
    ).exists()


def return_receive_refund(
    *,
    return_id: int,
    dispositions: Mapping[int, str],
    refund_key: str,
    location_code: str = "",
    actor: Actor = SYSTEM,
) -> tuple[Return, Refund | None, bool]:
    """Receive an authorised RMA (created on any channel) and refund its units to the original
    payment, in one transaction: either both happen or neither. ``location_code`` is where it
    is received now (a store other than the one named when it was authorised); the restocked
    units go on that location's shelf. An exchange's RMA refunds nothing (``None``). Idempotent
    by ``refund_key``: a second press after success returns the first outcome with
    ``received=False``. Locks the order. Durable."""
    return_request = Return.objects.select_related("order").get(pk=return_id)
    with transaction.atomic(durable=True):
        order = order_lock(order_id=return_request.order_id)
        existing = Refund.objects.filter(order=order, key=refund_key).first()
        if existing is not None and existing.return_request_id == return_id:
            return_request.refresh_from_db()
            return return_request, existing, False
        if location_code:
            location = Location.objects.filter(code=location_code, is_active=True).first()
            if location is None:
                raise ReturnInvalid(
                    f"No active location {location_code!r}.",
                    errors=[
                        {"field": "location", "code": "does_not_exist", "message": location_code}
                    ],
                )
            Return.objects.filter(pk=return_id, status=Return.Status.AUTHORIZED).update(
                location=location
            )
        received = _return_receive_in(
            order_id=order.pk, return_id=return_id, dispositions=dispositions, actor=actor
        )
        if return_is_exchange(return_request=received):
            return received, None, True
        refund, _created = refund_create_in(
            order_id=order.pk,
            key=refund_key,
            lines=[
                RefundLineInput(line.order_line.sku, line.quantity)
                for line in received.lines.select_related("order_line")
            ],
            return_id=return_id,
            reason=f"return {received.rma}",
            actor=actor,
        )
        return received, refund, True


def _return_receive_in(
    *, order_id: int, return_id: int, dispositions: Mapping[int, str], actor: Actor
) -> Return:
    """:func:`return_receive` in the caller's transaction (locks the order)."""
    order = order_lock(order_id=order_id)
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
    inventory_services.stock_movements_apply(movements=movements, actor=actor)
    for line in lines:
        line.disposition = dispositions[line.pk]
    ReturnLine.objects.bulk_update(lines, ["disposition"])
    return_request.status = Return.Status.RECEIVED
    return_request.received_at = timezone.now()
    return_request.save(update_fields=["status", "received_at", "updated_at"])
    timeline_add(
        order=order,
        kind=TimelineEvent.Kind.RETURN_RECEIVED,
        message=f"Return {return_request.rma} received at {return_request.location.code}: "
        + ", ".join(f"{line.quantity} x {line.order_line.sku} {line.disposition}" for line in lines)
        + ".",
        data={"rma": return_request.rma},
        actor=actor,
    )
    order_event_record(
        order=order, topic=EventType.RETURN_RECEIVED, extra={"rma": return_request.rma}
    )
    return return_request


def _exchange_carry_out_in(
    *,
    original: Order,
    offer: Any,
    quantity: int,
    credit: Decimal,
    location_code: str,
    external_id: str,
    actor: Actor,
) -> Order:
    """The new half of an exchange made at a store counter, in the caller's transaction: an
    order on the original order's channel and customer, taken from the store's shelf at once
    (fulfilment ``carried_out``, a ``sale`` movement through ``inventory.services.stock_sell``,
    which locks the level and refuses with ``insufficient_stock`` when the shelf lacks it),
    discounted by ``credit``; any difference in price is left to pay (``pending``)."""
    location = Location.objects.filter(
        code=location_code, is_active=True, kind=Location.Kind.STORE
    ).first()
    if location is None:
        raise ExchangeInvalid(
            f"No active store {location_code!r} to take the new item from.",
            errors=[
                {"field": "fulfillment.location", "code": "not_a_store", "message": location_code}
            ],
        )
    subtotal = (offer.price * quantity).quantize(CENT)
    discount = min(credit, subtotal)
    total = subtotal - discount
    captured = total <= 0
    new_order = Order.objects.create(
        number=number_new(prefix="O"),
        channel=original.channel,
        external_id=external_id,
        fulfillment_method=FulfillmentMethod.CARRY_OUT,
        customer_id=original.customer_id,
        customer_email=original.customer_email,
        customer_phone=original.customer_phone,
        customer_name=original.customer_name,
        loyalty_card=original.loyalty_card,
        currency=original.currency,
        subtotal=subtotal,
        discount_total=discount,
        total=total,
        payment_status=Order.PaymentStatus.CAPTURED if captured else Order.PaymentStatus.PENDING,
        placed_at=timezone.now(),
    )
    line = OrderLine.objects.create(
        order=new_order,
        variant_id=offer.variant_id,
        sku=offer.sku,
        title=offer.title,
        options=offer.options,
        quantity=quantity,
        unit_price=offer.price,
        line_total=subtotal,
        cost_price=offer.cost_price,
    )
    fulfillment = Fulfillment.objects.create(
        order=new_order,
        location=location,
        method=FulfillmentMethod.CARRY_OUT,
        status=FS.CARRIED_OUT,
    )
    FulfillmentLine.objects.create(fulfillment=fulfillment, order_line=line, quantity=quantity)
    try:
        inventory_services.stock_sell(
            lines=[StockLine(offer.variant_id, location.pk, quantity)],
            reference=new_order.number,
            actor=actor,
        )
    except InsufficientStock as short:
        shortages = [
            {**row, "sku": offer.sku, "location": location.code}
            for row in short.extra.get("shortages", [])
        ]
        free = shortages[0]["available"] if shortages else 0
        raise InsufficientStock(
            f"{location.code} does not have {quantity} x {offer.sku} ({free} free); "
            "ship it instead, or pick another size.",
            extra={"shortages": shortages},
        ) from short
    timeline_add(
        order=new_order,
        kind=TimelineEvent.Kind.PLACED,
        message=f"Exchange order placed at {location.code}: {quantity} x {offer.sku}, "
        f"{total} {new_order.currency} to pay.",
        actor=actor,
    )
    timeline_add(
        order=new_order,
        kind=TimelineEvent.Kind.CARRIED_OUT,
        message=f"Taken from the shelf at {location.name} ({location.code}) and carried out.",
        fulfillment=fulfillment,
        data={"location": location.code},
        actor=actor,
    )
    order_event_record(order=new_order, topic=EventType.ORDER_CREATED)
    order_status_refresh(order=new_order, actor=actor)
    return new_order


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
    disposition: str = "",
    actor: Actor = SYSTEM,
) -> tuple[Return, Order]:
    """A size exchange in one transaction: a return line for ``return_sku`` and a new order for
    ``new_sku`` on the same channel and customer, discounted by what the returned units were
    paid (a difference in price is left to pay: payment ``pending``). The new item is picked up
    (``pickup``), taken from the store's shelf at once (``carry_out`` at ``location_code``) or
    shipped (``ship``, to ``address`` or the original order's). With ``disposition``
    (``restock`` or ``damaged``) the returned units are received at ``location_code`` in the
    same transaction (the customer handed them over at the counter); else the RMA waits to be
    received anywhere. Either everything exists or nothing; refusals are
    :class:`ExchangeInvalid` (an unknown or unsellable ``new_sku``, a bad quantity or
    disposition) and those of :func:`return_create` and ``order_place``. Locks the original
    order. Durable."""
    original = Order.objects.select_related("channel").get(pk=order_id)
    errors: list[dict[str, str]] = []
    if quantity <= 0:
        errors.append({"field": "quantity", "code": "min_value", "message": "must be positive"})
    offer = channel_variant_offers(channel_code=original.channel.code, skus=[new_sku]).get(new_sku)
    if offer is None:
        errors.append({"field": "new_sku", "code": "unknown_sku", "message": new_sku})
    elif not offer.sellable or offer.price is None:
        errors.append(
            {
                "field": "new_sku",
                "code": offer.reason or "not_sellable",
                "message": f"{new_sku} cannot be sold on {original.channel.code}",
            }
        )
    if method not in FulfillmentMethod.values:
        errors.append(
            {
                "field": "fulfillment.method",
                "code": "invalid",
                "message": "carry_out, pickup or ship",
            }
        )
    if disposition and disposition not in (
        ReturnLine.Disposition.RESTOCK,
        ReturnLine.Disposition.DAMAGED,
    ):
        errors.append({"field": "disposition", "code": "invalid", "message": "restock or damaged"})
    if errors:
        unknown = [e["message"] for e in errors if e["code"] == "unknown_sku"]
        detail = (
            f"{original.channel.code} sells no SKU {unknown[0]!r}: nothing was exchanged."
            if unknown
            else "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        )
        raise ExchangeInvalid(detail, errors=errors)
    paid = OrderLine.objects.filter(order=original, sku=return_sku).first()
    if paid is None:
        raise ReturnInvalid(
            f"{return_sku} is not in order {original.number}.",
            errors=[{"field": "return_sku", "code": "not_in_order", "message": return_sku}],
        )
    assert offer is not None and offer.price is not None
    price = offer.price
    credit = (paid.unit_price * quantity).quantize(CENT)
    with transaction.atomic(durable=True):
        return_request = _return_create_in(
            order_id=order_id,
            lines=[ReturnLineInput(return_sku, quantity, reason)],
            location_code=location_code,
            reason=reason,
            actor=actor,
        )
        new_total = (price * quantity - credit).quantize(CENT)
        if method == FulfillmentMethod.CARRY_OUT:
            new_order = _exchange_carry_out_in(
                original=original,
                offer=offer,
                quantity=quantity,
                credit=credit,
                location_code=pickup_location_code or location_code,
                external_id=f"exchange:{return_request.rma}",
                actor=actor,
            )
        else:
            placement = _placement_prepare(
                channel_code=original.channel.code,
                lines=[LineInput(new_sku, quantity)],
                method=method,
                pickup_location_code=pickup_location_code or location_code,
                address=dict(address or original.shipping_address or {}),
                customer=CustomerInput(
                    email=original.customer_email,
                    phone=original.customer_phone,
                    name=original.customer_name,
                    loyalty_card=original.loyalty_card,
                ),
                external_id=f"exchange:{return_request.rma}",
                shipping_total=Decimal("0"),
                discount_total=min(credit, price * quantity),
                payment_status=Order.PaymentStatus.CAPTURED
                if new_total <= 0
                else Order.PaymentStatus.PENDING,
                loyalty_points=0,
                hold_reference=None,
                strategy=None,
            )
            new_order = _order_place_in(placement, actor=actor)
        timeline_add(
            order=original,
            kind=TimelineEvent.Kind.EXCHANGE,
            message=f"Exchange: {quantity} x {return_sku} for {new_sku} "
            f"(return {return_request.rma}, order {new_order.number}).",
            data={"rma": return_request.rma, "order": new_order.number},
            actor=actor,
        )
        timeline_add(
            order=new_order,
            kind=TimelineEvent.Kind.EXCHANGE,
            message=f"Exchange of {quantity} x {return_sku} from order {original.number}.",
            data={"rma": return_request.rma, "order": original.number},
            actor=actor,
        )
        if disposition:
            return_request = _return_receive_in(
                order_id=order_id,
                return_id=return_request.pk,
                dispositions={line.pk: disposition for line in return_request.lines.all()},
                actor=actor,
            )
        return return_request, new_order
