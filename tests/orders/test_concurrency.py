"""Races on real PostgreSQL with real threads: placements on the last units, refunds pressed
twice at once, and concurrent placements with the same external id."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orders import services
from orders.models import Order, Refund
from orders.services import LineInput, PlaceResult, RefundLineInput
from tests.concurrency import run_concurrently
from tests.shop import Shop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _place(external_id: str = "", quantity: int = 1) -> PlaceResult:
    return services.order_place(
        channel_code="webshop",
        lines=[LineInput("ORGANIC-TEE-S", quantity)],
        method="ship",
        address={"country": "NL"},
        payment_status="captured",
        external_id=external_id,
    )


def test_twenty_orders_on_five_units_place_exactly_five(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 5)
    results = run_concurrently([_place for _ in range(20)], workers=8)
    placed = [r for r in results if isinstance(r, PlaceResult)]
    refused = [r for r in results if getattr(r, "code", "") == "insufficient_stock"]
    assert (len(placed), len(refused)) == (5, 15)
    assert Order.objects.count() == 5
    assert shop.level(shop.warehouse, shop.s) == (5, 5)


def test_the_same_external_id_placed_concurrently_makes_one_order(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 10)
    results = run_concurrently([lambda: _place("MP-1") for _ in range(6)], workers=6)
    assert all(isinstance(r, PlaceResult) for r in results), results
    assert len({r.order.pk for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert shop.level(shop.warehouse, shop.s) == (10, 1)


def test_two_staff_pressing_refund_together_refund_once(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 2)
    order = _place(quantity=2).order

    def press(key: str) -> Any:
        return services.refund_create(
            order_id=order.pk, key=key, lines=[RefundLineInput("ORGANIC-TEE-S", 2)]
        )

    # the same form submitted twice (same key) and two staff with their own keys
    results = run_concurrently(
        [lambda: press("form-1"), lambda: press("form-1"), lambda: press("a"), lambda: press("b")],
        workers=4,
    )
    refunds = [r for r in results if isinstance(r, tuple)]
    assert sum(created for _refund, created in refunds) == 1
    assert Refund.objects.count() == 1
    order.refresh_from_db()
    assert (order.amount_refunded, order.payment_status) == (Decimal("39.98"), "refunded")
    assert order.lines.get().quantity_refunded == 2
