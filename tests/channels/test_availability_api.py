"""GET /api/v1/availability/: what a channel may promise per SKU, per location, nearby."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from inventory.services import (
    MovementInput,
    StockLine,
    stock_movements_apply,
    stock_reserve,
    stock_safety_set,
)
from tests.factories import ChannelFactory, LocationFactory
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db

AMSTERDAM = "52.3700,4.8900"


def receive(variant, location, quantity):
    stock_movements_apply(
        movements=[
            MovementInput(
                variant_id=variant.pk, location_id=location.pk, kind="receipt", quantity=quantity
            )
        ]
    )


@pytest.fixture
def shop():
    """A webshop selling from a warehouse and two stores, one shoe in stock at each."""
    warehouse = LocationFactory(
        code="wh",
        kind="warehouse",
        offers_pickup=False,
        latitude=Decimal("51.5947"),
        longitude=Decimal("5.0469"),
    )
    centre = LocationFactory(
        code="st-centre", latitude=Decimal("52.3695"), longitude=Decimal("4.8912")
    )
    zuid = LocationFactory(code="st-zuid", latitude=Decimal("52.3448"), longitude=Decimal("4.8756"))
    elsewhere = LocationFactory(code="st-other")
    channel = ChannelFactory(code="webshop")
    channel.locations.set([warehouse, centre, zuid])
    shoe = VariantFactory(sku="SHOE-10")
    receive(shoe, warehouse, 20)
    receive(shoe, centre, 3)
    receive(shoe, zuid, 2)
    receive(shoe, elsewhere, 50)  # not a location of this channel
    return {
        "channel": channel,
        "shoe": shoe,
        "warehouse": warehouse,
        "centre": centre,
        "zuid": zuid,
    }


def test_availability_per_sku_per_location_nearest_first(api_client, shop):
    stock_safety_set(variant_id=shop["shoe"].pk, location_id=shop["zuid"].pk, safety_stock=1)
    stock_reserve(
        lines=[StockLine(variant_id=shop["shoe"].pk, location_id=shop["centre"].pk, quantity=1)],
        reference="cart-1",
        ttl=timedelta(minutes=15),
    )
    response = api_client.get(
        "/api/v1/availability/", {"sku": "SHOE-10,NOPE", "channel": "webshop", "near": AMSTERDAM}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["channel"] == "webshop"
    assert body["unknown_skus"] == ["NOPE"]
    [shoe] = body["results"]
    assert shoe["sku"] == "SHOE-10"
    assert shoe["available"] == 20 + 2 + 1  # reserved and safety stock kept back
    assert [
        (row["code"], row["available"], row["pickup_available"]) for row in shoe["locations"]
    ] == [
        ("st-centre", 2, True),
        ("st-zuid", 1, True),
        ("wh", 20, False),
    ]
    distances = [row["distance_km"] for row in shoe["locations"]]
    assert distances == sorted(distances)
    assert distances[0] < 1


def test_a_percentage_buffer_shows_the_marketplace_less(api_client, shop):
    channel = shop["channel"]
    channel.stock_buffer_kind = "percent"
    channel.stock_buffer_value = Decimal("20")
    channel.save()
    body = api_client.get("/api/v1/availability/", {"sku": "SHOE-10"}).json()
    assert body["results"][0]["available"] == 25 - 5  # 20 % of 25 held back
    assert body["results"][0]["locations"][0]["distance_km"] is None


def test_the_channel_defaults_to_the_keys_only_channel(api_client, shop):
    assert api_client.get("/api/v1/availability/", {"sku": "SHOE-10"}).json()["channel"] == (
        "webshop"
    )


def test_another_partners_channel_is_not_found(api_client_for, shop):
    ChannelFactory(code="marketplace").locations.set([shop["warehouse"]])
    client = api_client_for(channels=["app"])
    response = client.get("/api/v1/availability/", {"sku": "SHOE-10", "channel": "marketplace"})
    assert response.status_code == 404
    assert response.json()["code"] == "channel_not_found"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "sku"),
        ({"sku": ",".join(f"S{n}" for n in range(101))}, "sku"),
        ({"sku": "SHOE-10", "near": "north"}, "near"),
        ({"sku": "SHOE-10", "near": "91,4"}, "near"),
    ],
)
def test_bad_parameters_are_400_problems(api_client, shop, params, field):
    response = api_client.get("/api/v1/availability/", params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field


def test_a_caller_with_several_channels_must_name_one(api_client_for, shop):
    client = api_client_for(channels=["webshop", "app"])
    response = client.get("/api/v1/availability/", {"sku": "SHOE-10"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "channel"


def test_availability_needs_the_stock_read_scope(api_client_for, shop):
    client = api_client_for(scopes=["catalog:read"])
    assert client.get("/api/v1/availability/", {"sku": "SHOE-10"}).status_code == 403


def test_query_count_does_not_grow_with_the_number_of_skus(
    api_client, shop, django_assert_max_num_queries
):
    skus = [VariantFactory().sku for _ in range(60)]
    for variant_sku in skus[:30]:
        from catalog.models import Variant

        receive(Variant.objects.get(sku=variant_sku), shop["centre"], 1)
    api_client.get("/api/v1/availability/", {"sku": skus[0]})  # principal and channel cached
    with django_assert_max_num_queries(10) as few:
        api_client.get("/api/v1/availability/", {"sku": ",".join(skus[:2])})
    with django_assert_max_num_queries(10) as many:
        response = api_client.get("/api/v1/availability/", {"sku": ",".join(skus)})
    assert len(response.json()["results"]) == 60
    assert len(many.captured_queries) == len(few.captured_queries)
