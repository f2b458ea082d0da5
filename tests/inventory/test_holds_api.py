"""POST /api/v1/stock/holds/ and DELETE /api/v1/stock/holds/{reference}/: cart holds over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import Channel
from inventory import services
from inventory.models import Location, StockHold
from inventory.selectors import availability_for_variants
from inventory.services import StockLine
from tests.factories import ChannelFactory, LocationFactory
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelf() -> tuple[Any, Any, Any]:
    store: Location = LocationFactory(code="st-1")  # type: ignore[assignment]
    # the keys act for the webshop, which sells from this store (stock is scoped to a key's
    # channels' locations)
    webshop: Channel = ChannelFactory(code="webshop")  # type: ignore[assignment]
    webshop.locations.add(store)
    shoe, sock = VariantFactory(sku="SHOE-42"), VariantFactory(sku="SOCK-M")
    services.stock_receive(
        lines=[StockLine(shoe.pk, store.pk, 3), StockLine(sock.pk, store.pk, 1)], reference="PO"
    )
    return store, shoe, sock


def _available(variant: Any) -> int:
    return availability_for_variants(variant_ids=[variant.pk])[variant.pk].total


def test_hold_then_release(api_client_for, shelf) -> None:  # type: ignore[no-untyped-def]
    _store, shoe, _sock = shelf
    client = api_client_for(scopes=["stock:write"])
    body = {
        "reference": "cart-7",
        "ttl_seconds": 600,
        "lines": [{"location": "st-1", "sku": "SHOE-42", "quantity": 2}],
    }
    created = client.post("/api/v1/stock/holds/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert created.status_code == 201, created.json()
    assert created.json()["reference"] == "cart-7"
    assert _available(shoe) == 1
    replay = client.post("/api/v1/stock/holds/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (
        replay.status_code == 201 and StockHold.objects.count() == 1
    )  # a retry holds nothing more

    other = api_client_for(scopes=["stock:write"])
    assert other.delete("/api/v1/stock/holds/cart-7/").json()["released"] == 0  # not theirs
    assert client.delete("/api/v1/stock/holds/cart-7/").json() == {
        "reference": "cart-7",
        "released": 2,
    }
    assert _available(shoe) == 3
    assert client.delete("/api/v1/stock/holds/cart-7/").json()["released"] == 0


def test_a_short_line_holds_nothing(api_client_for, shelf) -> None:  # type: ignore[no-untyped-def]
    _store, shoe, _sock = shelf
    client = api_client_for(scopes=["stock:write"])
    body = {
        "reference": "cart-8",
        "lines": [
            {"location": "st-1", "sku": "SHOE-42", "quantity": 1},
            {"location": "st-1", "sku": "SOCK-M", "quantity": 2},
        ],
    }
    response = client.post("/api/v1/stock/holds/", body, format="json")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "insufficient_stock"
    assert problem["shortages"][0]["requested"] == 2 and problem["shortages"][0]["available"] == 1
    assert not StockHold.objects.exists() and _available(shoe) == 3


def test_unknown_items_and_bad_input_are_400(api_client_for, shelf) -> None:  # type: ignore[no-untyped-def]
    client = api_client_for(scopes=["stock:write"])
    unknown = client.post(
        "/api/v1/stock/holds/",
        {"reference": "c", "lines": [{"location": "nowhere", "sku": "SHOE-42", "quantity": 1}]},
        format="json",
    )
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "lines.0.location"
    bad = client.post(
        "/api/v1/stock/holds/", {"reference": "has space", "lines": []}, format="json"
    )
    assert bad.status_code == 400 and {e["field"] for e in bad.json()["errors"]} == {
        "reference",
        "lines",
    }
    assert (
        client_without_scope(api_client_for)
        .post("/api/v1/stock/holds/", {}, format="json")
        .status_code
        == 403
    )


def client_without_scope(api_client_for):  # type: ignore[no-untyped-def]
    return api_client_for(scopes=["stock:read"])


def test_no_location_may_take_the_code_the_holds_endpoints_use() -> None:
    # /stock/holds/<x>/ would be ambiguous with the stock of SKU x at a location coded "holds"
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="reserved"):
        services.location_upsert(code="holds", name="Holds", kind="store", country="NL")
    assert not services.Location.objects.filter(code="holds").exists()
