"""In a real Chromium at phone and tablet widths: an associate logs in, finds stock and counts a
shelf; screenshots of the main screens are saved as artifacts (see docs/store.md)."""

from __future__ import annotations

import pytest

from inventory.models import StockMovement
from tests.browser import save_screenshot
from tests.factories import STORE_PASSWORD as PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("device", "width", "height"), [("phone", 375, 812), ("tablet", 768, 1024)]
)
def test_find_stock_and_count_a_shelf(live_server, browser, shop, device, width, height) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        base = live_server.url
        page.goto(f"{base}/store/")
        page.fill("#id_username", "sam")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#q")
        save_screenshot(page, f"store-home-{device}")

        page.fill("#q", "harbuor")  # a typo
        page.keyboard.press("Enter")
        page.click("text=Harbour Tee")
        page.wait_for_selector("[data-testid='here-HARBOUR-S-NAVY']")
        assert page.inner_text("[data-testid='here-HARBOUR-S-NAVY']") == "3"
        assert (
            page.evaluate("document.documentElement.scrollWidth") <= width
        )  # no sideways scrolling
        save_screenshot(page, f"store-product-{device}")

        page.click("nav >> text=Count")
        page.fill("#id_code", "HARBOUR-S-NAVY")
        page.fill("#id_counted", "2")
        page.click("button[type=submit]")
        page.wait_for_selector(".messages .success")
        assert "HARBOUR-S-NAVY: 2 on hand here (-1 recorded)." in page.inner_text(".messages")
        save_screenshot(page, f"store-count-{device}")
        assert StockMovement.objects.filter(kind="count", on_hand_delta=-1).count() == 1
    finally:
        context.close()
