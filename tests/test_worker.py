"""A real Celery worker process consumes tasks from Redis against the test database."""

from __future__ import annotations

import time

import pytest
import structlog
from django.conf import settings
from django.core.cache import cache

from config.tasks import diagnostics_echo, worker_heartbeat
from core import health

pytestmark = pytest.mark.worker


def test_a_real_worker_runs_tasks_and_receives_the_request_id(celery_worker_process):
    structlog.contextvars.bind_contextvars(request_id="req-from-web")
    try:
        result = diagnostics_echo.delay()
    finally:
        structlog.contextvars.clear_contextvars()
    assert result.get(timeout=30)["request_id"] == "req-from-web"
    assert "diagnostics_echo" in celery_worker_process.log()


def test_the_heartbeat_run_by_a_worker_is_seen_by_healthz(celery_worker_process, client):
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        pytest.skip("the web process and the worker share a heartbeat only through Redis")
    cache.delete(health.HEARTBEAT_CACHE_KEY)
    worker_heartbeat.delay()
    deadline = time.monotonic() + 30
    while cache.get(health.HEARTBEAT_CACHE_KEY) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["worker"]["last_heartbeat_seconds_ago"] < 30
