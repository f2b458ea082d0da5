"""Journey 11, exchange anywhere: a customer who bought online swaps a size in a store. The return
and the new item are one exchange: taken from the store's shelf on the store page (on a phone),
or, through the partner API, shipped, its RMA received later in another store without a refund
(the returned units paid for the new item). An exchange for an unknown SKU changes nothing.

Runs on SQLite and PostgreSQL, in Chromium."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from inventory import services as stock
from tests.browser import save_screenshot
from tests.journeys.steps import staff_user, store_phone
from tests.shop import Shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _history(client: APIClient, customer_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/customers/{customer_id}/orders/")
    assert response.status_code == 200, response.content
    return list(response.json()["results"])


def _available(client: APIClient, sku: str, location: str) -> int:
    (row,) = client.get("/api/v1/availability/", {"sku": sku}).json()["results"]
    return int(next(loc["available"] for loc in row["locations"] if loc["code"] == location))


def test_swap_a_size_in_store_then_ship_another_swap(
    live_server: Any, browser: Any, shop: Shop, api_client_for: Callable[..., APIClient]
) -> None:
    shop.receive(shop.warehouse, shop.m, 1)
    shop.receive(shop.warehouse, shop.s, 1)
    shop.receive(shop.amsterdam, shop.l, 1)
    webshop = api_client_for(channels=[shop.channel])

    # bought online, paid, delivered
    placed = webshop.post(
        "/api/v1/orders/",
        {
            "channel": "webshop",
            "external_id": "WEB-11001",
            "customer": {"email": "sam@example.com", "name": "Sam"},
            "lines": [{"sku": "ORGANIC-TEE-M", "quantity": 1}],
            "fulfillment": {"method": "ship", "address": {"country": "NL", "city": "Haarlem"}},
            "payment_status": "captured",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="j11-order",
    )
    assert placed.status_code == 201, placed.content
    number, customer_id = placed.json()["number"], placed.json()["customer_id"]
    fulfillment_id = placed.json()["fulfillments"][0]["id"]
    for action, body in (("ship", {"carrier": "DHL", "tracking_number": "JD11"}), ("deliver", {})):
        done = webshop.post(
            f"/api/v1/orders/{number}/fulfillments/{fulfillment_id}/{action}/", body, format="json"
        )
        assert done.status_code == 200, done.content

    # in the Amsterdam store: M is too tight, L is on the shelf
    page = store_phone(browser, live_server.url, shop.amsterdam, "ana")
    try:
        page.click("nav >> text=Returns")
        page.fill("input[name=q]", "sam@example.com")
        page.press("input[name=q]", "Enter")
        page.click(f"text={number}")
        page.click("text=Exchange for another size instead")
        page.select_option("#return_sku", "ORGANIC-TEE-M")
        page.select_option("#new_sku", "ORGANIC-TEE-L")
        page.select_option("#disposition", "restock")
        page.check("input[name=method][value=carry_out]")
        save_screenshot(page, "j11-store-exchange-phone")
        page.click("button:has-text('Exchange')")
        page.wait_for_selector(".messages .success")
        message = page.inner_text(".messages")
        assert "Exchange made" in message and "nothing to pay" in message
        save_screenshot(page, "j11-store-exchange-done-phone")
    finally:
        page.context.close()

    history = _history(webshop, customer_id)
    assert len(history) == 2
    new, original = history
    assert original["number"] == number
    assert (new["fulfillment_method"], new["status"], new["total"], new["discount_total"]) == (
        "carry_out",
        "completed",
        "0.00",
        "19.99",
    )
    assert [(f["location"], f["status"]) for f in new["fulfillments"]] == [
        ("ams-central", "carried_out")
    ]
    (swap_return,) = original["returns"]
    assert (swap_return["status"], swap_return["location"], swap_return["refunds"]) == (
        "received",
        "ams-central",
        [],
    )
    assert "exchange" in [event["kind"] for event in original["timeline"]]
    assert _available(webshop, "ORGANIC-TEE-L", "ams-central") == 0  # taken from the shelf
    assert _available(webshop, "ORGANIC-TEE-M", "ams-central") == 1  # the returned M, for sale

    # an exchange for a SKU nobody sells is refused and changes nothing
    unknown = webshop.post(
        f"/api/v1/orders/{new['number']}/exchanges/",
        {
            "return_sku": "ORGANIC-TEE-L",
            "new_sku": "ORGANIC-TEE-XXL",
            "location": "ams-central",
            "fulfillment": {"method": "carry_out"},
        },
        format="json",
    )
    assert (unknown.status_code, unknown.json()["code"]) == (400, "exchange_invalid")
    assert unknown.json()["errors"][0]["code"] == "unknown_sku"
    assert len(_history(webshop, customer_id)) == 2

    # back home the L is too big: the webshop ships an S and the L goes back to any store later
    shipped = webshop.post(
        f"/api/v1/orders/{new['number']}/exchanges/",
        {
            "return_sku": "ORGANIC-TEE-L",
            "new_sku": "ORGANIC-TEE-S",
            "location": "utr-oudegracht",
            "fulfillment": {"method": "ship", "address": {"country": "NL", "city": "Haarlem"}},
            "reason": "too big",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="j11-second-swap",
    )
    assert shipped.status_code == 201, shipped.content
    second = shipped.json()
    assert second["return"]["status"] == "authorized"
    assert (second["order"]["fulfillment_method"], second["order"]["total"]) == ("ship", "0.00")
    assert [f["location"] for f in second["order"]["fulfillments"]] == ["wh-rotterdam"]

    # the L is handed in at the Utrecht store: received there, nothing refunded
    associate = staff_user("uma", "Store associate", is_staff=False)
    stock.staff_member_assign(user_id=associate.pk, location=shop.utrecht)
    utrecht = Client()
    utrecht.force_login(associate)
    rma = second["return"]["rma"]
    found = utrecht.get("/store/returns/", {"q": rma}).content.decode()
    assert f'data-testid="rma-{rma}"' in found
    form_page = utrecht.get(f"/store/returns/rma/{rma}/").content.decode()
    assert "Part of an exchange" in form_page
    token = form_page.split('name="token" value="')[1].split('"')[0]
    line_id = second["return"]["lines"][0]["id"]
    received = utrecht.post(
        f"/store/returns/rma/{rma}/",
        {"token": token, f"disposition-{line_id}": "restock"},
        follow=True,
    ).content.decode()
    assert "nothing to refund (an exchange)" in received
    final = webshop.get(f"/api/v1/returns/{rma}/").json()
    assert (final["status"], final["location"], final["refunds"]) == (
        "received",
        "utr-oudegracht",
        [],
    )
    assert _available(webshop, "ORGANIC-TEE-L", "utr-oudegracht") == 1
    assert len(_history(webshop, customer_id)) == 3
