"""Tax (EU VAT) arithmetic: pure ``Decimal`` computation, no database.

Every price surface (carts, placement, the till, feeds) computes tax here, so the same cart gives
the same figures everywhere. The rules, also written down in ``docs/orders.md`` ("Tax"):

- Amounts are in the channel's currency with two decimals; a rate is a percentage (``21``,
  ``5.5``) between 0 and 100.
- Tax is computed **per line** and rounded **half-up to the cent** on each line. A tax-inclusive
  price is the line's gross: ``tax = round(gross x rate / (100 + rate))``, ``net = gross - tax``,
  so the price is never changed. A tax-exclusive price is the line's net:
  ``tax = round(net x rate / 100)``, ``gross = net + tax``.
- **Shipping** is taxed at the rate of the goods it carries. When they carry several rates, the
  shipping charge is split in proportion to the goods' value at each rate (their amounts as
  given, inclusive or exclusive like the shipping charge), in whole cents by largest remainder so
  the parts add up to the charge exactly, and each part is taxed like a line.
- Per-rate totals are the sums of the rounded lines; they differ from tax computed once on a
  rate's total by at most one cent per line.
- A **refund** returns the tax charged on what it refunds, cumulatively: after ``k`` of ``Q``
  units (or ``a`` of the line's gross), ``round(charged x k / Q)`` has been returned. Each refund
  returns the difference, so any sequence of partial refunds of a whole line returns exactly the
  tax charged, the last one taking the remainder.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from core.errors import DomainError

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal("0.00")

TAX_CLASS_STANDARD = "standard"
"""The class of a product type that names no other (``catalog.ProductType.tax_class``)."""

TAX_CLASSES: tuple[tuple[str, str], ...] = (
    ("standard", "Standard rate"),
    ("intermediate", "Intermediate rate (e.g. restaurants, transport, renovation)"),
    ("reduced", "Reduced rate (e.g. food, books)"),
    ("super_reduced", "Super-reduced rate (e.g. medicines, press)"),
    ("zero", "Zero rate (exempt with right of deduction)"),
)
"""The tax classes, most general first."""

EU_VAT_RATES: dict[str, dict[str, tuple[str, Decimal]]] = {
    # country: {tax class: (the country's name for the rate, percent)}. A country without a rate
    # of its own for a class maps it to its reduced rate (NL and DE: intermediate and
    # super-reduced; BE: super-reduced).
    "NL": {
        "standard": ("standard", Decimal("21.00")),
        "intermediate": ("reduced", Decimal("9.00")),
        "reduced": ("reduced", Decimal("9.00")),
        "super_reduced": ("reduced", Decimal("9.00")),
        "zero": ("zero", Decimal("0.00")),
    },
    "BE": {
        "standard": ("standard", Decimal("21.00")),
        "intermediate": ("intermediate", Decimal("12.00")),
        "reduced": ("reduced", Decimal("6.00")),
        "super_reduced": ("reduced", Decimal("6.00")),
        "zero": ("zero", Decimal("0.00")),
    },
    "DE": {
        "standard": ("standard", Decimal("19.00")),
        "intermediate": ("reduced", Decimal("7.00")),
        "reduced": ("reduced", Decimal("7.00")),
        "super_reduced": ("reduced", Decimal("7.00")),
        "zero": ("zero", Decimal("0.00")),
    },
    "FR": {
        "standard": ("standard", Decimal("20.00")),
        "intermediate": ("intermediate", Decimal("10.00")),
        "reduced": ("reduced", Decimal("5.50")),
        "super_reduced": ("super_reduced", Decimal("2.10")),
        "zero": ("zero", Decimal("0.00")),
    },
}
"""The seeded rates (``core`` migration ``tax_seed_eu_vat`` holds a frozen copy; a test keeps the
two equal)."""


class TaxInputInvalid(DomainError):
    """An amount that is negative or finer than a cent, a rate outside 0-100, a refund of more
    than was charged, or shipping with no goods to take its rate from."""

    code = "invalid_tax_input"
    status = 400


@dataclass(frozen=True)
class TaxableLine:
    """A line to tax: ``amount`` is its total (unit price x quantity, after discounts), gross when
    the channel's prices include tax and net otherwise."""

    key: str
    amount: Decimal
    rate: Decimal


@dataclass(frozen=True)
class LineTax:
    key: str
    net: Decimal
    tax: Decimal
    gross: Decimal
    rate: Decimal


@dataclass(frozen=True)
class RateTotal:
    net: Decimal
    tax: Decimal
    gross: Decimal


@dataclass(frozen=True)
class TaxResult:
    lines: tuple[LineTax, ...]
    shipping: tuple[LineTax, ...]
    """The shipping charge's parts, one per rate of the goods, highest rate first."""
    by_rate: dict[Decimal, RateTotal] = field(default_factory=dict)
    """Lines and shipping summed per rate, highest rate first."""
    total_net: Decimal = ZERO
    total_tax: Decimal = ZERO
    total_gross: Decimal = ZERO


def money_round(value: Decimal) -> Decimal:
    """Half-up to the cent: 0.005 becomes 0.01, -0.005 becomes -0.01."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _amount_check(amount: Decimal, *, what: str) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise TaxInputInvalid(f"{what} must be a finite Decimal, not {amount!r}.")
    if amount < 0:
        raise TaxInputInvalid(f"{what} must not be negative ({amount}).")
    if amount != amount.quantize(CENT):
        raise TaxInputInvalid(f"{what} must be in whole cents ({amount}).")
    return amount.quantize(CENT)


def _rate_check(rate: Decimal, *, what: str) -> Decimal:
    if not isinstance(rate, Decimal) or not rate.is_finite() or not 0 <= rate <= HUNDRED:
        raise TaxInputInvalid(f"{what}: a tax rate is a percentage from 0 to 100, not {rate!r}.")
    return rate


def tax_line(*, key: str, amount: Decimal, rate: Decimal, prices_include_tax: bool) -> LineTax:
    """One line's tax, rounded half-up to the cent. An inclusive ``amount`` stays the gross."""
    amount = _amount_check(amount, what=f"line {key!r}")
    rate = _rate_check(rate, what=f"line {key!r}")
    if prices_include_tax:
        tax = money_round(amount * rate / (HUNDRED + rate))
        return LineTax(key=key, net=amount - tax, tax=tax, gross=amount, rate=rate)
    tax = money_round(amount * rate / HUNDRED)
    return LineTax(key=key, net=amount, tax=tax, gross=amount + tax, rate=rate)


def _largest_remainder(total: Decimal, weights: Sequence[tuple[Decimal, Decimal]]) -> list[Decimal]:
    """Split ``total`` (whole cents) over ``(weight, tie-break)`` pairs in proportion to the
    weights, in whole cents that add up to ``total``: each share is rounded down, and the cents
    left go one each to the largest remainders (ties: the larger weight, then the larger
    tie-break)."""
    cents = int(total / CENT)
    weight_sum = sum((weight for weight, _ in weights), Decimal(0))
    exact = [Decimal(cents) * weight / weight_sum for weight, _ in weights]
    floors = [int(share) for share in exact]  # shares are >= 0: int() rounds down
    left = cents - sum(floors)
    order = sorted(
        range(len(weights)),
        key=lambda i: (exact[i] - floors[i], weights[i][0], weights[i][1]),
        reverse=True,
    )
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(share) * CENT for share in floors]


def shipping_split(
    *, shipping: Decimal, lines: Iterable[TaxableLine], fallback_rate: Decimal | None = None
) -> list[tuple[Decimal, Decimal]]:
    """The shipping charge split over the goods' rates in proportion to their value, as
    ``(rate, amount)`` pairs, highest rate first, adding up to ``shipping`` exactly. Goods of no
    value (or none) leave the whole charge at ``fallback_rate`` (the destination's standard rate);
    without one, a charge for nothing is refused."""
    shipping = _amount_check(shipping, what="shipping")
    value_by_rate: dict[Decimal, Decimal] = {}
    for line in lines:
        rate = _rate_check(line.rate, what=f"line {line.key!r}")
        amount = _amount_check(line.amount, what=f"line {line.key!r}")
        value_by_rate[rate] = value_by_rate.get(rate, Decimal(0)) + amount
    weighted = sorted(
        ((rate, value) for rate, value in value_by_rate.items() if value > 0), reverse=True
    )
    if not weighted:
        if shipping == 0:
            return []
        if fallback_rate is None:
            raise TaxInputInvalid(
                "Shipping takes the rate of the goods it carries, and there are no goods of any "
                "value: pass fallback_rate (the destination's standard rate)."
            )
        return [(_rate_check(fallback_rate, what="fallback_rate"), shipping)]
    shares = _largest_remainder(shipping, [(value, rate) for rate, value in weighted])
    return [(rate, share) for (rate, _), share in zip(weighted, shares, strict=True)]


def tax_compute(
    *,
    lines: Sequence[TaxableLine],
    shipping: Decimal = ZERO,
    prices_include_tax: bool,
    fallback_rate: Decimal | None = None,
) -> TaxResult:
    """Tax every line and the shipping charge (see the module's rules). ``shipping`` is
    inclusive or exclusive like the lines. Line keys must be unique."""
    keys = [line.key for line in lines]
    if len(set(keys)) != len(keys):
        raise TaxInputInvalid("Line keys must be unique.")
    taxed = tuple(
        tax_line(
            key=line.key,
            amount=line.amount,
            rate=line.rate,
            prices_include_tax=prices_include_tax,
        )
        for line in lines
    )
    shipping_parts = tuple(
        tax_line(
            key=f"shipping@{rate.normalize():f}",
            amount=amount,
            rate=rate,
            prices_include_tax=prices_include_tax,
        )
        for rate, amount in shipping_split(
            shipping=shipping, lines=lines, fallback_rate=fallback_rate
        )
    )
    by_rate: dict[Decimal, RateTotal] = {}
    for part in (*taxed, *shipping_parts):
        seen = by_rate.get(part.rate, RateTotal(net=ZERO, tax=ZERO, gross=ZERO))
        by_rate[part.rate] = RateTotal(
            net=seen.net + part.net, tax=seen.tax + part.tax, gross=seen.gross + part.gross
        )
    every = (*taxed, *shipping_parts)
    return TaxResult(
        lines=taxed,
        shipping=shipping_parts,
        by_rate=dict(sorted(by_rate.items(), reverse=True)),
        total_net=sum((part.net for part in every), ZERO),
        total_tax=sum((part.tax for part in every), ZERO),
        total_gross=sum((part.gross for part in every), ZERO),
    )


def _refund_part(charged: LineTax, *, done: Decimal, after: Decimal, whole: Decimal) -> LineTax:
    """What a refund taking the refunded share from ``done / whole`` to ``after / whole``
    returns: the difference of the cumulative, rounded shares of gross and tax."""
    gross = money_round(charged.gross * after / whole) - money_round(charged.gross * done / whole)
    tax = money_round(charged.tax * after / whole) - money_round(charged.tax * done / whole)
    return LineTax(key=charged.key, net=gross - tax, tax=tax, gross=gross, rate=charged.rate)


def tax_refund(
    *, charged: LineTax, quantity_charged: int, quantity_refunded_before: int, quantity: int
) -> LineTax:
    """What refunding ``quantity`` more units of a line returns (gross, tax, net), given the
    ``quantity_refunded_before``. Refunding the whole line, in any number of steps, returns
    exactly ``charged``."""
    if quantity_charged <= 0:
        raise TaxInputInvalid("A refunded line has at least one unit.")
    if quantity <= 0 or quantity_refunded_before < 0:
        raise TaxInputInvalid("A refund takes back at least one unit.")
    if quantity_refunded_before + quantity > quantity_charged:
        raise TaxInputInvalid(
            f"Refunding {quantity} more of {quantity_charged} units, with "
            f"{quantity_refunded_before} refunded before, is more than was charged."
        )
    return _refund_part(
        charged,
        done=Decimal(quantity_refunded_before),
        after=Decimal(quantity_refunded_before + quantity),
        whole=Decimal(quantity_charged),
    )


def tax_refund_amount(*, charged: LineTax, refunded_before: Decimal, amount: Decimal) -> LineTax:
    """What refunding ``amount`` more of a line's gross returns (its gross is ``amount``), given
    the gross ``refunded_before``. Refunding the whole gross, in any steps, returns exactly the
    tax charged."""
    amount = _amount_check(amount, what="refund amount")
    refunded_before = _amount_check(refunded_before, what="amount refunded before")
    if amount == 0:
        raise TaxInputInvalid("A refund takes back more than nothing.")
    if refunded_before + amount > charged.gross:
        raise TaxInputInvalid(
            f"Refunding {amount} more of {charged.gross}, with {refunded_before} refunded "
            "before, is more than was charged."
        )
    return _refund_part(
        charged, done=refunded_before, after=refunded_before + amount, whole=charged.gross
    )
