"""A return authorised online, found and received in a store: by RMA, order number, e-mail or
phone; received line by line (restock here, or damaged) and refunded once to the original card
payment, without a second RMA. And a size exchange at the counter."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse

from inventory import services as stock
from orders import services as orders
from orders.models import Order, Payment, Refund, Return
from tests.journeys.steps import staff_user
from tests.shop import Shop

pytestmark = pytest.mark.django_db


def _token(page: str) -> str:
    return page.split('name="token" value="')[1].split('"')[0]


def _associate(shop: Shop) -> Client:
    user = staff_user("ana", "Store associate", is_staff=False)
    stock.staff_member_assign(user_id=user.pk, location=shop.amsterdam)
    client = Client()
    client.force_login(user)
    return client


def _delivered_web_order(shop: Shop) -> Order:
    """1 x S and 2 x M shipped from the warehouse, paid by card online (captured)."""
    shop.receive(shop.warehouse, shop.s, 1)
    shop.receive(shop.warehouse, shop.m, 2)
    order = orders.order_place(
        channel_code="webshop",
        lines=[orders.LineInput(shop.s.sku, 1), orders.LineInput(shop.m.sku, 2)],
        method="ship",
        address={"name": "Eva", "line1": "Damrak 1", "city": "Amsterdam", "country": "NL"},
        customer=orders.CustomerInput(email="eva@example.com", phone="+31 6 1234 5678"),
        payment_status="captured",
    ).order
    fulfillment = order.fulfillments.get()
    orders.fulfillment_ship(fulfillment_id=fulfillment.pk, carrier="PostNL", tracking_number="3S")
    return order


def _online_rma(order: Order) -> Return:
    """The RMA the webshop authorised, to be returned at the warehouse."""
    return orders.return_create(
        order_id=order.pk,
        lines=[
            orders.ReturnLineInput("ORGANIC-TEE-S", 1),
            orders.ReturnLineInput("ORGANIC-TEE-M", 1),
        ],
        location_code="wh-rotterdam",
        reason="too small",
    )


@pytest.mark.parametrize("term", ["rma", "number", "EVA@example.com", "06 12345678"])
def test_the_store_finds_an_online_rma(orders_shop: Shop, term: str) -> None:
    shop = orders_shop
    order = _delivered_web_order(shop)
    rma = _online_rma(order)
    client = _associate(shop)
    query = {"rma": rma.rma, "number": order.number}.get(term, term)
    page = client.get(reverse("store:returns"), {"q": query}).content.decode()
    assert f'data-testid="rma-{rma.rma}"' in page
    assert reverse("store:rma-receive", args=[rma.rma]) in page
    assert "to receive" in page


def test_receiving_an_online_rma_restocks_here_and_refunds_the_card_once(orders_shop: Shop) -> None:
    shop = orders_shop
    order = _delivered_web_order(shop)
    card = Payment.objects.get(order=order)
    assert (card.tender, card.amount) == ("card", Decimal("59.97"))
    rma = _online_rma(order)
    client = _associate(shop)

    # the order page points at the open RMA instead of letting a second one be made
    order_page = client.get(reverse("store:return-order", args=[order.number])).content.decode()
    assert 'data-testid="open-rma"' in order_page and rma.rma in order_page

    url = reverse("store:rma-receive", args=[rma.rma])
    page = client.get(url).content.decode()
    s_line, m_line = rma.lines.order_by("id")
    form = {
        "token": _token(page),
        f"disposition-{s_line.pk}": "restock",
        f"disposition-{m_line.pk}": "damaged",
    }
    done = client.post(url, form, follow=True).content.decode()
    assert "refund of 39.98 EUR to the original card." in done

    rma.refresh_from_db()
    assert (rma.status, rma.location) == ("received", shop.amsterdam)
    assert [(x.order_line.sku, x.disposition) for x in rma.lines.order_by("id")] == [
        ("ORGANIC-TEE-S", "restock"),
        ("ORGANIC-TEE-M", "damaged"),
    ]
    assert Return.objects.count() == 1  # the online RMA, never a second one
    refund = Refund.objects.get()
    assert (refund.amount, refund.payment, refund.return_request) == (Decimal("39.98"), card, rma)
    assert shop.level(shop.amsterdam, shop.s) == (1, 0)  # back on sale here
    assert shop.level(shop.amsterdam, shop.m) == (0, 0)  # damaged: received, then written off
    order.refresh_from_db()
    assert (order.amount_refunded, order.payment_status) == (
        Decimal("39.98"),
        "partially_refunded",
    )

    # a second press with the same form refunds nothing more
    again = client.post(url, form, follow=True).content.decode()
    assert "was already received" in again
    assert Refund.objects.count() == 1

    received_page = client.get(url).content.decode()
    assert 'data-testid="rma-refund"' in received_page and "original card" in received_page


def test_a_bad_disposition_receives_nothing(orders_shop: Shop) -> None:
    shop = orders_shop
    order = _delivered_web_order(shop)
    rma = _online_rma(order)
    client = _associate(shop)
    url = reverse("store:rma-receive", args=[rma.rma])
    s_line, m_line = rma.lines.order_by("id")
    page = client.post(
        url,
        {"token": "t1", f"disposition-{s_line.pk}": "restock", f"disposition-{m_line.pk}": "lost"},
        follow=True,
    ).content.decode()
    assert "restock or damaged" in page
    rma.refresh_from_db()
    assert (rma.status, Refund.objects.count()) == ("authorized", 0)
    assert shop.level(shop.amsterdam, shop.s) == (0, 0)


def test_an_unknown_rma_is_404(orders_shop: Shop) -> None:
    shop = orders_shop
    client = _associate(shop)
    assert client.get(reverse("store:rma-receive", args=["R000000-NOPE"])).status_code == 404


def test_exchange_at_the_counter_from_this_shelf(orders_shop: Shop) -> None:
    shop = orders_shop
    order = _delivered_web_order(shop)
    shop.receive(shop.amsterdam, shop.l, 1)
    client = _associate(shop)
    url = reverse("store:exchange", args=[order.number])
    page = client.get(url).content.decode()
    assert "ORGANIC-TEE-L" in page and "(1 here)" in page
    form = {
        "token": _token(page),
        "return_sku": "ORGANIC-TEE-M",
        "quantity": "1",
        "disposition": "restock",
        "new_sku": "ORGANIC-TEE-L",
        "method": "carry_out",
    }
    done = client.post(url, form, follow=True).content.decode()
    assert "Exchange made" in done and "taken from the shelf here; nothing to pay." in done
    new = Order.objects.get(external_id__startswith="exchange:")
    assert (new.fulfillment_method, new.status, new.customer_id) == (
        "carry_out",
        "completed",
        order.customer_id,
    )
    assert shop.level(shop.amsterdam, shop.l) == (0, 0)
    assert shop.level(shop.amsterdam, shop.m) == (1, 0)
    assert Return.objects.get().status == "received"
    # the same form again makes nothing
    again = client.post(url, form, follow=True).content.decode()
    assert "already made" in again
    assert (Order.objects.count(), Return.objects.count()) == (2, 1)


def test_exchange_for_a_size_the_shelf_lacks_changes_nothing(orders_shop: Shop) -> None:
    shop = orders_shop
    order = _delivered_web_order(shop)
    client = _associate(shop)
    url = reverse("store:exchange", args=[order.number])
    form = {
        "token": _token(client.get(url).content.decode()),
        "return_sku": "ORGANIC-TEE-M",
        "quantity": "1",
        "disposition": "restock",
        "new_sku": "ORGANIC-TEE-L",
        "method": "carry_out",
    }
    page = client.post(url, form, follow=True).content.decode()
    assert "ams-central does not have" in page or "insufficient" in page.lower()
    assert (Order.objects.count(), Return.objects.count()) == (1, 0)


def test_customer_history_shows_every_channel(orders_shop: Shop) -> None:
    shop = orders_shop
    order = _delivered_web_order(shop)
    rendered = Template("{% load store_history %}{% customer_history customer %}").render(
        Context({"customer": order.customer})
    )
    assert f'data-testid="history-{order.number}"' in rendered
    assert "3 x" not in rendered and "1 x" in rendered and "2 x" in rendered


def test_the_till_shows_the_chosen_customers_purchases(orders_shop: Shop) -> None:
    shop = orders_shop
    order = _delivered_web_order(shop)
    client = _associate(shop)
    page = client.post(
        reverse("store:till-sale"),
        {"action": "customer", "customer": order.customer_id},
        follow=True,
    ).content.decode()
    assert 'data-testid="till-customer"' in page
    assert f'data-testid="history-{order.number}"' in page
    assert reverse("store:return-order", args=[order.number]) in page
