"""In a real Chromium on a phone: an associate sells at the till (scan, customer, points, card
payment) and gets the printable receipt. Screenshots of the basket and the receipt are saved as
artifacts (``artifacts/screenshots/store-till-*-phone.png``)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail

from customers import selectors as customer_selectors
from customers import services as customer_services
from inventory import services as stock
from orders.models import Order
from tests.browser import save_screenshot
from tests.factories import STORE_PASSWORD as PASSWORD
from tests.factories import UserFactory
from tests.till import pos_channel_add

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 375


def test_sell_at_the_till_on_a_phone(live_server, browser, orders_shop) -> None:  # type: ignore[no-untyped-def]
    shop = orders_shop
    pos_channel_add(shop)
    shop.receive(shop.amsterdam, shop.m, 3)
    customer = customer_services.customer_resolve(
        email="eva@example.com", loyalty_card="CARD-77", name="Eva", channel_code="webshop"
    ).customer
    customer_services.loyalty_earn(
        customer_id=customer.pk,
        amount=Decimal("200"),
        currency="EUR",
        channel_code="webshop",
        reference="WEB-5",
    )
    user: User = UserFactory(username="ana", password=PASSWORD, is_staff=False)  # type: ignore[assignment]
    user.groups.add(Group.objects.get(name="Store associate"))
    stock.staff_member_assign(user_id=user.pk, location=shop.amsterdam)
    context = browser.new_context(viewport={"width": WIDTH, "height": 812})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/store/login/")
        page.fill("#id_username", "ana")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#q")
        page.click("nav >> text=Till")
        # scan two M (the scanner types the code and presses Enter)
        page.fill("#till-qty", "2")
        page.fill("#till-code", "ORGANIC-TEE-M")
        page.keyboard.press("Enter")
        page.wait_for_selector("[data-testid='line-ORGANIC-TEE-M']")
        # the customer shows her loyalty card
        page.fill("input[name=q]", "card-77")
        page.keyboard.press("Enter")
        page.click(f"[data-testid='found-{customer.pk}'] >> text=Sell to this customer")
        page.wait_for_selector("[data-testid='till-customer']")
        page.fill("#till-points", "150")
        page.click("button:text-is('Redeem')")
        page.wait_for_selector("[data-testid='total'] >> text=38.48 EUR")
        assert page.input_value("#till-amount") == "38.48"
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
        save_screenshot(page, "store-till-basket-phone")
        # take the card payment
        page.select_option("#till-tender", "card")
        page.fill("#till-reference", "TERM-42")
        page.click("text=Take payment")
        page.wait_for_selector("[data-testid='receipt']")
        assert page.inner_text("[data-testid='receipt-total']") == "38.48"
        assert "Receipt e-mailed to eva@example.com" in page.inner_text("main")
        assert page.is_visible("text=Print receipt")
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
        save_screenshot(page, "store-till-receipt-phone")
        # printing hides the page's chrome and the buttons
        page.emulate_media(media="print")
        assert not page.is_visible("nav") and not page.is_visible("text=Print receipt")
        assert page.is_visible("[data-testid='receipt']")
        page.emulate_media(media="screen")
    finally:
        context.close()
    order = Order.objects.get()
    assert (order.status, order.fulfillment_method, order.customer_id) == (
        "completed",
        "carry_out",
        customer.pk,
    )
    assert shop.level(shop.amsterdam, shop.m) == (1, 0)
    assert list(order.payments.values_list("tender", "provider_reference")) == [("card", "TERM-42")]
    assert customer_selectors.loyalty_balance(customer_id=customer.pk) == 200 - 150 + 38
    assert [m.subject for m in mail.outbox] == [f"Your receipt {order.number}"]
