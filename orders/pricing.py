"""The one pricing function: what a customer pays, the same on every surface.

Carts, order placement, the store till, the partner read API, the feeds, the POS change feed,
the store page, e-mails and receipts all take their figures from here (the last three from what
placement stored, which came from here). Two entry points:

- :func:`basket_price` prices a basket: the channel's price per unit (``catalog``: base price
  and dated overrides), then the promotion engine (``orders.promotions``: rules, coupons), then
  any order-level discount (loyalty points, a marketplace's own discount) allocated to the lines
  in proportion to what is left of them, then tax per line and on shipping (``core.tax``) at the
  destination country's rates. A channel whose prices include tax keeps every figure it shows;
  one whose prices exclude tax adds the tax on top.
- :func:`display_prices` is one unit of each variant as a channel shows it: the base price, the
  sale price that a product-level promotion gives (with its dates), and the price with tax of a
  given country (Google's EU prices include VAT even where the channel's own do not).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from catalog import selectors as catalog_selectors
from catalog.models import Variant
from catalog.selectors import VariantPrice
from core import selectors as core_selectors
from core.models import Channel
from core.models.tax import tax_class_standard_id
from core.tax import CENT, LineTax, TaxableLine, TaxResult, money_round, tax_compute
from orders.models.promotions import Promotion
from orders.promotions import (
    AppliedPromotion,
    CartItem,
    CheckedCoupon,
    CustomerFacts,
    PromoLine,
    PromotionRule,
    allocate,
    cart_lines_build,
    coupons_check,
    customer_facts,
    promotion_rules_load,
    promotions_apply,
    sale_prices_from,
    sale_rules_load,
)

ZERO = Decimal("0.00")
Scope = Promotion.CustomerScope


@dataclass(frozen=True)
class BasketItem:
    """A variant and how many; ``key`` (default the SKU) names the line in the result."""

    variant_id: int
    quantity: int
    key: str = ""


@dataclass(frozen=True)
class PricedLine:
    key: str
    variant_id: int
    quantity: int
    unit_price: Decimal
    """The channel's price for one unit, as the channel shows prices (with or without tax)."""
    subtotal: Decimal
    """``unit_price`` x ``quantity``."""
    discount: Decimal
    """Promotions and order-level discounts taken off this line."""
    total: Decimal
    """``subtotal`` - ``discount``: what the line costs, as the channel shows prices."""
    tax_rate: Decimal
    tax: Decimal
    net: Decimal
    gross: Decimal


@dataclass(frozen=True)
class Pricing:
    channel_code: str
    currency: str
    country: str
    prices_include_tax: bool
    lines: tuple[PricedLine, ...]
    subtotal: Decimal
    discount_total: Decimal
    """Everything taken off the goods: promotions plus ``extra_discount``."""
    promotion_discount: Decimal
    shipping: Decimal
    """The shipping charge before a free-shipping promotion."""
    shipping_discount: Decimal
    shipping_total: Decimal
    tax: TaxResult
    tax_total: Decimal
    total: Decimal
    """What the customer pays: goods after discounts plus shipping, tax included."""
    applied: tuple[AppliedPromotion, ...] = ()
    coupons: tuple[CheckedCoupon, ...] = ()
    unpriced: tuple[int, ...] = field(default=())
    """Variants without a price on the channel (left out of every figure)."""

    @property
    def shipping_tax(self) -> tuple[LineTax, ...]:
        return self.tax.shipping


def _tax_facts(variant_ids: Iterable[int]) -> tuple[dict[int, int], frozenset[int]]:
    """Each variant's tax class id (its product type's; none means the standard class), and the
    variants that are gift cards, which carry no tax (one query; a second when a product type
    names no class)."""
    classes: dict[int, int] = {}
    gift_cards: set[int] = set()
    for pk, class_id, is_gift_card in Variant.objects.filter(pk__in=list(variant_ids)).values_list(
        "pk", "product__product_type__tax_class_id", "product__product_type__is_gift_card"
    ):
        classes[pk] = class_id
        if is_gift_card:
            gift_cards.add(pk)
    if any(class_id is None for class_id in classes.values()):
        standard = tax_class_standard_id()
        classes = {pk: standard if cid is None else cid for pk, cid in classes.items()}
    return classes, frozenset(gift_cards)


def country_rates(*, country: str, tax_class_ids: Iterable[int]) -> dict[int, Decimal]:
    """``{tax class id: percent}`` in ``country``; a class the country has no rate for (a
    country without seeded rates) counts as 0 %."""
    ids = set(tax_class_ids)
    found = core_selectors.tax_rates_for(country=country, tax_class_ids=ids) if country else {}
    return {
        class_id: (found[class_id].rate if class_id in found else Decimal(0)) for class_id in ids
    }


def _lines_build(
    *, channel: Channel, items: Sequence[BasketItem], at: datetime, for_engine: bool
) -> list[PromoLine]:
    """The priced lines (a variant without a price on the channel is left out). For the engine
    with each product and its categories (``cart_lines_build``); with no promotion to apply,
    the prices alone (one query)."""
    if for_engine:
        keyed = [
            CartItem(variant_id=item.variant_id, quantity=item.quantity, key=item.key)
            for item in items
        ]
        return cart_lines_build(channel_code=channel.code, items=keyed, at=at)
    prices = catalog_selectors.variant_prices(
        channel_code=channel.code, variant_ids=[item.variant_id for item in items], at=at
    )
    return [
        PromoLine(
            key=item.key or prices[item.variant_id].sku,
            variant_id=item.variant_id,
            product_id=0,
            category_ids=frozenset(),
            unit_price=prices[item.variant_id].amount,
            quantity=item.quantity,
        )
        for item in items
        if item.variant_id in prices
    ]


def _tax_country(channel: Channel, country: str) -> str:
    return (country or channel.default_country or "").upper()


def basket_price(
    *,
    channel: Channel,
    items: Sequence[BasketItem],
    country: str = "",
    shipping: Decimal = ZERO,
    coupon_codes: Iterable[str] = (),
    customer_id: int | None = None,
    customer_email: str = "",
    customer: CustomerFacts | None = None,
    extra_discount: Decimal = ZERO,
    promotions: bool = True,
    at: datetime | None = None,
) -> Pricing:
    """Price ``items`` on ``channel`` for delivery to (or sale in) ``country`` (default: the
    channel's first country). ``shipping`` is the charge before promotions, shown like the
    channel's prices. ``extra_discount`` (loyalty points' value, a marketplace's discount) is
    taken off the goods after the promotions, in proportion to what is left of each line.
    Raises the promotion engine's coupon errors. ``promotions=False`` prices without the engine
    (orders that arrive already priced from a marketplace)."""
    at = at or timezone.now()
    country = _tax_country(channel, country)
    shipping = shipping.quantize(CENT)
    line_discounts: dict[str, Decimal] = {}
    shipping_discount = ZERO
    applied: tuple[AppliedPromotion, ...] = ()
    coupons: tuple[CheckedCoupon, ...] = ()
    rules: list[PromotionRule] = []
    if promotions:
        # the engine's inputs (as ``orders.promotions.cart_promotions`` loads them), loaded only
        # as far as they matter: the customer's facts when a rule has a customer scope, the
        # products and categories when a rule runs at all (a plain basket costs its prices only)
        coupons = tuple(
            coupons_check(
                codes=coupon_codes,
                channel_code=channel.code,
                customer_id=customer_id if customer is None else customer.customer_id,
                customer_email=customer_email,
                at=at,
            )
        )
        rules = promotion_rules_load(
            channel_code=channel.code, at=at, promotion_ids=[c.promotion_id for c in coupons]
        )
    lines = _lines_build(channel=channel, items=items, at=at, for_engine=bool(rules))
    priced_ids = {line.variant_id for line in lines}
    unpriced = tuple(item.variant_id for item in items if item.variant_id not in priced_ids)
    classes, gift_cards = _tax_facts(priced_ids)
    if rules:
        if customer is None:
            scoped = any(rule.customer_scope != Scope.ANYONE for rule in rules)
            customer = (
                customer_facts(customer_id=customer_id, customer_email=customer_email)
                if scoped
                else CustomerFacts(customer_id=customer_id)
            )
        result = promotions_apply(
            channel_code=channel.code,
            customer=customer,
            # a gift card sold is money, not goods: no promotion takes anything off it
            lines=[line for line in lines if line.variant_id not in gift_cards],
            shipping=shipping,
            rules=rules,
            coupons=coupons,
            at=at,
        )
        line_discounts = dict(result.line_discounts)
        shipping_discount = result.shipping_discount
        applied = tuple(result.applied)
        coupons = tuple(result.coupons)
    subtotals = {line.key: money_round(line.unit_price * line.quantity) for line in lines}
    promotion_discount = sum(line_discounts.values(), ZERO)
    if extra_discount > 0:
        left = {key: subtotals[key] - line_discounts.get(key, ZERO) for key in subtotals}
        for key, share in allocate(extra_discount.quantize(CENT), left).items():
            line_discounts[key] = line_discounts.get(key, ZERO) + share
    rates = country_rates(country=country, tax_class_ids=classes.values())
    taxable = [
        TaxableLine(
            key=line.key,
            amount=subtotals[line.key] - line_discounts.get(line.key, ZERO),
            # a gift card sold is a multi-purpose voucher: outside VAT until it is spent
            rate=(
                Decimal(0)
                if line.variant_id in gift_cards
                else rates.get(classes.get(line.variant_id, 0), Decimal(0))
            ),
        )
        for line in lines
    ]
    shipping_total = shipping - shipping_discount
    standard = max(rates.values(), default=None)
    taxes = tax_compute(
        lines=taxable,
        shipping=shipping_total,
        prices_include_tax=channel.prices_include_tax,
        fallback_rate=standard if standard is not None else Decimal(0),
    )
    tax_of = {line_tax.key: line_tax for line_tax in taxes.lines}
    priced = tuple(
        PricedLine(
            key=line.key,
            variant_id=line.variant_id,
            quantity=line.quantity,
            unit_price=line.unit_price,
            subtotal=subtotals[line.key],
            discount=line_discounts.get(line.key, ZERO),
            total=subtotals[line.key] - line_discounts.get(line.key, ZERO),
            tax_rate=tax_of[line.key].rate,
            tax=tax_of[line.key].tax,
            net=tax_of[line.key].net,
            gross=tax_of[line.key].gross,
        )
        for line in lines
    )
    subtotal = sum(subtotals.values(), ZERO)
    discount_total = sum(line_discounts.values(), ZERO)
    return Pricing(
        channel_code=channel.code,
        currency=channel.currency,
        country=country,
        prices_include_tax=channel.prices_include_tax,
        lines=priced,
        subtotal=subtotal,
        discount_total=discount_total,
        promotion_discount=promotion_discount,
        shipping=shipping,
        shipping_discount=shipping_discount,
        shipping_total=shipping_total,
        tax=taxes,
        tax_total=taxes.total_tax,
        total=taxes.total_gross,
        applied=applied,
        coupons=coupons,
        unpriced=unpriced,
    )


@dataclass(frozen=True)
class DisplayPrice:
    """One unit of a variant as a channel shows it."""

    variant_id: int
    currency: str
    price: Decimal
    """The channel's price (base price or a running dated override), as the channel shows
    prices."""
    compare_at: Decimal | None
    sale_price: Decimal | None
    """What a running product-level promotion lowers it to; None when none runs."""
    sale_starts_at: datetime | None
    sale_ends_at: datetime | None
    tax_rate: Decimal
    """The rate of ``country`` for this variant's tax class (0 when the country has none)."""
    country: str

    @property
    def current(self) -> Decimal:
        """What one unit costs now, as the channel shows prices."""
        return self.sale_price if self.sale_price is not None else self.price

    def with_tax(self, amount: Decimal, *, prices_include_tax: bool) -> Decimal:
        """``amount`` with the country's tax: unchanged when the channel's prices include it."""
        if prices_include_tax:
            return amount
        return amount + money_round(amount * self.tax_rate / Decimal(100))


def display_prices(
    *,
    channel: Channel,
    variant_ids: Iterable[int],
    country: str = "",
    at: datetime | None = None,
    prices: Mapping[int, VariantPrice] | None = None,
    tax: bool = True,
) -> dict[int, DisplayPrice]:
    """One unit of each variant on ``channel`` at ``at``: base price, the product-level sale
    price with its dates (the promotion engine's answer for one unit, anyone, no coupon), and
    ``country``'s tax rate (default: the channel's first country). Variants without a price on
    the channel are absent.

    ``prices``: the channel's prices at ``at`` when the caller has already read them (the
    storefront reads price and availability in one statement), so they are not read again.
    ``tax=False``: the caller shows no tax (``tax_rate`` 0, ``country`` empty), saving the tax
    queries. Queries: the prices (1, unless given), the running promotions (1, or 5 when some
    run), the variants' products and categories (2, only when a sale promotion runs), the tax
    classes and rates (2, unless ``tax=False``)."""
    at = at or timezone.now()
    ids = list(dict.fromkeys(variant_ids))
    country = _tax_country(channel, country) if tax else ""
    if prices is None:
        prices = catalog_selectors.variant_prices(channel_code=channel.code, variant_ids=ids, at=at)
    else:
        prices = {vid: prices[vid] for vid in ids if vid in prices}
    if not prices:
        return {}
    sales = sale_prices_from(
        channel_code=channel.code,
        prices=prices,
        rules=sale_rules_load(channel_code=channel.code, at=at),
        at=at,
    )
    rates: dict[int, Decimal] = {}
    classes: dict[int, int] = {}
    gift_cards: frozenset[int] = frozenset()
    if tax:
        classes, gift_cards = _tax_facts(prices)
        rates = country_rates(country=country, tax_class_ids=classes.values())
    shown: dict[int, DisplayPrice] = {}
    for variant_id, price in prices.items():
        sale = sales.get(variant_id)
        shown[variant_id] = DisplayPrice(
            variant_id=variant_id,
            currency=price.currency,
            price=price.amount,
            compare_at=price.compare_at,
            sale_price=sale.sale_price if sale is not None else None,
            sale_starts_at=sale.starts_at if sale is not None else None,
            sale_ends_at=sale.ends_at if sale is not None else None,
            tax_rate=(
                Decimal(0)
                if variant_id in gift_cards
                else rates.get(classes.get(variant_id, 0), Decimal(0))
            ),
            country=country,
        )
    return shown
