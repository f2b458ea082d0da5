"""A merchandiser logs into the back office in a real Chromium."""

from __future__ import annotations

import pytest

from tests.browser import save_screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_log_into_the_admin_and_see_the_back_office(live_server, page):
    from django.contrib.auth.models import Group

    user = UserFactory(username="mara", password="a-long-demo-password")
    user.groups.add(Group.objects.get(name="Merchandiser"))
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "mara")
    page.fill("#id_password", "a-long-demo-password")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    assert "OmniHub back office" in page.inner_text("#site-name")
    assert page.locator("a", has_text="Categories").count() >= 1
    save_screenshot(page, "admin-home-merchandiser")


def test_a_wrong_password_is_refused_with_a_clear_message(live_server, page):
    UserFactory(username="mara", password="a-long-demo-password")
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "mara")
    page.fill("#id_password", "wrong")
    page.click("input[type=submit]")
    assert "correct username and password" in page.inner_text(".errornote")
