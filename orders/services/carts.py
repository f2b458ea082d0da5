"""Carts: persistent, continued from any channel device that knows the token; lines validated
against the channel's catalog and current price; optional short stock holds while checking out.

Writes are services (``cart_*``); :func:`cart_view` is the read the API and pages show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.selectors import channel_variant_offers
from core.models import Channel
from inventory import services as inventory_services
from inventory.services import StockLine
from orders.exceptions import CartInvalid
from orders.models import Cart, CartLine, FulfillmentMethod
from orders.services.placement import (
    CustomerInput,
    LineInput,
    PlaceResult,
    order_place,
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


def _cart_lock(token: str) -> Cart:
    cart = (
        Cart.objects.select_for_update(of=("self",))
        .select_related("channel")
        .filter(token=token)
        .first()
    )
    if cart is None:
        raise CartInvalid(f"No cart {token!r}.", code="not_found")
    if cart.status != Cart.Status.OPEN:
        raise CartInvalid("This cart became an order.", code="cart_closed")
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


def cart_hold(
    *,
    token: str,
    method: str,
    pickup_location_code: str = "",
    address: Mapping[str, Any] | None = None,
    ttl: timedelta = timedelta(minutes=10),
) -> Cart:
    """Hold the cart's units while the customer checks out (sourced like the order will be);
    released on expiry by inventory, or consumed by :func:`cart_checkout`. Raises the same
    errors as placement (400 / 409 with shortages)."""
    if not timedelta(0) < ttl <= MAX_HOLD:
        raise CartInvalid("A hold lasts between 1 second and 30 minutes.")
    cart = Cart.objects.select_related("channel").get(token=token)
    lines = [LineInput(x.sku, x.quantity) for x in cart.lines.all()]
    channel, wanted_by_sku, offers, location = placement_validate(
        channel_code=cart.channel.code,
        lines=lines,
        method=method,
        pickup_location_code=pickup_location_code,
        address=dict(address or {}),
        shipping_total=Decimal("0"),
    )
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
    inventory_services.stock_hold_release(reference=cart.hold_reference)
    stock = [StockLine(v, loc, q) for loc, per in sourced.committed.items() for v, q in per.items()]
    if stock:
        inventory_services.stock_reserve(lines=stock, reference=cart.hold_reference, ttl=ttl)
    Cart.objects.filter(pk=cart.pk).update(hold_expires_at=now + ttl, updated_at=now)
    cart.refresh_from_db()
    return cart


def cart_checkout(
    *,
    token: str,
    method: str,
    pickup_location_code: str = "",
    address: Mapping[str, Any] | None = None,
    customer: CustomerInput | None = None,
    shipping_total: Decimal = Decimal("0"),
) -> PlaceResult:
    """Place the cart as an order through :func:`order_place` (consuming its hold when one is
    active) and close the cart. A second checkout of the same cart returns the same order."""
    cart = Cart.objects.select_related("channel").get(token=token)
    if cart.order_id is not None:
        assert cart.order is not None
        return PlaceResult(cart.order, False)
    holding = cart.hold_expires_at is not None and cart.hold_expires_at > timezone.now()
    result = order_place(
        channel_code=cart.channel.code,
        lines=[LineInput(x.sku, x.quantity) for x in cart.lines.all()],
        method=method,
        pickup_location_code=pickup_location_code,
        address=address,
        customer=customer or CustomerInput(email=cart.customer_email),
        shipping_total=shipping_total,
        external_id=f"cart:{cart.token}",
        hold_reference=cart.hold_reference if holding else None,
    )
    Cart.objects.filter(pk=cart.pk).update(
        status=Cart.Status.CONVERTED, order=result.order, updated_at=timezone.now()
    )
    return result
