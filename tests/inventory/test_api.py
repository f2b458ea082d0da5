"""Partner API: stock counts with If-Match, bulk movements, the store locator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from inventory import services
from inventory.models import StockLevel, StockMovement
from inventory.services import StockLine
from tests.factories import LocationFactory
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stock() -> tuple[Any, Any]:
    variant, location = VariantFactory(sku="RUN-10"), LocationFactory(code="ams")
    services.stock_receive(lines=[StockLine(variant.pk, location.pk, 5)], reference="PO")
    return variant, location


def test_get_stock_returns_counters_and_etag(api_client: APIClient, stock: Any) -> None:
    response = api_client.get("/api/v1/stock/ams/RUN-10/")
    assert response.status_code == 200
    assert response.json() == {
        "location": "ams",
        "sku": "RUN-10",
        "on_hand": 5,
        "committed": 0,
        "safety_stock": 0,
        "incoming": 0,
        "damaged": 0,
    }
    assert response["ETag"]


def test_put_stock_with_current_etag_records_a_count(api_client: APIClient, stock: Any) -> None:
    etag = api_client.get("/api/v1/stock/ams/RUN-10/")["ETag"]
    response = api_client.put(
        "/api/v1/stock/ams/RUN-10/",
        {"on_hand": 8, "reason": "cycle count", "reference": "WMS-1"},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert response.status_code == 200, response.json()
    assert response.json()["on_hand"] == 8
    assert response["ETag"] == api_client.get("/api/v1/stock/ams/RUN-10/")["ETag"]
    movement = StockMovement.objects.get(kind="count")
    assert (movement.on_hand_delta, movement.reference, movement.actor_partner_id) == (
        3,
        "WMS-1",
        api_client.partner.pk,  # type: ignore[attr-defined]
    )


def test_put_stock_with_stale_etag_is_412_and_changes_nothing(
    api_client: APIClient, stock: Any
) -> None:
    variant, location = stock
    etag = api_client.get("/api/v1/stock/ams/RUN-10/")["ETag"]
    services.stock_adjust(variant_id=variant.pk, location_id=location.pk, delta=1, reason="found")
    response = api_client.put(
        "/api/v1/stock/ams/RUN-10/", {"on_hand": 2}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"
    assert StockLevel.objects.get().on_hand == 6
    assert not StockMovement.objects.filter(kind="count").exists()


def test_put_stock_creates_level_for_new_pair(api_client: APIClient, stock: Any) -> None:
    LocationFactory(code="utr")
    response = api_client.put("/api/v1/stock/utr/RUN-10/", {"on_hand": 3}, format="json")
    assert response.status_code == 200
    assert StockLevel.objects.get(location__code="utr").on_hand == 3


def test_put_stock_below_committed_is_409(api_client: APIClient, stock: Any) -> None:
    variant, location = stock
    services.stock_commit(lines=[StockLine(variant.pk, location.pk, 4)], reference="o")
    response = api_client.put("/api/v1/stock/ams/RUN-10/", {"on_hand": 3}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "insufficient_stock"
    assert body["shortages"] == [
        {"variant_id": variant.pk, "location_id": location.pk, "requested": 4, "available": 3}
    ]
    assert StockLevel.objects.get().on_hand == 5


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/api/v1/stock/ams/NOPE/", {"on_hand": 1}, 404, "not_found"),
        ("/api/v1/stock/nowhere/RUN-10/", {"on_hand": 1}, 404, "not_found"),
        ("/api/v1/stock/ams/RUN-10/", {"on_hand": -1}, 400, "validation_error"),
        ("/api/v1/stock/ams/RUN-10/", {}, 400, "validation_error"),
    ],
)
def test_put_stock_bad_input(
    api_client: APIClient, stock: Any, path: str, body: Any, status: int, code: str
) -> None:
    response = api_client.put(path, body, format="json")
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert StockMovement.objects.count() == 1


def test_stock_write_needs_the_scope(api_client_for: Any, stock: Any) -> None:
    reader = api_client_for(scopes=["stock:read", "stock:all_locations"])
    assert reader.get("/api/v1/stock/ams/RUN-10/").status_code == 200
    response = reader.put("/api/v1/stock/ams/RUN-10/", {"on_hand": 1}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "missing_scope")
    assert reader.post("/api/v1/stock/movements/", {}, format="json").status_code == 403
    nobody = api_client_for(scopes=["catalog:read"])
    assert nobody.get("/api/v1/stock/ams/RUN-10/").status_code == 403


def movements(*items: dict[str, Any]) -> dict[str, Any]:
    return {"movements": [{"location": "ams", "sku": "RUN-10", **item} for item in items]}


def test_post_movements_applies_batch(api_client: APIClient, stock: Any) -> None:
    response = api_client.post(
        "/api/v1/stock/movements/",
        movements(
            {"kind": "receipt", "quantity": 10, "reference": "ASN-1", "idempotency_key": "a1"},
            {"kind": "damage", "quantity": 2, "reason": "torn"},
            {"kind": "adjustment", "quantity": -1, "reason": "shrinkage"},
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()["movements"]
    assert [(m["kind"], m["on_hand_delta"], m["damaged_delta"]) for m in body] == [
        ("receipt", 10, 0),
        ("damage", -2, 2),
        ("adjustment", -1, 0),
    ]
    assert body[0]["idempotency_key"] == "a1"
    level = StockLevel.objects.get()
    assert (level.on_hand, level.damaged) == (12, 2)
    partner = api_client.partner  # type: ignore[attr-defined]
    assert StockMovement.objects.filter(actor_partner=partner).count() == 3


def test_movements_posted_with_a_partner_key_record_the_partner_as_actor(
    api_client: APIClient, stock: Any
) -> None:
    # given a partner key
    partner = api_client.partner  # type: ignore[attr-defined]
    # when it posts a movement with its own idempotency key
    response = api_client.post(
        "/api/v1/stock/movements/",
        movements({"kind": "receipt", "quantity": 4, "idempotency_key": "ASN-7-1"}),
        format="json",
    )
    # then the movement names the partner as its actor, and the stored key keeps its namespace
    assert response.status_code == 201, response.json()
    movement = StockMovement.objects.get(pk=response.json()["movements"][0]["id"])
    assert (
        movement.actor_kind,
        movement.actor_name,
        movement.actor_partner_id,
        movement.actor_user_id,
        movement.idempotency_key,
    ) == ("partner", partner.code, partner.pk, None, f"partner:{partner.pk}:ASN-7-1")


def test_post_movements_per_movement_key_is_not_applied_twice(
    api_client: APIClient, stock: Any
) -> None:
    batch = movements({"kind": "receipt", "quantity": 4, "idempotency_key": "asn-9"})
    first = api_client.post("/api/v1/stock/movements/", batch, format="json")
    second = api_client.post("/api/v1/stock/movements/", batch, format="json")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["movements"][0]["id"] == second.json()["movements"][0]["id"]
    assert StockLevel.objects.get().on_hand == 9

    other = movements({"kind": "receipt", "quantity": 5, "idempotency_key": "asn-9"})
    response = api_client.post("/api/v1/stock/movements/", other, format="json")
    assert (response.status_code, response.json()["code"]) == (422, "idempotency_key_reused")
    assert StockLevel.objects.get().on_hand == 9


def test_post_movements_idempotency_header_replays(api_client: APIClient, stock: Any) -> None:
    batch = movements({"kind": "return", "quantity": 1})
    first = api_client.post(
        "/api/v1/stock/movements/", batch, format="json", HTTP_IDEMPOTENCY_KEY="req-1"
    )
    again = api_client.post(
        "/api/v1/stock/movements/", batch, format="json", HTTP_IDEMPOTENCY_KEY="req-1"
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert StockLevel.objects.get().on_hand == 6


def test_post_movements_failure_applies_nothing(api_client: APIClient, stock: Any) -> None:
    unknown = api_client.post(
        "/api/v1/stock/movements/",
        {
            "movements": [
                {"location": "ams", "sku": "RUN-10", "kind": "receipt", "quantity": 1},
                {"location": "ams", "sku": "GHOST", "kind": "receipt", "quantity": 1},
            ]
        },
        format="json",
    )
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == [
        {"field": "movements.1.sku", "code": "does_not_exist", "message": "unknown sku"}
    ]
    short = api_client.post(
        "/api/v1/stock/movements/",
        movements({"kind": "receipt", "quantity": 1}, {"kind": "damage", "quantity": 9}),
        format="json",
    )
    assert (short.status_code, short.json()["code"]) == (409, "insufficient_stock")
    invalid = api_client.post(
        "/api/v1/stock/movements/",
        movements({"kind": "adjustment", "quantity": 2}, {"kind": "sale", "quantity": 1}),
        format="json",
    )
    assert invalid.status_code == 400
    assert {e["field"] for e in invalid.json()["errors"]} == {
        "movements.0.reason",
        "movements.1.kind",
    }
    assert StockMovement.objects.count() == 1
    assert StockLevel.objects.get().on_hand == 5


def test_locations_near_sorted_with_distance(api_client: APIClient) -> None:
    LocationFactory(code="ams", latitude=Decimal("52.37"), longitude=Decimal("4.89"))
    LocationFactory(code="utr", latitude=Decimal("52.09"), longitude=Decimal("5.12"))
    LocationFactory(
        code="rtm", latitude=Decimal("51.92"), longitude=Decimal("4.48"), offers_pickup=False
    )
    response = api_client.get("/api/v1/locations/?near=52.09,5.12")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["code"] for r in results] == ["utr", "ams", "rtm"]
    assert results[0]["distance_km"] == 0.0
    assert results[1]["distance_km"] == pytest.approx(35.2, abs=0.5)
    assert results[1]["distance_km"] < results[2]["distance_km"]

    pickup = api_client.get("/api/v1/locations/?near=51.92,4.48&pickup=true&limit=1")
    assert [r["code"] for r in pickup.json()["results"]] == ["utr"]
    listed = api_client.get("/api/v1/locations/?pickup=true")
    assert sorted(r["code"] for r in listed.json()["results"]) == ["ams", "utr"]
    assert all(r["distance_km"] is None for r in listed.json()["results"])


@pytest.mark.parametrize(
    "query", ["near=abc", "near=91,0", "near=1", "near=1,2&limit=0", "near=1,2&pickup=maybe"]
)
def test_locations_bad_parameters(api_client: APIClient, query: str) -> None:
    response = api_client.get(f"/api/v1/locations/?{query}")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_parameter")
