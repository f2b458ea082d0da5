"""Fixtures shared by the whole suite: API clients with scoped keys, a real Celery worker, the
demo shop (``tests/shop.py``), Chromium pages (``tests/browser.py``), and the ``postgres`` marker.

Tests never import this file or another test module: shared helpers are ordinary modules under
``tests/`` (``factories``, ``shop``, ``browser``, ``concurrency``, ``workers``, ...)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from core.api.services import partner_api_key_create
from core.scopes import ALL_SCOPES
from tests import shards
from tests.browser import browser, page  # noqa: F401  (fixtures for every test)
from tests.cache import cache_clear
from tests.factories import ChannelFactory, PartnerFactory
from tests.shop import shop  # noqa: F401  (fixture for every test)

pytest_plugins = ["tests.fuzz_count"]


@pytest.fixture(autouse=True)
def _tasks_may_be_joined() -> None:
    """Eager tasks run in threads by the concurrency tests can leave Celery's process-wide "this
    is a worker, never join a result" flag set; this process is no worker, so every test starts
    with it clear and may call ``.get()`` on an eager result."""
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Throttle windows and health heartbeats live in the cache: start every test clean (only
    this process's keys: ``tests.cache.cache_clear``)."""
    cache_clear()
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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


POSTGRES_ONLY = (
    "needs PostgreSQL (row locks, SKIP LOCKED, processes sharing one database): set DATABASE_URL"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The one place where ``@pytest.mark.postgres`` turns into a skip on SQLite, and
    ``@pytest.mark.real_data`` into a skip (or, where it is required, a failure) without the
    real data (``tests/realdata.py``)."""
    from django.db import connection

    from tests import realdata

    real = [item for item in items if item.get_closest_marker("real_data") is not None]
    if real and not realdata.available():
        if realdata.required():
            raise pytest.UsageError(
                f"{realdata.REQUIRE_ENV} is set but the {len(real)} real-data tests cannot run: "
                f"{realdata.MISSING}"
            )
        for item in real:
            item.add_marker(pytest.mark.skip(reason=realdata.MISSING))

    shards.shard_keep(config, items)

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason=POSTGRES_ONLY)
    for item in items:
        if item.get_closest_marker("postgres") is not None:
            item.add_marker(skip)


_real_data_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count real-data tests that were skipped, however they were (also on xdist workers: the
    controller receives every report)."""
    if report.skipped and "real_data" in report.keywords:
        _real_data_skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Where the real data is required (CI), a skipped real-data test fails the run."""
    from tests import realdata

    if _real_data_skipped and realdata.required() and not hasattr(session.config, "workerinput"):
        names = "\n  ".join(_real_data_skipped)
        session.config.get_terminal_writer().line(
            f"\n{realdata.REQUIRE_ENV} is set, yet these real-data tests were skipped:\n  {names}",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
