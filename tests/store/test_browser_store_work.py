"""In a real Chromium on a phone: an associate releases a partner's hold, picks, packs and ships
a parcel from the store, and asks the warehouse for stock. A screenshot of each screen is saved
as an artifact (artifacts/screenshots/store-{holds,shipments,transfers}-phone.png)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from inventory import services as stock
from inventory.models import StockHold, Transfer
from orders import services as orders
from orders.models import Fulfillment
from tests.browser import save_screenshot
from tests.factories import STORE_PASSWORD as PASSWORD
from tests.factories import UserFactory
from tests.shop import Shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = 375


def _phone(browser: Any, base: str, store: Any) -> Any:
    user: Any = UserFactory(username="ana", password=PASSWORD, is_staff=False)
    user.groups.add(Group.objects.get(name="Store associate"))
    stock.staff_member_assign(user_id=user.pk, location=store)
    context = browser.new_context(viewport={"width": PHONE, "height": 812})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{base}/store/login/")
    page.fill("#id_username", "ana")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#q")
    return page


def _fits(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE  # no sideways scroll


def test_holds_ship_from_store_and_a_transfer_request_on_a_phone(  # type: ignore[no-untyped-def]
    live_server, browser, orders_shop, api_client_for
) -> None:
    shop: Shop = orders_shop
    shop.receive(shop.amsterdam, shop.s, 5)
    partner = api_client_for(channels=[shop.channel])
    held = partner.post(
        "/api/v1/stock/holds/",
        {
            "reference": "checkout-9",
            "lines": [{"location": shop.amsterdam.code, "sku": shop.s.sku, "quantity": 2}],
        },
        format="json",
    )
    assert held.status_code == 201, held.content
    placed = orders.order_place(
        channel_code="webshop",
        lines=[orders.LineInput(sku=shop.s.sku, quantity=1)],
        method="ship",
        address={"name": "Eva", "line1": "Damrak 1", "city": "Amsterdam", "country": "NL"},
        customer=orders.CustomerInput(email="eva@example.com", name="Eva"),
    )
    number = placed.order.number
    fulfillment = Fulfillment.objects.get(order=placed.order)
    assert fulfillment.location_id == shop.amsterdam.pk
    page = _phone(browser, live_server.url, shop.amsterdam)
    try:
        # holds: the partner's hold is listed with who made it, then released
        page.click("nav >> text=Holds")
        hold = StockHold.objects.get(reference__endswith="checkout-9")
        card = f"[data-testid='hold-{hold.pk}']"
        assert partner.partner.name in page.inner_text(card) and "checkout-9" in page.inner_text(
            card
        )
        _fits(page)
        save_screenshot(page, "store-holds-phone")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click(f"{card} >> text=Release")
        page.wait_for_selector(".messages .success")
        assert "2 x ORGANIC-TEE-S released" in page.inner_text(".messages")
        hold.refresh_from_db()
        assert hold.status == "released"

        # ship from store: pick, pack, then ship with carrier and tracking
        page.click("nav >> text=Ship")
        parcel = f"[data-testid='parcel-{number}']"
        page.click(f"{parcel} >> text=Start picking")
        page.wait_for_selector(".messages .success")
        page.click(f"{parcel} >> button:has-text('Packed')")
        page.wait_for_selector(".messages .success")
        assert f"{number}: packed" in page.inner_text(".messages")
        page.fill(f"{parcel} input[name=carrier]", "PostNL")
        page.fill(f"{parcel} input[name=tracking_number]", "3SPHONE1")
        _fits(page)
        save_screenshot(page, "store-shipments-phone")
        page.click(f"{parcel} >> button:has-text('Shipped')")
        page.wait_for_selector(".messages .success")
        assert f"{number}: shipped" in page.inner_text(".messages")
        fulfillment.refresh_from_db()
        assert (fulfillment.status, fulfillment.tracking_number) == ("shipped", "3SPHONE1")
        assert shop.level(shop.amsterdam, shop.s) == (4, 0)

        # a transfer request to the warehouse (this store is not offered as a source)
        page.click("nav >> text=Transfers")
        offered = page.eval_on_selector_all("#id_source option", "items => items.map(o => o.value)")
        assert str(shop.warehouse.pk) in offered and str(shop.amsterdam.pk) not in offered
        page.select_option("#id_source", str(shop.warehouse.pk))
        page.fill("#id_lines", "ORGANIC-TEE-M 3\nORGANIC-TEE-L")
        page.fill("#id_note", "weekend")
        page.click("text=Request transfer")
        page.wait_for_selector(".messages .success")
        transfer = Transfer.objects.get()
        assert f"Transfer #{transfer.pk} requested from {shop.warehouse.name}" in page.inner_text(
            ".messages"
        )
        assert "ORGANIC-TEE-M \u00d7 3" in page.inner_text(
            f"[data-testid='requested-{transfer.pk}']"
        )
        _fits(page)
        save_screenshot(page, "store-transfers-phone")
        assert (transfer.source_id, transfer.destination_id, transfer.status) == (
            shop.warehouse.pk,
            shop.amsterdam.pk,
            "draft",
        )
    finally:
        page.context.close()
