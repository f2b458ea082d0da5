"""In a real Chromium: a merchandiser who also counts stock picks variant options from the
axes' selects, generates the variant matrix, and edits prices and stock in the grid."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import pytest
from django.contrib.auth.models import Group, User

from catalog.models import Price, Variant
from config import roles
from inventory.models import Location, StockLevel, StockMovement
from tests.browser import save_screenshot
from tests.catalog.factories import complete_product
from tests.factories import ChannelFactory, LocationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-demo-password"


def _login(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def _staff(username: str, *role_names: str) -> User:
    user = cast(User, UserFactory(username=username, password=PASSWORD))
    for role in role_names:
        user.groups.add(Group.objects.get(name=role))
    return user


def test_axis_selects_and_the_variant_matrix(live_server, page) -> None:  # type: ignore[no-untyped-def]
    webshop = ChannelFactory(code="webshop", currency="EUR")
    product = complete_product(webshop)  # S / Navy and M / Navy
    _staff("mara", roles.MERCHANDISER)
    base = live_server.url
    _login(page, base, "mara")

    # the options are selects of the axes' options; changing one saves it
    page.goto(f"{base}/admin/catalog/product/{product.pk}/change/")
    assert page.locator("#id_variants-0-options").count() == 0
    assert page.locator("#id_variants-0-option__size option").all_inner_texts() == [
        "---------",
        "S",
        "M",
        "L",
    ]
    page.select_option("#id_variants-1-option__color", "white")
    save_screenshot(page, "variant-options")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    assert Variant.objects.get(sku="ORGANIC-TEE-M").options == {"size": "m", "color": "white"}

    # the matrix: pick values, preview, change a SKU, confirm
    page.click("text=Generate variants from axis values")
    page.wait_for_selector("#variant-matrix")
    assert page.is_checked("#axis-size input[value=m]")  # values in use come checked
    page.uncheck("#axis-size input[value=m]")
    page.check("#axis-size input[value=l]")
    page.check("#axis-color input[value=navy]")
    page.check("#axis-color input[value=white]")
    page.click("input[name=preview]")
    page.wait_for_selector("#matrix-new")
    new_rows = page.locator("#matrix-new tbody tr td:first-child").all_inner_texts()
    assert new_rows == ["S / White", "L / Navy", "L / White"]
    assert page.locator("#matrix-existing li").all_inner_texts() == ["S / Navy: ORGANIC-TEE-S"]
    assert page.input_value("input[name='sku:size=l&color=navy']") == "ORGANIC-TEE-L-NAVY"
    page.fill("input[name='sku:size=l&color=white']", "TEE-LARGE-WHITE")
    save_screenshot(page, "variant-matrix")
    page.click("input[name=confirm]")
    page.wait_for_selector(".messagelist .success")
    assert "3 variant(s) created; 1 combination(s) already existed" in page.inner_text(
        ".messagelist"
    )
    assert sorted(product.variants.values_list("sku", flat=True)) == [
        "ORGANIC-TEE-L-NAVY",
        "ORGANIC-TEE-M",
        "ORGANIC-TEE-S",
        "ORGANIC-TEE-S-WHITE",
        "TEE-LARGE-WHITE",
    ]
    # the new rows are on the product page with their selects set
    assert page.input_value("#id_variants-4-option__size") == "l"


def test_the_prices_and_stock_grid(live_server, page) -> None:  # type: ignore[no-untyped-def]
    webshop = ChannelFactory(code="webshop", currency="EUR")
    product = complete_product(webshop)
    warehouse = cast(Location, LocationFactory(code="wh", kind="warehouse"))
    LocationFactory(code="ams")
    user = _staff("nina", roles.MERCHANDISER, roles.INVENTORY_MANAGER)
    s = product.variants.get(sku="ORGANIC-TEE-S")
    base = live_server.url
    _login(page, base, "nina")

    page.goto(f"{base}/admin/catalog/product/{product.pk}/change/")
    page.click("text=Edit prices and stock in a grid")
    page.wait_for_selector("#variant-grid")
    headers = page.locator("#variant-grid thead tr:nth-child(2) th").all_text_contents()
    assert headers == ["webshop (EUR)", "ams", "wh"]  # the admin's CSS shows them upper case
    row = "#variant-grid tr[data-sku='ORGANIC-TEE-S']"
    price = f"{row} input[name^='price:']"
    stock = f"{row} input[name='stock:{s.pk}:{warehouse.pk}']"
    assert page.input_value(price) == "19.99"

    # a price and a stock cell, saved together
    page.fill(price, "22.50")
    page.fill(stock, "12")
    page.fill("#id_reason", "shelf count")
    page.click("#variant-grid-form input[type=submit]")
    page.wait_for_selector(".messagelist .success")
    assert "Saved 1 price(s) and 1 stock count(s)." in page.inner_text(".messagelist")
    assert page.input_value(price) == "22.50" and page.input_value(stock) == "12"
    assert Price.objects.get(variant=s, channel=webshop).amount == Decimal("22.50")
    assert StockLevel.objects.get(variant=s, location=warehouse).on_hand == 12
    movement = StockMovement.objects.get(stock__variant=s, stock__location=warehouse)
    assert (movement.kind, movement.reason, movement.actor_user_id) == (
        "count",
        "shelf count",
        user.pk,
    )
    save_screenshot(page, "variant-grid")

    # a bad cell: its own error, and the good cell next to it is not saved either
    page.fill(price, "cheap")
    page.fill(stock, "15")
    page.click("#variant-grid-form input[type=submit]")
    page.wait_for_selector("#variant-grid td.has-error")
    assert page.inner_text("#variant-grid td.has-error .errorlist") == (
        "“cheap” is not a price: enter an amount such as 19.99."
    )
    assert "Nothing was saved" in page.inner_text(".messagelist")
    assert page.input_value(stock) == "15"  # what was typed stays on the page
    assert StockLevel.objects.get(variant=s, location=warehouse).on_hand == 12
    assert Price.objects.get(variant=s, channel=webshop).amount == Decimal("22.50")
    save_screenshot(page, "variant-grid-error")
