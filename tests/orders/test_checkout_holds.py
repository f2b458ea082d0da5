"""``POST /api/v1/orders/`` with ``hold``: the caller's hold is used up by the order it was made
for (issue 14, "Holds at placement"), and bad holds are refused with nothing placed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from inventory import selectors as inventory_selectors
from inventory.models import StockHold
from orders.models import Order
from tests.shop import Shop

pytestmark = pytest.mark.django_db

ADDRESS = {"country": "NL", "city": "Utrecht"}


@pytest.fixture
def client(shop: Shop, api_client_for: Callable[..., APIClient]) -> APIClient:
    return api_client_for(channels=[shop.channel])


def _hold(client: APIClient, reference: str, lines: list[tuple[str, str, int]]) -> Any:
    response = client.post(
        "/api/v1/stock/holds/",
        {
            "reference": reference,
            "ttl_seconds": 600,
            "lines": [{"location": loc, "sku": sku, "quantity": q} for loc, sku, q in lines],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response


def _order(client: APIClient, hold: str, lines: list[tuple[str, int]], **fulfillment: Any) -> Any:
    return client.post(
        "/api/v1/orders/",
        {
            "channel": "webshop",
            "hold": hold,
            "customer": {"email": "ann@example.com"},
            "lines": [{"sku": sku, "quantity": q} for sku, q in lines],
            "fulfillment": fulfillment or {"method": "ship", "address": ADDRESS},
        },
        format="json",
    )


def _available(shop: Shop, location: Any, variant: Any) -> int:
    rows = inventory_selectors.availability_for_variants(
        variant_ids=[variant.pk], location_ids=[location.pk], now=timezone.now()
    )
    return rows[variant.pk].by_location.get(location.pk, 0)


def _statuses(reference_suffix: str) -> list[str]:
    return list(
        StockHold.objects.filter(reference__endswith=f":{reference_suffix}")
        .order_by("pk")
        .values_list("status", flat=True)
    )


def test_the_shopper_who_holds_the_last_unit_gets_it_at_the_holds_location(
    shop: Shop, client: APIClient
) -> None:
    # given the last unit in Amsterdam held by the webshop, and the warehouse (which the ship
    # strategy prefers) with stock too
    shop.receive(shop.amsterdam, shop.s, 1)
    shop.receive(shop.warehouse, shop.s, 5)
    _hold(client, "checkout-1", [("ams-central", "ORGANIC-TEE-S", 1)])
    # when the order names the hold
    response = _order(client, "checkout-1", [("ORGANIC-TEE-S", 1)])
    # then exactly the held unit is committed, where it was held, with no second reservation
    assert response.status_code == 201, response.content
    assert [(f["location"], f["status"]) for f in response.json()["fulfillments"]] == [
        ("ams-central", "allocated")
    ]
    assert shop.level(shop.amsterdam, shop.s) == (1, 1)
    assert shop.level(shop.warehouse, shop.s) == (5, 0)
    assert _statuses("checkout-1") == ["consumed"]
    # and the hold is used up: naming it again places nothing
    again = _order(client, "checkout-1", [("ORGANIC-TEE-S", 1)])
    assert (again.status_code, again.json()["code"]) == (409, "hold_not_active")
    assert Order.objects.count() == 1


def test_a_partly_held_line_is_sourced_as_usual_for_the_rest_and_unused_units_go_back(
    shop: Shop, client: APIClient
) -> None:
    shop.receive(shop.amsterdam, shop.s, 1)
    shop.receive(shop.amsterdam, shop.m, 2)
    shop.receive(shop.warehouse, shop.s, 5)
    _hold(
        client,
        "checkout-2",
        [("ams-central", "ORGANIC-TEE-S", 1), ("ams-central", "ORGANIC-TEE-M", 2)],
    )
    assert _available(shop, shop.amsterdam, shop.m) == 0
    # the order wants 3 S (the hold covers 1) and only 1 of the 2 held M
    response = _order(client, "checkout-2", [("ORGANIC-TEE-S", 3), ("ORGANIC-TEE-M", 1)])
    assert response.status_code == 201, response.content
    by_location = {
        f["location"]: sorted((x["sku"], x["quantity"]) for x in f["lines"])
        for f in response.json()["fulfillments"]
    }
    assert by_location == {
        "ams-central": [("ORGANIC-TEE-M", 1), ("ORGANIC-TEE-S", 1)],
        "wh-rotterdam": [("ORGANIC-TEE-S", 2)],
    }
    assert shop.level(shop.amsterdam, shop.s) == (1, 1)
    assert shop.level(shop.warehouse, shop.s) == (5, 2)
    assert shop.level(shop.amsterdam, shop.m) == (2, 1)
    # the M the order did not use is on sale again
    assert _statuses("checkout-2") == ["consumed", "consumed"]
    assert _available(shop, shop.amsterdam, shop.m) == 1


def test_a_pickup_whose_hold_is_at_another_store_is_refused(shop: Shop, client: APIClient) -> None:
    shop.receive(shop.amsterdam, shop.s, 2)
    shop.receive(shop.utrecht, shop.s, 2)
    _hold(client, "checkout-3", [("ams-central", "ORGANIC-TEE-S", 1)])
    response = _order(
        client, "checkout-3", [("ORGANIC-TEE-S", 1)], method="pickup", location="utr-oudegracht"
    )
    assert response.status_code == 409, response.content
    body = response.json()
    assert (body["code"], body["hold_locations"]) == ("hold_location_mismatch", ["ams-central"])
    assert response["Content-Type"].startswith("application/problem+json")
    # nothing placed, the hold still holds
    assert Order.objects.count() == 0
    assert _statuses("checkout-3") == ["active"]
    assert shop.level(shop.utrecht, shop.s) == (2, 0)
    # a pickup at the hold's store commits it there
    ok = _order(
        client, "checkout-3", [("ORGANIC-TEE-S", 1)], method="pickup", location="ams-central"
    )
    assert ok.status_code == 201, ok.content
    assert shop.level(shop.amsterdam, shop.s) == (2, 1)


def test_an_expired_hold_is_409_hold_not_active_and_nothing_is_placed(
    shop: Shop, client: APIClient
) -> None:
    shop.receive(shop.warehouse, shop.s, 3)
    _hold(client, "checkout-4", [("wh-rotterdam", "ORGANIC-TEE-S", 1)])
    StockHold.objects.filter(reference__endswith=":checkout-4").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = _order(client, "checkout-4", [("ORGANIC-TEE-S", 1)])
    assert (response.status_code, response.json()["code"]) == (409, "hold_not_active")
    assert Order.objects.count() == 0
    assert shop.level(shop.warehouse, shop.s) == (3, 0)


def test_a_released_hold_is_409_hold_not_active(shop: Shop, client: APIClient) -> None:
    shop.receive(shop.warehouse, shop.s, 3)
    _hold(client, "checkout-5", [("wh-rotterdam", "ORGANIC-TEE-S", 1)])
    assert client.delete("/api/v1/stock/holds/checkout-5/").status_code == 200
    response = _order(client, "checkout-5", [("ORGANIC-TEE-S", 1)])
    assert (response.status_code, response.json()["code"]) == (409, "hold_not_active")
    assert Order.objects.count() == 0
    assert shop.level(shop.warehouse, shop.s) == (3, 0)


def test_another_partners_hold_is_404_and_stays_held(
    shop: Shop, client: APIClient, api_client_for: Callable[..., APIClient]
) -> None:
    shop.receive(shop.warehouse, shop.s, 1)
    _hold(client, "checkout-6", [("wh-rotterdam", "ORGANIC-TEE-S", 1)])
    other = api_client_for(channels=[shop.channel])  # another partner on the same channel
    response = _order(other, "checkout-6", [("ORGANIC-TEE-S", 1)])
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "hold_not_found"
    assert Order.objects.count() == 0
    assert _statuses("checkout-6") == ["active"]
    # and without a hold it cannot take the held unit either
    plain = other.post(
        "/api/v1/orders/",
        {
            "channel": "webshop",
            "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 1}],
            "fulfillment": {"method": "ship", "address": ADDRESS},
        },
        format="json",
    )
    assert (plain.status_code, plain.json()["code"]) == (409, "insufficient_stock")
    assert shop.level(shop.warehouse, shop.s) == (1, 0)


def test_a_hold_reference_must_be_well_formed(shop: Shop, client: APIClient) -> None:
    response = _order(client, "not a reference!", [("ORGANIC-TEE-S", 1)])
    assert response.status_code == 400
    assert "hold" in [e["field"] for e in response.json()["errors"]]
