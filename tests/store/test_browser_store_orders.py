"""In a real Chromium on a phone: the whole click & collect hand-over, and an in-store return of
an online order. Screenshots are saved as artifacts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from inventory import services as stock
from orders import services as orders
from orders.models import Fulfillment, Refund
from tests.browser import save_screenshot
from tests.factories import STORE_PASSWORD as PASSWORD
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _phone(browser: Any, base: str, store: Any) -> Any:
    user = UserFactory(username="ana", password=PASSWORD, is_staff=False)
    user.groups.add(Group.objects.get(name="Store associate"))
    stock.staff_member_assign(user_id=user.pk, location=store)
    context = browser.new_context(viewport={"width": 375, "height": 812})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{base}/store/login/")
    page.fill("#id_username", "ana")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#q")
    return page


def test_click_and_collect_hand_over(live_server, browser, orders_shop) -> None:  # type: ignore[no-untyped-def]
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
    page = _phone(browser, live_server.url, shop.amsterdam)
    try:
        assert page.inner_text("nav .badge") == "1"
        page.click("nav >> text=Click & collect")
        card = f"[data-testid='pickup-{number}']"
        page.click(f"{card} >> text=Start picking")
        page.click(f"{card} >> text=Picked: ready for pickup")
        page.wait_for_selector(".messages .success")
        save_screenshot(page, "store-pickups-ready-phone")
        code = re.search(r"\b(\d{6})\b", "\n".join(m.body for m in mail.outbox)).group(1)  # type: ignore[union-attr]
        page.fill(f"{card} input[name=code]", code)
        page.click(f"{card} >> text=Hand over")
        page.wait_for_selector(".messages .success")
        assert f"{number}: handed over." in page.inner_text(".messages")
        assert Fulfillment.objects.get(order=placed.order).status == "picked_up"
    finally:
        page.context.close()


def test_in_store_return_of_an_online_order(live_server, browser, orders_shop) -> None:  # type: ignore[no-untyped-def]
    shop = orders_shop
    shop.receive(shop.warehouse, shop.m, 2)
    placed = orders.order_place(
        channel_code="webshop",
        lines=[orders.LineInput(sku=shop.m.sku, quantity=1)],
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
    orders.fulfillment_ship(fulfillment_id=fulfillment.pk, carrier="PostNL", tracking_number="3S1")
    page = _phone(browser, live_server.url, shop.amsterdam)
    try:
        page.click("nav >> text=Returns")
        page.fill("input[name=q]", "eva@example.com")
        page.keyboard.press("Enter")
        page.click(f"text={placed.order.number}")
        line = placed.order.lines.get()
        page.fill(f"input[name=qty-{line.pk}]", "1")
        page.fill("#reason", "too big")
        save_screenshot(page, "store-return-phone")
        page.click("text=Receive and refund")
        page.wait_for_selector(".messages .success")
        assert "refund of 19.99 EUR" in page.inner_text(".messages")
        assert Refund.objects.get().amount == line.unit_price
        assert shop.level(shop.amsterdam, shop.m) == (1, 0)
    finally:
        page.context.close()
