"""Stock quantities that would overflow their integer column are refused with a 400 naming the
field, and nothing is written: a batch of movements that adds up beyond the column, and a single
quantity beyond its declared maximum."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from inventory import services
from inventory.models import StockHold, StockLevel, StockMovement
from inventory.services import StockLine
from tests.factories import LocationFactory
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stock() -> tuple[Any, Any]:
    variant: Any = VariantFactory(sku="RUN-10")
    location: Any = LocationFactory(code="ams")
    services.stock_receive(lines=[StockLine(variant.pk, location.pk, 5)], reference="PO")
    return variant, location


def assert_untouched() -> None:
    level = StockLevel.objects.get()
    assert (level.on_hand, level.committed, level.damaged) == (5, 0, 0)
    assert StockMovement.objects.count() == 1  # the fixture's receipt
    assert not StockHold.objects.exists()


def test_movements_adding_up_beyond_the_column_are_400(api_client: APIClient, stock: Any) -> None:
    # given 500 receipts of 10 million units each: every one is allowed, their sum is not
    body = {
        "movements": [
            {"location": "ams", "sku": "RUN-10", "kind": "receipt", "quantity": 10_000_000}
            for _ in range(500)
        ]
    }

    response = api_client.post("/api/v1/stock/movements/", body, format="json")

    assert response.status_code == 400, response.content[:300]
    problem = response.json()
    assert problem["code"] == "invalid_quantity"
    assert [error["field"] for error in problem["errors"]] == ["movements"]
    assert_untouched()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/v1/stock/movements/",
            {
                "movements": [
                    {"location": "ams", "sku": "RUN-10", "kind": "receipt", "quantity": 2**31}
                ]
            },
            "movements.0.quantity",
        ),
        (
            "/api/v1/stock/holds/",
            {
                "reference": "h-1",
                "lines": [{"location": "ams", "sku": "RUN-10", "quantity": 10**20}],
            },
            "lines.0.quantity",
        ),
    ],
)
def test_a_quantity_beyond_its_maximum_is_400_naming_it(
    api_client: APIClient, stock: Any, path: str, body: dict[str, Any], field: str
) -> None:
    response = api_client.post(path, body, format="json")

    assert response.status_code == 400, response.content[:300]
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert_untouched()
