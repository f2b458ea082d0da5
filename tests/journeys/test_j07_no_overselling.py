"""Journey 7, no overselling, ever: three channels (webshop, app, marketplace), each its own
partner with its own API key, race for the last units of one SKU at the same moment; the units
are sold exactly once, the store's ring-fenced units stay on its shelf for walk-in customers,
and the marketplace is only ever shown its buffered quantity.

Needs PostgreSQL (real row locks, one connection per buyer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from catalog import services as catalog
from core.models import Channel
from inventory import services as inventory
from inventory.models import StockLevel, StockMovement
from tests.concurrency import run_concurrently
from tests.factories import ChannelFactory
from tests.shop import Shop

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SKU = "ORGANIC-TEE-M"
BUYERS_PER_CHANNEL = 4


def _channel(shop: Shop, code: str, kind: str, **fields: Any) -> Channel:
    """Another channel selling the tee from the warehouse and the Amsterdam store."""
    channel: Channel = ChannelFactory(code=code, kind=kind, currency="EUR", **fields)  # type: ignore[assignment]
    channel.locations.set([shop.warehouse, shop.amsterdam])
    for variant in (shop.s, shop.m, shop.l):
        catalog.price_set(variant_id=variant.pk, channel_code=code, amount="19.99")
    catalog.product_publish(product_ids=[shop.m.product_id], channel_code=code)
    return channel


def _available(client: APIClient, channel: str) -> tuple[int, dict[str, int]]:
    """What the channel may promise for M, and each location's own figure."""
    response = client.get("/api/v1/availability/", {"sku": SKU, "channel": channel})
    assert response.status_code == 200, response.json()
    (row,) = response.json()["results"]
    return row["available"], {loc["code"]: loc["available"] for loc in row["locations"]}


def test_the_last_units_are_sold_exactly_once_across_channels(
    shop: Shop, api_client_for: Callable[..., APIClient]
) -> None:
    # given 3 M in the warehouse and 4 in the Amsterdam store, 2 of them ring-fenced for walk-ins
    shop.channel.locations.set([shop.warehouse, shop.amsterdam])
    _channel(shop, "app", Channel.Kind.APP)
    _channel(
        shop,
        "bol",
        Channel.Kind.MARKETPLACE,
        stock_buffer_kind="absolute",
        stock_buffer_value=2,
    )
    shop.receive(shop.warehouse, shop.m, 3)
    shop.receive(shop.amsterdam, shop.m, 4)
    inventory.stock_safety_set(variant_id=shop.m.pk, location_id=shop.amsterdam.pk, safety_stock=2)
    clients = {code: api_client_for(channels=[code]) for code in ("webshop", "app", "bol")}

    # then the webshop and the app may promise 5, the marketplace is shown 2 fewer
    assert _available(clients["webshop"], "webshop") == (5, {"wh-rotterdam": 3, "ams-central": 2})
    assert _available(clients["app"], "app")[0] == 5
    assert _available(clients["bol"], "bol")[0] == 3

    # when 12 shoppers on the three channels order one M each, at the same moment
    def buy(code: str, n: int) -> Callable[[], tuple[str, int, str]]:
        """One shopper on ``code`` ordering one M: (channel, status, order number or problem)."""

        def attempt() -> tuple[str, int, str]:
            response = clients[code].post(
                "/api/v1/orders/",
                {
                    "channel": code,
                    "external_id": f"{code}-{n}",
                    "customer": {"email": f"{code}-{n}@example.com"},
                    "lines": [{"sku": SKU, "quantity": 1}],
                    "fulfillment": {
                        "method": "ship",
                        "address": {"country": "NL", "city": "Utrecht"},
                    },
                    "payment_status": "captured",
                },
                format="json",
                HTTP_IDEMPOTENCY_KEY=f"{code}-{n}",
            )
            body = response.json()
            return code, response.status_code, body.get("number") or body.get("code")

        return attempt

    attempts = [
        buy(code, n) for n in range(BUYERS_PER_CHANNEL) for code in ("webshop", "app", "bol")
    ]
    outcomes = run_concurrently(attempts, workers=len(attempts))

    # then exactly the 5 free units are sold in the race itself, each once, whichever location
    # has them (an order whose first choice sells out under the lock is sourced again from the
    # locked levels); the 7 others are refused with a clear problem and nothing written for them
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    sold = [(c, n) for c, status, n in outcomes if status == 201]
    refused = [(status, code) for _c, status, code in outcomes if status != 201]
    assert len(sold) == 5, outcomes
    assert refused == [(409, "insufficient_stock")] * 7, outcomes
    committed = sum(StockLevel.objects.filter(variant=shop.m).values_list("committed", flat=True))
    assert committed == 5
    assert _available(clients["webshop"], "webshop")[0] == 0

    # when a shopper who was refused tries again, the channel is still sold out
    _c, status, code = buy("app", 99)()
    assert (status, code) == (409, "insufficient_stock")

    # then exactly the 5 free units were sold, each once, to orders the partners can see
    assert len(sold) == 5 and len({number for _c, number in sold}) == 5
    for code, client in clients.items():
        listed = client.get("/api/v1/orders/", {"channel": code}).json()["results"]
        assert {o["number"] for o in listed} == {n for c, n in sold if c == code}
        assert all((o["total"], o["amount_captured"]) == ("19.99", "19.99") for o in listed)

    # the ring-fenced units are still on the store's shelf, not committed to any order
    assert shop.level(shop.warehouse, shop.m) == (3, 3)
    assert shop.level(shop.amsterdam, shop.m) == (4, 2)
    assert StockLevel.objects.get(location=shop.amsterdam, variant=shop.m).safety_stock == 2
    for code in ("webshop", "app", "bol"):
        assert _available(clients[code], code)[0] == 0

    # nothing was committed past on hand, and every level still equals its ledger
    assert StockMovement.objects.filter(stock__variant=shop.m, kind="sale").count() == 0
    call_command("stock_check")  # exits 1 on any drift
