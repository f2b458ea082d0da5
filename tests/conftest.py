"""Fixtures shared by the whole suite: API clients with scoped keys, a real Celery worker, and a
live server driven by Playwright in Debian's Chromium."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from core.api.scopes import ALL_SCOPES
from core.api.services import partner_api_key_create
from tests.factories import ChannelFactory, PartnerFactory

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Throttle windows and health heartbeats live in the cache: start every test clean.

    On Redis only this process's keys are deleted: ``cache.clear()`` would flush the whole
    database, including the broker's queues and the other test processes' keys.
    """
    from django.conf import settings
    from django.core.cache import cache

    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
        prefix = settings.CACHES["default"]["KEY_PREFIX"]
        for key in client.scan_iter(match=f"{prefix}:*", count=500):
            client.delete(key)
    else:
        cache.clear()
    yield


@pytest.fixture
def api_client_for(db: Any) -> Callable[..., APIClient]:
    """Build an API client authenticated with a new partner key.

    ``api_client_for(scopes=[...], channels=[...])``: the partner owns ``channels`` (channel
    objects or codes, created as needed) and the key carries ``scopes`` (default: every scope).
    The client's ``.partner`` and ``.api_key`` attributes expose what was created.
    """

    def build(
        *, scopes: list[str] | None = None, channels: list[Any] | None = None, **key: Any
    ) -> APIClient:
        channel_objs = [
            ChannelFactory(code=item) if isinstance(item, str) else item
            for item in (channels if channels is not None else ["webshop"])
        ]
        partner = PartnerFactory(channels=channel_objs)
        api_key, raw = partner_api_key_create(
            partner=partner,
            name="test key",
            scopes=scopes if scopes is not None else sorted(ALL_SCOPES),
            **key,
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        client.partner = partner  # type: ignore[attr-defined]
        client.api_key = api_key  # type: ignore[attr-defined]
        client.raw_key = raw  # type: ignore[attr-defined]
        return client

    return build


@pytest.fixture
def api_client(api_client_for: Callable[..., APIClient]) -> APIClient:
    """A partner key with every scope on the ``webshop`` channel."""
    return api_client_for()


@pytest.fixture
def celery_worker_process(transactional_db: Any) -> Iterator[Any]:
    """A real Celery worker, in its own process, consuming from Redis against the test database."""
    from tests.workers import running_worker

    with running_worker() as worker:
        yield worker


# --- Browser ------------------------------------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("OMNIHUB_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; install Debian's 'chromium'.")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by tests
    # around it are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser page; on failure a full-page screenshot lands in ``artifacts/failures``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    new_page = context.new_page()
    yield new_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        target = ARTIFACTS / "failures" / f"{request.node.name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        new_page.screenshot(path=str(target), full_page=True)
    context.close()


def save_screenshot(page: Any, name: str) -> Path:
    """Save a screenshot of the current page under ``artifacts/screenshots``."""
    target = ARTIFACTS / "screenshots" / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    return target
