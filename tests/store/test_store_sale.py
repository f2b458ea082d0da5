"""The till on the store page (Django test client): scan lines, find the customer, redeem points,
take the payment, print the receipt; refusals are shown and sell nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.test import Client
from django.urls import reverse

from customers import selectors as customer_selectors
from customers import services as customer_services
from inventory import services as inventory_services
from inventory.models import StockMovement
from orders.models import Order, Payment
from tests.factories import UserFactory
from tests.shop import Shop
from tests.till import pos_channel_add

pytestmark = pytest.mark.django_db

TILL = "/store/till/"


def _associate(shop: Shop, username: str = "sam", store: Any = None) -> Client:
    user: User = UserFactory(username=username, is_staff=False)  # type: ignore[assignment]
    user.groups.add(Group.objects.get(name="Store associate"))
    inventory_services.staff_member_assign(user_id=user.pk, location=store or shop.amsterdam)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def till(orders_shop: Shop) -> Client:
    pos_channel_add(orders_shop)
    orders_shop.receive(orders_shop.amsterdam, orders_shop.m, 3)
    return _associate(orders_shop)


def _page(client: Client, **params: str) -> str:
    response = client.get(TILL, params)
    assert response.status_code == 200
    return response.content.decode()


def test_a_walk_in_customer_buys_redeems_points_and_gets_a_receipt(
    orders_shop: Shop, till: Client, django_capture_on_commit_callbacks: Any
) -> None:
    shop = orders_shop
    assert reverse("store:till-sale") == TILL
    customer = customer_services.customer_resolve(
        email="eva@example.com", phone="+31 6 12345678", name="Eva de Vries", channel_code="webshop"
    ).customer
    customer_services.loyalty_earn(
        customer_id=customer.pk,
        amount=Decimal("250"),
        currency="EUR",
        channel_code="webshop",
        reference="WEB-9",
    )
    # scan two M
    till.post(TILL, {"action": "add", "code": "ORGANIC-TEE-M", "quantity": 2})
    page = _page(till)
    assert 'data-testid="line-ORGANIC-TEE-M"' in page and "39.98 EUR" in page
    # find the customer by phone in another notation and sell to her
    found = _page(till, q="06 12345678")
    assert f'data-testid="found-{customer.pk}"' in found and "Eva de Vries" in found
    till.post(TILL, {"action": "customer", "customer": customer.pk})
    page = _page(till)
    assert 'data-testid="till-customer"' in page and 'data-testid="balance">250<' in page
    # redeem 100 points: 1.00 off
    till.post(TILL, {"action": "points", "points": 100})
    assert 'data-testid="total">38.98 EUR<' in _page(till)
    # take the card payment: the receipt follows
    with django_capture_on_commit_callbacks(execute=True):
        paid = till.post(
            TILL, {"action": "pay", "tender": "card", "amount": "38.98", "reference": "T-5"}
        )
    order = Order.objects.get()
    assert paid.status_code == 302 and paid["Location"] == f"/store/receipts/{order.number}/"
    receipt = till.get(paid["Location"]).content.decode()
    assert f"Receipt {order.number}" in receipt and "window.print()" in receipt
    assert 'data-testid="receipt-total">38.98<' in receipt and "Paid by card" in receipt
    assert "Points redeemed (100)" in receipt and "Receipt e-mailed to eva@example.com" in receipt
    assert "@media print" in receipt
    # the sale: this store's stock, the customer, the points, one receipt e-mail
    assert (order.status, order.fulfillment_method, order.customer_id) == (
        "completed",
        "carry_out",
        customer.pk,
    )
    assert shop.level(shop.amsterdam, shop.m) == (1, 0)
    assert customer_selectors.loyalty_balance(customer_id=customer.pk) == 250 - 100 + 38
    assert [m.subject for m in mail.outbox] == [f"Your receipt {order.number}"]
    assert order.timeline.filter(actor_name="store:sam").exists()
    # the basket is empty again; pressing pay once more sells nothing
    assert "Nothing scanned yet." in _page(till)
    again = till.post(TILL, {"action": "pay", "tender": "card", "amount": "38.98"}, follow=True)
    assert "error" in again.content.decode() and Order.objects.count() == 1


def test_cash_change_is_on_the_receipt(orders_shop: Shop, till: Client) -> None:
    till.post(TILL, {"action": "add", "code": "ORGANIC-TEE-M", "quantity": 1})
    paid = till.post(TILL, {"action": "pay", "tender": "cash", "amount": "20.00"}, follow=True)
    page = paid.content.decode()
    assert "Change given" in page and "0.01" in page and "Paid by cash" in page
    assert list(Payment.objects.values_list("tender", "amount_captured")) == [
        ("cash", Decimal("19.99"))
    ]


def test_refusals_are_shown_and_sell_nothing(orders_shop: Shop, till: Client) -> None:
    shop = orders_shop
    # an unknown code is not added
    refused = till.post(TILL, {"action": "add", "code": "NOPE", "quantity": 1}, follow=True)
    assert "No product has the SKU or barcode" in refused.content.decode()
    assert "Nothing scanned yet." in _page(till)
    # a payment short of the total is refused and the basket stays
    till.post(TILL, {"action": "add", "code": "ORGANIC-TEE-M", "quantity": 2})
    short = till.post(TILL, {"action": "pay", "tender": "card", "amount": "20.00"}, follow=True)
    assert "do not cover the total (39.98)" in short.content.decode()
    # a SKU this store lacks is refused naming it
    till.post(TILL, {"action": "add", "code": "ORGANIC-TEE-L", "quantity": 1})
    lacks = till.post(TILL, {"action": "pay", "tender": "cash", "amount": "100"}, follow=True)
    assert "ams-central does not have 1 x ORGANIC-TEE-L" in lacks.content.decode()
    # points without a customer are refused
    points = till.post(TILL, {"action": "points", "points": 5}, follow=True)
    assert "Find the customer first" in points.content.decode()
    assert Order.objects.count() == 0 and Payment.objects.count() == 0
    assert not StockMovement.objects.filter(kind="sale").exists()
    assert shop.level(shop.amsterdam, shop.m) == (3, 0)
    # after removing the missing line, the sale goes through
    till.post(TILL, {"action": "remove", "sku": "ORGANIC-TEE-L"})
    till.post(TILL, {"action": "pay", "tender": "card", "amount": "39.98"})
    assert Order.objects.count() == 1


def test_a_receipt_is_shown_only_at_the_store_that_sold(orders_shop: Shop, till: Client) -> None:
    till.post(TILL, {"action": "add", "code": "ORGANIC-TEE-M", "quantity": 1})
    till.post(TILL, {"action": "pay", "tender": "card", "amount": "19.99"})
    number = Order.objects.get().number
    other = _associate(orders_shop, "ute", store=orders_shop.utrecht)
    assert other.get(f"/store/receipts/{number}/").status_code == 404
    assert till.get("/store/receipts/O000000-NOPE/").status_code == 404
    assert till.get(f"/store/receipts/{number}/").status_code == 200


def test_the_customer_page_starts_a_sale_for_the_customer_found(
    orders_shop: Shop, till: Client
) -> None:
    customer = customer_services.customer_resolve(
        email="bo@example.com", name="Bo", channel_code="webshop"
    ).customer
    page = till.get(reverse("store:till"), {"q": "bo@example.com"}).content.decode()
    assert "Sell to this customer" in page
    till.post(TILL, {"action": "customer", "customer": customer.pk})
    assert "Bo" in _page(till) and 'data-testid="till-customer"' in _page(till)
