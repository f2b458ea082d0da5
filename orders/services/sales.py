"""Selling at a store's till: an order on a POS channel with fulfilment method ``carry_out``,
fulfilled the moment it is recorded (see docs/orders.md, "Till sales").

The customer walks out with the goods, so there is nothing to source or commit: the units leave
the associate's store with one ``sale`` movement per line (``inventory.services.stock_sell``, the
order number as reference), the fulfilment is ``carried_out`` and the order ``completed`` in the
same transaction, which earns the customer's loyalty points. The money is recorded, not
processed: one :class:`~orders.models.Payment` per tender (cash over the total is change given
back, so only what was kept is recorded). A known customer is emailed the receipt after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.selectors import channel_variant_offers
from core.actors import SYSTEM, Actor
from core.events import EventType
from core.metrics import orders_placed
from core.models import Channel
from customers import selectors as customer_selectors
from customers import services as customer_services
from customers.models import IdentifierKind
from inventory import services as inventory_services
from inventory.exceptions import InsufficientStock
from inventory.models import Location
from inventory.services import StockLine
from orders.exceptions import CustomerNotFound, OrderInvalid, PaymentShort
from orders.models import (
    Fulfillment,
    FulfillmentLine,
    FulfillmentMethod,
    Notification,
    Order,
    Payment,
    TimelineEvent,
)
from orders.services.notifications import notification_queue
from orders.services.placement import (
    CustomerInput,
    LineInput,
    PlaceResult,
    order_lines_create,
    placement_validate,
)
from orders.services.records import (
    CENT,
    number_new,
    order_event_record,
    order_status_refresh,
    timeline_add,
)

FS = Fulfillment.Status
Error = dict[str, str]


@dataclass(frozen=True)
class PaymentInput:
    """Money handed over at the till: ``tender`` is one of ``Payment.Tender`` (cash, card,
    other), ``amount`` what was tendered (cash may exceed the total: the rest is change),
    ``reference`` the card terminal's or provider's reference."""

    tender: str
    amount: Decimal
    reference: str = ""


@dataclass(frozen=True)
class _Sale:
    """A sale request that passed validation, ready to be written."""

    channel: Channel
    location: Location
    wanted_by_sku: dict[str, int]
    offers: dict[str, Any]
    payments: list[PaymentInput]
    customer_id: int | None
    customer: CustomerInput
    loyalty_points: int
    sale_key: str


def _card_normalise(card: str) -> str:
    return "".join(card.split()).upper()


def _customer_check(*, customer_id: int | None, customer: CustomerInput) -> int | None:
    """The id of an existing customer named by ``customer_id`` or by a loyalty card; ``None``
    when the sale names none or only an email or phone (those are resolved, and may create the
    customer, as online orders do). A card is issued, never invented at the till: an unknown
    one is refused, like an unknown id (:class:`CustomerNotFound`)."""
    if customer_id is not None:
        found = customer_selectors.customer_get(customer_id=customer_id, channel_codes=None)
        if found is None:
            raise CustomerNotFound(
                f"No customer #{customer_id}.",
                errors=[{"field": "customer.id", "code": "does_not_exist", "message": "unknown"}],
            )
        return int(found.pk)
    if customer.loyalty_card.strip():
        card = _card_normalise(customer.loyalty_card)
        if not customer_selectors.customer_list(channel_codes=None, loyalty_card=card).exists():
            raise CustomerNotFound(
                f"No customer has loyalty card {card}.",
                errors=[
                    {"field": "customer.loyalty_card", "code": "does_not_exist", "message": card}
                ],
            )
    return None


def _sale_prepare(
    *,
    channel_code: str,
    location_code: str,
    lines: Sequence[LineInput],
    payments: Sequence[PaymentInput],
    sale_key: str,
    customer_id: int | None,
    customer: CustomerInput,
    loyalty_points: int,
) -> _Sale:
    """Validate a sale (reads only): every bad field in one :class:`OrderInvalid`."""
    errors: list[Error] = []
    channel: Channel | None = None
    wanted_by_sku: dict[str, int] = {}
    offers: dict[str, Any] = {}
    try:
        channel, wanted_by_sku, offers, _ = placement_validate(
            channel_code=channel_code,
            lines=lines,
            method=FulfillmentMethod.CARRY_OUT,
            pickup_location_code="",
            address={},
            shipping_total=Decimal("0"),
        )
    except OrderInvalid as invalid:
        errors.extend(invalid.errors)
        channel = Channel.objects.filter(code=channel_code, is_active=True).first()
    if not sale_key.strip() or len(sale_key) > 100:
        errors.append({"field": "sale_key", "code": "required", "message": "1 to 100 characters"})
    if channel is not None and channel.kind != Channel.Kind.POS:
        errors.append(
            {
                "field": "channel",
                "code": "not_pos",
                "message": f"{channel.code} is not a store POS channel; carry_out sells at a till",
            }
        )
    location = Location.objects.filter(code=location_code, is_active=True).first()
    if location is None:
        errors.append(
            {
                "field": "fulfillment.location",
                "code": "does_not_exist",
                "message": f"no active location {location_code!r}",
            }
        )
    elif location.kind != Location.Kind.STORE:
        errors.append(
            {"field": "fulfillment.location", "code": "not_a_store", "message": location.code}
        )
    elif channel is not None and not channel.locations.filter(pk=location.pk).exists():
        errors.append(
            {
                "field": "fulfillment.location",
                "code": "not_on_channel",
                "message": f"{location.code} is not a location of {channel.code}",
            }
        )
    for index, payment in enumerate(payments):
        if payment.tender not in Payment.Tender.values:
            errors.append(
                {
                    "field": f"payments.{index}.tender",
                    "code": "invalid",
                    "message": "cash, card or other",
                }
            )
        try:
            positive = Decimal(payment.amount).quantize(CENT) > 0
        except (InvalidOperation, TypeError):
            positive = False
        if not positive:
            errors.append(
                {"field": f"payments.{index}.amount", "code": "min_value", "message": "> 0"}
            )
        if len(payment.reference) > 100:
            errors.append(
                {"field": f"payments.{index}.reference", "code": "max_length", "message": "100"}
            )
    identified = customer_id is not None or any(
        (customer.email.strip(), customer.phone.strip(), customer.loyalty_card.strip())
    )
    if loyalty_points < 0:
        errors.append({"field": "loyalty_points", "code": "min_value", "message": ">= 0"})
    elif loyalty_points and not identified:
        errors.append(
            {"field": "customer", "code": "required", "message": "redeeming points needs one"}
        )
    if errors:
        raise OrderInvalid(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors
        )
    assert channel is not None and location is not None
    known = _customer_check(customer_id=customer_id, customer=customer)
    return _Sale(
        channel=channel,
        location=location,
        wanted_by_sku=wanted_by_sku,
        offers=offers,
        payments=[
            PaymentInput(p.tender, Decimal(p.amount).quantize(CENT), p.reference.strip())
            for p in payments
        ],
        customer_id=known,
        customer=customer,
        loyalty_points=loyalty_points,
        sale_key=sale_key.strip(),
    )


def _contact(customer_id: int) -> tuple[str, str, str]:
    """The email, phone and name a receipt goes to, from the customer's identifiers."""
    found = customer_selectors.customer_get(customer_id=customer_id, channel_codes=None)
    if found is None:  # pragma: no cover - checked before the transaction
        return "", "", ""
    by_kind: dict[str, str] = {}
    for identifier in found.identifiers.all():
        by_kind.setdefault(identifier.kind, identifier.value)
    return (
        by_kind.get(IdentifierKind.EMAIL, ""),
        by_kind.get(IdentifierKind.PHONE, ""),
        found.name,
    )


def _payments_kept(payments: list[PaymentInput], total: Decimal) -> tuple[list[Decimal], Decimal]:
    """What each payment keeps and the change given back. Short of the total is
    :class:`PaymentShort`; over it is change, which only cash can give."""
    paid = sum((p.amount for p in payments), Decimal("0"))
    if paid < total:
        raise PaymentShort(
            f"The payments ({paid}) do not cover the total ({total}).",
            errors=[{"field": "payments", "code": "short", "message": f"{total - paid} missing"}],
            extra={"total": str(total), "paid": str(paid)},
        )
    change = paid - total
    cash = sum((p.amount for p in payments if p.tender == Payment.Tender.CASH), Decimal("0"))
    if change > cash:
        raise OrderInvalid(
            f"The payments ({paid}) exceed the total ({total}); only cash can be given change.",
            errors=[{"field": "payments", "code": "exceeds_total", "message": str(paid - total)}],
        )
    kept = [p.amount for p in payments]
    left = change
    for index in reversed(range(len(payments))):  # change comes out of the last cash first
        if left <= 0:
            break
        if payments[index].tender == Payment.Tender.CASH:
            taken = min(left, kept[index])
            kept[index] -= taken
            left -= taken
    return kept, change


def _sale_write(sale: _Sale, *, actor: Actor) -> Order:
    """Write a prepared sale in the caller's transaction: the customer resolved, points
    redeemed, the order with its price snapshot, the carried-out fulfilment, the ``sale``
    movements (``stock_sell`` locks the levels), the payments, the timeline, ``order.created``
    then ``order.updated`` (completed, points earned) and the receipt queued after commit."""
    channel, location, offers = sale.channel, sale.location, sale.offers
    number = number_new(prefix="O")
    now = timezone.now()
    email, phone, name = (
        sale.customer.email.strip().lower(),
        sale.customer.phone.strip(),
        sale.customer.name.strip(),
    )
    customer_id = sale.customer_id
    if customer_id is not None:
        customer_services.customer_channel_link(customer_id=customer_id, channel_code=channel.code)
        known_email, known_phone, known_name = _contact(customer_id)
        email, phone, name = email or known_email, phone or known_phone, name or known_name
    elif any((email, phone, sale.customer.loyalty_card.strip())):
        resolved = customer_services.customer_resolve(
            email=email,
            phone=phone,
            loyalty_card=sale.customer.loyalty_card,
            name=name,
            channel_code=channel.code,
        ).customer
        customer_id = resolved.pk
        known_email, known_phone, known_name = _contact(resolved.pk)
        email, phone, name = email or known_email, phone or known_phone, name or known_name
    subtotal = sum(
        (offers[sku].price * qty for sku, qty in sale.wanted_by_sku.items()), Decimal("0")
    ).quantize(CENT)
    discount = Decimal("0")
    if sale.loyalty_points:
        assert customer_id is not None
        discount = customer_services.loyalty_redeem(
            customer_id=customer_id,
            points=sale.loyalty_points,
            channel_code=channel.code,
            reference=f"order:{number}",
        ).value
    if discount > subtotal:
        raise OrderInvalid(
            f"The points ({discount}) are worth more than the goods ({subtotal}).",
            errors=[{"field": "loyalty_points", "code": "max_value", "message": "too many"}],
        )
    total = (subtotal - discount).quantize(CENT)
    kept, _change = _payments_kept(sale.payments, total)
    order = Order.objects.create(
        number=number,
        channel=channel,
        external_id=sale.sale_key,
        fulfillment_method=FulfillmentMethod.CARRY_OUT,
        customer_id=customer_id,
        customer_email=email,
        customer_phone=phone,
        customer_name=name,
        loyalty_card=_card_normalise(sale.customer.loyalty_card),
        loyalty_points_redeemed=sale.loyalty_points,
        currency=channel.currency,
        subtotal=subtotal,
        discount_total=discount,
        total=total,
        payment_status=Order.PaymentStatus.CAPTURED,
        amount_captured=total,
        placed_at=now,
    )
    order_lines = order_lines_create(order=order, offers=offers, wanted_by_sku=sale.wanted_by_sku)
    fulfillment = Fulfillment.objects.create(
        order=order, location=location, method=FulfillmentMethod.CARRY_OUT, status=FS.CARRIED_OUT
    )
    FulfillmentLine.objects.bulk_create(
        FulfillmentLine(fulfillment=fulfillment, order_line=line, quantity=line.quantity)
        for line in order_lines
    )
    try:
        inventory_services.stock_sell(
            lines=[StockLine(line.variant_id, location.pk, line.quantity) for line in order_lines],
            reference=number,
            actor=actor,
        )
    except InsufficientStock as short:
        sku_of = {line.variant_id: line.sku for line in order_lines}
        shortages = [
            {**row, "sku": sku_of.get(row["variant_id"], ""), "location": location.code}
            for row in short.extra.get("shortages", [])
        ]
        raise InsufficientStock(
            f"{location.code} does not have "
            + ", ".join(
                f"{row['requested']} x {row['sku']} ({row['available']} free)" for row in shortages
            )
            + ".",
            extra={"shortages": shortages},
        ) from short
    timeline_add(
        order=order,
        kind=TimelineEvent.Kind.CARRIED_OUT,
        message=f"Sold at {location.name} ({location.code}) and carried out: "
        f"{sum(line.quantity for line in order_lines)} unit(s), {total} {order.currency}.",
        fulfillment=fulfillment,
        data={"location": location.code},
        actor=actor,
    )
    for payment_input, amount in zip(sale.payments, kept, strict=True):
        if amount <= 0:
            continue  # all of this cash went back as change
        payment = Payment.objects.create(
            order=order,
            tender=payment_input.tender,
            amount=amount,
            provider_reference=payment_input.reference,
            location=location,
        )
        given_back = payment_input.amount - amount
        timeline_add(
            order=order,
            kind=TimelineEvent.Kind.PAYMENT_RECORDED,
            message=f"Payment recorded: {amount} {order.currency} by "
            f"{payment.get_tender_display().lower()}"
            + (f" ({payment_input.amount} tendered, {given_back} change)." if given_back else "."),
            data={
                "payment_id": payment.pk,
                "tender": payment.tender,
                "amount": str(amount),
                "tendered": str(payment_input.amount),
                "change": str(given_back),
            },
            actor=actor,
        )
    order_event_record(order=order, topic=EventType.ORDER_CREATED)
    order_status_refresh(order=order, actor=actor)  # completed: loyalty points earned
    notification_queue(order=order, kind=Notification.Kind.RECEIPT)
    transaction.on_commit(orders_placed.labels(channel=channel.code).inc)  # /metrics
    return order


@dataclass(frozen=True)
class QuoteLine:
    sku: str
    title: str
    quantity: int
    unit_price: Decimal | None
    line_total: Decimal | None
    sellable: bool
    reason: str


@dataclass(frozen=True)
class SaleQuote:
    """What a basket costs at the till right now, before anything is written: the figures the
    store page shows and pre-fills the payment with. :func:`sale_record` prices the same way
    (the channel's prices; points worth ``LOYALTY_POINT_VALUE`` each)."""

    lines: list[QuoteLine]
    currency: str
    subtotal: Decimal
    discount: Decimal
    total: Decimal

    @property
    def sellable(self) -> bool:
        return bool(self.lines) and all(line.sellable for line in self.lines)


def sale_quote(
    *, channel_code: str, lines: Sequence[LineInput], loyalty_points: int = 0
) -> SaleQuote:
    """Price a basket on a POS channel (reads only). Unknown or unsellable SKUs are lines with
    ``sellable`` False and the catalog's ``reason``; they count nothing."""
    channel = Channel.objects.filter(code=channel_code).first()
    offers = channel_variant_offers(channel_code=channel_code, skus=[x.sku for x in lines])
    quoted = []
    for line in lines:
        offer = offers.get(line.sku)
        price = offer.price if offer is not None and offer.sellable else None
        quoted.append(
            QuoteLine(
                sku=line.sku,
                title=offer.title if offer is not None else line.sku,
                quantity=line.quantity,
                unit_price=price,
                line_total=(price * line.quantity).quantize(CENT) if price is not None else None,
                sellable=price is not None,
                reason="" if price is not None else (offer.reason if offer else "unknown_sku"),
            )
        )
    subtotal = sum((q.line_total or Decimal("0") for q in quoted), Decimal("0")).quantize(CENT)
    point_value = Decimal(str(getattr(settings, "LOYALTY_POINT_VALUE", "0.01")))
    discount = min((max(loyalty_points, 0) * point_value).quantize(CENT), subtotal)
    return SaleQuote(
        lines=quoted,
        currency=channel.currency if channel is not None else "",
        subtotal=subtotal,
        discount=discount,
        total=subtotal - discount,
    )


def _order_by_sale_key(channel_code: str, sale_key: str) -> Order | None:
    return Order.objects.filter(channel__code=channel_code, external_id=sale_key.strip()).first()


def sale_record(
    *,
    channel_code: str,
    location_code: str,
    lines: Sequence[LineInput],
    payments: Sequence[PaymentInput],
    sale_key: str,
    customer_id: int | None = None,
    customer: CustomerInput | None = None,
    loyalty_points: int = 0,
    actor: Actor = SYSTEM,
) -> PlaceResult:
    """Record a sale at a store's till, fulfilled at once: all of it or nothing.

    ``channel_code`` is a POS channel, ``location_code`` one of its stores. The customer is
    optional: ``customer_id`` (found at the till by email, phone or card), or ``customer``
    identifiers (email or phone are resolved as for online orders; a loyalty card must be
    known). ``loyalty_points`` are spent as a discount. ``payments`` must cover the total
    exactly, except cash, which may exceed it by the change.

    Idempotent by ``sale_key`` (stored as the order's ``external_id``, unique per channel): the
    same key returns the first sale (``created=False``), also when two arrive at once. Raises
    :class:`OrderInvalid` (400, every bad field), :class:`CustomerNotFound` (400),
    :class:`PaymentShort` (400), ``InsufficientStock`` (409, ``shortages`` with ``sku``: the
    store lacks a line) or ``InsufficientPoints`` (409). Durable: must not run inside another
    transaction; locks the stock levels (pk order) and the customer's loyalty account.
    """
    if sale_key.strip():
        existing = _order_by_sale_key(channel_code, sale_key)
        if existing is not None:
            return PlaceResult(existing, False)
    sale = _sale_prepare(
        channel_code=channel_code,
        location_code=location_code,
        lines=lines,
        payments=payments,
        sale_key=sale_key,
        customer_id=customer_id,
        customer=customer or CustomerInput(),
        loyalty_points=loyalty_points,
    )
    try:
        with transaction.atomic(durable=True):
            order = _sale_write(sale, actor=actor)
    except IntegrityError:
        existing = _order_by_sale_key(channel_code, sale_key)
        if existing is not None:  # a concurrent retry with the same key won
            return PlaceResult(existing, False)
        raise
    return PlaceResult(order, True)
