"""Login protection (django-axes) on the admin and the store page: failed logins are throttled per
user and per IP address, recorded, and shown to superusers in the admin; API keys are untouched."""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"
STORE_LOGIN = "/store/login/"
PASSWORD = "right-horse-battery"


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(
        "manager", password=PASSWORD, is_staff=True, is_superuser=True
    )


def _login(path: str, username: str, password: str, ip: str, client: Client | None = None) -> Any:
    return (client or Client()).post(
        path, {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def _fail(path: str, username: str, ip: str, times: int) -> list[int]:
    return [_login(path, username, "wrong", ip).status_code for _ in range(times)]


def _logged_in(response: Any) -> bool:
    return "_auth_user_id" in response.client.session


def test_the_limit_is_five_failures_for_fifteen_minutes() -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]


def test_five_bad_passwords_lock_the_user_out_from_any_address(staff: Any) -> None:
    assert _fail(ADMIN_LOGIN, "manager", "10.0.0.1", 4) == [200] * 4

    fifth = _login(ADMIN_LOGIN, "manager", "wrong", "10.0.0.1")
    right_elsewhere = _login(ADMIN_LOGIN, "manager", PASSWORD, "10.9.9.9")

    assert fifth.status_code == 429
    assert right_elsewhere.status_code == 429
    assert not _logged_in(right_elsewhere)
    # Another user at another address is not affected.
    other = _login(ADMIN_LOGIN, "someone", "wrong", "10.8.8.8")
    assert other.status_code == 200


def test_many_users_failing_from_one_address_lock_that_address(staff: Any) -> None:
    codes = [_login(ADMIN_LOGIN, f"guess{n}", "wrong", "10.0.0.3").status_code for n in range(5)]

    same_address = _login(ADMIN_LOGIN, "manager", PASSWORD, "10.0.0.3")
    other_address = _login(ADMIN_LOGIN, "manager", PASSWORD, "10.0.0.4")

    assert codes == [200, 200, 200, 200, 429]
    assert same_address.status_code == 429 and not _logged_in(same_address)
    assert other_address.status_code == 302 and _logged_in(other_address)


def test_a_good_login_before_the_limit_resets_the_count(staff: Any) -> None:
    assert _fail(ADMIN_LOGIN, "manager", "10.0.0.5", 4) == [200] * 4
    good = _login(ADMIN_LOGIN, "manager", PASSWORD, "10.0.0.5")
    assert good.status_code == 302 and _logged_in(good)
    assert not AccessAttempt.objects.filter(username="manager").exists()

    assert _fail(ADMIN_LOGIN, "manager", "10.0.0.5", 4) == [200] * 4
    again = _login(ADMIN_LOGIN, "manager", PASSWORD, "10.0.0.5")
    assert again.status_code == 302 and _logged_in(again)


@pytest.mark.parametrize(
    ("path", "template"), [(ADMIN_LOGIN, "admin/login.html"), (STORE_LOGIN, "store/login.html")]
)
def test_a_locked_out_login_page_says_so_with_429(path: str, template: str, staff: Any) -> None:
    _fail(path, "manager", "10.0.0.6", 5)

    response = _login(path, "manager", PASSWORD, "10.0.0.6")

    assert response.status_code == 429
    assert template in [t.name for t in response.templates]
    html = response.content.decode()
    assert "Too many failed login attempts" in html
    assert "15 minutes" in html
    assert not _logged_in(response)
    # The page itself still opens (a GET is never locked out), with its form.
    assert Client().get(path, REMOTE_ADDR="10.0.0.6").status_code == 200


def test_store_login_is_protected_like_the_admin(django_user_model: Any) -> None:
    django_user_model.objects.create_user("clerk", password=PASSWORD)
    assert _fail(STORE_LOGIN, "clerk", "10.0.0.7", 4) == [200] * 4

    good = _login(STORE_LOGIN, "clerk", PASSWORD, "10.0.0.7")
    assert good.status_code == 302 and _logged_in(good)

    assert _fail(STORE_LOGIN, "clerk", "10.0.0.7", 5) == [200] * 4 + [429]
    locked = _login(STORE_LOGIN, "clerk", PASSWORD, "10.1.1.1")
    assert locked.status_code == 429 and not _logged_in(locked)


def test_attempts_are_recorded_and_shown_to_superusers(staff: Any, admin_client: Client) -> None:
    _fail(ADMIN_LOGIN, "manager", "10.0.0.8", 2)
    _fail(STORE_LOGIN, "intruder", "10.0.0.9", 1)

    attempt = AccessAttempt.objects.get(username="manager")
    assert (attempt.ip_address, attempt.failures_since_start) == ("10.0.0.8", 2)
    assert attempt.path_info == ADMIN_LOGIN
    assert "wrong" not in attempt.post_data  # the password is never stored
    failures = AccessFailureLog.objects.order_by("attempt_time")
    assert [(f.username, f.ip_address) for f in failures] == [
        ("manager", "10.0.0.8"),
        ("manager", "10.0.0.8"),
        ("intruder", "10.0.0.9"),
    ]

    attempts_page = admin_client.get("/admin/axes/accessattempt/")
    failures_page = admin_client.get("/admin/axes/accessfailurelog/")

    assert attempts_page.status_code == 200 and failures_page.status_code == 200
    assert "10.0.0.8" in attempts_page.content.decode()
    assert "intruder" in failures_page.content.decode()


def test_api_keys_are_not_affected_by_a_locked_address(api_client_for: Any) -> None:
    _fail(ADMIN_LOGIN, "someone", "10.0.0.10", 5)
    client = api_client_for(scopes=["catalog:read"])

    response = client.get("/api/v1/categories/", REMOTE_ADDR="10.0.0.10")

    assert response.status_code == 200


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(settings: Any, staff: Any) -> None:
    settings.LOGIN_PROXY_COUNT = 1

    def via_proxy(username: str, password: str, forwarded_for: str) -> int:
        return (
            Client()
            .post(
                ADMIN_LOGIN,
                {"username": username, "password": password},
                REMOTE_ADDR="10.0.0.1",  # the proxy
                HTTP_X_FORWARDED_FOR=forwarded_for,
            )
            .status_code
        )

    # The client sent the first entry itself; the proxy appended the address it saw.
    codes = [via_proxy(f"u{n}", "wrong", "6.6.6.6, 10.0.0.20") for n in range(5)]

    assert codes == [200] * 4 + [429]
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"10.0.0.20"}
    # Neither the proxy's own address nor the spoofed one is locked out.
    assert via_proxy("manager", PASSWORD, "6.6.6.6, 10.0.0.21") == 302
