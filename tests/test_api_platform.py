"""The conventions of shared/API.md, shown on the platform's own endpoints."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from channels.models import WebhookSubscription
from core.api.idempotency import request_fingerprint
from core.api.services import partner_api_key_revoke
from core.models import IdempotencyRecord
from tests.factories import ChannelFactory, UserFactory, WebhookSubscriptionFactory

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _public_dns(monkeypatch):
    """Webhook URLs must resolve to public addresses (core.net); the example hosts used here do
    not exist, so they resolve to one public address, without any DNS query."""
    monkeypatch.setattr("core.net.host_resolve", lambda host, port: ["93.184.215.14"])


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:omnihub:problem:{code}"
    assert body["title"] and body["detail"]
    assert isinstance(body["errors"], list)
    return body


# --- authentication and scopes --------------------------------------------------------------


def test_me_returns_the_calling_partner_its_scopes_and_channels(api_client_for):
    client = api_client_for(scopes=["catalog:read", "stock:read"], channels=["webshop", "app"])
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json() == {
        "kind": "partner",
        "partner": {"code": client.partner.code, "name": client.partner.name},
        "key_prefix": client.api_key.prefix,
        "key_expires_at": None,
        "scopes": ["catalog:read", "stock:read"],
        "channels": ["app", "webshop"],
    }


def test_without_a_key_the_api_answers_401_problem_with_the_scheme():
    response = APIClient().get("/api/v1/me/")
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize(
    "header", ["Api-Key nonsense", "Api-Key abc.def", "Api-Key ", "api-key x.y"]
)
def test_a_wrong_key_is_401_invalid_api_key(api_client, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_problem(client.get("/api/v1/me/"), 401, "invalid_api_key")


def test_a_key_with_the_right_prefix_but_wrong_secret_is_refused(api_client):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_client.api_key.prefix}.wrong-secret")
    assert_problem(client.get("/api/v1/me/"), 401, "invalid_api_key")


def test_keys_are_stored_hashed(api_client):
    api_client.api_key.refresh_from_db()
    secret = api_client.raw_key.split(".", 1)[1]
    assert secret not in api_client.api_key.hashed_key
    assert secret not in api_client.api_key.id


def test_a_revoked_key_is_refused(api_client):
    partner_api_key_revoke(api_key=api_client.api_key)
    assert_problem(api_client.get("/api/v1/me/"), 401, "api_key_revoked")


def test_an_expired_key_is_refused(api_client_for):
    client = api_client_for(expires_at=timezone.now() - timedelta(minutes=1))
    assert_problem(client.get("/api/v1/me/"), 401, "api_key_expired")


def test_a_disabled_partner_cannot_call(api_client):
    api_client.partner.is_active = False
    api_client.partner.save()
    assert_problem(api_client.get("/api/v1/me/"), 401, "partner_inactive")


def test_a_missing_scope_is_403_missing_scope(api_client_for):
    client = api_client_for(scopes=["catalog:read"])
    body = assert_problem(client.get("/api/v1/webhooks/"), 403, "missing_scope")
    assert "webhooks:manage" in body["detail"]


def test_a_key_only_sees_its_own_partners_channels(api_client_for):
    ChannelFactory(code="marketplace")
    client = api_client_for(channels=["webshop"])
    codes = [row["code"] for row in client.get("/api/v1/channels/").json()["results"]]
    assert codes == ["webshop"]


def test_a_key_restricted_to_some_channels_sees_only_those(api_client_for):
    app = ChannelFactory(code="app")
    client = api_client_for(channels=["webshop", app], channel_ids=[app.pk])
    assert client.get("/api/v1/me/").json()["channels"] == ["app"]
    codes = [row["code"] for row in client.get("/api/v1/channels/").json()["results"]]
    assert codes == ["app"]


def test_staff_sessions_work_and_see_every_channel(client):
    ChannelFactory(code="webshop")
    ChannelFactory(code="marketplace")
    client.force_login(UserFactory(username="staffer"))
    response = client.get("/api/v1/me/")
    assert response.json()["kind"] == "staff"
    assert response.json()["channels"] is None
    codes = [row["code"] for row in client.get("/api/v1/channels/").json()["results"]]
    assert codes == ["marketplace", "webshop"] or sorted(codes) == ["marketplace", "webshop"]


def test_non_staff_session_users_are_not_api_users(client):
    client.force_login(UserFactory(username="shopper", is_staff=False))
    assert_problem(client.get("/api/v1/me/"), 401, "not_authenticated")


# --- problem+json for every failure ---------------------------------------------------------


def test_an_unknown_api_url_is_a_problem_not_an_html_page(api_client):
    assert_problem(api_client.get("/api/v1/no-such-thing/"), 404, "not_found")
    assert_problem(APIClient().get("/api/nothing-here"), 404, "not_found")


def test_a_wrong_method_is_405_problem(api_client):
    assert_problem(api_client.delete("/api/v1/me/"), 405, "method_not_allowed")


def test_malformed_json_is_400_problem(api_client):
    response = api_client.post(
        "/api/v1/webhooks/", data="{not json", content_type="application/json"
    )
    assert_problem(response, 400, "malformed_request")


def test_validation_errors_name_each_field(api_client):
    response = api_client.post("/api/v1/webhooks/", {"url": "not a url", "events": ["nope"]})
    body = assert_problem(response, 400, "validation_error")
    fields = {(error["field"], error["code"]) for error in body["errors"]}
    assert ("url", "invalid") in fields
    assert ("events.0", "invalid_choice") in fields
    assert WebhookSubscription.objects.count() == 0


def test_an_unexpected_exception_is_a_logged_500_problem(api_client, monkeypatch):
    from core.api import views

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.MeSerializer, "__init__", explode)
    body = assert_problem(api_client.get("/api/v1/me/"), 500, "internal_error")
    assert "boom" not in body["detail"]


# --- cursor pagination and updated_since ------------------------------------------------------


def test_cursor_pagination_walks_every_row_once_in_a_stable_order(api_client):
    for n in range(7):
        WebhookSubscriptionFactory(partner=api_client.partner, url=f"https://h.example/{n}")
    seen: list[int] = []
    url = "/api/v1/webhooks/?limit=3"
    pages = 0
    while url:
        body = api_client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
        pages += 1
    assert pages == 3
    assert len(seen) == 7 and len(set(seen)) == 7
    assert seen == sorted(seen, reverse=True)  # newest first


def test_previous_links_go_back(api_client):
    for n in range(4):
        WebhookSubscriptionFactory(partner=api_client.partner, url=f"https://h.example/{n}")
    first = api_client.get("/api/v1/webhooks/?limit=2").json()
    second = api_client.get(first["next"]).json()
    assert first["previous"] is None
    back = api_client.get(second["previous"]).json()
    assert [row["id"] for row in back["results"]] == [row["id"] for row in first["results"]]


@pytest.mark.parametrize("limit", ["0", "201", "abc", "-1"])
def test_limit_outside_1_to_200_is_refused(api_client, limit):
    body = assert_problem(
        api_client.get(f"/api/v1/webhooks/?limit={limit}"), 400, "invalid_parameter"
    )
    assert body["errors"][0]["field"] == "limit"


def test_a_forged_cursor_is_400_invalid_cursor(api_client):
    assert_problem(api_client.get("/api/v1/webhooks/?cursor=garbage"), 400, "invalid_cursor")


def test_updated_since_returns_only_later_changes(api_client):
    old = WebhookSubscriptionFactory(partner=api_client.partner)
    WebhookSubscription.objects.filter(pk=old.pk).update(
        updated_at=timezone.now() - timedelta(days=2)
    )
    new = WebhookSubscriptionFactory(partner=api_client.partner)
    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    body = api_client.get("/api/v1/webhooks/", {"updated_since": since}).json()
    assert [row["id"] for row in body["results"]] == [new.pk]


def test_a_malformed_updated_since_is_a_validation_error(api_client):
    body = assert_problem(
        api_client.get("/api/v1/webhooks/?updated_since=yesterday"), 400, "validation_error"
    )
    assert body["errors"][0]["field"] == "updated_since"


def test_list_query_count_does_not_grow_with_page_size(api_client, django_assert_max_num_queries):
    for n in range(30):
        channel = ChannelFactory(code=f"ch-{n}")
        api_client.partner.channels.add(channel)
    api_client.get("/api/v1/me/")  # the key's principal is now in the shared cache
    with django_assert_max_num_queries(8) as small:
        assert len(api_client.get("/api/v1/channels/?limit=2").json()["results"]) == 2
    with django_assert_max_num_queries(8) as large:
        assert len(api_client.get("/api/v1/channels/?limit=30").json()["results"]) == 30
    assert len(large.captured_queries) == len(small.captured_queries)


# --- idempotency ------------------------------------------------------------------------------


def _subscribe(client, key: str | None, url: str = "https://h.example/a"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post("/api/v1/webhooks/", {"url": url, "events": ["order.created"]}, **headers)


def test_a_retry_with_the_same_key_replays_the_first_response(api_client):
    first = _subscribe(api_client, "abc-123")
    second = _subscribe(api_client, "abc-123")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert second["Location"] == first["Location"]
    assert WebhookSubscription.objects.count() == 1


def test_the_same_key_with_another_body_is_422_and_changes_nothing(api_client):
    _subscribe(api_client, "abc-123")
    response = _subscribe(api_client, "abc-123", url="https://h.example/other")
    assert_problem(response, 422, "idempotency_key_reused")
    assert WebhookSubscription.objects.count() == 1


def test_keys_are_per_caller(api_client_for):
    one, two = api_client_for(), api_client_for()
    assert _subscribe(one, "same").status_code == 201
    assert _subscribe(two, "same").status_code == 201
    assert WebhookSubscription.objects.count() == 2


def test_a_retry_while_the_first_is_running_is_409(api_client):
    body = {"url": "https://h.example/a", "events": ["order.created"]}
    IdempotencyRecord.objects.create(
        owner=f"key:{api_client.api_key.prefix}",
        key="busy",
        method="POST",
        path="/api/v1/webhooks/",
        fingerprint=request_fingerprint(method="POST", path="/api/v1/webhooks/", data=body),
    )
    response = api_client.post("/api/v1/webhooks/", body, HTTP_IDEMPOTENCY_KEY="busy")
    assert_problem(response, 409, "idempotency_request_in_progress")
    assert response["Retry-After"] == "1"
    assert WebhookSubscription.objects.count() == 0


def test_a_failed_request_stores_nothing_so_it_can_be_retried(api_client):
    bad = api_client.post(
        "/api/v1/webhooks/", {"url": "nope", "events": []}, HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.filter(key="k1").exists()
    good = api_client.post(
        "/api/v1/webhooks/", {"url": "nope", "events": []}, HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert good.status_code == 400


def test_expired_idempotency_records_are_purged():
    from core.api.tasks import idempotency_keys_purge

    old = IdempotencyRecord.objects.create(
        owner="key:x", key="old", method="POST", path="/", fingerprint="f"
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    IdempotencyRecord.objects.create(
        owner="key:x", key="new", method="POST", path="/", fingerprint="f"
    )
    assert idempotency_keys_purge.delay().get() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


# --- ETags ----------------------------------------------------------------------------------------


def test_gets_carry_an_etag_and_if_none_match_gets_304(api_client):
    subscription = WebhookSubscriptionFactory(partner=api_client.partner)
    url = f"/api/v1/webhooks/{subscription.pk}/"
    first = api_client.get(url)
    etag = first["ETag"]
    assert etag.startswith('"')
    not_modified = api_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified.content == b""


def test_if_match_with_the_current_etag_writes(api_client):
    subscription = WebhookSubscriptionFactory(partner=api_client.partner)
    url = f"/api/v1/webhooks/{subscription.pk}/"
    etag = api_client.get(url)["ETag"]
    response = api_client.patch(url, {"description": "new"}, HTTP_IF_MATCH=etag)
    assert response.status_code == 200
    assert response.json()["description"] == "new"


def test_a_stale_if_match_is_412_and_changes_nothing(api_client):
    subscription = WebhookSubscriptionFactory(partner=api_client.partner, description="v1")
    url = f"/api/v1/webhooks/{subscription.pk}/"
    etag = api_client.get(url)["ETag"]
    assert api_client.patch(url, {"description": "v2"}).status_code == 200
    response = api_client.patch(url, {"description": "v3"}, HTTP_IF_MATCH=etag)
    assert_problem(response, 412, "precondition_failed")
    assert response["ETag"] == api_client.get(url)["ETag"]
    subscription.refresh_from_db()
    assert subscription.description == "v2"


def test_another_partners_object_is_404(api_client_for):
    owner, other = api_client_for(), api_client_for()
    subscription = WebhookSubscriptionFactory(partner=owner.partner)
    assert_problem(other.get(f"/api/v1/webhooks/{subscription.pk}/"), 404, "not_found")
    assert_problem(other.delete(f"/api/v1/webhooks/{subscription.pk}/"), 404, "not_found")
    assert WebhookSubscription.objects.filter(pk=subscription.pk).exists()


# --- throttling -------------------------------------------------------------------------------


def test_a_key_over_its_rate_gets_429_with_retry_after(api_client):
    api_client.api_key.rate_limit = "3/min"
    api_client.api_key.save()
    statuses = [api_client.get("/api/v1/me/").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    response = api_client.get("/api/v1/me/")
    assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_rate_limits_are_per_key(api_client_for):
    limited, other = api_client_for(rate_limit="1/min"), api_client_for(rate_limit="1/min")
    assert limited.get("/api/v1/me/").status_code == 200
    assert limited.get("/api/v1/me/").status_code == 429
    assert other.get("/api/v1/me/").status_code == 200


# --- schema and docs --------------------------------------------------------------------------


def test_the_openapi_schema_documents_endpoints_auth_and_problems(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/me/", "/api/v1/channels/", "/api/v1/webhooks/"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["ApiKey"]["in"] == "header"
    create = schema["paths"]["/api/v1/webhooks/"]["post"]
    for status in ("201", "400", "401", "403", "409", "422", "429"):
        assert status in create["responses"], status
    assert "application/problem+json" in create["responses"]["422"]["content"]


def test_swagger_ui_is_served_from_local_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html
    assert "/static/drf_spectacular_sidecar/" in html


def test_unknown_api_urls_are_problems_even_with_debug_on(settings, api_client):
    settings.DEBUG = True
    assert_problem(api_client.get("/api/v1/no-such-thing/"), 404, "not_found")


def test_a_key_cannot_subscribe_another_partner(api_client_for):
    other = api_client_for()
    client = api_client_for()
    response = client.post(
        "/api/v1/webhooks/",
        {"url": "https://h.example/x", "events": ["order.created"], "partner": other.partner.code},
    )
    assert_problem(response, 400, "validation_error")
    assert WebhookSubscription.objects.count() == 0


def test_staff_create_subscriptions_for_a_named_partner(client, api_client):
    # managing webhooks is no role's permission: a superuser (see docs/security.md)
    client.force_login(UserFactory(username="ops", is_superuser=True))
    body = {"url": "https://h.example/x", "events": ["stock.changed"]}
    assert_problem(
        client.post("/api/v1/webhooks/", body, content_type="application/json"),
        400,
        "validation_error",
    )
    response = client.post(
        "/api/v1/webhooks/",
        {**body, "partner": api_client.partner.code},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["partner"] == api_client.partner.code
    assert response.json()["secret"].startswith("whsec_")


@pytest.mark.parametrize("stamp", ["0237-03-30T11:42:34.8-18:13", "2026-01-01T00:00:00+23:59"])
def test_updated_since_accepts_any_offset_and_compares_in_utc(api_client, stamp):
    """Found by schemathesis: PostgreSQL refuses offsets beyond its range; we convert first."""
    response = api_client.get("/api/v1/channels/", {"updated_since": stamp})
    assert response.status_code == 200
    assert [row["code"] for row in response.json()["results"]] == ["webshop"]


def test_an_updated_since_that_overflows_in_utc_is_a_400(api_client):
    response = api_client.get("/api/v1/channels/", {"updated_since": "0001-01-01T00:00:00+05:00"})
    assert_problem(response, 400, "validation_error")
