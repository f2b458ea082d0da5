"""Journey 8, stock truth with history: every change of stock (an ERP's receipt and a store's
count through the API, damage and a transfer recorded by the inventory manager in the admin) is
a movement with a reason, a reference and who did it; every level equals the sum of its
movements; a transfer in transit shows as incoming at the store and gives a pickup order there
its promise date.

Runs on SQLite and PostgreSQL, in Chromium."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import StockLevel, StockMovement, Transfer
from tests.browser import save_screenshot
from tests.journeys.steps import admin_action, admin_login, staff_user
from tests.shop import Shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SKU = "ORGANIC-TEE-L"


def _level(client: APIClient, location: str) -> dict[str, int]:
    response = client.get(f"/api/v1/stock/{location}/{SKU}/")
    assert response.status_code == 200, response.json()
    body = response.json()
    return {k: body[k] for k in ("on_hand", "committed", "incoming", "damaged")}


def test_every_change_is_a_movement_and_a_transfer_in_transit_sets_the_pickup_promise(
    live_server: Any, page: Any, shop: Shop, api_client_for: Callable[..., APIClient]
) -> None:
    erp = api_client_for(channels=[shop.channel], scopes=["stock:read", "stock:write"])
    till = api_client_for(channels=[shop.channel], scopes=["stock:read", "stock:write"])
    webshop = api_client_for(channels=[shop.channel])
    staff_user("ivan", "Inventory manager")

    # when the ERP receives 10 L in the warehouse (a retry applies nothing twice)
    receipt = {
        "movements": [
            {
                "location": "wh-rotterdam",
                "sku": SKU,
                "kind": "receipt",
                "quantity": 10,
                "reason": "purchase order",
                "reference": "PO-88",
                "reference_type": "document",
                "idempotency_key": "po-88-l",
            }
        ]
    }
    for _ in range(2):
        response = erp.post(
            "/api/v1/stock/movements/", receipt, format="json", HTTP_IDEMPOTENCY_KEY="po-88"
        )
        assert response.status_code in (200, 201), response.json()
    # and the Utrecht till counts 1 L on its shelf
    counted = till.put(
        f"/api/v1/stock/utr-oudegracht/{SKU}/",
        {"on_hand": 1, "reason": "cycle count", "reference": "CC-7"},
        format="json",
    )
    assert counted.status_code == 200, counted.json()
    assert _level(erp, "wh-rotterdam") == {
        "on_hand": 10,
        "committed": 0,
        "incoming": 0,
        "damaged": 0,
    }

    # when the inventory manager records a damaged unit in the admin
    base = live_server.url
    admin_login(page, base, "ivan")
    page.goto(f"{base}/admin/inventory/stockmovement/add/")
    page.fill("#id_sku", SKU)
    page.select_option("#id_location", label=str(shop.warehouse))
    page.select_option("#id_kind", "damage")
    page.fill("#id_quantity", "1")
    page.fill("#id_reason", "torn seam")
    page.fill("#id_reference", "QC-3")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")

    # and sends 4 L to Utrecht, arriving in two days
    arrival = (timezone.localtime() + timedelta(days=2)).replace(second=0, microsecond=0)
    page.goto(f"{base}/admin/inventory/transfer/add/")
    page.select_option("#id_source", label=str(shop.warehouse))
    page.select_option("#id_destination", label=str(shop.utrecht))
    page.fill("#id_reference", "TR-UTR-1")
    page.fill("#id_expected_at_0", arrival.strftime("%Y-%m-%d"))
    page.fill("#id_expected_at_1", arrival.strftime("%H:%M:%S"))
    page.fill("#id_lines-0-variant", str(shop.l.pk))
    page.fill("#id_lines-0-quantity", "4")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    transfer = Transfer.objects.get(reference="TR-UTR-1")
    assert "shipped" in admin_action(page, base, "/admin/inventory/transfer/", transfer.pk, "ship")

    # then the units are in transit: gone from the warehouse, incoming at the store
    assert _level(erp, "wh-rotterdam") == {
        "on_hand": 5,
        "committed": 0,
        "incoming": 0,
        "damaged": 1,
    }
    assert _level(erp, "utr-oudegracht") == {
        "on_hand": 1,
        "committed": 0,
        "incoming": 4,
        "damaged": 0,
    }

    # when a shopper orders 3 L for pickup in Utrecht, which has only 1 on its shelf
    placed = webshop.post(
        "/api/v1/orders/",
        {
            "channel": "webshop",
            "customer": {"email": "lou@example.com"},
            "lines": [{"sku": SKU, "quantity": 3}],
            "fulfillment": {"method": "pickup", "location": "utr-oudegracht"},
            "payment_status": "authorized",
        },
        format="json",
    )
    assert placed.status_code == 201, placed.json()

    # then the order waits for the transfer and is promised at its arrival plus preparation
    (fulfillment,) = placed.json()["fulfillments"]
    assert fulfillment["status"] == "awaiting_transfer"
    promised = arrival + timedelta(minutes=shop.utrecht.pickup_preparation_minutes)
    assert (
        fulfillment["promised_at"][:16]
        == (promised.astimezone(timezone.get_current_timezone()).isoformat()[:16])
    )

    # when the transfer arrives and the inventory manager receives it
    assert "received" in admin_action(
        page, base, "/admin/inventory/transfer/", transfer.pk, "receive_in_full"
    )
    assert _level(erp, "utr-oudegracht") == {
        "on_hand": 5,
        "committed": 0,
        "incoming": 0,
        "damaged": 0,
    }

    # then the ledger shows every change with its reason, reference and who made it
    page.goto(f"{base}/admin/inventory/stockmovement/?q={SKU}")
    save_screenshot(page, "journey-08-ledger")
    rows = page.locator("#result_list tbody tr").all_inner_texts()
    # columns: when, kind, SKU, location, on hand, damaged, reason, reference, by
    ledger = sorted(tuple(row.split("\t")[1:]) for row in rows)
    erp_name, till_name = erp.partner.name, till.partner.name  # type: ignore[attr-defined]
    tr = str(transfer.pk)  # transfer movements refer to the transfer
    assert ledger == sorted(
        [
            ("Receipt", SKU, "wh-rotterdam", "10", "0", "purchase order", "PO-88", erp_name),
            ("Count", SKU, "utr-oudegracht", "1", "0", "cycle count", "CC-7", till_name),
            ("Damage", SKU, "wh-rotterdam", "-1", "1", "torn seam", "QC-3", "ivan"),
            ("Transfer out", SKU, "wh-rotterdam", "-4", "0", "-", tr, "ivan"),
            ("Transfer in", SKU, "utr-oudegracht", "4", "0", "-", tr, "ivan"),
        ]
    )

    # and every level equals the sum of its movements
    for level in StockLevel.objects.filter(variant=shop.l):
        sums = StockMovement.objects.filter(stock=level).aggregate(
            on_hand=Sum("on_hand_delta"), damaged=Sum("damaged_delta")
        )
        assert (level.on_hand, level.damaged) == (sums["on_hand"] or 0, sums["damaged"] or 0)
    call_command("stock_check")  # exits 1 on any drift
