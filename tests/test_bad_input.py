"""Bad input never makes a 500: absurd signature timestamps, oversized or deeply nested bodies,
NUL characters in query parameters, an empty ``updated_since`` and problem members that a domain
error's extras must not replace. Each answer is problem+json and nothing is written."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core.api.problems import problem
from core.models import Channel
from inventory.models import StockHold
from orders.models import Order
from tests.inbound import signed_headers
from tests.shop import Shop

pytestmark = pytest.mark.django_db

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
INBOUND = "/channels/webshop/orders/"
ORDER = {
    "channel": "webshop",
    "external_id": "MKT-1",
    "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 1}],
    "fulfillment": {"method": "pickup", "location": "ams-central"},
}


@pytest.fixture
def marketplace(shop: Shop) -> Shop:
    shop.channel.kind = Channel.Kind.MARKETPLACE
    shop.channel.signing_secret = SECRET
    shop.channel.save()
    shop.receive(shop.amsterdam, shop.s, 3)
    return shop


@pytest.fixture
def client(shop: Shop, api_client_for: Callable[..., APIClient]) -> APIClient:
    shop.receive(shop.amsterdam, shop.s, 3)
    return api_client_for(channels=[shop.channel])


def signed(body: bytes, timestamp: str) -> dict[str, Any]:
    return signed_headers(body, secret=SECRET, timestamp=timestamp, message_id="msg_1")


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


def assert_nothing_written(the_shop: Shop) -> None:
    assert not Order.objects.exists()
    assert not StockHold.objects.exists()
    assert the_shop.level(the_shop.amsterdam, the_shop.s) == (3, 0)


# --- 1. absurd signature timestamps ------------------------------------------------------------


@pytest.mark.parametrize(
    "timestamp",
    [
        str(10**30),
        str(10**400),
        "nan",
        "inf",
        "-1",
        "-" + "9" * 40,
        "1e30",
        "\u0661\u0667" * 5,
        "1_7",
    ],
)
def test_an_absurd_signature_timestamp_is_401(marketplace: Shop, timestamp: str) -> None:
    # given a correctly signed body whose timestamp is absurd
    raw = json.dumps(ORDER).encode()

    # when it is delivered
    response = Client().post(
        INBOUND, data=raw, content_type="application/json", **signed(raw, timestamp)
    )

    # then it is refused as unsigned, and nothing is placed
    assert_problem(response, 401, "invalid_signature")
    assert_nothing_written(marketplace)


# --- 2. bodies too large or nested too deeply ---------------------------------------------------


def nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


def test_an_api_body_larger_than_the_limit_is_413(
    client: APIClient, shop: Shop, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({**ORDER, "external_id": "x" * 20_000}).encode()

    response = client.post("/api/v1/orders/", data=body, content_type="application/json")

    assert_problem(response, 413, "request_too_large")
    assert_nothing_written(shop)


@pytest.mark.parametrize("depth", [33, 100_000])
def test_an_api_body_nested_too_deeply_is_400(client: APIClient, shop: Shop, depth: int) -> None:
    response = client.post("/api/v1/orders/", data=nested(depth), content_type="application/json")

    body = assert_problem(response, 400, "malformed_request")
    assert "nested" in body["detail"]
    assert_nothing_written(shop)


def test_an_api_body_nested_within_the_limit_is_parsed(client: APIClient, shop: Shop) -> None:
    # 32 levels are accepted: the order is then refused for what it is, not for its shape
    response = client.post("/api/v1/orders/", data=nested(32), content_type="application/json")

    assert_problem(response, 400, "validation_error")


def test_an_inbound_body_larger_than_the_limit_is_413(marketplace: Shop, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    raw = json.dumps({**ORDER, "external_id": "x" * 20_000}).encode()

    response = Client().post(INBOUND, data=raw, content_type="application/json", **signed(raw, "1"))

    assert_problem(response, 413, "request_too_large")
    assert_nothing_written(marketplace)


@pytest.mark.parametrize("depth", [33, 100_000])
def test_an_inbound_body_nested_too_deeply_is_400(marketplace: Shop, depth: int) -> None:
    raw = nested(depth)
    headers = signed(raw, str(int(time.time())))

    response = Client().post(INBOUND, data=raw, content_type="application/json", **headers)

    body = assert_problem(response, 400, "malformed_request")
    assert "nested" in body["detail"]
    assert_nothing_written(marketplace)


# --- 3. NUL characters in query parameters ------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orders/?status=pl%00aced",
        "/api/v1/orders/?channel=web%00shop",
        "/api/v1/orders/?customer=a%00b",
        "/api/v1/orders/?cursor=%00",
        "/api/v1/products/?channel=webshop&search=tee%00",
        "/api/v1/products/?channel=webshop&category=%00",
        "/api/v1/variants/?sku=ORGANIC-TEE-S%00",
        "/api/v1/availability/?sku=ORGANIC-TEE-S%00&channel=webshop",
        "/api/v1/customers/?email=a%00@example.com",
        "/api/v1/customers/?phone=%00",
        "/api/v1/orders/WEB%00-1/",
        "/api/v1/orders/?st%00atus=placed",
    ],
)
def test_a_nul_character_in_a_query_is_400_naming_the_parameter(
    client: APIClient, path: str
) -> None:
    response = client.get(path)

    body = assert_problem(response, 400, "invalid_parameter")
    if "?" in path and "%00" in path.split("?", 1)[1]:
        assert body["errors"][0]["code"] == "null_character"
        assert body["errors"][0]["field"] in path.replace("%00", "\x00")


# --- 6. problem members are never replaced by extras ---------------------------------------------


def test_extras_never_replace_the_rfc_9457_members() -> None:
    body = problem(
        status_code=409,
        code="invalid_transition",
        detail="No.",
        extra={
            "status": "placed",
            "type": "x",
            "title": "x",
            "detail": "x",
            "instance": "x",
            "code": "x",
            "errors": "x",
            "order_status": "placed",
        },
    )

    assert (body["status"], body["type"], body["title"], body["detail"], body["code"]) == (
        409,
        "urn:omnihub:problem:invalid_transition",
        "Conflict",
        "No.",
        "invalid_transition",
    )
    assert body["errors"] == [] and "instance" not in body
    assert body["order_status"] == "placed"


def test_cancelling_an_order_twice_keeps_the_http_status_and_names_the_order_status(
    client: APIClient, shop: Shop
) -> None:
    placed = client.post("/api/v1/orders/", ORDER, format="json")
    assert placed.status_code == 201, placed.content
    number = placed.json()["number"]
    assert client.post(f"/api/v1/orders/{number}/cancel/", {}, format="json").status_code == 200

    again = client.post(f"/api/v1/orders/{number}/cancel/", {}, format="json")

    body = assert_problem(again, 409, "invalid_transition")
    assert body["order_status"] == "cancelled"


# --- 7. an empty updated_since ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orders/?updated_since=",
        "/api/v1/customers/?updated_since=",
        "/api/v1/locations/?updated_since=",
        "/api/v1/products/?channel=webshop&updated_since=",
        "/api/v1/webhooks/?updated_since=",
        "/api/v1/categories/?updated_since=",
    ],
)
def test_an_empty_updated_since_is_400_naming_it(client: APIClient, path: str) -> None:
    response = client.get(path)

    body = assert_problem(response, 400, "validation_error")
    assert [error["field"] for error in body["errors"]] == ["updated_since"]
