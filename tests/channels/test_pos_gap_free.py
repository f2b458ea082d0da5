"""The POS change feed is gap-free: a change whose transaction commits late, after later changes
were already read and acknowledged, still reaches the till (real threads on PostgreSQL)."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from django.db import connections, transaction
from rest_framework.test import APIClient

from catalog import services as catalog
from core.models import ChangeEvent
from tests.shop import Shop
from tests.till import pos_channel_add

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

POS_SCOPES = ["catalog:read", "stock:read"]
# The feed once held back events younger than this, trusting every commit to be quicker; the
# test keeps its old transaction open well past it (harmless now that the setting is gone).
OLD_SETTLE_SECONDS = 0.3


def _changes(client: APIClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/pos/pos/changes/", {"location": "ams-central", **params})
    assert response.status_code == 200, response.json()
    return response.json()


def _ack(client: APIClient, cursor: int) -> None:
    response = client.post(
        "/api/v1/pos/pos/acks/", {"location": "ams-central", "cursor": cursor}, format="json"
    )
    assert response.status_code == 200, response.json()


def test_a_change_committed_after_later_ones_were_acknowledged_still_reaches_the_till(
    shop: Shop, api_client_for: Any, settings: Any
) -> None:
    settings.CHANNELS_POS_SETTLE_SECONDS = OLD_SETTLE_SECONDS
    pos_channel_add(shop)
    till = api_client_for(scopes=POS_SCOPES, channels=["pos"])
    time.sleep(OLD_SETTLE_SECONDS * 3)
    setup = _changes(till)
    assert setup["changes"] and not setup["has_more"]
    _ack(till, setup["next_cursor"])  # the till is up to date

    recorded, release = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def slow_price_change() -> None:
        """T1: a new till price, whose transaction stays open long after its event is written."""
        try:
            with transaction.atomic():
                catalog.price_set(variant_id=shop.s.pk, channel_code="pos", amount=Decimal("9.99"))
                recorded.set()
                assert release.wait(timeout=30)
        except BaseException as exc:  # reported by the main thread
            failure.append(exc)
            recorded.set()
        finally:
            connections.close_all()

    t1 = threading.Thread(target=slow_price_change)
    t1.start()
    try:
        assert recorded.wait(timeout=30)
        assert not failure, failure
        # T2: a later stock change commits while T1 is still open.
        shop.receive(shop.amsterdam, shop.m, 5)
        time.sleep(OLD_SETTLE_SECONDS * 3)

        # The till reads what is committed, applies it and acknowledges.
        first = _changes(till)
        assert [(c["type"], c["object"]["id"]) for c in first["changes"]] == [
            ("stock.changed", str(shop.m.pk))
        ]
        assert first["has_more"] is False
        _ack(till, first["next_cursor"])
    finally:
        release.set()  # T1 commits
        t1.join(timeout=30)
    assert not failure, failure
    late = ChangeEvent.objects.filter(topic="price.changed").order_by("-id").first()
    assert late is not None and late.payload["prices"]["ORGANIC-TEE-S"]["amount"] == "9.99"

    second = _changes(till)

    assert second["after"] == first["next_cursor"]
    assert [(c["type"], c["object"]["id"]) for c in second["changes"]] == [
        ("price.changed", str(shop.s.product_id))
    ]
    assert second["changes"][0]["data"]["prices"]["ORGANIC-TEE-S"]["amount"] == "9.99"
    assert second["changes"][0]["event_id"] > first["next_cursor"]
    # Acknowledged, the till is caught up: nothing is served twice.
    _ack(till, second["next_cursor"])
    assert _changes(till)["changes"] == []
