"""Stock endpoints are limited to the locations of the key's channels (issue 16, item 5).

A marketplace key whose channel sells from the warehouse only must not read or write the stock of
a store: reads answer as if the location did not exist (404), writes are refused with ``403
location_not_allowed`` and write nothing. The scope ``stock:all_locations`` (ERP and WMS keys)
lifts the limit. Staff sessions: an inventory manager reaches every location, any other staff
member only their home location.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from config import roles
from core.models import Channel, IdempotencyRecord
from inventory.models import Location, StockHold, StockLevel, StockMovement
from inventory.services import channel_locations_set, staff_member_assign
from tests.factories import ChannelFactory, LocationFactory
from tests.shop import Shop

pytestmark = pytest.mark.django_db

SKU = "ORGANIC-TEE-S"
STOCK_SCOPES = ["stock:read", "stock:write"]


@pytest.fixture
def marketplace(shop: Shop) -> Channel:
    """A marketplace that sells from the warehouse only; the stores are the webshop's."""
    channel: Channel = ChannelFactory(code="marketplace", kind=Channel.Kind.MARKETPLACE)  # type: ignore[assignment]
    channel.locations.set([shop.warehouse])
    shop.receive(shop.warehouse, shop.s, 10)
    shop.receive(shop.amsterdam, shop.s, 4)
    return channel


def _ledger() -> tuple[list[tuple[str, int, int]], int, int]:
    """Everything a refused write must leave as it was."""
    levels = sorted(
        StockLevel.objects.values_list("location__code", "on_hand", "committed")  # type: ignore[arg-type]
    )
    return levels, StockMovement.objects.count(), StockHold.objects.count()


def _refused(response: Any, *, fields: list[str] | None = None) -> None:
    assert response.status_code == 403, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert (body["status"], body["code"]) == (403, "location_not_allowed")
    if fields is not None:
        assert [error["field"] for error in body["errors"]] == fields
        assert {error["code"] for error in body["errors"]} == {"location_not_allowed"}


def _movements(*locations: str) -> dict[str, Any]:
    return {
        "movements": [
            {"location": code, "sku": SKU, "kind": "receipt", "quantity": 5} for code in locations
        ]
    }


def _hold(*locations: str) -> dict[str, Any]:
    return {
        "reference": "cart-1",
        "ttl_seconds": 600,
        "lines": [{"location": code, "sku": SKU, "quantity": 1} for code in locations],
    }


def test_a_key_reads_stock_only_at_its_channels_locations(
    shop: Shop, marketplace: Channel, api_client_for: Callable[..., APIClient]
) -> None:
    client = api_client_for(scopes=STOCK_SCOPES, channels=[marketplace])

    assert client.get(f"/api/v1/stock/wh-rotterdam/{SKU}/").json()["on_hand"] == 10
    outside = client.get(f"/api/v1/stock/ams-central/{SKU}/")
    unknown = client.get(f"/api/v1/stock/nowhere/{SKU}/")
    # a store the channel does not sell from answers exactly like a location that does not exist
    assert outside.status_code == unknown.status_code == 404
    assert outside["Content-Type"].startswith("application/problem+json")
    assert outside.json()["code"] == unknown.json()["code"] == "not_found"


def test_a_key_cannot_count_stock_outside_its_locations(
    shop: Shop, marketplace: Channel, api_client_for: Callable[..., APIClient]
) -> None:
    client = api_client_for(scopes=STOCK_SCOPES, channels=[marketplace])
    before = _ledger()

    _refused(client.put(f"/api/v1/stock/ams-central/{SKU}/", {"on_hand": 0}, format="json"))

    assert _ledger() == before
    # an unknown location stays a 404, and the key's own location still works
    assert client.put(f"/api/v1/stock/nowhere/{SKU}/", {"on_hand": 0}).status_code == 404
    allowed = client.put(f"/api/v1/stock/wh-rotterdam/{SKU}/", {"on_hand": 7}, format="json")
    assert (allowed.status_code, allowed.json()["on_hand"]) == (200, 7)


def test_a_movement_batch_touching_another_location_writes_nothing(
    shop: Shop, marketplace: Channel, api_client_for: Callable[..., APIClient]
) -> None:
    client = api_client_for(scopes=STOCK_SCOPES, channels=[marketplace])
    before = _ledger()

    response = client.post(
        "/api/v1/stock/movements/",
        _movements("wh-rotterdam", "ams-central", "utr-oudegracht"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="batch-1",
    )

    _refused(response, fields=["movements.1.location", "movements.2.location"])
    assert "ams-central, utr-oudegracht" in response.json()["detail"]
    assert _ledger() == before
    assert not IdempotencyRecord.objects.exists()  # a retry with the same key may run later
    ok = client.post("/api/v1/stock/movements/", _movements("wh-rotterdam"), format="json")
    assert ok.status_code == 201, ok.content


def test_a_hold_at_another_location_holds_nothing(
    shop: Shop, marketplace: Channel, api_client_for: Callable[..., APIClient]
) -> None:
    client = api_client_for(scopes=STOCK_SCOPES, channels=[marketplace])
    before = _ledger()

    _refused(
        client.post("/api/v1/stock/holds/", _hold("wh-rotterdam", "ams-central"), format="json"),
        fields=["lines.1.location"],
    )

    assert _ledger() == before
    assert (
        client.post("/api/v1/stock/holds/", _hold("wh-rotterdam"), format="json").status_code == 201
    )


def test_the_all_locations_scope_lifts_the_limit(
    shop: Shop, marketplace: Channel, api_client_for: Callable[..., APIClient]
) -> None:
    erp = api_client_for(scopes=[*STOCK_SCOPES, "stock:all_locations"], channels=[marketplace])

    assert erp.get(f"/api/v1/stock/ams-central/{SKU}/").json()["on_hand"] == 4
    counted = erp.put(f"/api/v1/stock/ams-central/{SKU}/", {"on_hand": 6}, format="json")
    assert (counted.status_code, counted.json()["on_hand"]) == (200, 6)
    moved = erp.post("/api/v1/stock/movements/", _movements("utr-oudegracht"), format="json")
    assert moved.status_code == 201, moved.content
    held = erp.post("/api/v1/stock/holds/", _hold("ams-central"), format="json")
    assert held.status_code == 201, held.content
    assert shop.level(shop.amsterdam, shop.s) == (6, 0)
    assert shop.level(shop.utrecht, shop.s) == (5, 0)


def test_a_location_taken_from_the_channel_is_out_of_reach_on_the_next_request(
    shop: Shop, marketplace: Channel, api_client_for: Callable[..., APIClient]
) -> None:
    # given the marketplace also sells from Amsterdam, and its key has read there (now cached)
    marketplace.locations.add(shop.amsterdam)
    client = api_client_for(scopes=STOCK_SCOPES, channels=[marketplace])
    assert client.get(f"/api/v1/stock/ams-central/{SKU}/").status_code == 200

    # when the channel stops selling from Amsterdam (as the channel admin does it)
    channel_locations_set(channel_id=marketplace.pk, location_ids=[shop.warehouse.pk])

    # then the key loses Amsterdam on its next request
    assert client.get(f"/api/v1/stock/ams-central/{SKU}/").status_code == 404
    assert client.put(f"/api/v1/stock/ams-central/{SKU}/", {"on_hand": 0}).status_code == 403
    assert shop.level(shop.amsterdam, shop.s) == (4, 0)


def test_an_inactive_channel_gives_its_key_no_location(
    shop: Shop, marketplace: Channel, api_client_for: Callable[..., APIClient]
) -> None:
    client = api_client_for(scopes=STOCK_SCOPES, channels=[marketplace])
    marketplace.is_active = False
    marketplace.save()
    assert client.get(f"/api/v1/stock/wh-rotterdam/{SKU}/").status_code == 404


# --- staff sessions -------------------------------------------------------------------------------


def _session(user: User) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    token = "b" * 32
    client.cookies[settings.CSRF_COOKIE_NAME] = token
    client.credentials(HTTP_X_CSRFTOKEN=token)
    return client


def _staff(username: str, role: str, home: Location | None = None) -> User:
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    if home is not None:
        staff_member_assign(user_id=user.pk, location=home)
    return user


def test_an_inventory_manager_reaches_every_location(shop: Shop, marketplace: Channel) -> None:
    depot: Location = LocationFactory(code="depot-x")  # type: ignore[assignment]  # no channel's
    client = _session(_staff("iris", roles.INVENTORY_MANAGER))

    counted = client.put(f"/api/v1/stock/depot-x/{SKU}/", {"on_hand": 3}, format="json")

    assert counted.status_code == 200, counted.content
    assert StockLevel.objects.get(location=depot, variant=shop.s).on_hand == 3
    assert client.get(f"/api/v1/stock/ams-central/{SKU}/").json()["on_hand"] == 4


def test_a_store_associate_reads_only_their_home_store(shop: Shop, marketplace: Channel) -> None:
    client = _session(_staff("sam", roles.STORE_ASSOCIATE, home=shop.amsterdam))

    assert client.get(f"/api/v1/stock/ams-central/{SKU}/").json()["on_hand"] == 4
    assert client.get(f"/api/v1/stock/wh-rotterdam/{SKU}/").status_code == 404

    homeless = _session(_staff("kim", roles.STORE_ASSOCIATE))
    assert homeless.get(f"/api/v1/stock/ams-central/{SKU}/").status_code == 404


def test_a_superuser_reaches_every_location(shop: Shop, marketplace: Channel) -> None:
    admin = User.objects.create_superuser("root", "root@example.com", "x")
    client = _session(admin)
    moved = client.post("/api/v1/stock/movements/", _movements("ams-central"), format="json")
    assert moved.status_code == 201, moved.content
    assert shop.level(shop.amsterdam, shop.s) == (9, 0)
