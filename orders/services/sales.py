"""Selling at a store's till: an order on a POS channel with fulfilment method ``carry_out``,
fulfilled the moment it is recorded (see docs/orders.md, "Till sales").

The customer walks out with the goods, so there is nothing to source or commit: the units leave
the associate's store with one ``sale`` movement per line (``inventory.services.stock_sell``, the
order number as reference), the fulfilment is ``carried_out`` and the order ``completed`` in the
same transaction, which earns the customer's loyalty points. The money is recorded, not
processed: one :class:`~orders.models.Payment` per tender (cash over the total is change given
back, so only what was kept is recorded). A known customer is emailed the receipt after commit.

Prices come from the one pricing function (``orders.pricing.basket_price``): the channel's
price, the promotions running on the till and the coupons entered (the customer's facts from the
identified customer), points as an order-level discount, tax at the rates of the store's
country. The quote and the sale call it the same way, and the order stores its figures
(``orders.services.pricing``); coupons are redeemed in the sale's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
    GiftCard,
    Notification,
    Order,
    OrderTaxLine,
    Payment,
    TimelineEvent,
)
from orders.pricing import BasketItem, Pricing, basket_price
from orders.promotions import AppliedPromotion
from orders.services.giftcards import (
    GiftCardInput,
    giftcard_find,
    giftcards_check,
    giftcards_issue_for_lines,
    giftcards_redeem,
)
from orders.services.notifications import notification_queue
from orders.services.placement import (
    CustomerInput,
    LineInput,
    PlaceResult,
    gift_card_variants,
    order_lines_create,
    placement_validate,
)
from orders.services.pricing import (
    order_pricing_fields,
    order_tax_lines_build,
    order_tax_lines_write,
)
from orders.services.promotions import coupon_redeem
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
    gift_tendered: tuple[tuple[GiftCard, Decimal], ...] = ()
    gift_variants: frozenset[int] = frozenset()
    coupons: tuple[str, ...] = ()


def _coupon_codes(coupons: Iterable[str]) -> tuple[str, ...]:
    """The codes as entered, trimmed, blanks and repeats left out (case is the engine's)."""
    return tuple(dict.fromkeys(code.strip() for code in coupons if code.strip()))


def _sale_price(
    *,
    channel: Channel,
    country: str,
    wanted_by_sku: dict[str, int],
    variant_of: dict[str, int],
    coupons: Sequence[str],
    customer_id: int | None,
    customer_email: str,
    points_value: Decimal = Decimal("0"),
) -> Pricing:
    """The basket on the till's channel, sold in ``country`` (the store's): one call of the
    pricing function, each line keyed by its SKU. Raises the coupon errors."""
    return basket_price(
        channel=channel,
        items=[BasketItem(variant_of[sku], qty, sku) for sku, qty in wanted_by_sku.items()],
        country=country,
        coupon_codes=coupons,
        customer_id=customer_id,
        customer_email=customer_email,
        extra_discount=points_value,
    )


def _unpriced_refuse(pricing: Pricing, wanted_by_sku: dict[str, int]) -> None:
    """A SKU the channel sold a moment ago but no longer prices (its price just ended)."""
    priced = {line.key for line in pricing.lines}
    missing = [sku for sku in wanted_by_sku if sku not in priced]
    if missing:
        raise OrderInvalid(
            f"No price on the till for {', '.join(missing)}.",
            errors=[{"field": "lines", "code": "unpriced", "message": sku} for sku in missing],
        )


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
    gift_cards: Sequence[GiftCardInput] = (),
    coupons: Sequence[str] = (),
) -> _Sale:
    """Validate a sale (reads only): every bad field in one :class:`OrderInvalid`; then the
    basket is priced (the coupon errors refuse here, before anything is written); then the
    gift cards (``giftcards_check``: their own codes, 404 or 409)."""
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
        elif payment.tender == Payment.Tender.GIFT_CARD:
            errors.append(
                {
                    "field": f"payments.{index}.tender",
                    "code": "invalid",
                    "message": "a gift card is tendered in gift_cards, with its code",
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
    codes = _coupon_codes(coupons)
    pricing = _sale_price(
        channel=channel,
        country=location.country,
        wanted_by_sku=wanted_by_sku,
        variant_of={sku: offer.variant_id for sku, offer in offers.items()},
        coupons=codes,
        customer_id=known if known is not None else _card_holder(customer.loyalty_card),
        customer_email=customer.email.strip().lower(),
    )
    _unpriced_refuse(pricing, wanted_by_sku)
    gift_tendered = tuple(giftcards_check(gift_cards=gift_cards, currency=channel.currency))
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
        gift_tendered=gift_tendered,
        gift_variants=gift_card_variants(offers),
        coupons=codes,
    )


def _card_holder(card: str) -> int | None:
    """The customer a loyalty card names (checked to exist by :func:`_customer_check`)."""
    if not card.strip():
        return None
    found = customer_selectors.customer_list(
        channel_codes=None, loyalty_card=_card_normalise(card)
    ).first()
    return int(found.pk) if found is not None else None


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
    points_value = Decimal("0")
    if sale.loyalty_points:
        assert customer_id is not None
        points_value = customer_services.loyalty_redeem(
            customer_id=customer_id,
            points=sale.loyalty_points,
            channel_code=channel.code,
            reference=f"order:{number}",
        ).value
    # priced again in the transaction, for the customer now resolved, with the points' value
    pricing = _sale_price(
        channel=channel,
        country=location.country,
        wanted_by_sku=sale.wanted_by_sku,
        variant_of={sku: offer.variant_id for sku, offer in offers.items()},
        coupons=sale.coupons,
        customer_id=customer_id,
        customer_email=email,
        points_value=points_value,
    )
    _unpriced_refuse(pricing, sale.wanted_by_sku)
    goods = pricing.subtotal - pricing.promotion_discount
    if points_value > goods:
        raise OrderInvalid(
            f"The points ({points_value}) are worth more than the goods ({goods}).",
            errors=[{"field": "loyalty_points", "code": "max_value", "message": "too many"}],
        )
    total = pricing.total
    gift_total = sum((amount for _card, amount in sale.gift_tendered), Decimal("0"))
    if gift_total > total:
        raise OrderInvalid(
            f"The gift cards ({gift_total}) are more than the sale's total ({total}).",
            errors=[{"field": "gift_cards", "code": "exceeds_total", "message": str(total)}],
        )
    kept, _change = _payments_kept(sale.payments, total - gift_total)
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
        **order_pricing_fields(pricing),
        payment_status=Order.PaymentStatus.CAPTURED,
        amount_captured=total,
        placed_at=now,
    )
    order_lines = order_lines_create(
        order=order, offers=offers, wanted_by_sku=sale.wanted_by_sku, pricing=pricing
    )
    order_tax_lines_write(order=order, pricing=pricing, replace=False)
    if pricing.coupons:  # race-free: locks the coupons; a refusal rolls the sale back
        coupon_redeem(
            codes=[coupon.code for coupon in pricing.coupons],
            order_id=order.pk,
            customer_id=customer_id,
            customer_email=email,
            channel_code=channel.code,
        )
    fulfillment = Fulfillment.objects.create(
        order=order, location=location, method=FulfillmentMethod.CARRY_OUT, status=FS.CARRIED_OUT
    )
    FulfillmentLine.objects.bulk_create(
        FulfillmentLine(fulfillment=fulfillment, order_line=line, quantity=line.quantity)
        for line in order_lines
    )
    stocked = [line for line in order_lines if line.variant_id not in sale.gift_variants]
    try:
        if stocked:  # gift cards have no stock
            inventory_services.stock_sell(
                lines=[StockLine(line.variant_id, location.pk, line.quantity) for line in stocked],
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
    if sale.gift_tendered:
        giftcards_redeem(
            order=order, tendered=sale.gift_tendered, actor=actor, location_id=location.pk
        )
    for payment_input, amount in zip(sale.payments, kept, strict=True):
        if amount <= 0:
            continue  # all of this cash went back as change
        payment = Payment.objects.create(
            order=order,
            tender=payment_input.tender,
            status=Payment.Status.CAPTURED,
            amount_authorised=amount,
            amount_captured=amount,
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
    gift_lines = [line for line in order_lines if line.variant_id in sale.gift_variants]
    if gift_lines:
        giftcards_issue_for_lines(order=order, lines=gift_lines, actor=actor)
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
    """``unit_price`` x ``quantity``, before discounts (what the order line stores)."""
    sellable: bool
    reason: str
    discount: Decimal = Decimal("0")
    """Promotions, coupons and points taken off this line."""
    tax_rate: Decimal = Decimal("0")
    tax: Decimal = Decimal("0")

    @property
    def total(self) -> Decimal | None:
        return None if self.line_total is None else self.line_total - self.discount


@dataclass(frozen=True)
class SaleQuote:
    """What a basket costs at the till right now, before anything is written: the figures the
    store page shows and pre-fills the payment with, all from one ``basket_price`` call made as
    :func:`sale_record` makes it (so the quote is what the sale records)."""

    lines: list[QuoteLine]
    currency: str
    subtotal: Decimal
    discount: Decimal
    """Everything off the goods: promotions, coupons and points."""
    total: Decimal
    gift_cards: Decimal = Decimal("0")  # what the basket's gift cards pay, up to the total
    promotion_discount: Decimal = Decimal("0")
    tax_total: Decimal = Decimal("0")
    tax_lines: tuple[OrderTaxLine, ...] = ()
    """The tax per rate the order will store (unsaved rows)."""
    promotions: tuple[AppliedPromotion, ...] = ()
    coupons: tuple[str, ...] = ()
    prices_include_tax: bool = True
    country: str = ""

    @property
    def sellable(self) -> bool:
        return bool(self.lines) and all(line.sellable for line in self.lines)

    @property
    def points_discount(self) -> Decimal:
        """The points' share of :attr:`discount`."""
        return self.discount - self.promotion_discount

    @property
    def due(self) -> Decimal:
        """What is left to pay by cash, card or other once the gift cards are taken."""
        return self.total - self.gift_cards


def sale_quote(
    *,
    channel_code: str,
    lines: Sequence[LineInput],
    loyalty_points: int = 0,
    gift_cards: Sequence[GiftCardInput] = (),
    coupons: Sequence[str] = (),
    location_code: str = "",
    customer_id: int | None = None,
) -> SaleQuote:
    """Price a basket on a POS channel (reads only), as :func:`sale_record` will: taxed at the
    rates of ``location_code``'s country (default: the channel's first country), the running
    promotions and ``coupons`` applied for ``customer_id``, ``loyalty_points`` (worth
    ``LOYALTY_POINT_VALUE`` each, at most the goods) taken off after them. Lines of one SKU are
    merged. Unknown or unsellable SKUs are lines with ``sellable`` False and the catalog's
    ``reason``; they count nothing. A coupon that cannot be used raises its error (``coupon_*``).
    ``gift_cards`` count what they would pay as they stand now (unknown codes count nothing: the
    sale refuses them)."""
    channel = Channel.objects.filter(code=channel_code).first()
    wanted: dict[str, int] = {}
    for line in lines:
        wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
    offers = channel_variant_offers(channel_code=channel_code, skus=list(wanted))
    sellable = {
        sku: qty
        for sku, qty in wanted.items()
        if qty > 0 and offers.get(sku) is not None and offers[sku].sellable
    }
    location = (
        Location.objects.filter(code=location_code).first() if location_code.strip() else None
    )
    point_value = Decimal(str(getattr(settings, "LOYALTY_POINT_VALUE", "0.01")))
    pricing = (
        _sale_price(
            channel=channel,
            country=location.country if location is not None else "",
            wanted_by_sku=sellable,
            variant_of={sku: offers[sku].variant_id for sku in sellable},
            coupons=_coupon_codes(coupons),
            customer_id=customer_id,
            customer_email="",
            points_value=(max(loyalty_points, 0) * point_value).quantize(CENT),
        )
        if channel is not None and sellable
        else None
    )
    priced = {line.key: line for line in pricing.lines} if pricing is not None else {}
    quoted = []
    for sku, qty in wanted.items():
        offer = offers.get(sku)
        got = priced.get(sku)
        quoted.append(
            QuoteLine(
                sku=sku,
                title=offer.title if offer is not None else sku,
                quantity=qty,
                unit_price=got.unit_price if got is not None else None,
                line_total=got.subtotal if got is not None else None,
                sellable=got is not None,
                reason=""
                if got is not None
                else (offer.reason or "unpriced" if offer is not None else "unknown_sku"),
                discount=got.discount if got is not None else Decimal("0"),
                tax_rate=got.tax_rate if got is not None else Decimal("0"),
                tax=got.tax if got is not None else Decimal("0"),
            )
        )
    gift = Decimal("0")
    for row in gift_cards:
        card = giftcard_find(code=row.code)
        if card is not None:
            gift += min(Decimal(row.amount), card.balance)
    zero = Decimal("0.00")
    total = pricing.total if pricing is not None else zero
    return SaleQuote(
        lines=quoted,
        currency=channel.currency if channel is not None else "",
        subtotal=pricing.subtotal if pricing is not None else zero,
        discount=pricing.discount_total if pricing is not None else zero,
        total=total,
        gift_cards=min(gift, total).quantize(CENT),
        promotion_discount=pricing.promotion_discount if pricing is not None else zero,
        tax_total=pricing.tax_total if pricing is not None else zero,
        tax_lines=tuple(order_tax_lines_build(order=None, pricing=pricing)) if pricing else (),
        promotions=pricing.applied if pricing is not None else (),
        coupons=tuple(coupon.code for coupon in pricing.coupons) if pricing is not None else (),
        prices_include_tax=pricing.prices_include_tax if pricing is not None else True,
        country=pricing.country if pricing is not None else "",
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
    gift_cards: Sequence[GiftCardInput] = (),
    coupons: Sequence[str] = (),
    actor: Actor = SYSTEM,
) -> PlaceResult:
    """Record a sale at a store's till, fulfilled at once: all of it or nothing.

    ``channel_code`` is a POS channel, ``location_code`` one of its stores. The customer is
    optional: ``customer_id`` (found at the till by email, phone or card), or ``customer``
    identifiers (email or phone are resolved as for online orders; a loyalty card must be
    known). The basket is priced by ``orders.pricing.basket_price`` (see :func:`sale_quote`):
    the order, its lines and its tax lines store its figures, and ``coupons`` are redeemed in
    the same transaction (a coupon that cannot be used raises its ``coupon_*`` error and nothing
    is written). ``loyalty_points`` are spent as a discount after the promotions.
    ``gift_cards`` (code and amount each) are spent first, one ``gift_card`` payment each (404
    ``gift_card_unknown``, 409 ``gift_card_insufficient`` and friends, nothing written).
    ``payments`` must cover the rest of the priced total exactly, except cash, which may exceed
    it by the change. Gift-card products take no stock and issue a card per unit (its code on
    the timeline and the receipt).

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
        gift_cards=gift_cards,
        coupons=coupons,
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
