"""The price write API for ERPs (issue 19): GET/PUT /api/v1/prices/{channel}/{sku}/ with
If-Match, and the bulk POST /api/v1/prices/, all or nothing and idempotent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from catalog import services
from catalog.models import Price
from core.models import ChangeEvent
from tests.factories import ChannelFactory
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/prices/webshop/TEE-S/"


@pytest.fixture
def variant(webshop: Any) -> Any:
    variant: Any = VariantFactory(sku="TEE-S")
    services.price_set(variant_id=variant.pk, channel_code="webshop", amount="19.99")
    return variant


def _base(variant: Any, channel: str = "webshop") -> tuple[Decimal, Decimal | None]:
    price = Price.objects.get(variant=variant, channel__code=channel, starts_at=None, ends_at=None)
    return price.amount, price.compare_at_amount


def test_get_returns_the_base_price_overrides_and_an_etag(
    api_client: APIClient, variant: Any
) -> None:
    starts = timezone.now() + timedelta(days=1)
    services.price_set(
        variant_id=variant.pk,
        channel_code="webshop",
        amount="14.99",
        compare_at_amount="19.99",
        starts_at=starts,
        ends_at=starts + timedelta(days=2),
    )
    response = api_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert (body["channel"], body["sku"], body["currency"]) == ("webshop", "TEE-S", "EUR")
    assert (body["amount"], body["compare_at_amount"]) == ("19.99", None)
    assert [(o["amount"], o["compare_at_amount"]) for o in body["overrides"]] == [
        ("14.99", "19.99")
    ]
    assert response["ETag"]


def test_get_without_a_base_price_answers_null(api_client: APIClient, webshop: Any) -> None:
    VariantFactory(sku="TEE-S")
    body = api_client.get(URL).json()
    assert (body["amount"], body["overrides"]) == (None, [])


def test_put_with_the_current_etag_sets_the_price_and_records_price_changed(
    api_client: APIClient, variant: Any
) -> None:
    etag = api_client.get(URL)["ETag"]
    before = ChangeEvent.objects.filter(topic="price.changed").count()
    response = api_client.put(
        URL, {"amount": "24.95", "compare_at_amount": "29.95"}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["amount"], response.json()["compare_at_amount"]) == (
        "24.95",
        "29.95",
    )
    assert _base(variant) == (Decimal("24.95"), Decimal("29.95"))
    assert response["ETag"] == api_client.get(URL)["ETag"] != etag
    events = ChangeEvent.objects.filter(topic="price.changed").order_by("id")
    assert events.count() == before + 1
    assert events.last().payload["prices"]["TEE-S"] == {  # type: ignore[union-attr]
        "amount": "24.95",
        "compare_at_amount": "29.95",
        "currency": "EUR",
    }


def test_put_with_a_stale_etag_is_412_and_changes_nothing(
    api_client: APIClient, variant: Any
) -> None:
    etag = api_client.get(URL)["ETag"]
    services.price_set(variant_id=variant.pk, channel_code="webshop", amount="21.00")
    events = ChangeEvent.objects.count()
    response = api_client.put(URL, {"amount": "5.00"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "precondition_failed"
    assert _base(variant) == (Decimal("21.00"), None)
    assert ChangeEvent.objects.count() == events


def test_put_without_if_match_sets_the_price(api_client: APIClient, variant: Any) -> None:
    response = api_client.put(URL, {"amount": 12}, format="json")
    assert response.status_code == 200, response.json()
    assert _base(variant) == (Decimal("12.00"), None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "abc"}, "amount"),
        ({"amount": "-1.00"}, "amount"),
        ({"amount": "1.999"}, "amount"),
        ({"amount": "12345678901.00"}, "amount"),
        ({"amount": " 1.00"}, "amount"),
        ({"amount": True}, "amount"),
        ({}, "amount"),
        ({"amount": "10.00", "compare_at_amount": "10.00"}, "compare_at_amount"),
        ({"amount": "10.00", "compare_at_amount": "9.99"}, "compare_at_amount"),
        ({"amount": "10.00", "compare_at_amount": "x"}, "compare_at_amount"),
    ],
)
def test_put_bad_input_is_400_per_field_and_changes_nothing(
    api_client: APIClient, variant: Any, body: dict[str, Any], field: str
) -> None:
    events = ChangeEvent.objects.count()
    response = api_client.put(URL, body, format="json")
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert [e["field"] for e in problem["errors"]] == [field]
    assert _base(variant) == (Decimal("19.99"), None)
    assert ChangeEvent.objects.count() == events


def test_write_needs_catalog_write(api_client_for: Callable[..., APIClient], variant: Any) -> None:
    reader = api_client_for(scopes=["catalog:read"], channels=["webshop"])
    assert reader.get(URL).status_code == 200
    response = reader.put(URL, {"amount": "1.00"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"
    bulk = reader.post(
        "/api/v1/prices/",
        {"rows": [{"channel": "webshop", "sku": "TEE-S", "amount": "1.00"}]},
        format="json",
    )
    assert bulk.status_code == 403
    assert _base(variant) == (Decimal("19.99"), None)
    writer = api_client_for(scopes=["catalog:write"], channels=["webshop"])
    assert writer.get(URL).status_code == 200
    stock_only = api_client_for(scopes=["stock:read"], channels=["webshop"])
    assert stock_only.get(URL).status_code == 403


def test_another_channels_price_is_404(
    api_client_for: Callable[..., APIClient], variant: Any
) -> None:
    ChannelFactory(code="marketplace")
    services.price_set(variant_id=variant.pk, channel_code="marketplace", amount="30.00")
    client = api_client_for(channels=["webshop"])
    other = "/api/v1/prices/marketplace/TEE-S/"
    assert client.get(other).status_code == 404
    assert client.put(other, {"amount": "1.00"}, format="json").status_code == 404
    assert client.get("/api/v1/prices/webshop/NOPE/").status_code == 404
    assert _base(variant, "marketplace") == (Decimal("30.00"), None)


def _rows(*rows: tuple[str, str, Any]) -> dict[str, Any]:
    return {"rows": [{"channel": c, "sku": s, "amount": a} for c, s, a in rows]}


def test_bulk_writes_every_row_in_one_go(api_client: APIClient, variant: Any) -> None:
    other = VariantFactory(sku="TEE-M")
    body = _rows(("webshop", "TEE-S", "9.99"), ("webshop", "TEE-M", "11.50"))
    body["rows"][1]["compare_at_amount"] = "15.00"
    response = api_client.post("/api/v1/prices/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 200, response.json()
    assert [(r["sku"], r["amount"]) for r in response.json()["rows"]] == [
        ("TEE-S", "9.99"),
        ("TEE-M", "11.50"),
    ]
    assert _base(variant) == (Decimal("9.99"), None)
    assert _base(other) == (Decimal("11.50"), Decimal("15.00"))


def test_bulk_with_a_bad_row_writes_nothing_and_names_each_row(
    api_client: APIClient, variant: Any
) -> None:
    VariantFactory(sku="TEE-M")
    events = ChangeEvent.objects.count()
    body = _rows(
        ("webshop", "TEE-S", "9.99"),
        ("webshop", "TEE-M", "abc"),
        ("webshop", "TEE-M", "10.00"),
        ("webshop", "TEE-S", "-5"),
    )
    body["rows"][2]["compare_at_amount"] = "8.00"
    response = api_client.post("/api/v1/prices/", body, format="json")
    assert response.status_code == 400
    assert sorted(e["field"] for e in response.json()["errors"]) == [
        "rows.1.amount",
        "rows.2.compare_at_amount",
        "rows.3.amount",
    ]
    assert _base(variant) == (Decimal("19.99"), None)
    assert not Price.objects.filter(variant__sku="TEE-M").exists()
    assert ChangeEvent.objects.count() == events


def test_bulk_refuses_unknown_skus_other_channels_and_duplicates(
    api_client: APIClient, variant: Any
) -> None:
    ChannelFactory(code="marketplace")
    response = api_client.post(
        "/api/v1/prices/",
        _rows(
            ("webshop", "TEE-S", "9.99"),
            ("webshop", "NOPE", "9.99"),
            ("marketplace", "TEE-S", "9.99"),
            ("webshop", "TEE-S", "8.99"),
        ),
        format="json",
    )
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("rows.1.sku", "does_not_exist"),
        ("rows.2.channel", "does_not_exist"),
        ("rows.3.sku", "duplicate"),
    ]
    assert _base(variant) == (Decimal("19.99"), None)
    assert not Price.objects.filter(channel__code="marketplace").exists()


def test_bulk_refuses_an_empty_or_too_long_list(api_client: APIClient, variant: Any) -> None:
    assert api_client.post("/api/v1/prices/", {"rows": []}, format="json").status_code == 400
    too_many = _rows(*[("webshop", "TEE-S", "1.00")] * 1001)
    response = api_client.post("/api/v1/prices/", too_many, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "rows"


def test_bulk_retry_with_the_same_key_is_not_applied_twice(
    api_client: APIClient, variant: Any
) -> None:
    body = _rows(("webshop", "TEE-S", "9.99"))
    first = api_client.post("/api/v1/prices/", body, format="json", HTTP_IDEMPOTENCY_KEY="erp-1")
    events = ChangeEvent.objects.filter(topic="price.changed").count()
    services.price_set(variant_id=variant.pk, channel_code="webshop", amount="7.00")
    retry = api_client.post("/api/v1/prices/", body, format="json", HTTP_IDEMPOTENCY_KEY="erp-1")
    assert retry.status_code == first.status_code == 200
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert _base(variant) == (Decimal("7.00"), None)  # the retry did not write 9.99 again
    assert ChangeEvent.objects.filter(topic="price.changed").count() == events + 1
    reused = api_client.post(
        "/api/v1/prices/",
        _rows(("webshop", "TEE-S", "1.00")),
        format="json",
        HTTP_IDEMPOTENCY_KEY="erp-1",
    )
    assert reused.status_code == 422


def test_a_merchandisers_session_may_set_prices_an_auditors_may_not(
    merchandiser: Any, variant: Any
) -> None:
    from django.contrib.auth.models import Group, User

    from config import roles

    session = APIClient()
    session.force_login(merchandiser)
    response = session.put(URL, {"amount": "17.50"}, format="json")
    assert response.status_code == 200, response.json()
    assert _base(variant) == (Decimal("17.50"), None)
    auditor = User.objects.create_user("auditor", password="x", is_staff=True)
    auditor.groups.add(Group.objects.get(name=roles.AUDITOR))
    session = APIClient()
    session.force_login(auditor)
    assert session.put(URL, {"amount": "1.00"}, format="json").status_code == 403
    assert _base(variant) == (Decimal("17.50"), None)
