"""Journey 4, return anywhere: a shopper returns part of an online order in a store. The webshop
authorises one RMA through the partner API; the associate finds it on the store page (on a
phone) by the customer's phone number, inspects each unit (back on sale in this store, or
damaged) and receives it, which refunds it once to the original card payment. Later partial
refunds are allowed, never more than was paid, and a return of more than was bought is refused.

Runs on SQLite and PostgreSQL, in Chromium."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.browser import save_screenshot
from tests.journeys.steps import store_phone
from tests.shop import Shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "+31 6 2222 3333"


def _available(client: APIClient, sku: str, location: str) -> int:
    response = client.get("/api/v1/availability/", {"sku": sku})
    assert response.status_code == 200, response.content
    (row,) = response.json()["results"]
    return next(loc["available"] for loc in row["locations"] if loc["code"] == location)


def test_an_online_order_returned_in_a_store_is_refunded_once_to_the_card(
    live_server: Any, browser: Any, shop: Shop, api_client_for: Callable[..., APIClient]
) -> None:
    shop.receive(shop.warehouse, shop.s, 1)
    shop.receive(shop.warehouse, shop.m, 2)
    webshop = api_client_for(channels=[shop.channel])
    wms = api_client_for(channels=[shop.channel], scopes=["orders:read", "orders:write"])

    # the shopper buys 1 x S and 2 x M online, paid by card; the warehouse ships it
    placed = webshop.post(
        "/api/v1/orders/",
        {
            "channel": "webshop",
            "external_id": "WEB-4001",
            "customer": {"email": "lena@example.com", "phone": PHONE, "name": "Lena"},
            "lines": [
                {"sku": "ORGANIC-TEE-S", "quantity": 1},
                {"sku": "ORGANIC-TEE-M", "quantity": 2},
            ],
            "fulfillment": {"method": "ship", "address": {"country": "NL", "city": "Delft"}},
            "shipping_total": "4.95",
            "payment_status": "captured",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="j4-order",
    )
    assert placed.status_code == 201, placed.content
    order = placed.json()
    number, (fulfillment,) = order["number"], order["fulfillments"]
    assert order["total"] == "64.92"
    shipped = wms.post(
        f"/api/v1/orders/{number}/fulfillments/{fulfillment['id']}/ship/",
        {"carrier": "PostNL", "tracking_number": "3SJ4"},
        format="json",
    )
    assert shipped.json()["status"] == "shipped"

    # asking to return more than was bought is refused and authorises nothing
    too_many = webshop.post(
        "/api/v1/returns/",
        {
            "order": number,
            "location": "wh-rotterdam",
            "lines": [{"sku": "ORGANIC-TEE-M", "quantity": 3}],
        },
        format="json",
    )
    assert too_many.status_code == 400
    assert too_many.json()["code"] == "return_invalid"
    assert [e["code"] for e in too_many.json()["errors"]] == ["exceeds_returnable"]

    # the webshop authorises one RMA (the shopper said they would post it to the warehouse)
    authorised = webshop.post(
        "/api/v1/returns/",
        {
            "order": number,
            "location": "wh-rotterdam",
            "reason": "too small",
            "lines": [
                {"sku": "ORGANIC-TEE-S", "quantity": 1},
                {"sku": "ORGANIC-TEE-M", "quantity": 1},
            ],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="j4-rma",
    )
    assert authorised.status_code == 201, authorised.content
    rma = authorised.json()["rma"]
    customer_id = order["customer_id"]
    history = webshop.get(f"/api/v1/customers/{customer_id}/orders/").json()["results"]
    assert [[r["rma"] for r in row["returns"]] for row in history] == [[rma]]
    assert _available(webshop, "ORGANIC-TEE-S", "ams-central") == 0

    # ...but brings it to the Amsterdam store, where the associate finds it by phone
    page = store_phone(browser, live_server.url, shop.amsterdam, "ana")
    try:
        page.click("nav >> text=Returns")
        page.fill("input[name=q]", "06 22223333")
        page.press("input[name=q]", "Enter")
        card = page.locator(f"[data-testid='rma-{rma}']")
        assert "to receive" in card.inner_text()
        save_screenshot(page, "j04-store-rma-found-phone")
        card.click()
        page.select_option("select[aria-label='Condition of ORGANIC-TEE-S']", "restock")
        page.select_option("select[aria-label='Condition of ORGANIC-TEE-M']", "damaged")
        save_screenshot(page, "j04-store-rma-inspect-phone")
        page.click("text=Receive and refund")
        page.wait_for_selector(".messages .success")
        message = page.inner_text(".messages")
        assert f"Return {rma} received at ams-central; refund of 39.98 EUR" in message
        assert "to the original card" in message
        assert page.inner_text("[data-testid=rma-status]") == "Received"
        save_screenshot(page, "j04-store-rma-received-phone")
        assert "Receive and refund" not in page.content()  # nothing left to press
    finally:
        page.context.close()

    # one RMA, received in the store, refunded once, against the card payment
    received = webshop.get(f"/api/v1/returns/{rma}/").json()
    assert (received["status"], received["location"]) == ("received", "ams-central")
    assert [(x["sku"], x["disposition"]) for x in received["lines"]] == [
        ("ORGANIC-TEE-S", "restock"),
        ("ORGANIC-TEE-M", "damaged"),
    ]
    assert [r["amount"] for r in received["refunds"]] == ["39.98"]
    history = webshop.get(f"/api/v1/customers/{customer_id}/orders/").json()["results"]
    (row,) = history
    assert [r["rma"] for r in row["returns"]] == [rma]
    assert [(f["amount"], f["payment"]["tender"]) for f in row["returns"][0]["refunds"]] == [
        ("39.98", "card")
    ]
    assert (row["amount_refunded"], row["payment_status"]) == ("39.98", "partially_refunded")
    assert _available(webshop, "ORGANIC-TEE-S", "ams-central") == 1  # back on sale in the store
    assert _available(webshop, "ORGANIC-TEE-M", "ams-central") == 0  # damaged

    # a partial refund later (the other M, kept but faulty): once, whatever the retries
    for _attempt in range(2):
        partial = webshop.post(
            f"/api/v1/orders/{number}/refunds/",
            {"lines": [{"sku": "ORGANIC-TEE-M", "quantity": 1}], "reason": "faulty seam"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="j4-partial",
        )
        assert partial.json()["amount"] == "19.99"
    # and the shipping: now all that was paid is refunded, and nothing more can be
    rest = webshop.post(
        f"/api/v1/orders/{number}/refunds/",
        {"shipping_amount": "4.95"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="j4-shipping",
    )
    assert rest.status_code == 201
    more = webshop.post(
        f"/api/v1/orders/{number}/refunds/",
        {"lines": [{"sku": "ORGANIC-TEE-S", "quantity": 1}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="j4-more",
    )
    assert (more.status_code, more.json()["code"]) == (400, "refund_invalid")
    final = webshop.get(f"/api/v1/orders/{number}/").json()
    assert (final["amount_refunded"], final["amount_captured"], final["payment_status"]) == (
        "64.92",
        "64.92",
        "refunded",
    )
    assert Decimal(final["amount_refunded"]) == Decimal(order["total"])
