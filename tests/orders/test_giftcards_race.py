"""Gift card spending on real PostgreSQL with real threads: many orders spending one card at
once never overdraw it, and the ledger always sums to the balance."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders import services
from orders.models import GiftCard, GiftCardEntry, Order, Payment
from orders.services import GiftCardInput, LineInput, PlaceResult
from tests.concurrency import run_concurrently
from tests.shop import Shop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_twelve_orders_spending_one_card_never_overdraw_it(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 20)
    issued = services.giftcard_issue(amount=Decimal("100.00"), currency="EUR")

    def spend() -> PlaceResult:
        return services.order_place(
            channel_code="webshop",
            lines=[LineInput("ORGANIC-TEE-S", 1)],
            method="ship",
            address={"country": "NL"},
            gift_cards=[GiftCardInput(issued.code, Decimal("19.99"))],
        )

    results = run_concurrently([spend for _ in range(12)], workers=8)
    placed = [r for r in results if isinstance(r, PlaceResult)]
    refused = [r for r in results if getattr(r, "code", "") == "gift_card_insufficient"]
    assert (len(placed), len(refused)) == (5, 7), results  # 5 x 19.99 = 99.95 of 100.00
    card = GiftCard.objects.get(pk=issued.card.pk)
    ledger = sum((e.amount for e in GiftCardEntry.objects.filter(card=card)), Decimal("0"))
    assert card.balance == Decimal("0.05") == ledger
    assert Order.objects.count() == 5
    assert Payment.objects.filter(tender="gift_card").count() == 5
    # the refused orders committed no stock
    assert shop.level(shop.warehouse, shop.s) == (20, 5)


def test_direct_spends_in_parallel_keep_the_ledger_equal_to_the_balance(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 1)
    order = services.order_place(
        channel_code="webshop",
        lines=[LineInput("ORGANIC-TEE-S", 1)],
        method="ship",
        address={"country": "NL"},
    ).order
    issued = services.giftcard_issue(amount=Decimal("10.00"), currency="EUR")

    def spend() -> object:
        return services.giftcard_spend(code=issued.code, amount=Decimal("3.00"), order=order)

    results = run_concurrently([spend for _ in range(8)], workers=8)
    spent = [r for r in results if isinstance(r, GiftCardEntry)]
    assert len(spent) == 3, results
    card = GiftCard.objects.get(pk=issued.card.pk)
    ledger = sum((e.amount for e in GiftCardEntry.objects.filter(card=card)), Decimal("0"))
    assert card.balance == Decimal("1.00") == ledger
