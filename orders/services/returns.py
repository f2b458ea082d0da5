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
from inventory.models import Location
from inventory.services import MovementInput
from orders.exceptions import InvalidTransition, ReturnInvalid
from orders.models import (
    Fulfillment,
    FulfillmentLine,
    FulfillmentMethod,
    Order,
    OrderLine,
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
    timeline_add,
)

FS = Fulfillment.Status


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
            + ", ".join(
                f"{line.quantity} x {line.order_line.sku} {line.disposition}" for line in lines
            )
            + ".",
            data={"rma": return_request.rma},
            actor=actor,
        )
        order_event_record(
            order=order, topic=EventType.RETURN_RECEIVED, extra={"rma": return_request.rma}
        )
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
    actor: Actor = SYSTEM,
) -> tuple[Return, Order]:
    """A size exchange in one transaction: a return line for ``return_sku`` and a new order for
    ``new_sku`` on the same channel and customer, discounted by what the returned units were
    paid (a difference in price is left to pay: payment ``pending``). Either both exist or
    neither; refusals are those of :func:`return_create` and ``order_place``. Locks the
    original order. Durable."""
    original = Order.objects.select_related("channel").get(pk=order_id)
    paid = OrderLine.objects.filter(order=original, sku=return_sku).first()
    if paid is None:
        raise ReturnInvalid(
            f"{return_sku} is not in order {original.number}.",
            errors=[{"field": "return_sku", "code": "not_in_order", "message": return_sku}],
        )
    credit = (paid.unit_price * quantity).quantize(CENT)
    with transaction.atomic(durable=True):
        return_request = _return_create_in(
            order_id=order_id,
            lines=[ReturnLineInput(return_sku, quantity, reason)],
            location_code=location_code,
            reason=reason,
            actor=actor,
        )
        offers = channel_variant_offers(channel_code=original.channel.code, skus=[new_sku])
        offer = offers.get(new_sku)
        price = offer.price if offer is not None and offer.price is not None else Decimal("0")
        new_total = (price * quantity - credit).quantize(CENT)
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
        return return_request, new_order
