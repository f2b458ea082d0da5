"""In a real Chromium: a merchandiser takes a product from creation to approved and published on
a channel entirely in the admin; a catalog approver approves it."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth.models import Group
from PIL import Image

from catalog.models import Category, Product, ProductPublication
from tests.browser import save_screenshot
from tests.catalog.factories import apparel_type
from tests.factories import ChannelFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-demo-password"


def _login(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def _autocomplete(page: Any, field: str, text: str) -> None:
    """Pick ``text`` in a Django admin autocomplete (select2) field."""
    page.click(f"#id_{field} + .select2 .select2-selection")
    page.fill(".select2-container--open .select2-search__field", text)
    page.wait_for_selector(f".select2-results__option:has-text('{text}')")
    page.keyboard.press("Enter")


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), "#1f2a44").save(buffer, format="JPEG")
    return buffer.getvalue()


def test_from_creation_to_published_in_the_admin(live_server, page) -> None:  # type: ignore[no-untyped-def]
    webshop = ChannelFactory(code="webshop", currency="EUR")
    apparel_type(required_for=[webshop])
    Category.objects.add_root(
        {"name": "Apparel", "full_name": "Apparel & Accessories", "google_id": 166}
    )
    for username, role in [("mara", "Merchandiser"), ("ahmed", "Catalog approver")]:
        UserFactory(username=username, password=PASSWORD).groups.add(Group.objects.get(name=role))
    base = live_server.url

    # the merchandiser creates the product
    _login(page, base, "mara")
    page.goto(f"{base}/admin/catalog/product/add/")
    page.fill("#id_name", "Harbour Tee")
    page.fill("#id_brand", "Acme")
    page.fill("#id_description", "Heavy organic cotton.")
    _autocomplete(page, "category", "Apparel")
    _autocomplete(page, "product_type", "T-shirt")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    product = Product.objects.get(name="Harbour Tee")
    assert (product.handle, product.status) == ("harbour-tee", "draft")

    # typed attributes of its product type, a variant and an image, on the same page
    page.fill("#id_attr__material", "Cotton")
    page.click("#variants-group .add-row a")
    page.fill("#id_variants-0-sku", "HARBOUR-M")
    page.select_option("#id_variants-0-option__size", "m")
    page.select_option("#id_variants-0-option__color", "navy")
    page.click("#media-group .add-row a")
    page.set_input_files(
        "#id_media-0-image",
        files=[{"name": "tee.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}],
    )
    page.fill("#id_media-0-alt_text", "Harbour Tee, navy, front")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    assert "a EUR price on HARBOUR-M" in page.inner_text(".field-completeness_table")
    save_screenshot(page, "catalog-product-before-price")

    # the price, on the variant's page
    page.click("#variants-group a.inlinechangelink")
    page.select_option("#id_prices-0-channel", label=str(webshop))
    page.fill("#id_prices-0-amount", "24.95")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    page.goto(f"{base}/admin/catalog/product/{product.pk}/change/")
    assert "webshop" in page.inner_text(".field-completeness_table")
    assert "100%" in page.inner_text(".field-completeness_table")

    # submit for review; publishing is refused until approved, with the reason
    changelist = f"{base}/admin/catalog/product/"

    def act(action: str, channel: str = "") -> str:
        page.goto(changelist)
        page.check(f"input[name=_selected_action][value='{product.pk}']")
        page.select_option("select[name=action]", action)
        if channel:
            page.select_option("select[name=channel]", channel)
        page.click("button[name=index]")
        page.wait_for_selector(".messagelist li")
        return str(page.inner_text(".messagelist"))

    assert "submitted for review" in act("submit_for_review")
    assert "needs approval (it is in review)" in act("publish", "webshop")

    # the approver approves
    _login(page, base, "ahmed")
    assert "1 product(s) approved" in act("approve")

    # the merchandiser publishes
    _login(page, base, "mara")
    assert "published on webshop" in act("publish", "webshop")
    assert ProductPublication.objects.filter(product=product, channel=webshop).exists()
    page.goto(changelist)
    assert "webshop" in page.inner_text(
        "#result_list tr:has-text('Harbour Tee') td.field-channels_column"
    )
    save_screenshot(page, "catalog-changelist-published")
    product.refresh_from_db()
    assert product.approved_snapshot["variants"][0]["sku"] == "HARBOUR-M"
