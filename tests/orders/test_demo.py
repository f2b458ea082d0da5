"""The demo dataset has orders in each journey's state, and seeding again adds none."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from orders.models import Order, Return

pytestmark = [pytest.mark.django_db, pytest.mark.demo_seed]


def test_demo_orders_show_each_journey_once() -> None:
    call_command("seed_demo", "--size", "small", verbosity=0)
    statuses = dict(
        Order.objects.filter(external_id__startswith="demo-").values_list("external_id", "status")
    )
    assert statuses == {
        "demo-web-pickup": "ready_for_pickup",
        "demo-web-ship": statuses["demo-web-ship"],
        "demo-web-return": "completed",
    }
    assert statuses["demo-web-ship"] in ("shipped", "partially_shipped")
    live_return = Return.objects.get(order__external_id="demo-web-return")
    assert (live_return.status, live_return.order.refunds.count()) == ("received", 1)
    orders = Order.objects.count()
    call_command("seed_demo", "--size", "small", verbosity=0)
    assert Order.objects.filter(external_id__startswith="demo-").count() == 3
    assert Order.objects.count() == orders  # the history is not written twice either
