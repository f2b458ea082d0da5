"""Journey 10, the till: a customer who already buys online walks into a store and buys at the
till. The associate (store page, on a phone) scans the item, finds her by phone, spends some of
her points and takes her card; the unit leaves that store, points are earned, the receipt is
printed and emailed, and the sale joins her history next to her online order (partner API). She
then returns it online: the webshop authorises the return to the warehouse, which receives it,
and the refund takes back the points it earned.

Public interfaces only: the partner API with real keys, the store page in Chromium.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from tests.browser import save_screenshot
from tests.journeys.steps import store_phone
from tests.shop import Shop
from tests.till import pos_channel_add

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "+31 6 4444 5555"
TEE_M = "ORGANIC-TEE-M"


def _on_hand(client: APIClient, location: str) -> int:
    response = client.get(f"/api/v1/stock/{location}/{TEE_M}/")
    assert response.status_code == 200, response.content
    return int(response.json()["on_hand"])


def _balance(client: APIClient, customer_id: int) -> int:
    response = client.get(f"/api/v1/customers/{customer_id}/loyalty/")
    assert response.status_code == 200, response.content
    return int(response.json()["balance"])


def test_a_walk_in_buys_at_the_till_and_returns_it_online(
    live_server: Any, browser: Any, shop: Shop, api_client_for: Callable[..., APIClient]
) -> None:
    pos_channel_add(shop)
    shop.receive(shop.warehouse, shop.m, 5)
    shop.receive(shop.amsterdam, shop.m, 2)
    # one retailer: its webshop and its stores' tills are channels of one partner
    retailer = api_client_for(channels=["webshop", "pos"])

    # 1. she buys online; the warehouse ships and the parcel arrives: points earned
    placed = retailer.post(
        "/api/v1/orders/",
        {
            "channel": "webshop",
            "external_id": "WEB-10001",
            "customer": {"email": "noor@example.com", "phone": PHONE, "name": "Noor"},
            "lines": [{"sku": TEE_M, "quantity": 5}],
            "fulfillment": {"method": "ship", "address": {"country": "NL", "city": "Haarlem"}},
            "payment_status": "captured",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="j10-web",
    )
    assert placed.status_code == 201, placed.content
    online = placed.json()
    customer_id = online["customer_id"]
    (parcel,) = online["fulfillments"]
    base = f"/api/v1/orders/{online['number']}/fulfillments/{parcel['id']}"
    shipped = retailer.post(
        f"{base}/ship/", {"carrier": "PostNL", "tracking_number": "3S10"}, format="json"
    )
    assert shipped.status_code == 200, shipped.content
    assert retailer.post(f"{base}/deliver/", {}, format="json").json()["status"] == "completed"
    assert _balance(retailer, customer_id) == 99  # 5 x 19.99, one point per euro
    store_before = _on_hand(retailer, "ams-central")
    warehouse_before = _on_hand(retailer, "wh-rotterdam")

    # 2. in Amsterdam, the associate sells her one M at the till on a phone
    page = store_phone(browser, live_server.url, shop.amsterdam, "ines")
    try:
        page.click("nav >> text=Till")
        page.fill("#till-code", TEE_M)
        page.keyboard.press("Enter")
        page.wait_for_selector(f"[data-testid='line-{TEE_M}']")
        page.fill("input[name=q]", "06 4444 5555")  # the phone number as she says it
        page.keyboard.press("Enter")
        page.click(f"[data-testid='found-{customer_id}'] >> text=Sell to this customer")
        page.wait_for_selector("[data-testid='till-customer']")
        assert page.inner_text("[data-testid='balance']") == "99"
        page.fill("#till-points", "99")
        page.click("button:text-is('Redeem')")
        page.wait_for_selector("[data-testid='total'] >> text=19.00 EUR")
        page.select_option("#till-tender", "card")
        page.fill("#till-reference", "TERM-1010")
        page.click("text=Take payment")
        page.wait_for_selector("[data-testid='receipt']")
        receipt = page.inner_text("[data-testid='receipt']")
        number = page.url.rstrip("/").rsplit("/", 1)[-1]
        assert f"Receipt {number}" in receipt and "Paid by card" in receipt
        assert page.inner_text("[data-testid='receipt-total']") == "19.00"
        assert "Receipt e-mailed to noor@example.com" in page.inner_text("main")
        save_screenshot(page, "journey-10-till-receipt-phone")
    finally:
        page.context.close()

    # 3. the unit left that store (and only that store); points were spent and earned
    assert _on_hand(retailer, "ams-central") == store_before - 1
    assert _on_hand(retailer, "wh-rotterdam") == warehouse_before
    assert _balance(retailer, customer_id) == 99 - 99 + 19
    # the receipt was emailed once
    assert [m.subject for m in mail.outbox if number in m.subject] == [f"Your receipt {number}"]

    # 4. the sale is in her history next to her online order, with its card payment
    history = retailer.get(f"/api/v1/customers/{customer_id}/orders/")
    assert history.status_code == 200, history.content
    by_number = {order["number"]: order for order in history.json()["results"]}
    assert set(by_number) == {online["number"], number}
    sale = by_number[number]
    assert (sale["channel"], sale["fulfillment_method"], sale["status"]) == (
        "pos",
        "carry_out",
        "completed",
    )
    assert [(p["tender"], p["amount"], p["provider_reference"]) for p in sale["payments"]] == [
        ("card", "19.00", "TERM-1010")
    ]
    assert by_number[online["number"]]["channel"] == "webshop"

    # 5. she returns it online: the webshop authorises the return to the warehouse
    authorised = retailer.post(
        "/api/v1/returns/",
        {
            "order": number,
            "location": "wh-rotterdam",
            "reason": "wrong colour",
            "lines": [{"sku": TEE_M, "quantity": 1}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="j10-return",
    )
    assert authorised.status_code == 201, authorised.content
    rma = authorised.json()["rma"]
    (line,) = authorised.json()["lines"]
    received = retailer.post(
        f"/api/v1/returns/{rma}/receive/",
        {"lines": [{"id": line["id"], "disposition": "restock"}]},
        format="json",
    )
    assert received.status_code == 200, received.content
    refunded = retailer.post(
        f"/api/v1/orders/{number}/refunds/",
        {"lines": [{"sku": TEE_M, "quantity": 1}], "rma": rma},
        format="json",
        HTTP_IDEMPOTENCY_KEY="j10-refund",
    )
    assert refunded.status_code == 201, refunded.content
    assert refunded.json()["amount"] == "19.00"  # what she paid, not the points' share
    # a second return of the same unit is refused with a stable code
    again = retailer.post(
        "/api/v1/returns/",
        {"order": number, "location": "ams-central", "lines": [{"sku": TEE_M, "quantity": 1}]},
        format="json",
    )
    assert again.status_code == 400 and again.json()["code"] == "return_invalid"
    assert _on_hand(retailer, "wh-rotterdam") == warehouse_before + 1
    assert _on_hand(retailer, "ams-central") == store_before - 1
    assert _balance(retailer, customer_id) == 99 - 99  # the 19 earned on the sale taken back
    history = retailer.get(f"/api/v1/customers/{customer_id}/orders/").json()["results"]
    sale = next(order for order in history if order["number"] == number)
    assert [r["rma"] for r in sale["returns"]] == [rma]
    assert sale["amount_refunded"] == "19.00"
