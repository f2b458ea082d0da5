"""Carts: persistent, continued from any channel device that knows the token; lines validated
against the channel's catalog and current price; optional short stock holds while checking out;
tied to the customer who signs in (their carts merge) and checked out into an order once.

Writes are services (``cart_*``); :func:`cart_view` and :func:`customer_cart_find` are the reads
the API and pages show.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
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
    CouponError,
    CustomerNotFound,
    PickupUnavailable,
)
from orders.models import Cart, CartLine, FulfillmentMethod, Order
from orders.pricing import BasketItem, basket_price
from orders.promotions import coupons_check
from orders.services.giftcards import GiftCardInput
from orders.services.placement import (
    CustomerInput,
    LineInput,
    PlaceResult,
    _coupon_codes,
    _order_place_in,
    _placement_prepare,
    _shipping_priced,
    gift_card_variants,
    placement_validate,
)
from orders.services.pricing import order_pricing_fields
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
    discount: Decimal | None = None
    """Promotions taken off the line (``basket_price``); None for a line that cannot be sold."""
    total: Decimal | None = None
    """``line_total`` - ``discount``, as the channel shows prices."""
    tax_rate: Decimal | None = None
    tax: Decimal | None = None


@dataclass(frozen=True)
class CartCouponRefused:
    """A coupon kept on the cart that no longer applies (it expired, was used up, or the lines
    changed): left out of the figures, with its error code."""

    code: str
    error: str
    detail: str


@dataclass(frozen=True)
class CartView:
    cart: Cart
    currency: str
    lines: list[CartLineView]
    subtotal: Decimal
    discount_total: Decimal = Decimal("0.00")
    shipping: Decimal | None = None
    """The shipping charge after a free-shipping promotion; None without a method and country."""
    shipping_discount: Decimal = Decimal("0.00")
    shipping_method: str = ""
    tax_total: Decimal = Decimal("0.00")
    total: Decimal = Decimal("0.00")
    prices_include_tax: bool = True
    tax_country: str = ""
    coupons: list[str] = field(default_factory=list)
    coupons_refused: list[CartCouponRefused] = field(default_factory=list)
    promotions: list[dict[str, Any]] = field(default_factory=list)


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


def _cart_items(cart: Cart) -> list[BasketItem]:
    """The cart's lines that sell on its channel, as the pricing function takes them."""
    lines = list(cart.lines.all())
    offers = channel_variant_offers(channel_code=cart.channel.code, skus=[x.sku for x in lines])
    return [
        BasketItem(variant_id=line.variant_id, quantity=line.quantity, key=line.sku)
        for line in lines
        if (offer := offers.get(line.sku)) is not None and offer.sellable
    ]


def cart_coupons_set(*, token: str, coupons: Sequence[str]) -> Cart:
    """Replace the cart's coupon codes (trimmed, upper-case, each once; empty removes them).
    Every code is checked on the cart as it is (``basket_price``: the coupon's ``coupon_*``
    error for the first bad one, and the cart is left unchanged). Locks the cart."""
    codes = _coupon_codes(coupons)
    with transaction.atomic():
        cart = _cart_lock(token)
        if codes:
            items = _cart_items(cart)
            if items:
                basket_price(
                    channel=cart.channel,
                    items=items,
                    coupon_codes=codes,
                    customer_id=cart.customer_id,
                    customer_email=cart.customer_email,
                )
            else:  # nothing to apply them to yet: the codes themselves must be good
                coupons_check(
                    codes=codes,
                    channel_code=cart.channel.code,
                    customer_id=cart.customer_id,
                    customer_email=cart.customer_email,
                    at=timezone.now(),
                )
        cart.coupon_codes = list(codes)
        cart.save(update_fields=["coupon_codes", "updated_at"])
        return cart


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


def cart_view(
    *,
    cart: Cart,
    country: str = "",
    postcode: str | None = None,
    shipping_method: str = "",
) -> CartView:
    """The cart priced now by ``orders.pricing.basket_price``, as its checkout would be: today's
    channel prices, the running promotions and the cart's coupons, per line discount and tax at
    ``country``'s rates (default: the channel's default country), and with ``shipping_method``
    and ``country`` the method's shipping charge for the parcel (its errors:
    ``shipping_method_unknown``, ``shipping_zone_unserved``, ``shipping_rate_missing``,
    ``invalid_address``). A coupon of the cart that no longer applies is left out of the
    figures and listed in ``coupons_refused``; the cart keeps it. A fixed number of queries."""
    lines = list(cart.lines.all())
    channel = cart.channel
    offers = channel_variant_offers(channel_code=channel.code, skus=[x.sku for x in lines])
    sellable = [
        line
        for line in lines
        if (offer := offers.get(line.sku)) is not None
        and offer.sellable
        and offer.price is not None
    ]
    items = [BasketItem(variant_id=x.variant_id, quantity=x.quantity, key=x.sku) for x in sellable]
    goods = Decimal("0.00")
    for line in sellable:
        goods += (offers[line.sku].price or Decimal(0)) * line.quantity
    shipping: Decimal | None = None
    if shipping_method and country:
        shipping = _cart_shipping(
            cart=cart,
            offers=offers,
            lines=sellable,
            goods_value=goods,
            country=country,
            postcode=postcode,
            method_code=shipping_method,
        )
    codes = list(cart.coupon_codes or [])
    refused: list[CartCouponRefused] = []
    while True:
        try:
            pricing = basket_price(
                channel=channel,
                items=items,
                country=country,
                shipping=shipping or Decimal("0.00"),
                coupon_codes=codes,
                customer_id=cart.customer_id,
                customer_email=cart.customer_email,
            )
            break
        except CouponError as exc:
            code = str(exc.extra.get("coupon", ""))
            if code not in codes:
                raise
            codes.remove(code)
            refused.append(CartCouponRefused(code=code, error=exc.code, detail=str(exc)))
    priced = {line.key: line for line in pricing.lines}
    views = []
    for line in lines:
        offer = offers.get(line.sku)
        got = priced.get(line.sku)
        views.append(
            CartLineView(
                sku=line.sku,
                quantity=line.quantity,
                title=offer.title if offer else line.sku,
                unit_price=got.unit_price if got else None,
                line_total=got.subtotal if got else None,
                sellable=got is not None,
                reason="" if got is not None else (offer.reason if offer else "unknown_sku"),
                discount=got.discount if got else None,
                total=got.total if got else None,
                tax_rate=got.tax_rate if got else None,
                tax=got.tax if got else None,
            )
        )
    return CartView(
        cart=cart,
        currency=cart.channel.currency,
        lines=views,
        subtotal=pricing.subtotal,
        discount_total=pricing.discount_total,
        shipping=pricing.shipping_total if shipping is not None else None,
        shipping_discount=pricing.shipping_discount,
        shipping_method=shipping_method if shipping is not None else "",
        tax_total=pricing.tax_total,
        total=pricing.total,
        prices_include_tax=pricing.prices_include_tax,
        tax_country=pricing.country,
        coupons=[coupon.code for coupon in pricing.coupons],
        coupons_refused=refused,
        promotions=order_pricing_fields(pricing)["promotions"],  # type: ignore[arg-type]
    )


def _cart_shipping(
    *,
    cart: Cart,
    offers: Mapping[str, Any],
    lines: Sequence[CartLine],
    goods_value: Decimal,
    country: str,
    postcode: str | None,
    method_code: str,
) -> Decimal:
    """The method's charge for the cart's parcel, as checkout prices it (the placement's
    ``_shipping_priced``: the weight of the goods that ship, their value)."""
    price, _method = _shipping_priced(
        channel=cart.channel,
        method=FulfillmentMethod.SHIP,
        method_code=method_code,
        address={"country": country, "postal_code": postcode or ""},
        offers=offers,
        wanted_by_sku={line.sku: line.quantity for line in lines},
        gift_variants=gift_card_variants({line.sku: offers[line.sku] for line in lines}),
        goods_value=goods_value,
        shipping_total=Decimal("0"),
    )
    return price


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
    gift_cards: Sequence[GiftCardInput] = (),
    shipping_method: str = "",
    actor: Actor = SYSTEM,
) -> PlaceResult:
    """Turn the cart into an order, once: priced like ``order_place`` (``basket_price``: today's
    channel prices, the running promotions and the cart's coupons, redeemed in the order's
    transaction), with the ``gift_cards`` tendered and the ``shipping_method``'s charge (see
    ``order_place`` for their refusals), consuming the
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
                gift_cards=gift_cards,
                coupons=list(cart.coupon_codes or []),
                shipping_method=shipping_method,
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
