"""The partner read API around prices: shipping methods for an address, the promotions running
on a channel, each country's tax rates. The figures are those of order placement's functions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from core.services import tax_rates_seed
from orders import shipping
from orders.models import Promotion
from tests.orders.shipping_factories import method_make
from tests.shop import Shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def methods(shop: Shop) -> Shop:
    method_make(
        "postnl",
        zones=(("NL", "", ""), ("BE", "", "")),
        rates=((2000, None, "4.95"), (None, None, "8.95")),
        free_over="50",
    )
    method_make("dhl-ams", zones=(("NL", "1000", "1099"),), transit_days=0)
    return shop


def test_shipping_methods_for_an_address_are_the_placement_quotes(api_client, methods):
    response = api_client.get(
        "/api/v1/shipping-methods/",
        {"country": "NL", "postcode": "1011 AB", "weight_grams": "2500", "goods_value": "20.00"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["country"] == "NL" and body["postcode"] == "1011AB"
    expected = shipping.shipping_options(
        channel_code="webshop",
        country="NL",
        postcode="1011AB",
        weight_grams=2500,
        goods_value=Decimal("20.00"),
        currency="EUR",
    )
    assert [(r["code"], r["price"], r["free"]) for r in body["results"]] == [
        (o.method_code, str(o.price), o.free) for o in expected
    ]
    assert {r["code"] for r in body["results"]} == {"postnl", "dhl-ams"}


def test_free_over_threshold_and_postcode_ranges(api_client, methods):
    outside = api_client.get(
        "/api/v1/shipping-methods/", {"country": "NL", "postcode": "3011AB", "goods_value": "60"}
    ).json()["results"]
    assert [(r["code"], r["price"], r["free"]) for r in outside] == [("postnl", "0.00", True)]
    belgium = api_client.get("/api/v1/shipping-methods/", {"country": "BE"}).json()["results"]
    assert [r["code"] for r in belgium] == ["postnl"]
    nowhere = api_client.get("/api/v1/shipping-methods/", {"country": "DE"}).json()
    assert nowhere["results"] == []


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "country"),
        ({"country": "nl"}, "country"),
        ({"country": "NL", "weight_grams": "-1"}, "weight_grams"),
        ({"country": "NL", "goods_value": "ten"}, "goods_value"),
        ({"country": "NL", "postcode": "ABCDEFG"}, "postcode"),
        ({"country": "NL", "goods_value": ""}, "goods_value"),
        ({"country": ""}, "country"),
    ],
)
def test_bad_shipping_queries_are_problems_naming_the_field(api_client, methods, params, field):
    response = api_client.get("/api/v1/shipping-methods/", params)
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert field in {error["field"] for error in response.json()["errors"]}


def test_running_promotions_are_listed_without_coupon_codes(api_client, shop):
    now = timezone.now()
    running = Promotion.objects.create(
        name="Spring",
        kind=Promotion.Kind.PERCENT_OFF,
        value=Decimal("20"),
        ends_at=now + timedelta(days=3),
    )
    running.channels.set([shop.channel])
    coupon_only = Promotion.objects.create(
        name="Welcome", kind=Promotion.Kind.AMOUNT_OFF, value=Decimal("5"), requires_coupon=True
    )
    coupon_only.channels.set([shop.channel])
    Promotion.objects.create(
        name="Over",
        kind=Promotion.Kind.PERCENT_OFF,
        value=Decimal("5"),
        ends_at=now - timedelta(days=1),
    ).channels.set([shop.channel])
    Promotion.objects.create(name="Elsewhere", kind=Promotion.Kind.PERCENT_OFF, value=Decimal("5"))
    response = api_client.get("/api/v1/promotions/")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["name"], r["requires_coupon"]) for r in results] == [
        ("Spring", False),
        ("Welcome", True),
    ]
    assert results[0]["value"] == "20.00" and results[0]["ends_at"] is not None
    assert "code" not in str(results).lower().replace("requires_coupon", "")


def test_tax_rates_per_country(api_client, shop):
    tax_rates_seed()
    response = api_client.get("/api/v1/tax-rates/", {"country": "FR"})
    assert response.status_code == 200, response.content
    rates = {r["tax_class"]: r["rate"] for r in response.json()["results"]}
    assert rates == {
        "standard": "20.00",
        "intermediate": "10.00",
        "reduced": "5.50",
        "super_reduced": "2.10",
        "zero": "0.00",
    }
    assert api_client.get("/api/v1/tax-rates/", {"country": "France"}).status_code == 400
    assert api_client.get("/api/v1/tax-rates/", {"country": ""}).status_code == 400
    everything = api_client.get("/api/v1/tax-rates/").json()["results"]
    assert {r["country"] for r in everything} >= {"NL", "BE", "DE", "FR"}


def test_the_read_endpoints_need_catalog_read(api_client_for: Any, shop):
    client = api_client_for(scopes=["orders:read"], channels=["webshop"])
    for path in (
        "/api/v1/shipping-methods/?country=NL",
        "/api/v1/promotions/",
        "/api/v1/tax-rates/",
    ):
        assert client.get(path).status_code == 403, path
