"""A size exchange: a return line plus a new order line in one operation (both or neither)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders import services
from orders.exceptions import PickupUnavailable
from orders.models import Order, Return
from tests.shop import Shop

pytestmark = pytest.mark.django_db


def _delivered(shop: Shop) -> Order:
    shop.receive(shop.warehouse, shop.s, 1)
    order = services.order_place(
        channel_code="webshop",
        lines=[services.LineInput("ORGANIC-TEE-S", 1)],
        method="ship",
        address={"country": "NL"},
        customer=services.CustomerInput(email="ex@example.com"),
        payment_status="captured",
    ).order
    fulfillment = order.fulfillments.get()
    services.fulfillment_ship(fulfillment_id=fulfillment.pk, carrier="UPS", tracking_number="1")
    services.fulfillment_deliver(fulfillment_id=fulfillment.pk)
    return order


def test_exchange_s_for_m_in_store(shop: Shop) -> None:
    order = _delivered(shop)
    shop.receive(shop.amsterdam, shop.m, 1)
    return_request, new_order = services.exchange_create(
        order_id=order.pk,
        return_sku="ORGANIC-TEE-S",
        new_sku="ORGANIC-TEE-M",
        quantity=1,
        location_code="ams-central",
    )
    assert [(x.order_line.sku, x.quantity) for x in return_request.lines.all()] == [
        ("ORGANIC-TEE-S", 1)
    ]
    assert (new_order.total, new_order.discount_total, new_order.payment_status) == (
        Decimal("0.00"),
        Decimal("19.99"),
        "captured",
    )
    assert new_order.customer_id == order.customer_id
    assert shop.level(shop.amsterdam, shop.m) == (1, 1)
    assert "exchange" in list(order.timeline.values_list("kind", flat=True))


def test_an_exchange_that_cannot_be_served_leaves_no_return(shop: Shop) -> None:
    order = _delivered(shop)
    with pytest.raises(PickupUnavailable):
        services.exchange_create(
            order_id=order.pk,
            return_sku="ORGANIC-TEE-S",
            new_sku="ORGANIC-TEE-M",
            quantity=1,
            location_code="ams-central",
        )
    assert (Return.objects.count(), Order.objects.count()) == (0, 1)
