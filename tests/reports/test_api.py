"""The partner reporting API: scope ``reports:read``, the key's channels only, bad filters as
problem+json, and the figures of the rollup rows (money as text, with its currency)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient

from core.scopes import Scope
from inventory.models import ChannelLocation
from tests.factories import UserFactory
from tests.reports import rollup_rows as rr

pytestmark = pytest.mark.django_db

PATHS = [
    "/api/v1/reports/sales/",
    "/api/v1/reports/stock/",
    "/api/v1/reports/returns/",
    "/api/v1/reports/fulfilment/",
]
PROBLEM = "application/problem+json"


@pytest.fixture
def world() -> dict[str, Any]:
    """Sales on two channels (EUR and GBP) at one store, a return and a pickup on each."""
    day = timezone.localdate() - timedelta(days=3)
    web = rr.channel("webshop", currency="EUR")
    uk = rr.channel("uk-web", currency="GBP")
    north = rr.location("st-north")
    tee = rr.variant("Organic tee")
    rr.sales(
        day, web, north, tee, units_sold=4, gross="80.00", discount="8.00", tax="12.50",
        units_returned=1, refunded="18.00",
    )  # fmt: skip
    rr.sales(day, uk, north, tee, currency="GBP", units_sold=2, gross="30.00", units_returned=1)
    rr.orders(day, web, north, orders=3, units=4, subtotal="80.00", total="72.00")
    rr.orders(day, uk, north, currency="GBP", orders=1, units=2, subtotal="30.00", total="30")
    rr.reason(day, web, tee, "too small", 1)
    rr.reason(day, uk, tee, "changed mind", 1)
    rr.stock(tee, north, on_hand=5)
    rr.snapshot(day, tee, north, on_hand=5, received=5, last_received_on=day)
    rr.timing(web, north, placed_at=rr.at(day), ready_after=timedelta(minutes=40))
    rr.timing(uk, north, placed_at=rr.at(day), ready_after=timedelta(minutes=90))
    ChannelLocation.objects.create(channel=web, location=north)  # the webshop sells from it
    return {"day": day, "web": web, "uk": uk, "north": north}


@pytest.fixture
def web_client(api_client_for: Any, world: dict[str, Any]) -> APIClient:
    """A partner key on the webshop channel only, with ``reports:read``."""
    return api_client_for(scopes=[Scope.REPORTS_READ], channels=[world["web"]])


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    return body


@pytest.mark.parametrize("path", PATHS)
def test_a_key_without_reports_read_gets_a_403_problem(
    api_client_for: Any, world: dict[str, Any], path: str
) -> None:
    client = api_client_for(scopes=[Scope.ORDERS_READ], channels=[world["web"]])
    body = _problem(client.get(path), 403, "missing_scope")
    assert "reports:read" in body["detail"]


@pytest.mark.parametrize("path", PATHS)
def test_no_key_gets_a_401_problem(world: dict[str, Any], path: str) -> None:
    assert APIClient().get(path).status_code == 401


def test_sales_cover_the_keys_channels_only_with_money_as_text(
    web_client: APIClient, world: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(12):
        response = web_client.get(PATHS[0])
    assert response.status_code == 200
    body = response.json()
    assert body["filters"]["start"] == (timezone.localdate() - timedelta(days=29)).isoformat()
    assert body["filters"]["end"] == timezone.localdate().isoformat()
    assert body["filters"]["group_by"] == "day"
    kinds = {column["key"]: column["kind"] for column in body["columns"]}
    assert kinds["gross"] == "money" and kinds["orders"] == "int"
    assert body["results"] == [
        {
            "period": world["day"].isoformat(),
            "channel": "webshop",
            "store": "st-north",
            "currency": "EUR",
            "orders": 3,
            "units": 4,
            "gross": "80.00",
            "discount": "8.00",
            "tax": "12.50",
            "refunded": "18.00",
            "net": "54.00",
            "aov": "18.00",
        }
    ]


def test_a_channel_outside_the_key_is_refused_like_an_unknown_one(
    web_client: APIClient, world: dict[str, Any]
) -> None:
    outside = _problem(
        web_client.get(PATHS[0], {"channel": "uk-web"}), 400, "invalid_report_filter"
    )
    unknown = _problem(web_client.get(PATHS[0], {"channel": "nope"}), 400, "invalid_report_filter")
    assert outside["errors"] == [
        {"field": "channel", "code": "does_not_exist", "message": outside["detail"]}
    ]
    assert outside["detail"] == unknown["detail"].replace("'nope'", "'uk-web'")
    assert "uk-web" not in unknown["detail"]  # the other partner's channel is never named


def test_returns_and_fulfilment_and_stock_of_the_keys_channels(
    web_client: APIClient, world: dict[str, Any]
) -> None:
    returns = web_client.get(PATHS[2]).json()
    assert returns["filters"]["by"] == "channel"
    assert [(r["channel"], r["currency"], r["return_rate"], r["refunded"]) for r in returns[
        "results"
    ]] == [("webshop", "EUR", "25.0", "18.00")]  # fmt: skip
    reasons = web_client.get(PATHS[2], {"by": "reason"}).json()["results"]
    assert [(r["reason"], r["units_returned"]) for r in reasons] == [("too small", 1)]

    timings = web_client.get(PATHS[3]).json()["results"]
    assert [(t["store"], t["method"], t["fulfilments"], t["ready_p50"]) for t in timings] == [
        ("st-north", "pickup", 1, "40.0")
    ]
    stock = web_client.get(PATHS[1]).json()["results"]
    assert [(s["store"], s["on_hand"], s["units_sold"]) for s in stock] == [("st-north", 5, 4)]


def test_stock_figures_cover_only_the_locations_the_keys_channels_sell_from(
    web_client: APIClient, world: dict[str, Any]
) -> None:
    south = rr.location("wh-south")  # another partner's warehouse: not the webshop's
    rr.stock(rr.variant("Linen shirt"), south, on_hand=9)
    stock = web_client.get(PATHS[1]).json()["results"]
    assert [s["store"] for s in stock] == ["st-north"]
    refused = _problem(
        web_client.get(PATHS[1], {"store": "wh-south"}), 400, "invalid_report_filter"
    )
    assert "wh-south" in refused["detail"] and "Known: st-north" in refused["detail"]


def test_a_key_on_both_channels_gets_both_currencies_apart(
    api_client_for: Any, world: dict[str, Any]
) -> None:
    client = api_client_for(scopes=[Scope.REPORTS_READ], channels=[world["web"], world["uk"]])
    results = client.get(PATHS[0], {"group_by": "month"}).json()["results"]
    assert sorted((r["channel"], r["currency"], r["gross"]) for r in results) == [
        ("uk-web", "GBP", "30.00"),
        ("webshop", "EUR", "80.00"),
    ]
    narrowed = client.get(PATHS[0], {"channel": "uk-web"}).json()
    assert narrowed["filters"]["channel"] == ["uk-web"]
    assert [r["currency"] for r in narrowed["results"]] == ["GBP"]


@pytest.mark.parametrize(
    ("params", "field", "kind"),
    [
        ({"start": "2026-03-10", "end": "2026-03-01"}, "end", "invalid_range"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "start", "invalid_range"),
        ({"end": "0001-01-05"}, "end", "invalid_range"),
        ({"start": "2026-13-01"}, "start", "invalid"),
        ({"start": "20260101"}, "start", "invalid"),
        ({"start": ""}, "start", "invalid"),
        ({"store": "nowhere"}, "store", "does_not_exist"),
        ({"store": "a b"}, "store", "invalid"),
        ({"category": "999999"}, "category", "does_not_exist"),
        ({"category": "0"}, "category", "invalid"),
        ({"category": "99999999999999999999"}, "category", "invalid"),
        ({"group_by": "year"}, "group_by", "invalid"),
    ],
)
def test_bad_filters_are_problems_naming_the_field(
    web_client: APIClient, params: dict[str, str], field: str, kind: str
) -> None:
    body = _problem(web_client.get(PATHS[0], params), 400, "invalid_report_filter")
    assert body["errors"][0]["field"] == field
    assert body["errors"][0]["code"] == kind
    assert body["field"] == field
    assert body["detail"]


def test_a_bad_breakdown_of_returns_is_a_problem(web_client: APIClient) -> None:
    body = _problem(web_client.get(PATHS[2], {"by": "colour"}), 400, "invalid_report_filter")
    assert body["errors"][0]["field"] == "by"


def test_the_reversed_range_message_is_clear(web_client: APIClient) -> None:
    body = web_client.get(PATHS[0], {"start": "2026-03-10", "end": "2026-03-01"}).json()
    assert body["detail"] == "The end date is before the start date."
    over = web_client.get(PATHS[0], {"start": "2020-01-01", "end": "2026-01-01"}).json()
    assert "over 3 years" in over["detail"]


def test_a_staff_session_sees_every_channel(world: dict[str, Any]) -> None:
    user = UserFactory()
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="reports", codename="view_reports")
    )
    client = APIClient()
    client.force_login(user)
    results = client.get(PATHS[0]).json()["results"]
    assert {r["channel"] for r in results} == {"webshop", "uk-web"}
    client.force_login(UserFactory())
    _problem(client.get(PATHS[0]), 403, "missing_scope")


def test_the_schema_documents_the_report_paths(client: Any) -> None:
    schema = client.get("/api/schema/?format=json").json()
    for path in PATHS:
        operation = schema["paths"][path]["get"]
        names = {parameter["name"] for parameter in operation["parameters"]}
        assert {"start", "end", "channel", "store", "category"} <= names
        assert "200" in operation["responses"] and "400" in operation["responses"]
