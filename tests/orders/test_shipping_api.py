"""GET /api/v1/availability/?sku=&country=&postcode=: the delivery promise per shipping method,
the same figures as ``orders.shipping.delivery_promise_for``; and the shipping admin pages."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from inventory.models import Location
from orders import shipping
from orders.models import NonWorkingDay, ShippingMethod
from tests.orders.shipping_factories import method_make
from tests.shop import Shop

pytestmark = pytest.mark.django_db

# Thursday 22 April 2027, 14:00 in Amsterdam.
NOW = datetime(2027, 4, 22, 14, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))


@pytest.fixture
def shipping_shop(shipping_data: Shop, monkeypatch: Any) -> Shop:
    """The API at ``NOW`` (admin tests use ``shipping_data``: a session needs the real time)."""
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    return shipping_data


@pytest.fixture
def shipping_data(shop: Shop) -> Shop:
    Location.objects.filter(pk=shop.warehouse.pk).update(cutoff_time=time(17, 0))
    shop.receive(shop.warehouse, shop.m, 4)
    type(shop.m).objects.filter(pk=shop.m.pk).update(weight_grams=400)
    method_make(
        "postnl",
        zones=(("NL", "", ""), ("BE", "", "")),
        rates=((2000, None, "4.95"), (None, None, "8.95")),
        free_over="50",
    )
    method_make("dhl-ams", zones=(("NL", "1000", "1099"),), transit_days=0)
    return shop


def get(api_client: Any, **params: str) -> Any:
    return api_client.get("/api/v1/availability/", {"sku": "ORGANIC-TEE-M", **params})


def test_without_an_address_the_answer_is_as_before(api_client, shipping_shop):
    body = get(api_client).json()
    [result] = body["results"]
    assert "delivery" not in result
    assert "delivery_to" not in body
    assert result["available"] == 4


def test_the_promise_per_method_for_an_address(api_client, shipping_shop):
    response = get(api_client, country="NL", postcode="1011 AB")
    assert response.status_code == 200, response.content
    [result] = response.json()["results"]
    assert result["available"] == 4
    assert result["delivery"] == [
        {
            "method": "dhl-ams",
            "name": "Dhl-Ams",
            "carrier": "dhl-ams carrier",
            "service": "Standard",
            "price": "4.95",
            "currency": "EUR",
            "free": False,
            "ships_on": "2027-04-22",
            "delivered_by": "2027-04-22",
            "ships_from": ["wh-rotterdam"],
        },
        {
            "method": "postnl",
            "name": "Postnl",
            "carrier": "postnl carrier",
            "service": "Standard",
            "price": "4.95",
            "currency": "EUR",
            "free": False,
            "ships_on": "2027-04-22",
            "delivered_by": "2027-04-23",
            "ships_from": ["wh-rotterdam"],
        },
    ]
    # The same function the emails quote, with the same figures.
    quoted = shipping.delivery_promise_for(
        channel_code="webshop",
        sku="ORGANIC-TEE-M",
        quantity=1,
        country="NL",
        postcode="1011AB",
        now=NOW,
    )
    assert [
        (p.option.method_code, f"{p.option.price:.2f}", p.promise.delivered_by.isoformat())
        for p in quoted
    ] == [(d["method"], d["price"], d["delivered_by"]) for d in result["delivery"]]


def test_a_method_whose_zone_does_not_serve_the_address_is_absent(api_client, shipping_shop):
    NonWorkingDay.objects.create(country="BE", date=date(2027, 4, 23), name="Day off")
    [result] = get(api_client, country="BE", postcode="1000").json()["results"]
    assert [(d["method"], d["delivered_by"]) for d in result["delivery"]] == [
        ("postnl", "2027-04-26")
    ]
    [result] = get(api_client, country="NL").json()["results"]  # no postcode: no range matches
    assert [d["method"] for d in result["delivery"]] == ["postnl"]


def test_an_address_no_method_serves_says_so_beside_the_availability(api_client, shipping_shop):
    response = get(api_client, country="FR", postcode="75001")
    assert response.status_code == 200
    body = response.json()
    assert body["delivery_to"] == {
        "country": "FR",
        "postcode": "75001",
        "served": False,
        "code": "shipping_zone_unserved",
    }
    [result] = body["results"]
    assert (result["available"], result["delivery"]) == (4, [])
    served = get(api_client, country="NL", postcode="1011 ab").json()["delivery_to"]
    assert served == {"country": "NL", "postcode": "1011AB", "served": True, "code": None}


def test_a_sku_out_of_stock_has_no_promise(api_client, shipping_shop):
    [result] = get(api_client, sku="ORGANIC-TEE-L", country="NL").json()["results"]
    assert result["delivery"] == []


def test_inactive_methods_are_not_quoted(api_client, shipping_shop):
    ShippingMethod.objects.update(is_active=False)
    body = get(api_client, country="NL").json()
    assert body["delivery_to"]["served"] is False
    assert body["results"][0]["delivery"] == []


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"country": "nl"}, "invalid_parameter", "country"),
        ({"country": "Netherlands"}, "invalid_parameter", "country"),
        ({"country": "NL", "postcode": "1011_AB"}, "invalid_parameter", "postcode"),
        ({"country": "NL", "postcode": "1011 AB 12345"}, "invalid_parameter", "postcode"),
        ({"country": "NL", "postcode": "10115"}, "invalid_address", "postcode"),
        ({"country": "DE", "postcode": "1011AB"}, "invalid_address", "postcode"),
        ({"postcode": "1011AB"}, "invalid_address", "country"),
    ],
)
def test_a_bad_address_is_a_400_problem(api_client, shipping_shop, params, code, field):
    response = get(api_client, **params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    assert [e["field"] for e in body["errors"]] == [field]


def test_the_free_over_threshold_shows_per_unit(api_client, shipping_shop, shop: Shop):
    from catalog.models import Price

    Price.objects.filter(variant=shop.m, channel=shop.channel).update(amount=Decimal("60.00"))
    [result] = get(api_client, country="NL").json()["results"]
    [postnl] = result["delivery"]
    assert (postnl["price"], postnl["free"]) == ("0.00", True)


# --- admin -------------------------------------------------------------------------------------


def test_admin_pages_load(admin_client: Client, shipping_data):
    method = ShippingMethod.objects.get(code="postnl")
    NonWorkingDay.objects.create(country="NL", date=date(2027, 4, 27), name="Koningsdag")
    for url in (
        "/admin/orders/shippingmethod/",
        "/admin/orders/shippingmethod/add/",
        f"/admin/orders/shippingmethod/{method.pk}/change/",
        "/admin/orders/nonworkingday/",
        "/admin/orders/nonworkingday/add/",
        f"/admin/inventory/location/{shipping_data.warehouse.pk}/change/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
    page = admin_client.get(f"/admin/orders/shippingmethod/{method.pk}/change/").content.decode()
    assert "zones-TOTAL_FORMS" in page and "rates-TOTAL_FORMS" in page
    location_page = admin_client.get(
        f"/admin/inventory/location/{shipping_data.warehouse.pk}/change/"
    ).content.decode()
    assert 'name="cutoff_time"' in location_page


def test_admin_saves_a_zone_normalised(admin_client: Client, db):
    response = admin_client.post(
        "/admin/orders/shippingmethod/add/",
        {
            "code": "bpost",
            "name": "bpost",
            "carrier": "bpost",
            "service": "Standard",
            "is_active": "on",
            "currency": "EUR",
            "rate_basis": "weight",
            "free_over": "",
            "transit_days": "2",
            "zones-TOTAL_FORMS": "1",
            "zones-INITIAL_FORMS": "0",
            "zones-0-country": "BE",
            "zones-0-postcode_from": "1000",
            "zones-0-postcode_to": "1299",
            "rates-TOTAL_FORMS": "1",
            "rates-INITIAL_FORMS": "0",
            "rates-0-up_to_weight_grams": "",
            "rates-0-up_to_value": "",
            "rates-0-price": "5.50",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    method = ShippingMethod.objects.get(code="bpost")
    assert [(z.country, z.postcode_from, z.postcode_to) for z in method.zones.all()] == [
        ("BE", "1000", "1299")
    ]
    backwards = admin_client.post(
        "/admin/orders/shippingmethod/add/",
        {
            "code": "bad",
            "name": "bad",
            "carrier": "x",
            "service": "x",
            "currency": "EUR",
            "rate_basis": "weight",
            "transit_days": "1",
            "zones-TOTAL_FORMS": "1",
            "zones-INITIAL_FORMS": "0",
            "zones-0-country": "BE",
            "zones-0-postcode_from": "2000",
            "zones-0-postcode_to": "1000",
            "rates-TOTAL_FORMS": "0",
            "rates-INITIAL_FORMS": "0",
        },
    )
    assert backwards.status_code == 200
    assert not ShippingMethod.objects.filter(code="bad").exists()
