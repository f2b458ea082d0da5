"""API requests skip the middleware that is useless to them (config/middleware.py, issue 15)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.test import APIClient
from simple_history.models import HistoricalRecords

from config.middleware import HistoryExceptApi

pytestmark = pytest.mark.django_db


def test_an_api_key_request_gets_no_session_auth_messages_or_htmx(api_client) -> None:  # type: ignore[no-untyped-def]
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 200
    request = response.wsgi_request
    for attribute in ("session", "_messages", "htmx"):
        assert not hasattr(request, attribute), attribute
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.get("Vary", "")


def test_a_staff_session_on_the_api_keeps_session_and_csrf() -> None:
    user = User.objects.create_user("ops", password="pw", is_staff=True)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.get("/api/v1/me/")
    assert response.status_code == 200 and response.json()["kind"] == "staff"
    assert hasattr(response.wsgi_request, "session")
    assert not hasattr(response.wsgi_request, "htmx")  # never under /api/
    # an unsafe method without the CSRF token is still refused for a session
    refused = client.post("/api/v1/stock/holds/", {}, format="json")
    assert refused.status_code == 403


def test_back_office_pages_still_get_every_middleware(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert hasattr(response.wsgi_request, "session") and hasattr(response.wsgi_request, "htmx")


def test_history_binds_the_request_except_under_api() -> None:
    seen: list[object] = []

    def view(request: object) -> HttpResponse:
        seen.append(getattr(HistoricalRecords.context, "request", None))
        return HttpResponse()

    middleware = HistoryExceptApi(view)
    factory = RequestFactory()
    admin_request = factory.get("/admin/")
    api_request = factory.get("/api/v1/me/")
    middleware(admin_request)
    middleware(api_request)
    assert seen == [admin_request, None]
