"""Writing a priced basket (``orders.pricing.basket_price``) onto an order: its totals, each
line's discount and tax, the tax lines per rate, and the promotions applied. Order placement and
the till both call :func:`order_pricing_store`, so an order's figures are the pricing function's,
whichever way it was sold."""

from __future__ import annotations

from decimal import Decimal

from orders.models import Order, OrderTaxLine
from orders.pricing import Pricing

ZERO = Decimal("0.00")


def order_pricing_fields(pricing: Pricing) -> dict[str, object]:
    """The order's columns from ``pricing`` (for ``Order(**fields)`` or an update)."""
    return {
        "currency": pricing.currency,
        "subtotal": pricing.subtotal,
        "discount_total": pricing.discount_total,
        "shipping_total": pricing.shipping_total,
        "shipping_discount": pricing.shipping_discount,
        "tax_total": pricing.tax_total,
        "total": pricing.total,
        "prices_include_tax": pricing.prices_include_tax,
        "tax_country": pricing.country,
        "coupon_codes": [coupon.code for coupon in pricing.coupons],
        "promotions": [
            {
                "id": applied.promotion_id,
                "name": applied.name,
                "kind": applied.kind,
                "coupon": applied.coupon_code,
                "amount": str(applied.amount),
                "shipping_amount": str(applied.shipping_amount),
            }
            for applied in pricing.applied
        ],
    }


def order_line_pricing_fields(pricing: Pricing, key: str) -> dict[str, object]:
    """One order line's columns from ``pricing`` (``key`` as given to ``basket_price``)."""
    line = next(line for line in pricing.lines if line.key == key)
    return {
        "unit_price": line.unit_price,
        "line_total": line.subtotal,
        "discount_amount": line.discount,
        "tax_rate": line.tax_rate,
        "tax_amount": line.tax,
    }


def order_tax_lines_write(
    *, order: Order, pricing: Pricing, replace: bool = True
) -> list[OrderTaxLine]:
    """The order's tax per rate, goods and shipping apart (replacing any written before;
    ``replace=False`` for an order just created, which has none)."""
    if replace:
        OrderTaxLine.objects.filter(order=order).delete()
    return OrderTaxLine.objects.bulk_create(order_tax_lines_build(order=order, pricing=pricing))


def order_tax_lines_build(*, order: Order | None, pricing: Pricing) -> list[OrderTaxLine]:
    """The rows :func:`order_tax_lines_write` stores, unsaved (``order`` None: a till quote
    shows them before there is an order)."""
    rows: dict[tuple[str, Decimal], list[Decimal]] = {}
    parts = [(OrderTaxLine.Kind.GOODS, line) for line in pricing.tax.lines]
    parts += [(OrderTaxLine.Kind.SHIPPING, part) for part in pricing.tax.shipping]
    for kind, part in parts:
        if part.gross == 0 and part.tax == 0:
            continue
        sums = rows.setdefault((kind, part.rate), [ZERO, ZERO, ZERO])
        sums[0] += part.net
        sums[1] += part.tax
        sums[2] += part.gross
    return [
        OrderTaxLine(
            order=order,
            kind=kind,
            country=pricing.country,
            rate=rate,
            net=net,
            tax=tax,
            gross=gross,
        )
        for (kind, rate), (net, tax, gross) in sorted(
            rows.items(), key=lambda r: (r[0][0], -r[0][1])
        )
    ]
