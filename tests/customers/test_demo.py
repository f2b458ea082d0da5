"""The demo customers step: one customer per shopper across channels, idempotent."""

from __future__ import annotations

import pytest

from customers import selectors
from customers.models import (
    ConsentEvent,
    Customer,
    CustomerIdentifier,
    LoyaltyEntry,
    MergeCandidate,
)
from demo.customers import seed_customers

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (Customer, CustomerIdentifier, ConsentEvent, LoyaltyEntry, MergeCandidate)
    )


def test_seed_customers_twice_duplicates_nothing() -> None:
    seed_customers()
    first = _counts()
    seed_customers()
    assert _counts() == first
    anna = Customer.objects.get(identifiers__value="anna.devries@example.com")
    assert set(anna.channel_links.values_list("channel_code", flat=True)) == {
        "webshop",
        "pos",
        "app",
    }
    # 189 + 54 earned, 100 spent in store
    assert selectors.loyalty_balance(customer_id=anna.pk) == 143
    assert first[0] == 6 and first[4] == 1  # five shoppers + Eva's store duplicate
