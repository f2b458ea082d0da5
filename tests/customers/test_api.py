"""Partner API for customers: scoping to the key's channels, consents, loyalty, query counts."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from customers import selectors, services
from customers.models import ConsentEvent, Customer, Redemption

pytestmark = pytest.mark.django_db


@pytest.fixture
def web_client(api_client_for: Callable[..., APIClient]) -> APIClient:
    return api_client_for(channels=["webshop", "store-ams"])


@pytest.fixture
def ann() -> Customer:
    customer = services.customer_resolve(
        email="ann@example.com",
        phone="0612345678",
        loyalty_card="C-1",
        name="Ann",
        channel_code="webshop",
    ).customer
    services.customer_resolve(email="ann@example.com", channel_code="bol", external_id="B1")
    services.loyalty_earn(
        customer_id=customer.pk,
        amount=Decimal("150"),
        currency="EUR",
        channel_code="webshop",
        reference="web-1",
    )
    return customer


def test_find_by_email_phone_and_card_in_any_notation(web_client: APIClient, ann: Customer) -> None:
    for query in (
        "email=ANN@example.com",
        "phone=%2B31%206%2012345678",
        "loyalty_card=c-1",
        "email=ann@example.com&phone=06-12345678",
    ):
        response = web_client.get(f"/api/v1/customers/?{query}")
        assert response.status_code == 200, response.json()
        assert [c["id"] for c in response.json()["results"]] == [ann.pk], query
    body = web_client.get("/api/v1/customers/?email=ann@example.com").json()["results"][0]
    assert body["name"] == "Ann" and body["loyalty_balance"] == 150
    # the external id and the channel of another partner are not shown
    assert body["channels"] == ["webshop"]
    assert {i["kind"] for i in body["identifiers"]} == {"email", "phone", "loyalty_card"}
    assert web_client.get("/api/v1/customers/?email=nobody@example.com").json()["results"] == []


def test_an_invalid_phone_filter_is_a_problem_not_an_empty_list(web_client: APIClient) -> None:
    response = web_client.get("/api/v1/customers/?phone=12")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid_identifier"
    assert response.json()["errors"][0]["field"] == "phone"


def test_a_key_of_another_partners_channel_gets_404(
    api_client_for: Callable[..., APIClient], ann: Customer
) -> None:
    other = api_client_for(channels=["marketplace-x"])
    for path in ("", "loyalty/"):
        assert other.get(f"/api/v1/customers/{ann.pk}/{path}").status_code == 404
    assert other.get("/api/v1/customers/?email=ann@example.com").json()["results"] == []
    response = other.post(
        f"/api/v1/customers/{ann.pk}/loyalty/redeem/",
        {"points": 10, "channel": "marketplace-x", "reference": "x"},
        format="json",
    )
    assert response.status_code == 404
    assert selectors.loyalty_balance(customer_id=ann.pk) == 150
    # a partner of bol sees the customer, through the external id seen there
    bol = api_client_for(channels=["bol"])
    assert bol.get(f"/api/v1/customers/{ann.pk}/").json()["channels"] == ["bol"]


def test_detail_has_the_consent_state(web_client: APIClient, ann: Customer) -> None:
    services.consent_record(
        customer_id=ann.pk,
        purpose="email_marketing",
        granted=True,
        channel_code="webshop",
        source="checkout",
        wording_version="v1",
    )
    body = web_client.get(f"/api/v1/customers/{ann.pk}/").json()
    consents = {c["purpose"]: c for c in body["consents"]}
    assert consents["email_marketing"]["granted"] is True
    assert consents["email_marketing"]["wording_version"] == "v1"
    assert consents["profiling"]["granted"] is False


def test_post_consent_appends_to_the_log(web_client: APIClient, ann: Customer) -> None:
    payload = {
        "purpose": "sms_marketing",
        "granted": True,
        "channel": "store-ams",
        "source": "till",
        "wording_version": "2026-01",
    }
    response = web_client.post(
        f"/api/v1/customers/{ann.pk}/consents/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert response.status_code == 201, response.json()
    replay = web_client.post(
        f"/api/v1/customers/{ann.pk}/consents/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert replay.json() == response.json()
    assert ConsentEvent.objects.count() == 1
    assert selectors.consent_state(customer_id=ann.pk)["sms_marketing"].granted is True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"purpose": "telepathy"}, "purpose"),
        ({"channel": "bol"}, "channel"),
        ({"wording_version": ""}, "wording_version"),
    ],
)
def test_a_bad_consent_is_a_problem_and_logs_nothing(
    web_client: APIClient, ann: Customer, change: dict[str, Any], field: str
) -> None:
    payload = {
        "purpose": "sms_marketing",
        "granted": True,
        "channel": "webshop",
        "source": "till",
        "wording_version": "v1",
    } | change
    response = web_client.post(f"/api/v1/customers/{ann.pk}/consents/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert not ConsentEvent.objects.exists()


def test_points_earned_on_the_web_are_redeemed_in_store(
    web_client: APIClient, ann: Customer
) -> None:
    url = f"/api/v1/customers/{ann.pk}/loyalty/redeem/"
    payload = {"points": 100, "channel": "store-ams", "reference": "POS-1"}
    response = web_client.post(url, payload, format="json", HTTP_IDEMPOTENCY_KEY="r1")
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "reference": "POS-1",
        "points": 100,
        "value": "1.00",
        "channel": "store-ams",
        "status": "active",
        "balance": 50,
    }
    # the same reference again (without the header) does not spend twice
    again = web_client.post(url, payload, format="json")
    assert again.status_code == 201 and again.json()["balance"] == 50
    loyalty = web_client.get(f"/api/v1/customers/{ann.pk}/loyalty/").json()
    assert loyalty["balance"] == 50 and loyalty["balance_value"] == "0.50"
    assert [(e["kind"], e["points"]) for e in loyalty["entries"]] == [
        ("redeem", -100),
        ("earn", 150),
    ]


def test_redeeming_too_much_is_409_with_the_balance_and_spends_nothing(
    web_client: APIClient, ann: Customer
) -> None:
    response = web_client.post(
        f"/api/v1/customers/{ann.pk}/loyalty/redeem/",
        {"points": 151, "channel": "webshop", "reference": "W-9"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_points"
    assert response.json()["balance"] == 150
    assert not Redemption.objects.exists()


def test_read_scope_cannot_redeem(api_client_for: Callable[..., APIClient], ann: Customer) -> None:
    reader = api_client_for(scopes=["customers:read"], channels=["webshop"])
    response = reader.post(
        f"/api/v1/customers/{ann.pk}/loyalty/redeem/",
        {"points": 1, "channel": "webshop", "reference": "x"},
        format="json",
    )
    assert response.status_code == 403
    assert selectors.loyalty_balance(customer_id=ann.pk) == 150


def test_list_query_count_does_not_grow_with_page_size(
    web_client: APIClient, django_assert_max_num_queries: Any
) -> None:
    for n in range(30):
        customer = services.customer_resolve(
            email=f"c{n}@example.com", loyalty_card=f"K{n}", channel_code="webshop"
        ).customer
        services.loyalty_earn(
            customer_id=customer.pk,
            amount=Decimal("10"),
            currency="EUR",
            channel_code="webshop",
            reference=f"o{n}",
        )
    with django_assert_max_num_queries(8) as small:
        assert len(web_client.get("/api/v1/customers/?limit=2").json()["results"]) == 2
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = web_client.get("/api/v1/customers/?limit=30")
    assert len(response.json()["results"]) == 30
    nxt = web_client.get("/api/v1/customers/?limit=20").json()["next"]
    assert len(web_client.get(nxt).json()["results"]) == 10


def test_updated_since_returns_changed_customers(web_client: APIClient, ann: Customer) -> None:
    later = services.customer_resolve(email="late@example.com", channel_code="webshop").customer
    since = later.updated_at.isoformat()
    ids = [
        c["id"]
        for c in web_client.get("/api/v1/customers/", {"updated_since": since}).json()["results"]
    ]
    assert ids == [later.pk]
