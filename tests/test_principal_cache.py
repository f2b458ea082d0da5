"""The API principal from the shared cache (core/api/principal_cache.py, issue 15).

A key's principal is cached in Redis for every process; a revoked key must stop working in
*another* process at once when revoked through the models, and within
``API_PRINCIPAL_CACHE_SECONDS`` when revoked behind the ORM's back. When Redis is down the
principal comes from the database and the request still succeeds. A staff member's cached user
row goes when their groups or permissions change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.cache import cache
from django.db import connection
from django.test import override_settings

from core.api.principal_cache import KeyEntry, cache_key, staff_cache_key
from core.api.services import partner_api_key_revoke
from core.models import PartnerAPIKey
from tests.workers import ROOT, _database_url

TTL = 2  # seconds: API_PRINCIPAL_CACHE_SECONDS for both processes in the two-process test

_OTHER_PROCESS = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    from django.test import Client
    for line in sys.stdin:
        client = Client(HTTP_AUTHORIZATION="Api-Key " + line.strip())
        response = client.get("/api/v1/me/")
        code = response.json().get("code") if response.status_code != 200 else None
        print(json.dumps([response.status_code, code]), flush=True)
    """
)


class OtherProcess:
    """A second Django process, with its own cache connections, that calls the API on demand."""

    def __init__(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": _database_url(),
            "API_PRINCIPAL_CACHE_SECONDS": str(TTL),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-c", _OTHER_PROCESS],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def me(self, raw_key: str) -> tuple[int, str | None]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(raw_key + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "the other process died"
        status, code = json.loads(line)
        return status, code

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture
def other_process(transactional_db: Any) -> Iterator[OtherProcess]:
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        if os.environ.get("OMNIHUB_REQUIRE_SERVICES"):
            pytest.fail("REDIS_URL is not set: the shared-cache test needs Redis in CI.")
        pytest.skip("two processes share a principal cache only on Redis: set REDIS_URL")
    if connection.vendor == "sqlite" and ":memory:" in str(connection.settings_dict["NAME"]):
        pytest.skip("a second process cannot share an in-memory SQLite test database")
    process = OtherProcess()
    yield process
    process.close()


def test_a_key_revoked_here_is_refused_in_another_process(api_client_for, other_process) -> None:  # type: ignore[no-untyped-def]
    client = api_client_for()
    assert other_process.me(client.raw_key) == (200, None)
    # the other process cached the principal in the shared cache
    assert isinstance(cache.get(cache_key(client.api_key.prefix)), KeyEntry)

    partner_api_key_revoke(api_key=client.api_key)

    assert cache.get(cache_key(client.api_key.prefix)) is None
    assert other_process.me(client.raw_key) == (401, "api_key_revoked")


def test_a_revocation_behind_the_orms_back_holds_within_the_ttl(  # type: ignore[no-untyped-def]
    api_client_for, other_process
) -> None:
    client = api_client_for()
    assert other_process.me(client.raw_key) == (200, None)
    PartnerAPIKey.objects.filter(pk=client.api_key.pk).update(revoked=True)  # no signal
    revoked_at = time.monotonic()
    # served from the shared cache until the entry expires...
    assert other_process.me(client.raw_key) == (200, None)
    while other_process.me(client.raw_key) == (200, None):
        assert time.monotonic() - revoked_at < TTL + 1.0, "still accepted after the bound"
        time.sleep(0.1)
    # ...and refused from then on, within the bound
    assert other_process.me(client.raw_key) == (401, "api_key_revoked")


def test_a_channel_taken_from_the_partner_narrows_the_key_in_another_process(  # type: ignore[no-untyped-def]
    api_client_for, other_process
) -> None:
    from tests.factories import ChannelFactory

    app = ChannelFactory(code="app")
    client = api_client_for(channels=["webshop", app])
    assert other_process.me(client.raw_key) == (200, None)
    client.partner.channels.remove(app)
    entry = cache.get(cache_key(client.api_key.prefix))
    assert entry is None  # dropped: the next request anywhere reads the new channels
    assert client.get("/api/v1/me/").json()["channels"] == ["webshop"]


def test_an_expiry_moved_into_the_past_is_refused_at_once(api_client) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from django.utils import timezone

    assert api_client.get("/api/v1/me/").status_code == 200
    api_client.api_key.expiry_date = timezone.now() - timedelta(seconds=1)
    api_client.api_key.save()
    response = api_client.get("/api/v1/me/")
    assert (response.status_code, response.json()["code"]) == (401, "api_key_expired")


# --- Redis down -----------------------------------------------------------------------------------

_DOWN = {
    "default": {
        "BACKEND": "config.cache.ReusedClientRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


@pytest.mark.django_db
def test_with_the_cache_down_the_principal_comes_from_the_database(  # type: ignore[no-untyped-def]
    api_client, django_assert_num_queries
) -> None:
    with override_settings(CACHES=_DOWN):
        for _ in range(2):  # nothing is kept in the process: both read the database
            with django_assert_num_queries(3):
                response = api_client.get("/api/v1/me/")
            assert response.status_code == 200, response.content
        partner_api_key_revoke(api_key=api_client.api_key)  # invalidation fails quietly
        response = api_client.get("/api/v1/me/")
        assert (response.status_code, response.json()["code"]) == (401, "api_key_revoked")


@pytest.mark.django_db
def test_with_the_cache_down_availability_still_answers(api_client_for, shop) -> None:  # type: ignore[no-untyped-def]
    client = api_client_for(channels=[shop.channel])
    shop.receive(shop.warehouse, shop.s, 4)
    with override_settings(CACHES=_DOWN):
        response = client.get("/api/v1/availability/", {"sku": shop.s.sku})
    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["available"] == 4


# --- staff sessions -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_staff_users_cached_row_goes_when_groups_or_permissions_change(client) -> None:  # type: ignore[no-untyped-def]
    user = User.objects.create_user("clerk", password="x", is_staff=True)
    group = Group.objects.create(name="clerks")
    permission = Permission.objects.get(codename="view_partner")
    client.force_login(user)

    def me() -> Any:
        return client.get("/api/v1/me/")

    assert me().json()["kind"] == "staff"
    assert cache.get(staff_cache_key(user.pk)) is not None
    user.groups.add(group)
    assert cache.get(staff_cache_key(user.pk)) is None

    assert me().status_code == 200
    group.permissions.add(permission)  # a group's permissions: its members' rows go
    assert cache.get(staff_cache_key(user.pk)) is None

    assert me().status_code == 200
    user.user_permissions.add(permission)
    assert cache.get(staff_cache_key(user.pk)) is None

    assert me().status_code == 200
    group.user_set.clear()  # from the group's side
    assert cache.get(staff_cache_key(user.pk)) is None

    assert me().status_code == 200
    user.is_active = False
    user.save()
    assert me().status_code in (401, 403)
