"""In a real Chromium: a merchandiser opens the translation editor from the product page, writes
the Dutch texts beside the English ones, and a too-long name is refused with nothing saved."""

from __future__ import annotations

from typing import Any, cast

import pytest
from django.contrib.auth.models import Group, User

from catalog.models import ChannelContent, Product
from config import roles
from tests.browser import save_screenshot
from tests.catalog.factories import complete_product
from tests.factories import ChannelFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-demo-password"


def _columns(product_id: int) -> dict[str, Any]:
    return (
        Product.objects.rewrite(False)  # type: ignore[attr-defined]
        .filter(pk=product_id)
        .values("name", "name_en", "name_nl", "description_nl", "status")
        .get()
    )


def test_the_side_by_side_translation_editor(live_server, page) -> None:  # type: ignore[no-untyped-def]
    webshop = ChannelFactory(code="webshop", name="Webshop NL", locale="nl-NL")
    product = complete_product(webshop, name="Organic Tee")
    ChannelContent.objects.create(product=product, channel=webshop, title="Organic Tee online")
    user = cast(User, UserFactory(username="mara", password=PASSWORD))
    user.groups.add(Group.objects.get(name=roles.MERCHANDISER))
    base = live_server.url
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "mara")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")

    # the product page shows completeness per language and links to the editor
    page.goto(f"{base}/admin/catalog/product/{product.pk}/change/")
    assert "nl " in page.locator("text=per language").locator("xpath=ancestor::table").inner_text()
    page.click("#translations-link")
    page.wait_for_selector("#translation-form")
    # English beside Dutch, for the product and its channel content
    assert page.locator("tr[data-field=name] .source").inner_text() == "Organic Tee"
    assert page.locator("tr[data-field='channel_content.webshop.title'] .source").inner_text() == (
        "Organic Tee online"
    )
    page.fill("input[name='product.name']", "Biologisch shirt")
    page.fill("textarea[name='product.description']", "Zacht biologisch katoen.")
    page.fill("input[name='channel_content.webshop.title']", "Bio shirt online")
    save_screenshot(page, "translation-editor")
    page.click("#translation-form input[type=submit]")
    page.wait_for_selector(".messagelist .success")
    stored = _columns(product.pk)
    assert (stored["name"], stored["name_en"], stored["name_nl"], stored["description_nl"]) == (
        "Organic Tee",
        "Organic Tee",
        "Biologisch shirt",
        "Zacht biologisch katoen.",
    )
    content = ChannelContent.objects.rewrite(False).values("title", "title_nl").get()  # type: ignore[attr-defined]
    assert content == {"title": "Organic Tee online", "title_nl": "Bio shirt online"}

    # a French name longer than the field allows is refused, naming the field; nothing saved
    page.click("#language-picker a[data-language=fr]")
    page.wait_for_selector("#translation-form")
    page.evaluate(
        "document.querySelector(\"input[name='product.name']\").removeAttribute('maxlength')"
    )
    page.fill("input[name='product.name']", "x" * 300)
    page.fill("textarea[name='product.description']", "Coton bio.")
    page.click("#translation-form input[type=submit]")
    page.wait_for_selector(".messagelist .error")
    assert "At most 255 characters" in page.locator("tr[data-field=name] .errorlist").inner_text()
    assert (
        Product.objects.rewrite(False)
        .filter(pk=product.pk)
        .values_list(  # type: ignore[attr-defined]
            "description_fr", flat=True
        )
        .get()
        is None
    )
