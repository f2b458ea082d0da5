"""Journey 2, check nearby stock then click & collect: a shopper finds the stores near them with
size M through the partner API and orders it for pickup at one; the unit is reserved there at
once; the associate prepares it on the store page (the customer is emailed a code) and hands it
over after checking that code. An order that nobody collects is cancelled after the store's hold
period by the expiry task, and its units are back on sale.

Runs on SQLite and PostgreSQL, in Chromium."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from orders.tasks import pickups_expire
from tests.browser import save_screenshot
from tests.journeys.steps import store_phone
from tests.shop import Shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SKU = "ORGANIC-TEE-M"
NEAR_AMSTERDAM = "52.3702,4.8952"


def _order(client: APIClient, store: str, quantity: int, email: str, key: str) -> Any:
    return client.post(
        "/api/v1/orders/",
        {
            "channel": "webshop",
            "customer": {"email": email, "name": "Eva"},
            "lines": [{"sku": SKU, "quantity": quantity}],
            "fulfillment": {"method": "pickup", "location": store},
            "payment_status": "authorized",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def _nearby(client: APIClient) -> list[tuple[str, int, bool]]:
    """(store, available, can be collected there) nearest first."""
    response = client.get("/api/v1/availability/", {"sku": SKU, "near": NEAR_AMSTERDAM})
    assert response.status_code == 200, response.json()
    (row,) = response.json()["results"]
    return [(loc["code"], loc["available"], loc["pickup_available"]) for loc in row["locations"]]


def test_nearby_stock_then_pickup_hand_over_and_an_unclaimed_order_restocked(
    live_server: Any, browser: Any, shop: Shop, api_client_for: Callable[..., APIClient]
) -> None:
    # given M: 1 in Amsterdam, 3 in Utrecht (both offer pickup), 5 in the warehouse (it does not)
    shop.receive(shop.amsterdam, shop.m, 1)
    shop.receive(shop.utrecht, shop.m, 3)
    shop.receive(shop.warehouse, shop.m, 5)
    webshop = api_client_for(channels=[shop.channel])
    app = api_client_for(channels=[shop.channel])  # another partner selling the same stock

    # when the shopper asks which stores near them have M
    assert _nearby(webshop) == [
        ("ams-central", 1, True),
        ("utr-oudegracht", 3, True),
        ("wh-rotterdam", 5, False),
    ]

    # and orders it for pickup in Amsterdam (a retry with the same key places nothing more)
    placed = _order(webshop, "ams-central", 1, "eva@example.com", "checkout-1")
    assert placed.status_code == 201, placed.json()
    assert _order(webshop, "ams-central", 1, "eva@example.com", "checkout-1").json() == (
        placed.json()
    )
    order = placed.json()
    number = order["number"]
    assert (order["total"], order["status"]) == ("19.99", "placed")
    assert [(f["location"], f["status"]) for f in order["fulfillments"]] == [
        ("ams-central", "allocated")
    ]

    # then the unit is reserved at that store at once: nobody else can buy it there
    assert shop.level(shop.amsterdam, shop.m) == (1, 1)
    assert _nearby(webshop)[:2] == [("ams-central", 0, False), ("utr-oudegracht", 3, True)]
    refused = _order(app, "ams-central", 1, "bob@example.com", "other-1")
    assert refused.status_code == 409, refused.json()
    assert refused.json()["code"] in {"insufficient_stock", "pickup_unavailable"}
    assert shop.level(shop.amsterdam, shop.m) == (1, 1)

    # when the associate prepares it on the store page
    page = store_phone(browser, live_server.url, shop.amsterdam, "ana")
    try:
        assert page.inner_text("nav .badge") == "1"
        page.click("nav >> text=Click & collect")
        card = f"[data-testid='pickup-{number}']"
        page.click(f"{card} >> text=Start picking")
        page.click(f"{card} >> text=Picked: ready for pickup")
        page.wait_for_selector(".messages .success")
        save_screenshot(page, "journey-02-pickup-ready")

        # then the customer is told, with a pickup code; the partner sees the status
        (ready_mail,) = [m for m in mail.outbox if "ready for pickup" in m.subject]
        assert ready_mail.to == ["eva@example.com"] and number in ready_mail.subject
        code = re.search(r"\b(\d{6})\b", ready_mail.body).group(1)  # type: ignore[union-attr]
        assert webshop.get(f"/api/v1/orders/{number}/").json()["status"] == "ready_for_pickup"

        # when someone shows a wrong code, nothing is handed over
        wrong = "000000" if code != "000000" else "111111"
        page.fill(f"{card} input[name=code]", wrong)
        page.click(f"{card} >> text=Hand over")
        page.wait_for_selector(".messages .error")
        assert shop.level(shop.amsterdam, shop.m) == (1, 1)

        # when the customer shows the right one
        page.fill(f"{card} input[name=code]", code)
        page.click(f"{card} >> text=Hand over")
        page.wait_for_selector(".messages .success")
        assert f"{number}: handed over." in page.inner_text(".messages")
        save_screenshot(page, "journey-02-handed-over")
    finally:
        page.context.close()

    # then the unit has left the store and the order is complete and paid
    assert shop.level(shop.amsterdam, shop.m) == (0, 0)
    final = webshop.get(f"/api/v1/orders/{number}/").json()
    assert (final["status"], final["payment_status"], final["amount_captured"]) == (
        "completed",
        "captured",
        "19.99",
    )
    assert [f["status"] for f in final["fulfillments"]] == ["picked_up"]

    # unclaimed: 2 M for pickup in Utrecht, made ready by the store's POS through the API
    late = _order(webshop, "utr-oudegracht", 2, "late@example.com", "checkout-2").json()
    fulfillment = late["fulfillments"][0]["id"]
    for action in ("pick", "ready"):
        moved = webshop.post(
            f"/api/v1/orders/{late['number']}/fulfillments/{fulfillment}/{action}/",
            {},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"late-{action}",
        )
        assert moved.status_code == 200, moved.json()
    assert shop.level(shop.utrecht, shop.m) == (3, 2)
    assert _nearby(webshop)[:2] == [("ams-central", 0, False), ("utr-oudegracht", 1, True)]

    # the expiry task within the hold period changes nothing
    pickups_expire.delay().get(timeout=10)
    assert webshop.get(f"/api/v1/orders/{late['number']}/").json()["status"] == "ready_for_pickup"

    # when the store's hold period has passed and the expiry task runs
    later = timezone.now() + timedelta(days=shop.utrecht.pickup_hold_days, minutes=1)
    with pytest.MonkeyPatch.context() as clock:
        clock.setattr(timezone, "now", lambda: later)
        assert pickups_expire.delay().get(timeout=10) == 1
        assert pickups_expire.delay().get(timeout=10) == 0  # a second run does nothing

    # then the order is cancelled, the units are back on sale, and the customer is told once
    cancelled = webshop.get(f"/api/v1/orders/{late['number']}/").json()
    assert cancelled["status"] == "cancelled"
    assert shop.level(shop.utrecht, shop.m) == (3, 0)
    assert _nearby(webshop)[:2] == [("ams-central", 0, False), ("utr-oudegracht", 3, True)]
    told = [m for m in mail.outbox if m.to == ["late@example.com"] and "cancelled" in m.subject]
    assert len(told) == 1
