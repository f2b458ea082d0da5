"""The click & collect queue on the store page: an online pickup order is picked, made ready
(the customer gets the code by e-mail) and handed over after the code is checked."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.urls import reverse

from core.actors import Actor
from inventory import services as stock
from orders import services as orders
from orders.models import Fulfillment
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # order_place is a durable transaction


def _associate(store: Any) -> Client:
    user = UserFactory(username="ana", is_staff=False)
    user.groups.add(Group.objects.get(name="Store associate"))
    stock.staff_member_assign(user_id=user.pk, location=store)
    client = Client()
    client.force_login(user)
    return client


def test_pick_ready_and_hand_over_with_the_code(orders_shop: Any, settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    shop = orders_shop
    shop.receive(shop.amsterdam, shop.m, 2)
    placed = orders.order_place(
        channel_code="webshop",
        lines=[orders.LineInput(sku=shop.m.sku, quantity=1)],
        method="pickup",
        pickup_location_code=shop.amsterdam.code,
        customer=orders.CustomerInput(email="eva@example.com", name="Eva"),
    )
    number = placed.order.number
    client = _associate(shop.amsterdam)
    queue = client.get(reverse("store:pickups")).content.decode()
    assert number in queue and 'aria-label="1 to pick"' in queue
    fulfillment = Fulfillment.objects.get(order=placed.order)

    client.post(reverse("store:pickup-action", args=[fulfillment.pk]), {"action": "pick"})
    client.post(reverse("store:pickup-action", args=[fulfillment.pk]), {"action": "ready"})
    fulfillment.refresh_from_db()
    assert fulfillment.status == "ready_for_pickup"
    code = re.search(r"\b(\d{6})\b", "\n".join(m.body for m in mail.outbox)).group(1)  # type: ignore[union-attr]

    wrong = client.post(
        reverse("store:pickup-action", args=[fulfillment.pk]),
        {"action": "hand_over", "code": "000000" if code != "000000" else "111111"},
        follow=True,
    )
    assert number in wrong.content.decode() and "error" in wrong.content.decode()
    fulfillment.refresh_from_db()
    assert fulfillment.status == "ready_for_pickup"
    client.post(
        reverse("store:pickup-action", args=[fulfillment.pk]), {"action": "hand_over", "code": code}
    )
    fulfillment.refresh_from_db()
    assert fulfillment.status == "picked_up"
    assert shop.level(shop.amsterdam, shop.m) == (1, 0)


def test_another_stores_pickup_is_not_found(orders_shop: Any) -> None:
    shop = orders_shop
    shop.receive(shop.utrecht, shop.s, 1)
    placed = orders.order_place(
        channel_code="webshop",
        lines=[orders.LineInput(sku=shop.s.sku, quantity=1)],
        method="pickup",
        pickup_location_code=shop.utrecht.code,
        customer=orders.CustomerInput(email="eva@example.com"),
    )
    fulfillment = Fulfillment.objects.get(order=placed.order)
    client = _associate(shop.amsterdam)
    assert (
        client.post(
            reverse("store:pickup-action", args=[fulfillment.pk]), {"action": "pick"}
        ).status_code
        == 404
    )


def _pickup(shop: Any, variant: Any, quantity: int = 1) -> Fulfillment:
    placed = orders.order_place(
        channel_code="webshop",
        lines=[orders.LineInput(sku=variant.sku, quantity=quantity)],
        method="pickup",
        pickup_location_code=shop.amsterdam.code,
        customer=orders.CustomerInput(email="eva@example.com"),
    )
    return Fulfillment.objects.get(order=placed.order)


def _report_missing(client: Client, fulfillment: Fulfillment, quantity: Any) -> str:
    line = fulfillment.lines.get()
    response = client.post(
        reverse("store:pickup-action", args=[fulfillment.pk]),
        {"action": "missing", "line": line.pk, "quantity": quantity},
        follow=True,
    )
    return response.content.decode()


def test_an_item_missing_with_none_left_cancels_the_pickup_and_corrects_the_stock(
    orders_shop: Any, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    shop = orders_shop
    shop.receive(shop.amsterdam, shop.m, 1)
    fulfillment = _pickup(shop, shop.m)
    client = _associate(shop.amsterdam)
    assert "Not on the shelf" in client.get(reverse("store:pickups")).content.decode()
    page = _report_missing(client, fulfillment, 1)
    assert "taken off the stock; 1 cancelled. The customer is told." in page
    fulfillment.refresh_from_db()
    assert fulfillment.status == "cancelled"
    assert fulfillment.order.status == "cancelled"
    # the shelf did not have it: on hand follows, nothing stays committed
    assert shop.level(shop.amsterdam, shop.m) == (0, 0)
    assert [m.subject for m in mail.outbox][-1].endswith("was cancelled")


def test_an_item_missing_is_sourced_again_from_what_the_store_still_has(
    orders_shop: Any, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    shop = orders_shop
    shop.receive(shop.amsterdam, shop.m, 3)
    fulfillment = _pickup(shop, shop.m, quantity=2)
    client = _associate(shop.amsterdam)
    page = _report_missing(client, fulfillment, 1)
    assert f"1 sourced again at {shop.amsterdam.code}" in page
    # the same card keeps both units to pick: one was missing, another is on the books
    assert Fulfillment.objects.filter(order=fulfillment.order).count() == 1
    fulfillment.refresh_from_db()
    assert fulfillment.lines.get().quantity == 2 and fulfillment.status == "allocated"
    # 3 on the books, 1 missing: 2 left and both committed to the order
    assert shop.level(shop.amsterdam, shop.m) == (2, 2)
    assert fulfillment.order.lines.get().quantity_cancelled == 0
    assert [m.subject for m in mail.outbox][-1].endswith("has changed")


@pytest.mark.parametrize("quantity", ["0", "2", "", "x"])
def test_a_bad_missing_quantity_is_refused_and_changes_nothing(
    orders_shop: Any, quantity: str
) -> None:
    shop = orders_shop
    shop.receive(shop.amsterdam, shop.m, 1)
    fulfillment = _pickup(shop, shop.m)
    page = _report_missing(_associate(shop.amsterdam), fulfillment, quantity)
    assert "Between 1 and 1 units" in page
    fulfillment.refresh_from_db()
    assert fulfillment.status == "allocated"
    assert shop.level(shop.amsterdam, shop.m) == (1, 1)


def test_a_parcel_missing_an_item_is_sourced_from_another_shipping_location(
    orders_shop: Any,
) -> None:
    shop = orders_shop
    shop.receive(shop.warehouse, shop.l, 1)
    shop.receive(shop.amsterdam, shop.l, 1)
    placed = orders.order_place(
        channel_code="webshop",
        lines=[orders.LineInput(sku=shop.l.sku, quantity=1)],
        method="ship",
        address={"country": "NL", "line1": "Damrak 1", "city": "Amsterdam"},
        customer=orders.CustomerInput(email="eva@example.com"),
    )
    first = Fulfillment.objects.get(order=placed.order)
    assert first.location_id == shop.warehouse.pk
    outcome = orders.fulfillment_report_missing(
        fulfillment_id=first.pk, line_id=first.lines.get().pk, quantity=1, actor=Actor.system("wms")
    )
    first.refresh_from_db()
    assert first.status == "cancelled" and outcome.cancelled == 0
    [again] = outcome.fulfillments
    assert outcome.placed == {again.pk: 1}
    assert (again.location_id, again.method, again.status) == (
        shop.amsterdam.pk,
        "ship",
        "allocated",
    )
    assert shop.level(shop.warehouse, shop.l) == (0, 0)
    assert shop.level(shop.amsterdam, shop.l) == (1, 1)
    placed.order.refresh_from_db()
    assert placed.order.status != "cancelled"
    kinds = list(placed.order.timeline.values_list("kind", flat=True))
    assert "item_missing" in kinds and "resourced" in kinds


def test_endless_aisle_orders_for_home_delivery_from_the_warehouse(orders_shop: Any) -> None:
    shop = orders_shop
    shop.receive(shop.warehouse, shop.l, 2)
    client = _associate(shop.amsterdam)
    form = {
        "sku": shop.l.sku,
        "quantity": 1,
        "name": "Eva",
        "email": "eva@example.com",
        "phone": "",
        "line1": "Damrak 1",
        "postal_code": "1012 LG",
        "city": "Amsterdam",
        "country": "nl",
        "token": "t-1",
    }
    response = client.post(reverse("store:aisle"), form, follow=True).content.decode()
    assert "placed for home delivery to Eva" in response
    client.post(reverse("store:aisle"), form)  # pressed twice: the same order
    fulfillment = Fulfillment.objects.get()
    assert (fulfillment.location, fulfillment.method) == (shop.warehouse, "ship")
    assert shop.level(shop.warehouse, shop.l) == (2, 1)
