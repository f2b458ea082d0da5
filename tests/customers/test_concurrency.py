"""Races on real PostgreSQL with real threads: redemptions and resolutions."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from core.actors import SYSTEM
from customers import selectors, services
from customers.exceptions import InsufficientPoints
from customers.models import Customer, CustomerIdentifier, LoyaltyEntry, LoyaltyLot, Redemption
from tests.concurrency import run_concurrently

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_concurrent_redemptions_spend_exactly_the_balance_and_never_go_negative() -> None:
    # given 100 points in three lots
    customer = services.customer_resolve(email="race@example.com").customer
    for n, amount in enumerate(("40", "35", "25")):
        services.loyalty_earn(
            customer_id=customer.pk,
            amount=Decimal(amount),
            currency="EUR",
            channel_code="web",
            reference=f"o-{n}",
        )
    # when 30 redemptions of 7 points race from every channel
    results = run_concurrently(
        [
            (
                lambda n=n: services.loyalty_redeem(
                    customer_id=customer.pk,
                    points=7,
                    channel_code=("web", "store", "app")[n % 3],
                    reference=f"r-{n}",
                )
            )
            for n in range(30)
        ],
        workers=10,
    )
    # then exactly 14 succeed (98 points), the rest are refused, and the books agree
    won = [r for r in results if isinstance(r, Redemption)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert len(won) == 14 and len(refused) == 16, results
    assert selectors.loyalty_balance(customer_id=customer.pk) == 2
    assert sum(LoyaltyLot.objects.values_list("remaining", flat=True)) == 2
    assert Redemption.objects.count() == 14
    balances = sorted(
        LoyaltyEntry.objects.filter(kind="redeem").values_list("balance_after", flat=True)
    )
    assert balances == list(range(2, 100, 7))


def test_concurrent_resolutions_of_a_new_email_create_one_customer() -> None:
    results = run_concurrently(
        [
            (
                lambda n=n: services.customer_resolve(
                    email="New.Person@Example.com", channel_code=f"ch-{n % 3}"
                )
            )
            for n in range(12)
        ],
        workers=12,
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Customer.objects.count() == 1
    assert CustomerIdentifier.objects.count() == 1
    assert len({r.customer.pk for r in results}) == 1
    assert sum(1 for r in results if r.created) == 1
    assert set(Customer.objects.get().channel_links.values_list("channel_code", flat=True)) == {
        "ch-0",
        "ch-1",
        "ch-2",
    }


def test_a_merge_racing_redemptions_keeps_the_books_exact() -> None:
    survivor = services.customer_resolve(email="s@example.com").customer
    loser = services.customer_resolve(email="l@example.com").customer
    for customer, reference in ((survivor, "a"), (loser, "b")):
        services.loyalty_earn(
            customer_id=customer.pk,
            amount=Decimal("50"),
            currency="EUR",
            channel_code="web",
            reference=reference,
        )
    attempts: list[Callable[[], Any]] = [
        lambda: services.customer_merge(survivor_id=survivor.pk, loser_id=loser.pk, actor=SYSTEM)
    ]
    attempts += [
        (
            lambda n=n: services.loyalty_redeem(
                customer_id=(survivor, loser)[n % 2].pk,
                points=10,
                channel_code="web",
                reference=f"r-{n}",
            )
        )
        for n in range(8)
    ]
    results = run_concurrently(attempts, workers=9)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert selectors.loyalty_balance(customer_id=survivor.pk) == 20
    assert sum(LoyaltyLot.objects.values_list("remaining", flat=True)) == 20
