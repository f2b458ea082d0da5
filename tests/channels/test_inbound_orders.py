"""POST /channels/{code}/orders/: orders a channel took, signed with the channel's secret
(Standard Webhooks), placed through the orders service and idempotent by external id."""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

import pytest
from django.test import Client

from core.actors import Actor
from core.models import Channel
from inventory.models import StockHold
from orders.models import Order
from tests.inbound import signed_headers
from tests.shop import Shop

pytestmark = pytest.mark.django_db

KEY = secrets.token_bytes(32)
SECRET = "whsec_" + base64.b64encode(KEY).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
URL = "/channels/webshop/orders/"

ORDER = {
    "external_id": "MKT-1001",
    "customer": {"email": "ann@example.com", "name": "Ann"},
    "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 2}],
    "fulfillment": {"method": "pickup", "location": "ams-central"},
}


@pytest.fixture
def marketplace(shop: Shop) -> Shop:
    shop.channel.kind = Channel.Kind.MARKETPLACE
    shop.channel.signing_secret = SECRET
    shop.channel.save()
    shop.receive(shop.amsterdam, shop.s, 3)
    return shop


def deliver(
    client: Client, order: Any = ORDER, *, url: str = URL, body: bytes | None = None, **signing: Any
) -> Any:
    raw = json.dumps(order).encode() if body is None else body
    return client.post(
        url,
        data=raw,
        content_type="application/json",
        **signed_headers(raw, **{"secret": SECRET, **signing}),
    )


def assert_nothing_placed(the_shop: Shop) -> None:
    assert Order.objects.count() == 0
    assert the_shop.level(the_shop.amsterdam, the_shop.s) == (3, 0)
    assert not StockHold.objects.exists()


def test_a_signed_order_is_placed_and_a_redelivery_returns_the_same_order(
    marketplace: Shop,
) -> None:
    # CSRF checks on: a marketplace has no CSRF token, the signature is the authentication.
    client = Client(enforce_csrf_checks=True)

    first = deliver(client)
    again = deliver(client)  # a redelivery: new message id and timestamp, same order

    assert first.status_code == 201, first.json()
    body = first.json()
    assert (body["channel"], body["external_id"], body["status"], body["total"]) == (
        "webshop",
        "MKT-1001",
        "placed",
        "39.98",
    )
    assert [(f["location"], f["status"]) for f in body["fulfillments"]] == [
        ("ams-central", "allocated")
    ]
    assert again.status_code == 200, again.json()
    assert again.json()["number"] == body["number"]
    assert Order.objects.count() == 1
    assert marketplace.level(marketplace.amsterdam, marketplace.s) == (3, 2)  # committed once
    order = Order.objects.get()
    assert order.timeline.get().actor == Actor.system("channel:webshop")


def test_the_channel_is_the_one_in_the_url(marketplace: Shop) -> None:
    response = deliver(Client(), {**ORDER, "channel": "another"})

    assert response.status_code == 201, response.json()
    assert Order.objects.get().channel == marketplace.channel


@pytest.mark.parametrize(
    "tamper",
    ["body", "wrong_secret", "stale", "future", "no_signature", "no_timestamp", "no_id"],
)
def test_a_bad_signature_is_401_and_places_nothing(marketplace: Shop, tamper: str) -> None:
    raw = json.dumps(ORDER).encode()
    headers = signed_headers(raw, secret=SECRET)
    if tamper == "body":
        raw = raw.replace(b'"quantity": 2', b'"quantity": 1')
    elif tamper == "wrong_secret":
        headers = signed_headers(raw, secret=OTHER_SECRET)
    elif tamper == "stale":
        headers = signed_headers(raw, secret=SECRET, timestamp=int(time.time()) - 301)
    elif tamper == "future":
        headers = signed_headers(raw, secret=SECRET, timestamp=int(time.time()) + 301)
    else:
        headers.pop(
            {
                "no_signature": "HTTP_WEBHOOK_SIGNATURE",
                "no_timestamp": "HTTP_WEBHOOK_TIMESTAMP",
                "no_id": "HTTP_WEBHOOK_ID",
            }[tamper]
        )

    response = Client().post(URL, data=raw, content_type="application/json", **headers)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_signature"
    assert_nothing_placed(marketplace)


def test_a_timestamp_within_five_minutes_is_accepted(marketplace: Shop) -> None:
    response = deliver(Client(), timestamp=int(time.time()) - 240)

    assert response.status_code == 201, response.json()


def test_one_valid_signature_among_several_is_enough(marketplace: Shop) -> None:
    raw = json.dumps(ORDER).encode()
    old = signed_headers(raw, secret=OTHER_SECRET, message_id="msg_1", timestamp=1_900_000_000)
    new = signed_headers(raw, secret=SECRET, message_id="msg_1", timestamp=int(time.time()))
    both = f"{old['HTTP_WEBHOOK_SIGNATURE']} {new['HTTP_WEBHOOK_SIGNATURE']}"
    headers = {**new, "HTTP_WEBHOOK_SIGNATURE": both}

    response = Client().post(URL, data=raw, content_type="application/json", **headers)

    assert response.status_code == 201, response.json()


def test_a_channel_without_a_secret_accepts_nothing(marketplace: Shop) -> None:
    marketplace.channel.signing_secret = ""
    marketplace.channel.save()

    response = deliver(Client(), secret="whsec_")

    assert response.status_code == 401
    assert_nothing_placed(marketplace)


def test_the_environment_variable_secret_wins(
    marketplace: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_secret = "whsec_" + base64.b64encode(b"e" * 32).decode()
    monkeypatch.setenv("OMNIHUB_TEST_MARKETPLACE_SECRET", env_secret)
    marketplace.channel.signing_secret_env = "OMNIHUB_TEST_MARKETPLACE_SECRET"
    marketplace.channel.save()

    with_field_secret = deliver(Client(), secret=SECRET)
    assert with_field_secret.status_code == 401
    assert_nothing_placed(marketplace)

    with_env_secret = deliver(Client(), secret=env_secret)
    assert with_env_secret.status_code == 201, with_env_secret.json()

    monkeypatch.delenv("OMNIHUB_TEST_MARKETPLACE_SECRET")  # named but unset: nothing verifies
    assert deliver(Client(), {**ORDER, "external_id": "MKT-2"}, secret=SECRET).status_code == 401
    assert Order.objects.count() == 1


def test_insufficient_stock_is_409_with_shortages_and_nothing_reserved(
    marketplace: Shop,
) -> None:
    order = {
        **ORDER,
        "lines": [{"sku": "ORGANIC-TEE-S", "quantity": 5}],
        "fulfillment": {"method": "ship", "address": {"country": "NL", "city": "Utrecht"}},
    }

    response = deliver(Client(), order)

    assert response.status_code == 409, response.json()
    body = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert body["code"] == "insufficient_stock"
    assert [(s["variant_id"], s["requested"]) for s in body["shortages"]] == [(marketplace.s.pk, 5)]
    assert_nothing_placed(marketplace)


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"external_id": None}, "external_id", "validation_error"),
        (
            {"lines": [{"sku": "ORGANIC-TEE-S", "quantity": 0}]},
            "lines.0.quantity",
            "validation_error",
        ),
        ({"lines": []}, "lines", "validation_error"),
        ({"fulfillment": {"method": "pickup"}}, "fulfillment.location", "validation_error"),
        ({"customer": {"email": "not-an-email"}}, "customer.email", "validation_error"),
        ({"lines": [{"sku": "NO-SUCH-SKU", "quantity": 1}]}, "lines.0.sku", "order_invalid"),
        (
            {"fulfillment": {"method": "pickup", "location": "wh-rotterdam"}},
            "fulfillment.location",
            "order_invalid",
        ),
    ],
)
def test_an_invalid_order_is_422_naming_the_field(
    marketplace: Shop, change: dict[str, Any], field: str, code: str
) -> None:
    order = {key: value for key, value in {**ORDER, **change}.items() if value is not None}

    response = deliver(Client(), order)

    assert response.status_code == 422, response.json()
    body = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert body["code"] == code
    assert field in [error["field"] for error in body["errors"]]
    assert_nothing_placed(marketplace)


def test_a_body_that_is_not_json_is_400(marketplace: Shop) -> None:
    response = deliver(Client(), body=b"{not json")

    assert (response.status_code, response.json()["code"]) == (400, "malformed_request")
    assert_nothing_placed(marketplace)


@pytest.mark.parametrize("state", ["unknown", "inactive"])
def test_an_unknown_or_inactive_channel_is_404(marketplace: Shop, state: str) -> None:
    url = URL
    if state == "unknown":
        url = "/channels/nowhere/orders/"
    else:
        Channel.objects.filter(pk=marketplace.channel.pk).update(is_active=False)

    response = deliver(Client(), url=url)

    assert response.status_code == 404
    assert response.json()["code"] == "channel_not_found"
    assert_nothing_placed(marketplace)


def test_only_post_is_allowed(marketplace: Shop) -> None:
    response = Client().get(URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
