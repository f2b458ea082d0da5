"""Carts: persistent, continued from any channel device that knows the token; lines validated
against the channel's catalog and current price; optional short stock holds while checking out;
tied to the customer who signs in (their carts merge) and checked out into an order once.

Writes are services (``cart_*``); :func:`cart_view` and :func:`customer_cart_find` are the reads
the API and pages show.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.selectors import channel_variant_offers
from core.actors import SYSTEM, Actor
from core.errors import DomainError
from core.models import Channel
from customers import selectors as customer_selectors
from customers import services as customer_services
from customers.models import IdentifierKind
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.exceptions import HoldNotActive, InsufficientStock
from inventory.services import StockLine
from orders.exceptions import (
    CartConverted,
    CartCustomerConflict,
    CartEmpty,
    CartInvalid,
    CustomerNotFound,
    PickupUnavailable,
)
from orders.models import Cart, CartLine, FulfillmentMethod, Order
from orders.services.placement import (
    CustomerInput,
    LineInput,
    PlaceResult,
    _order_place_in,
    _placement_prepare,
    placement_validate,
)
from orders.services.records import CENT
from orders.services.sourcing import FewestParcelsStrategy, pickup_source, ship_source

MAX_HOLD = timedelta(minutes=30)


@dataclass(frozen=True)
class CartLineView:
    sku: str
    quantity: int
    title: str
    unit_price: Decimal | None
    line_total: Decimal | None
    sellable: bool
    reason: str


@dataclass(frozen=True)
class CartView:
    cart: Cart
    currency: str
    lines: list[CartLineView]
    subtotal: Decimal


def _converted(cart: Cart) -> CartConverted:
    number = cart.order.number if cart.order is not None else ""
    detail = f"as order {number}" if number else "(its order was removed)"
    return CartConverted(f"This cart was already checked out {detail}.", extra={"order": number})


def _cart_lock(token: str) -> Cart:
    cart = (
        Cart.objects.select_for_update(of=("self",))
        .select_related("channel", "order")
        .filter(token=token)
        .first()
    )
    if cart is None:
        raise CartInvalid(f"No cart {token!r}.", code="not_found")
    if cart.status != Cart.Status.OPEN:
        raise _converted(cart)
    return cart


def cart_create(*, channel_code: str, customer_email: str = "") -> Cart:
    channel = Channel.objects.filter(code=channel_code, is_active=True).first()
    if channel is None:
        raise CartInvalid(
            f"Unknown channel {channel_code!r}.",
            errors=[{"field": "channel", "code": "does_not_exist", "message": channel_code}],
        )
    return Cart.objects.create(channel=channel, customer_email=customer_email.strip().lower())


def cart_update(*, token: str, customer_email: str) -> Cart:
    with transaction.atomic():
        cart = _cart_lock(token)
        cart.customer_email = customer_email.strip().lower()
        cart.save(update_fields=["customer_email", "updated_at"])
        return cart


def cart_customer_set(
    *,
    token: str,
    customer_id: int | None = None,
    email: str = "",
    channel_codes: Collection[str] | None,
) -> Cart:
    """Tie the cart to the customer who signed in (by id, or by email: resolved like an order's
    customer, created when new), and merge the customer's other open carts into it.

    ``channel_codes`` is what the caller may see (``None``: every channel): a customer id must
    be visible there (else :class:`CustomerNotFound`), and only carts on those channels merge,
    so another partner's cart is never touched. The merge rule (docs/orders.md, "Carts"): this
    cart, the one on the device in hand, survives with its token; each line of the other carts
    is added to it, and a SKU in both keeps the larger quantity (never the sum: the same tee put
    in the cart on two devices is one tee). The merged carts are deleted, and every hold of the
    carts involved is released (the contents changed). Tying a cart to the customer it already
    belongs to merges again and changes nothing else; a cart of another customer is refused
    (:class:`CartCustomerConflict`). Locks every cart involved in primary-key order. One
    transaction: a refusal leaves nothing behind, not even a customer resolved from the email.
    """
    with transaction.atomic():
        return _cart_customer_tie(
            token=token, customer_id=customer_id, email=email, channel_codes=channel_codes
        )


def _cart_customer_tie(
    *,
    token: str,
    customer_id: int | None = None,
    email: str = "",
    channel_codes: Collection[str] | None,
) -> Cart:
    if customer_id is not None:
        found = customer_selectors.customer_get(
            customer_id=customer_id, channel_codes=channel_codes
        )
        if found is None:
            raise CustomerNotFound(
                f"No customer #{customer_id}.",
                errors=[
                    {"field": "customer", "code": "does_not_exist", "message": str(customer_id)}
                ],
            )
    elif email.strip():
        cart = Cart.objects.select_related("channel").filter(token=token).first()
        if cart is None:
            raise CartInvalid(f"No cart {token!r}.", code="not_found")
        customer_id = customer_services.customer_resolve(
            email=email, channel_code=cart.channel.code
        ).customer.pk
    else:
        raise CartInvalid(
            "Name the customer by id or email.",
            errors=[{"field": "customer", "code": "required", "message": "id or email"}],
        )
    released: list[str] = []
    with transaction.atomic():
        target = Cart.objects.filter(token=token).values_list("pk", flat=True).first()
        if target is None:
            raise CartInvalid(f"No cart {token!r}.", code="not_found")
        others = Q(customer_id=customer_id, status=Cart.Status.OPEN)
        if channel_codes is not None:
            others &= Q(channel__code__in=list(channel_codes))
        locked = list(
            Cart.objects.select_for_update(of=("self",))
            .select_related("channel", "order")
            .filter(Q(pk=target) | others)
            .order_by("pk")
        )
        cart = next(c for c in locked if c.pk == target)
        if cart.status != Cart.Status.OPEN:
            raise _converted(cart)
        if cart.customer_id is not None and cart.customer_id != customer_id:
            raise CartCustomerConflict(
                "This cart belongs to another customer; start a new cart for this one."
            )
        merged = [c for c in locked if c.pk != target]
        have = {line.variant_id: line for line in cart.lines.all()}
        for other in sorted(merged, key=lambda c: (c.updated_at, c.pk)):
            for line in other.lines.all():
                mine = have.get(line.variant_id)
                if mine is None:
                    have[line.variant_id] = CartLine.objects.create(
                        cart=cart, variant_id=line.variant_id, sku=line.sku, quantity=line.quantity
                    )
                elif line.quantity > mine.quantity:
                    mine.quantity = line.quantity
                    mine.save(update_fields=["quantity"])
            released.append(other.hold_reference)
        if merged:
            released.append(cart.hold_reference)
            Cart.objects.filter(pk__in=[c.pk for c in merged]).delete()
        fields = ["customer", "updated_at"]
        cart.customer_id = customer_id
        if not cart.customer_email:
            cart.customer_email = _customer_email(customer_id)
            fields.append("customer_email")
        if merged:
            cart.hold_expires_at = None
            fields.append("hold_expires_at")
        cart.save(update_fields=fields)
        customer_services.customer_channel_link(
            customer_id=customer_id, channel_code=cart.channel.code
        )
        for reference in released:
            inventory_services.stock_hold_release(reference=reference)
    return cart


def _customer_email(customer_id: int) -> str:
    found = customer_selectors.customer_get(customer_id=customer_id, channel_codes=None)
    if found is None:
        return ""
    for identifier in found.identifiers.all():
        if identifier.kind == IdentifierKind.EMAIL and identifier.namespace == "":
            return str(identifier.value)
    return ""


def customer_cart_find(*, customer_id: int, channel_codes: Collection[str] | None) -> Cart | None:
    """The customer's open cart on the channels the caller may see (``None``: all), the most
    recently changed first; a cart on another partner's channel is never returned. A read."""
    carts = Cart.objects.select_related("channel").filter(
        customer_id=customer_id, status=Cart.Status.OPEN
    )
    if channel_codes is not None:
        carts = carts.filter(channel__code__in=list(channel_codes))
    return carts.order_by("-updated_at", "-pk").first()


def cart_line_set(*, token: str, sku: str, quantity: int) -> Cart:
    """Set a line's quantity (0 removes it). The SKU must be sellable on the cart's channel.
    A stock hold of the cart is released: the contents changed."""
    if quantity < 0 or quantity > 10_000:
        raise CartInvalid(
            "Quantity must be between 0 and 10000.",
            errors=[{"field": "quantity", "code": "invalid", "message": str(quantity)}],
        )
    with transaction.atomic():
        cart = _cart_lock(token)
        if quantity == 0:
            CartLine.objects.filter(cart=cart, sku=sku).delete()
        else:
            offer = channel_variant_offers(channel_code=cart.channel.code, skus=[sku]).get(sku)
            if offer is None or not offer.sellable:
                raise CartInvalid(
                    f"{sku} cannot be sold on {cart.channel.code}.",
                    errors=[
                        {
                            "field": "sku",
                            "code": offer.reason if offer else "unknown_sku",
                            "message": sku,
                        }
                    ],
                )
            CartLine.objects.update_or_create(
                cart=cart,
                variant_id=offer.variant_id,
                defaults={"sku": sku, "quantity": quantity},
            )
        cart.hold_expires_at = None
        cart.save(update_fields=["hold_expires_at", "updated_at"])
    inventory_services.stock_hold_release(reference=cart.hold_reference)
    return cart


def cart_view(*, cart: Cart) -> CartView:
    """The cart with today's channel prices (a fixed number of queries)."""
    lines = list(cart.lines.all())
    offers = channel_variant_offers(channel_code=cart.channel.code, skus=[x.sku for x in lines])
    views = []
    subtotal = Decimal("0")
    for line in lines:
        offer = offers.get(line.sku)
        price = offer.price if offer is not None and offer.sellable else None
        total = (price * line.quantity).quantize(CENT) if price is not None else None
        subtotal += total or Decimal("0")
        views.append(
            CartLineView(
                sku=line.sku,
                quantity=line.quantity,
                title=offer.title if offer else line.sku,
                unit_price=price,
                line_total=total,
                sellable=price is not None,
                reason="" if price is not None else (offer.reason if offer else "unknown_sku"),
            )
        )
    return CartView(cart=cart, currency=cart.channel.currency, lines=views, subtotal=subtotal)


def _shortages_named(exc: DomainError, skus: Mapping[int, str]) -> DomainError:
    """Name each short line's SKU (a cart's caller knows SKUs, not variant ids)."""
    shortages = exc.extra.get("shortages")
    if isinstance(shortages, list):
        exc.extra["shortages"] = [
            {**row, "sku": skus.get(row.get("variant_id", 0), "")} for row in shortages
        ]
    return exc


def _cart_lines(cart: Cart) -> tuple[list[LineInput], dict[int, str]]:
    rows = list(cart.lines.all())
    if not rows:
        raise CartEmpty("The cart has no lines: add some before holding or checking out.")
    return [LineInput(x.sku, x.quantity) for x in rows], {x.variant_id: x.sku for x in rows}


def cart_hold(
    *,
    token: str,
    method: str,
    pickup_location_code: str = "",
    address: Mapping[str, Any] | None = None,
    ttl: timedelta = timedelta(minutes=10),
) -> Cart:
    """Hold the cart's units while the customer checks out, sourced like the order will be
    (pickup: the chosen store; ship: the channel's strategy). A new hold replaces the cart's
    previous one in the same transaction, so the cart never holds twice and never loses its
    units to someone else in between. Released on expiry by inventory, when a line changes, or
    consumed by :func:`cart_checkout`. Locks the cart, then the stock levels.

    Raises :class:`CartEmpty`, :class:`CartConverted`, the placement errors (400
    ``order_invalid``; 409 ``insufficient_stock`` / ``pickup_unavailable`` with ``shortages``
    naming each ``sku``); nothing is held then and the previous hold stays."""
    if not timedelta(0) < ttl <= MAX_HOLD:
        raise CartInvalid(
            "A hold lasts between 1 second and 30 minutes.",
            errors=[{"field": "ttl_seconds", "code": "invalid", "message": str(ttl)}],
        )
    with transaction.atomic():
        cart = _cart_lock(token)
        lines, skus = _cart_lines(cart)
        try:
            channel, wanted_by_sku, offers, location = placement_validate(
                channel_code=cart.channel.code,
                lines=lines,
                method=method,
                pickup_location_code=pickup_location_code,
                address=dict(address or {}),
                shipping_total=Decimal("0"),
            )
            # the previous hold goes first, so that sourcing counts its units as free again
            inventory_services.stock_hold_release(reference=cart.hold_reference)
            wanted = {offers[sku].variant_id: qty for sku, qty in wanted_by_sku.items()}
            now = timezone.now()
            if method == FulfillmentMethod.PICKUP:
                sourced = pickup_source(wanted=wanted, location=location, now=now)
            else:
                sourced = ship_source(
                    wanted=wanted,
                    channel=channel,
                    address=dict(address or {}),
                    strategy=FewestParcelsStrategy(),
                    now=now,
                )
            stock = [
                StockLine(v, loc, q)
                for loc, per in sorted(sourced.committed.items())
                for v, q in sorted(per.items())
            ]
            if stock:
                inventory_services.stock_reserve(
                    lines=stock, reference=cart.hold_reference, ttl=ttl
                )
        except (InsufficientStock, PickupUnavailable) as exc:
            raise _shortages_named(exc, skus) from None
        Cart.objects.filter(pk=cart.pk).update(
            hold_expires_at=now + ttl if stock else None, updated_at=now
        )
    cart.refresh_from_db()
    return cart


def _cart_customer(cart: Cart) -> CustomerInput:
    """Who the order is for when the checkout names nobody: the customer the cart is tied to
    (by their identifiers, so placement resolves the same person), else the cart's email."""
    if cart.customer_id is not None:
        found = customer_selectors.customer_get(customer_id=cart.customer_id, channel_codes=None)
        if found is not None:
            first: dict[str, str] = {}
            for identifier in found.identifiers.all():
                if identifier.namespace == "":
                    first.setdefault(identifier.kind, identifier.value)
            return CustomerInput(
                email=first.get(IdentifierKind.EMAIL, cart.customer_email),
                phone=first.get(IdentifierKind.PHONE, ""),
                loyalty_card=first.get(IdentifierKind.LOYALTY_CARD, ""),
                name=found.name,
            )
    return CustomerInput(email=cart.customer_email)


def _holding(cart: Cart, now: Any) -> bool:
    return (
        cart.hold_expires_at is not None
        and cart.hold_expires_at > now
        and inventory_selectors.stock_hold_list()
        .filter(reference=cart.hold_reference, status="active", expires_at__gt=now)
        .exists()
    )


def cart_checkout(
    *,
    token: str,
    method: str,
    pickup_location_code: str = "",
    address: Mapping[str, Any] | None = None,
    customer: CustomerInput | None = None,
    shipping_total: Decimal = Decimal("0"),
    payment_status: str = Order.PaymentStatus.AUTHORIZED,
    actor: Actor = SYSTEM,
) -> PlaceResult:
    """Turn the cart into an order, once: priced at today's channel prices, consuming the
    cart's hold when one is active (its units first, at its locations; see ``order_place``) and
    sourcing as usual otherwise (also when the hold expires while checking out). The order and
    the cart's closing are one durable transaction that locks the cart row first, so two
    checkouts of one cart cannot both place an order: the second gets :class:`CartConverted`
    naming the order. ``customer`` defaults to the customer the cart is tied to.

    Raises :class:`CartEmpty`, :class:`CartConverted`, and the placement errors (409
    ``insufficient_stock`` / ``pickup_unavailable`` with ``shortages`` naming each ``sku``);
    nothing is placed and the cart stays open then."""
    cart = Cart.objects.select_related("channel", "order").filter(token=token).first()
    if cart is None:
        raise CartInvalid(f"No cart {token!r}.", code="not_found")
    if cart.status != Cart.Status.OPEN:
        raise _converted(cart)
    lines, skus = _cart_lines(cart)
    who = customer or _cart_customer(cart)
    hold_reference = cart.hold_reference if _holding(cart, timezone.now()) else None
    while True:
        try:
            placement = _placement_prepare(
                channel_code=cart.channel.code,
                lines=lines,
                method=method,
                pickup_location_code=pickup_location_code,
                address=dict(address or {}),
                customer=who,
                external_id=f"cart:{cart.token}",
                shipping_total=shipping_total,
                discount_total=Decimal("0"),
                payment_status=payment_status,
                loyalty_points=0,
                hold_reference=hold_reference,
                strategy=None,
            )
            with transaction.atomic(durable=True):
                locked = _cart_lock(token)
                order = _order_place_in(placement, actor=actor)
                Cart.objects.filter(pk=locked.pk).update(
                    status=Cart.Status.CONVERTED,
                    order=order,
                    hold_expires_at=None,
                    updated_at=timezone.now(),
                )
            return PlaceResult(order, True)
        except HoldNotActive:
            if hold_reference is None:
                raise
            hold_reference = None  # the hold lapsed meanwhile: source the cart as usual
        except (InsufficientStock, PickupUnavailable) as exc:
            raise _shortages_named(exc, skus) from None
        except IntegrityError:
            # an order with this cart's external id exists (placed outside the cart)
            cart.refresh_from_db()
            existing = Order.objects.filter(
                channel=cart.channel, external_id=f"cart:{cart.token}"
            ).first()
            if existing is None:
                raise
            raise CartConverted(
                f"This cart was already checked out as order {existing.number}.",
                extra={"order": existing.number},
            ) from None
