"""In a real Chromium on a phone: an RMA authorised online, found by order number and received
in the store (refunded to the card), and a size exchange at the counter taken from this store's
shelf. Screenshots are saved as artifacts."""

from __future__ import annotations

from typing import Any

import pytest

from orders import services as orders
from orders.models import Order, Refund, Return
from tests.browser import save_screenshot
from tests.journeys.steps import store_phone
from tests.shop import Shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shipped(shop: Shop) -> Order:
    shop.receive(shop.warehouse, shop.m, 2)
    order = orders.order_place(
        channel_code="webshop",
        lines=[orders.LineInput(shop.m.sku, 2)],
        method="ship",
        address={"name": "Eva", "line1": "Damrak 1", "city": "Amsterdam", "country": "NL"},
        customer=orders.CustomerInput(email="eva@example.com", name="Eva"),
        payment_status="captured",
    ).order
    orders.fulfillment_ship(
        fulfillment_id=order.fulfillments.get().pk, carrier="PostNL", tracking_number="3S"
    )
    return order


def test_receive_an_online_rma_on_a_phone(
    live_server: Any, browser: Any, orders_shop: Shop
) -> None:
    shop = orders_shop
    order = _shipped(shop)
    rma = orders.return_create(
        order_id=order.pk,
        lines=[orders.ReturnLineInput(shop.m.sku, 1)],
        location_code="wh-rotterdam",
        reason="too big",
    )
    page = store_phone(browser, live_server.url, shop.amsterdam, "ana")
    try:
        page.click("nav >> text=Returns")
        page.fill("input[name=q]", order.number)
        page.press("input[name=q]", "Enter")
        page.click(f"[data-testid='rma-{rma.rma}']")
        page.select_option(f"select[aria-label='Condition of {shop.m.sku}']", "restock")
        save_screenshot(page, "store-rma-receive-phone")
        page.click("text=Receive and refund")
        page.wait_for_selector(".messages .success")
        assert "refund of 19.99 EUR to the original card" in page.inner_text(".messages")
        save_screenshot(page, "store-rma-received-phone")
        # the page fits the phone: nothing wider than the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        page.context.close()
    rma.refresh_from_db()
    assert (rma.status, rma.location_id) == ("received", shop.amsterdam.pk)
    assert Return.objects.count() == 1
    assert Refund.objects.get().payment.tender == "card"  # type: ignore[union-attr]
    assert shop.level(shop.amsterdam, shop.m) == (1, 0)


def test_exchange_a_size_from_the_shelf_on_a_phone(
    live_server: Any, browser: Any, orders_shop: Shop
) -> None:
    shop = orders_shop
    order = _shipped(shop)
    shop.receive(shop.amsterdam, shop.l, 1)
    page = store_phone(browser, live_server.url, shop.amsterdam, "ana")
    try:
        page.click("nav >> text=Returns")
        page.fill("input[name=q]", "eva@example.com")
        page.press("input[name=q]", "Enter")
        page.click(f"text={order.number}")
        page.click("text=Exchange for another size instead")
        page.select_option("#new_sku", shop.l.sku)
        page.fill("#reason", "too tight")
        save_screenshot(page, "store-exchange-phone")
        page.click("button:has-text('Exchange')")
        page.wait_for_selector(".messages .success")
        message = page.inner_text(".messages")
        assert "taken from the shelf here; nothing to pay." in message
        save_screenshot(page, "store-exchange-done-phone")
    finally:
        page.context.close()
    new = Order.objects.get(external_id__startswith="exchange:")
    assert (new.fulfillment_method, new.status, new.lines.get().sku) == (
        "carry_out",
        "completed",
        shop.l.sku,
    )
    assert shop.level(shop.amsterdam, shop.l) == (0, 0)
    assert shop.level(shop.amsterdam, shop.m) == (1, 0)
