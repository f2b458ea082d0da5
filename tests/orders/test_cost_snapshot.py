"""Each order line keeps the variant's cost price at the time of sale (``OrderLine.cost_price``, the
groundwork for margins): written at placement, at the till and on an exchange's new line; a later
change of the variant's cost leaves placed orders as they were; an unknown cost stays unknown."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import Variant
from catalog.selectors import channel_variant_offers
from core.models import Channel
from orders import services
from orders.models import Order, OrderLine
from tests.shop import Shop
from tests.till import pos_channel_add

pytestmark = pytest.mark.django_db

NL = {"country": "NL", "city": "Amsterdam", "line1": "Damrak 1", "postal_code": "1012"}


def _cost(variant: Variant, amount: str | None) -> None:
    Variant.objects.filter(pk=variant.pk).update(
        cost_price=Decimal(amount) if amount is not None else None
    )


def _place(external_id: str, *skus: str) -> Order:
    return services.order_place(
        channel_code="webshop",
        lines=[services.LineInput(sku, 1) for sku in skus],
        method="ship",
        address=NL,
        customer=services.CustomerInput(email="cost@example.com"),
        external_id=external_id,
        payment_status="captured",
    ).order


def _line_costs(order: Order) -> dict[str, Decimal | None]:
    return dict(OrderLine.objects.filter(order=order).values_list("sku", "cost_price"))


def test_the_offer_carries_the_variants_cost(shop: Shop) -> None:
    _cost(shop.s, "6.40")
    offers = channel_variant_offers(channel_code="webshop", skus=["ORGANIC-TEE-S", "ORGANIC-TEE-M"])
    assert offers["ORGANIC-TEE-S"].cost_price == Decimal("6.40")
    assert offers["ORGANIC-TEE-M"].cost_price is None


def test_placement_snapshots_the_cost_and_a_later_change_leaves_the_order_alone(
    shop: Shop,
) -> None:
    # given S costs 6.40 and M's cost is unknown
    shop.receive(shop.warehouse, shop.s, 5)
    shop.receive(shop.warehouse, shop.m, 5)
    _cost(shop.s, "6.40")
    # when an order of S and M is placed
    order = _place("WEB-COST-1", "ORGANIC-TEE-S", "ORGANIC-TEE-M")
    # then each line keeps the cost at the time of sale (unknown stays unknown)
    assert _line_costs(order) == {"ORGANIC-TEE-S": Decimal("6.40"), "ORGANIC-TEE-M": None}
    # when the costs change afterwards
    _cost(shop.s, "9.00")
    _cost(shop.m, "5.00")
    # then the placed order is unchanged, and a new order takes the new costs
    assert _line_costs(order) == {"ORGANIC-TEE-S": Decimal("6.40"), "ORGANIC-TEE-M": None}
    later = _place("WEB-COST-2", "ORGANIC-TEE-S", "ORGANIC-TEE-M")
    assert _line_costs(later) == {
        "ORGANIC-TEE-S": Decimal("9.00"),
        "ORGANIC-TEE-M": Decimal("5.00"),
    }


@pytest.fixture
def pos(shop: Shop) -> Channel:
    return pos_channel_add(shop)


def test_a_till_sale_snapshots_the_cost(shop: Shop, pos: Channel) -> None:
    # given M costs 7.10 and is on the Amsterdam shelf
    _cost(shop.m, "7.10")
    shop.receive(shop.amsterdam, shop.m, 2)
    # when the till sells two
    result = services.sale_record(
        channel_code="pos",
        location_code="ams-central",
        lines=[services.LineInput("ORGANIC-TEE-M", 2)],
        payments=[services.PaymentInput("card", Decimal("39.98"), "TERM-1")],
        sale_key="till-cost-1",
    )
    # then the line keeps the cost per unit, and a later change does not touch it
    _cost(shop.m, "1.00")
    assert _line_costs(result.order) == {"ORGANIC-TEE-M": Decimal("7.10")}


def test_an_exchanges_new_line_snapshots_the_cost_of_the_new_item(shop: Shop) -> None:
    # given a delivered order of S (cost 6.40) and M (cost 6.90) in the Amsterdam store
    _cost(shop.s, "6.40")
    _cost(shop.m, "6.90")
    shop.receive(shop.warehouse, shop.s, 1)
    order = _place("WEB-COST-3", "ORGANIC-TEE-S")
    fulfillment = order.fulfillments.get()
    services.fulfillment_ship(fulfillment_id=fulfillment.pk, carrier="UPS", tracking_number="1")
    services.fulfillment_deliver(fulfillment_id=fulfillment.pk)
    shop.receive(shop.amsterdam, shop.m, 1)
    # when S is exchanged for M at the store
    _return, new_order = services.exchange_create(
        order_id=order.pk,
        return_sku="ORGANIC-TEE-S",
        new_sku="ORGANIC-TEE-M",
        quantity=1,
        location_code="ams-central",
    )
    # then the new line has M's cost and the original keeps S's
    assert _line_costs(new_order) == {"ORGANIC-TEE-M": Decimal("6.90")}
    assert _line_costs(order) == {"ORGANIC-TEE-S": Decimal("6.40")}
