"""Journey 3, ship from the best location: a ship order placed through the partner API is sourced
by the fewest-parcels rule over the warehouse and a ship-from-store location, split into two
parcels; the warehouse's WMS ships one through the API, the store ships the other in the admin,
and each parcel's carrier and tracking number read the same on the API, in the admin and in the
customer's emails.

Runs on SQLite and PostgreSQL, in Chromium."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from tests.browser import save_screenshot
from tests.journeys.steps import admin_login, staff_user
from tests.shop import Shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _parcels(order: dict[str, Any]) -> dict[str, tuple[str, list[tuple[str, int]], str, str]]:
    """location -> (status, lines, carrier, tracking number)."""
    return {
        f["location"]: (
            f["status"],
            sorted((line["sku"], line["quantity"]) for line in f["lines"]),
            f["carrier"],
            f["tracking_number"],
        )
        for f in order["fulfillments"]
    }


def test_a_ship_order_split_by_rule_with_the_same_tracking_everywhere(
    live_server: Any, page: Any, shop: Shop, api_client_for: Callable[..., APIClient]
) -> None:
    # given S in the warehouse (4) and in the Amsterdam store (1), M only in Amsterdam (2), L only
    # in the warehouse (1); Utrecht has L too but does not ship orders
    shop.receive(shop.warehouse, shop.s, 4)
    shop.receive(shop.amsterdam, shop.s, 1)
    shop.receive(shop.amsterdam, shop.m, 2)
    shop.receive(shop.warehouse, shop.l, 1)
    shop.receive(shop.utrecht, shop.l, 5)
    wms = api_client_for(channels=[shop.channel])
    webshop = api_client_for(channels=[shop.channel])

    # when the webshop places 2 S, 1 M and 1 L to ship to Utrecht
    response = webshop.post(
        "/api/v1/orders/",
        {
            "channel": "webshop",
            "external_id": "WEB-3001",
            "customer": {"email": "sam@example.com", "name": "Sam"},
            "lines": [
                {"sku": "ORGANIC-TEE-S", "quantity": 2},
                {"sku": "ORGANIC-TEE-M", "quantity": 1},
                {"sku": "ORGANIC-TEE-L", "quantity": 1},
            ],
            "fulfillment": {
                "method": "ship",
                "address": {
                    "name": "Sam",
                    "line1": "Oudegracht 1",
                    "postal_code": "3511 AA",
                    "city": "Utrecht",
                    "country": "NL",
                    "latitude": 52.09,
                    "longitude": 5.12,
                },
            },
            "shipping_total": "4.95",
            "payment_status": "captured",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="web-3001",
    )
    assert response.status_code == 201, response.json()
    order = response.json()
    number = order["number"]

    # then no location has everything: the warehouse (most units: 2 S and the L) ships first,
    # the Amsterdam store the M; S is not split and Utrecht is not used
    assert _parcels(order) == {
        "wh-rotterdam": ("allocated", [("ORGANIC-TEE-L", 1), ("ORGANIC-TEE-S", 2)], "", ""),
        "ams-central": ("allocated", [("ORGANIC-TEE-M", 1)], "", ""),
    }
    assert (order["total"], order["amount_captured"]) == ("84.91", "84.91")  # 4 x 19.99 + 4.95
    assert shop.level(shop.warehouse, shop.s) == (4, 2)
    assert shop.level(shop.warehouse, shop.l) == (1, 1)
    assert shop.level(shop.amsterdam, shop.m) == (2, 1)
    assert shop.level(shop.amsterdam, shop.s) == (1, 0)
    assert shop.level(shop.utrecht, shop.l) == (5, 0)
    ids = {f["location"]: f["id"] for f in order["fulfillments"]}

    # when the warehouse's WMS ships its parcel through the API
    shipped = wms.post(
        f"/api/v1/orders/{number}/fulfillments/{ids['wh-rotterdam']}/ship/",
        {"carrier": "PostNL", "tracking_number": "3SPOST0001"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="wms-ship-1",
    )
    assert shipped.status_code == 200, shipped.json()
    assert shipped.json()["status"] == "partially_shipped"

    # and the Amsterdam store picks and ships its parcel in the admin
    staff_user("ana", "Store associate")
    base = live_server.url
    admin_login(page, base, "ana")
    page.goto(f"{base}/admin/orders/order/?q={number}")
    page.click(f"#result_list a:has-text('{number}')")
    row = "fieldset:has(h2:has-text('Fulfilments')) tr:has(td:has-text('ams-central'))"
    page.click(f"{row} >> button:has-text('Start picking')")
    page.wait_for_selector(".messagelist .success")
    page.fill(f"{row} input[name=carrier]", "DHL")
    page.fill(f"{row} input[name=tracking_number]", "JVGL0002")
    page.click(f"{row} >> button:has-text('Ship')")
    page.wait_for_selector(".messagelist .success")
    save_screenshot(page, "journey-03-admin-two-parcels")

    # then the tracking of each parcel reads the same in the admin ...
    admin_rows = page.locator("fieldset:has(h2:has-text('Fulfilments')) tbody tr").all_inner_texts()
    tracking = {("wh-rotterdam", "PostNL", "3SPOST0001"), ("ams-central", "DHL", "JVGL0002")}
    for location, carrier, code in tracking:
        (text,) = [t for t in admin_rows if t.startswith(location)]
        assert "Shipped" in text and f"{carrier} {code}" in text, text

    # ... on the API ...
    final = webshop.get(f"/api/v1/orders/{number}/").json()
    assert final["status"] == "shipped"
    assert {
        (location, carrier, code) for location, (_s, _l, carrier, code) in _parcels(final).items()
    } == tracking
    assert {status for status, *_ in _parcels(final).values()} == {"shipped"}

    # ... and in the customer's emails, one per parcel
    shipped_mails = [m for m in mail.outbox if m.subject == f"Your order {number} has shipped"]
    assert len(shipped_mails) == 2
    assert all(m.to == ["sam@example.com"] for m in shipped_mails)
    bodies = "\n".join(m.body for m in shipped_mails)
    for _location, carrier, code in tracking:
        assert code in bodies and carrier in bodies

    # and the units have left exactly the locations that shipped them
    assert shop.level(shop.warehouse, shop.s) == (2, 0)
    assert shop.level(shop.warehouse, shop.l) == (0, 0)
    assert shop.level(shop.amsterdam, shop.m) == (1, 0)
    assert shop.level(shop.amsterdam, shop.s) == (1, 0)
    assert shop.level(shop.utrecht, shop.l) == (5, 0)
