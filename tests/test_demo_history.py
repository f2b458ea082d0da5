"""The demo's order history (issue 18): months of orders on every channel and at every store,
with returns, refunds, cancellations and repeat customers, and a stock ledger that still equals
the levels. Seeded once for the module (the small demo), then read by every test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F, Max, Min, Model, Q, Sum
from django.utils import timezone

from catalog.models import Variant
from core import bulk
from demo.history import MARK, seed_history
from inventory import selectors as inventory_selectors
from inventory.models import StockMovement
from orders.models import Fulfillment, Order, OrderLine, Refund, Return, TimelineEvent

pytestmark = pytest.mark.demo_seed


def _stamping(model: type[Model]) -> list[tuple[str, bool, bool]]:
    return [
        (f.name, getattr(f, "auto_now", False), getattr(f, "auto_now_add", False))
        for f in model._meta.concrete_fields
    ]


# what the model fields said about stamping at each bulk write of the seeding: (declared, seen)
WRITES: list[tuple[list[tuple[str, bool, bool]], list[tuple[str, bool, bool]]]] = []


@pytest.fixture(scope="module")
def seeded(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """The small demo, seeded once for the module inside a transaction rolled back at the end
    (marked as a test case's, so the live orders' durable transactions may run inside it).
    Every bulk insert is watched: the fields must stamp as declared while the past is written."""
    declared = {model: _stamping(model) for model in apps.get_models()}
    real_create = bulk.create

    def watched(objs: list[Any], model: type[Model], **options: Any) -> list[Any]:
        WRITES.append((declared[model], _stamping(model)))
        return real_create(objs, model, **options)

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic._from_testcase = True  # type: ignore[attr-defined]
        atomic.__enter__()
        try:
            with mock.patch.object(bulk, "create", watched):
                call_command("seed_demo", "--size", "small", verbosity=0)
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def history(seeded: None, db: Any) -> Any:
    return Order.objects.filter(external_id__startswith=MARK)


def test_at_least_300_orders_over_at_least_90_days(history: Any) -> None:
    span = history.aggregate(first=Min("placed_at"), last=Max("placed_at"), n=Count("id"))
    assert span["n"] >= 300
    assert span["last"] - span["first"] >= timedelta(days=89)
    # every day of the period has orders somewhere, and every number is a history number
    days = {d.date() for d in history.values_list("placed_at", flat=True)}
    assert len(days) >= 85
    assert not history.exclude(number__startswith="H").exists()


def test_orders_come_from_every_channel_and_many_stores(history: Any) -> None:
    per_channel = dict(history.values_list("channel__code").annotate(n=Count("id")))
    assert set(per_channel) == {"webshop", "app", "marketplace", "pos"}
    methods = set(history.values_list("channel__code", "fulfillment_method").distinct())
    assert {("webshop", "pickup"), ("webshop", "ship"), ("pos", "carry_out")} <= methods
    fulfilments = Fulfillment.objects.filter(order__in=history)
    stores = set(
        fulfilments.filter(location__kind="store").values_list("location__code", flat=True)
    )
    assert len(stores) >= 4
    assert fulfilments.filter(location__kind="warehouse").exists()
    assert set(fulfilments.values_list("status", flat=True)) == {
        "delivered",
        "picked_up",
        "carried_out",
        "cancelled",
    }


def test_stores_peak_at_the_weekend(history: Any) -> None:
    pos = history.filter(channel__code="pos").values_list("placed_at", flat=True)
    weekend = sum(1 for at in pos if at.weekday() >= 5)
    assert weekend / len(pos) > 2 / 7  # above an even spread over the week


def test_returns_reasons_refunds_and_returns_in_store(history: Any) -> None:
    returns = Return.objects.filter(order__in=history)
    rate = returns.count() / history.count()
    assert 0.06 <= rate <= 0.2
    reasons = set(returns.values_list("lines__reason", flat=True))
    assert reasons <= {"too small", "too large", "damaged", "not as pictured", "changed my mind"}
    assert len(reasons) >= 3
    received = returns.filter(status="received")
    assert received.exists() and not received.filter(received_at=None).exists()
    online_in_store = received.filter(
        order__channel__code__in=["webshop", "app"], location__kind="store"
    )
    assert online_in_store.exists()
    refunds = Refund.objects.filter(order__in=history)
    assert refunds.exists()
    assert not refunds.exclude(return_request__status="received").exists()
    refunded = history.filter(amount_refunded__gt=0)
    assert refunded.count() == refunds.values("order").distinct().count()
    assert not refunded.filter(payment_status="captured").exists()


def test_cancelled_orders_and_cancelled_lines(history: Any) -> None:
    cancelled = history.filter(status="cancelled")
    assert 0.005 <= cancelled.count() / history.count() <= 0.05
    lines = OrderLine.objects.filter(order__in=cancelled)
    assert not lines.exclude(quantity_cancelled=F("quantity")).exists()
    assert not cancelled.filter(amount_captured__gt=0).exists()
    partly = OrderLine.objects.filter(order__status="completed", quantity_cancelled__gt=0)
    assert partly.filter(order__in=history).exists()


def test_completed_orders_are_captured_with_tax_and_timeline(history: Any) -> None:
    done = history.filter(status="completed")
    assert not done.filter(payment_status__in=["pending", "authorized"]).exists()
    whole = done.filter(lines__quantity_cancelled=0).exclude(
        id__in=OrderLine.objects.filter(quantity_cancelled__gt=0).values("order_id")
    )
    assert whole.exists()
    assert not whole.exclude(amount_captured=F("total")).exists()
    # prices include tax (NL, 21 %): the tax is part of the line, on every line
    lines = OrderLine.objects.filter(order__in=done)
    assert not lines.filter(Q(tax_rate=0) | Q(tax_amount=0)).exists()
    sample = lines.first()
    assert sample is not None
    paid = sample.line_total - sample.discount_amount
    assert abs(sample.tax_amount - paid * 21 / 121) < 0.01
    assert history.filter(discount_total__gt=0).exists()
    # the timeline: ready then picked up, shipped then delivered, carried out
    events = TimelineEvent.objects.filter(order__in=done)
    kinds = set(events.values_list("kind", flat=True))
    assert {"placed", "ready_for_pickup", "picked_up", "shipped", "delivered", "carried_out"} <= (
        kinds
    )
    pickup = done.filter(fulfillment_method="pickup").first()
    assert pickup is not None
    timeline = {e.kind: e.created_at for e in pickup.timeline.all()}
    ready = timeline["ready_for_pickup"] - pickup.placed_at
    assert timedelta(minutes=20) <= ready <= timedelta(hours=8)
    assert timedelta(0) < timeline["picked_up"] - timeline["ready_for_pickup"] <= timedelta(days=6)


def test_repeat_multichannel_and_guest_customers(history: Any) -> None:
    per_customer = (
        history.exclude(customer=None)
        .values("customer")
        .annotate(orders=Count("id"), channels=Count("channel", distinct=True))
    )
    assert per_customer.filter(orders__gte=2).count() >= 20
    assert per_customer.filter(channels__gte=2).count() >= 5
    assert history.filter(customer=None).exists()
    top = max(row["orders"] for row in per_customer)
    assert top >= 5  # a few buy very often


def test_cost_prices_set_and_snapshotted(history: Any) -> None:
    variants = Variant.objects.all()
    costed = variants.exclude(cost_price=None).count()
    assert 0.9 <= costed / variants.count() < 1
    lines = OrderLine.objects.filter(order__in=history)
    assert lines.exclude(cost_price=None).count() / lines.count() > 0.85
    line = lines.exclude(cost_price=None).select_related("variant").first()
    assert line is not None and line.cost_price == line.variant.cost_price
    assert line.cost_price is not None and line.cost_price < line.unit_price


def test_the_stock_ledger_equals_the_levels(history: Any) -> None:
    assert inventory_selectors.stock_drift_list() == []
    call_command("stock_check", verbosity=0)  # raises when a level drifted
    sales = StockMovement.objects.filter(kind="sale", reference__startswith="H")
    sold = OrderLine.objects.filter(order__in=history.filter(status="completed")).aggregate(
        units=Sum("quantity") - Sum("quantity_cancelled")
    )["units"]
    assert -sales.aggregate(units=Sum("on_hand_delta"))["units"] == sold
    assert StockMovement.objects.filter(kind="return", reference__startswith="HR").exists()
    # dated at the sale, never after the present
    first = history.aggregate(first=Min("placed_at"))["first"]
    assert sales.aggregate(first=Min("created_at"))["first"] >= first


def test_seeding_again_adds_nothing(history: Any) -> None:
    counts = (history.count(), StockMovement.objects.count(), Return.objects.count())
    assert seed_history("small").orders == 0
    call_command("seed_demo", "--size", "small", verbosity=0)
    assert (history.count(), StockMovement.objects.count(), Return.objects.count()) == counts


def test_the_rollups_are_filled(history: Any) -> None:
    from reports.models import DailyOrders, DailySales

    assert DailySales.objects.exists()
    assert DailyOrders.objects.aggregate(n=Sum("orders"))["n"] >= history.count() * 0.9


def test_the_past_keeps_its_dates_without_switching_off_auto_now(history: Any) -> None:
    # every order, its timeline and its stock movements are dated when they happened
    assert not history.exclude(created_at=F("placed_at")).exists()
    month_ago = timezone.now() - timedelta(days=30)
    assert TimelineEvent.objects.filter(order__in=history, created_at__lt=month_ago).exists()
    assert StockMovement.objects.filter(kind="sale", created_at__lt=month_ago).exists()
    # ... written as given (core.bulk's timestamps="given"), while every model field went on
    # stamping the present for anyone else writing at the same moment
    assert ("created_at", False, True) in _stamping(Order)
    assert len(WRITES) > 10  # every table of the history went through core.bulk
    assert all(seen == declared for declared, seen in WRITES)
