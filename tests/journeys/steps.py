"""Steps the journeys share: people logging in (admin, store page on a phone) and waiting for
asynchronous work (a worker, a receiver) with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import Group, User

from inventory import services as stock
from inventory.models import Location
from tests.factories import STORE_PASSWORD, UserFactory

PASSWORD = STORE_PASSWORD


def staff_user(username: str, role: str, *, is_staff: bool = True) -> User:
    """A user in one of the roles of ``config/roles.py`` (a Django group)."""
    user: User = UserFactory(username=username, password=PASSWORD, is_staff=is_staff)  # type: ignore[assignment]
    user.groups.add(Group.objects.get(name=role))
    return user


def admin_login(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def admin_action(page: Any, base: str, changelist: str, pk: int, action: str) -> str:
    """Run a changelist action on one row; returns the messages shown."""
    page.goto(f"{base}{changelist}")
    page.check(f"input[name=_selected_action][value='{pk}']")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist li")
    return str(page.inner_text(".messagelist"))


def store_phone(browser: Any, base: str, store: Location, username: str) -> Any:
    """A store associate of ``store`` logged into the store page on a phone-sized screen."""
    user = staff_user(username, "Store associate", is_staff=False)
    stock.staff_member_assign(user_id=user.pk, location=store)
    context = browser.new_context(viewport={"width": 375, "height": 812})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{base}/store/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#q")
    return page


def wait_until(
    predicate: Callable[[], Any],
    *,
    timeout: float = 30.0,
    kick: Callable[[], Any] | None = None,
    every: float = 0.3,
    what: str = "the condition",
) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned); ``kick`` runs between
    polls (e.g. the dispatcher, as beat would). Fails with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        if kick is not None:
            kick()
        time.sleep(every)
