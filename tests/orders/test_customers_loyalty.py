"""Orders and the customers app: the customer resolved from the order's identifiers, points
redeemed as a discount at placement (given back on cancel), earned on completion and taken back
on refund. LOYALTY_POINT_VALUE is 0.01 and the default earn rate 1 point per whole unit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from customers import services as customer_services
from customers.exceptions import InsufficientPoints
from customers.selectors import loyalty_balance
from orders import services
from orders.models import Order
from orders.services import CustomerInput, LineInput, RefundLineInput
from tests.shop import Shop

pytestmark = pytest.mark.django_db


def _place(shop: Shop, points: int = 0, email: str = "lea@example.com") -> Order:
    return services.order_place(
        channel_code="webshop",
        lines=[LineInput("ORGANIC-TEE-S", 2)],
        method="ship",
        address={"country": "NL"},
        customer=CustomerInput(email=email, phone="+31 6 12345678", name="Lea"),
        shipping_total=Decimal("5.00"),
        payment_status="captured",
        loyalty_points=points,
    ).order


def test_the_customer_is_resolved_and_the_same_across_orders(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 4)
    first, second = _place(shop), _place(shop, email="LEA@example.com")
    assert first.customer_id is not None
    assert first.customer_id == second.customer_id
    assert list(first.customer.orders.order_by("id")) == [first, second]  # type: ignore[union-attr]


def test_points_are_a_discount_given_back_on_cancel(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 4)
    customer = customer_services.customer_resolve(email="lea@example.com").customer
    customer_services.loyalty_earn(
        customer_id=customer.pk,
        amount=Decimal("500"),
        currency="EUR",
        channel_code="webshop",
        reference="seed",
    )
    order = _place(shop, points=300)
    # 2 x 19.99 - 3.00 + 5.00
    assert (order.discount_total, order.total) == (Decimal("3.00"), Decimal("41.98"))
    assert loyalty_balance(customer_id=customer.pk) == 200
    services.order_cancel(order_id=order.pk)
    assert loyalty_balance(customer_id=customer.pk) == 500
    # too many points: refused, nothing placed, stock untouched
    with pytest.raises(InsufficientPoints):
        _place(shop, points=900)
    assert Order.objects.count() == 1
    assert shop.level(shop.warehouse, shop.s) == (4, 0)


def test_points_earned_on_completion_and_taken_back_on_refund(shop: Shop) -> None:
    shop.receive(shop.warehouse, shop.s, 2)
    order = _place(shop)
    fulfillment = order.fulfillments.get()
    services.fulfillment_ship(fulfillment_id=fulfillment.pk, carrier="UPS", tracking_number="1")
    assert order.customer_id is not None
    assert loyalty_balance(customer_id=order.customer_id) == 0  # not completed yet
    services.fulfillment_deliver(fulfillment_id=fulfillment.pk)
    assert loyalty_balance(customer_id=order.customer_id) == 39  # floor(39.98)
    services.refund_create(order_id=order.pk, key="r1", lines=[RefundLineInput("ORGANIC-TEE-S", 1)])
    assert loyalty_balance(customer_id=order.customer_id) == 20  # 39 - floor(39 * 19.99 / 39.98)
