"""An online order returned in a store: found by e-mail, received with a disposition per line,
refunded once, stock back on sale at the store."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from inventory import services as stock
from orders import services as orders
from orders.models import Fulfillment, Refund, Return
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_return_in_store_of_a_shipped_web_order(orders_shop: Any) -> None:
    shop = orders_shop
    shop.receive(shop.warehouse, shop.m, 3)
    placed = orders.order_place(
        channel_code="webshop",
        lines=[orders.LineInput(sku=shop.m.sku, quantity=2)],
        method="ship",
        address={
            "name": "Eva",
            "line1": "Damrak 1",
            "postal_code": "1012 LG",
            "city": "Amsterdam",
            "country": "NL",
        },
        customer=orders.CustomerInput(email="eva@example.com", name="Eva"),
        payment_status="captured",
    )
    fulfillment = Fulfillment.objects.get(order=placed.order)
    orders.fulfillment_pick(fulfillment_id=fulfillment.pk)
    orders.fulfillment_ship(
        fulfillment_id=fulfillment.pk, carrier="PostNL", tracking_number="3S123"
    )

    user = UserFactory(username="ana", is_staff=False)
    user.groups.add(Group.objects.get(name="Store associate"))
    stock.staff_member_assign(user_id=user.pk, location=shop.amsterdam)
    client = Client()
    client.force_login(user)

    found = client.get(reverse("store:returns"), {"q": "EVA@example.com"}).content.decode()
    assert placed.order.number in found
    page = client.get(reverse("store:return-order", args=[placed.order.number])).content.decode()
    token = page.split('name="token" value="')[1].split('"')[0]
    line = placed.order.lines.get()
    form = {
        "token": token,
        f"qty-{line.pk}": 1,
        f"disposition-{line.pk}": "restock",
        "reason": "too big",
    }
    done = client.post(
        reverse("store:return-order", args=[placed.order.number]), form, follow=True
    ).content.decode()
    assert "received; refund of 19.99 EUR." in done
    assert Return.objects.get().location == shop.amsterdam
    assert shop.level(shop.amsterdam, shop.m) == (1, 0)  # back on sale in the store
    assert Refund.objects.get().amount == Decimal("19.99")
    again = client.post(
        reverse("store:return-order", args=[placed.order.number]), form, follow=True
    ).content.decode()
    assert "error" in again  # nothing more to return: refused
    assert Refund.objects.count() == 1
