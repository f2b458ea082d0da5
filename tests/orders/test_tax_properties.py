"""Property tests of the tax arithmetic (``core.tax``): whatever the lines, rates, shipping charge
and refund steps, a tax-inclusive price is never changed, per-line rounding stays within a cent
per line of per-rate rounding, and refunds return exactly the tax charged."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from core.tax import (
    CENT,
    EU_VAT_RATES,
    LineTax,
    TaxableLine,
    shipping_split,
    tax_compute,
    tax_line,
    tax_refund,
    tax_refund_amount,
)

SEEDED_RATES = sorted({rate for rates in EU_VAT_RATES.values() for _, rate in rates.values()})

cents = st.integers(min_value=0, max_value=10_000_000).map(lambda n: Decimal(n) * CENT)
rates = st.one_of(
    st.sampled_from(SEEDED_RATES),
    st.integers(min_value=0, max_value=10_000).map(lambda n: Decimal(n) * CENT),
)
line_lists = st.lists(st.tuples(cents, rates), min_size=1, max_size=12).map(
    lambda pairs: [
        TaxableLine(key=f"line-{i}", amount=amount, rate=rate)
        for i, (amount, rate) in enumerate(pairs)
    ]
)


@settings(max_examples=300, deadline=None)
@given(lines=line_lists, shipping=cents, fallback=rates)
def test_a_tax_inclusive_price_is_never_changed(
    lines: list[TaxableLine], shipping: Decimal, fallback: Decimal
) -> None:
    result = tax_compute(
        lines=lines, shipping=shipping, prices_include_tax=True, fallback_rate=fallback
    )

    for line, taxed in zip(lines, result.lines, strict=True):
        assert taxed.key == line.key
        assert taxed.gross == line.amount
        assert taxed.net + taxed.tax == taxed.gross
        assert taxed.tax >= 0
    assert sum((part.gross for part in result.shipping), Decimal(0)) == shipping
    for part in result.shipping:
        assert part.net + part.tax == part.gross
    assert result.total_gross == sum((line.amount for line in lines), Decimal(0)) + shipping
    assert result.total_net + result.total_tax == result.total_gross
    assert sum((total.gross for total in result.by_rate.values()), Decimal(0)) == (
        result.total_gross
    )


@settings(max_examples=300, deadline=None)
@given(lines=line_lists, shipping=cents, include=st.booleans(), fallback=rates)
def test_per_line_and_per_rate_rounding_differ_by_at_most_a_cent_per_line(
    lines: list[TaxableLine], shipping: Decimal, include: bool, fallback: Decimal
) -> None:
    result = tax_compute(
        lines=lines, shipping=shipping, prices_include_tax=include, fallback_rate=fallback
    )

    parts = [*result.lines, *result.shipping]
    per_rate_total = Decimal(0)
    for rate, total in result.by_rate.items():
        at_rate = [part for part in parts if part.rate == rate]
        amount = sum(((part.gross if include else part.net) for part in at_rate), Decimal("0.00"))
        once = tax_line(key="rate", amount=amount, rate=rate, prices_include_tax=include)
        assert total.tax == sum((part.tax for part in at_rate), Decimal(0))
        assert abs(total.tax - once.tax) <= CENT * len(at_rate)
        per_rate_total += once.tax
    assert abs(result.total_tax - per_rate_total) <= CENT * len(parts)


@settings(max_examples=300, deadline=None)
@given(lines=line_lists, shipping=cents)
def test_shipping_is_split_over_the_goods_rates_in_proportion_to_their_value(
    lines: list[TaxableLine], shipping: Decimal
) -> None:
    value_by_rate: dict[Decimal, Decimal] = {}
    for line in lines:
        value_by_rate[line.rate] = value_by_rate.get(line.rate, Decimal(0)) + line.amount
    goods = sum(value_by_rate.values(), Decimal(0))
    if goods == 0:
        return  # no value to split by: the fallback rate's business (unit tests)

    split = shipping_split(shipping=shipping, lines=lines)

    assert sum((amount for _, amount in split), Decimal(0)) == shipping
    assert [rate for rate, _ in split] == sorted(
        (rate for rate, value in value_by_rate.items() if value > 0), reverse=True
    )
    for rate, amount in split:
        assert abs(amount - shipping * value_by_rate[rate] / goods) < CENT


@st.composite
def quantity_splits(draw: st.DrawFn) -> tuple[int, list[int]]:
    """A line's quantity and a split of it into partial refunds, in order."""
    quantity = draw(st.integers(min_value=1, max_value=60))
    steps: list[int] = []
    left = quantity
    while left:
        step = draw(st.integers(min_value=1, max_value=left))
        steps.append(step)
        left -= step
    return quantity, steps


@settings(max_examples=300, deadline=None)
@given(amount=cents, rate=rates, include=st.booleans(), split=quantity_splits())
def test_refunds_by_quantity_return_exactly_the_tax_charged(
    amount: Decimal, rate: Decimal, include: bool, split: tuple[int, list[int]]
) -> None:
    quantity, steps = split
    charged = tax_line(key="l", amount=amount, rate=rate, prices_include_tax=include)

    refunds: list[LineTax] = []
    before = 0
    for step in steps:
        refunds.append(
            tax_refund(
                charged=charged,
                quantity_charged=quantity,
                quantity_refunded_before=before,
                quantity=step,
            )
        )
        before += step

    assert sum((refund.tax for refund in refunds), Decimal(0)) == charged.tax
    assert sum((refund.gross for refund in refunds), Decimal(0)) == charged.gross
    assert sum((refund.net for refund in refunds), Decimal(0)) == charged.net
    for step, refund in zip(steps, refunds, strict=True):
        # Each refund is the tax of its share, within a cent.
        assert refund.tax >= 0
        assert abs(refund.tax - charged.tax * step / quantity) < CENT


@st.composite
def amount_splits(draw: st.DrawFn) -> tuple[Decimal, list[Decimal]]:
    """A line's gross and a split of it into partial refunds of whole cents, in order."""
    total = draw(st.integers(min_value=1, max_value=10_000_000))
    cuts = draw(
        st.lists(st.integers(min_value=1, max_value=total), unique=True, max_size=15).map(sorted)
    )
    bounds = [0, *(cut for cut in cuts if cut < total), total]
    steps = [Decimal(end - start) * CENT for start, end in pairwise(bounds)]
    return Decimal(total) * CENT, steps


@settings(max_examples=300, deadline=None)
@given(rate=rates, split=amount_splits())
def test_refunds_by_amount_return_exactly_the_tax_charged(
    rate: Decimal, split: tuple[Decimal, list[Decimal]]
) -> None:
    gross, steps = split
    charged = tax_line(key="l", amount=gross, rate=rate, prices_include_tax=True)

    before = Decimal("0.00")
    tax_back = Decimal(0)
    for step in steps:
        refund = tax_refund_amount(charged=charged, refunded_before=before, amount=step)
        assert refund.gross == step
        assert abs(refund.tax - charged.tax * step / gross) < CENT
        tax_back += refund.tax
        before += step

    assert tax_back == charged.tax
