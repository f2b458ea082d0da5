"""``/healthz``: is the database, the cache, the broker and a worker answering?

Returns 200 with each check's result when everything is up and 503 when any check fails, so a load
balancer or an orchestrator can act on the status code alone.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

HEARTBEAT_CACHE_KEY = "health:worker-heartbeat"
HEARTBEAT_MAX_AGE_SECONDS = 120


def worker_heartbeat_record() -> None:
    cache.set(HEARTBEAT_CACHE_KEY, time.time(), timeout=None)


def _check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "vendor": connection.vendor}


def _check_cache() -> dict[str, Any]:
    probe = f"health:probe:{time.monotonic_ns()}"
    cache.set(probe, "1", timeout=10)
    ok = cache.get(probe) == "1"
    cache.delete(probe)
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    return {"ok": ok, "backend": backend}


def _check_broker() -> dict[str, Any]:
    from celery import current_app as app

    if app.conf.task_always_eager:
        return {"ok": True, "mode": "eager (tasks run in the web process)"}
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return {"ok": True, "mode": "broker", "transport": conn.transport_cls}


def _check_worker() -> dict[str, Any]:
    from celery import current_app as app

    if app.conf.task_always_eager:
        return {"ok": True, "mode": "eager (no separate worker needed)"}
    last = cache.get(HEARTBEAT_CACHE_KEY)
    if last is None:
        return {"ok": False, "error": "no worker heartbeat recorded (is celery beat running?)"}
    age = time.time() - float(last)
    return {
        "ok": age <= HEARTBEAT_MAX_AGE_SECONDS,
        "last_heartbeat_seconds_ago": round(age, 1),
    }


CHECKS: dict[str, Any] = {
    "database": _check_database,
    "cache": _check_cache,
    "broker": _check_broker,
    "worker": _check_worker,
}


def check_register(name: str, check: Any) -> None:
    """Add a check from an app's ``ready()`` (channels reports its sync lag) without ``core``
    importing the app. ``check()`` returns a dict with ``ok``."""
    CHECKS[name] = check


def health_report() -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    healthy = all(result["ok"] for result in results.values())
    return {
        "status": "ok" if healthy else "unhealthy",
        "time": timezone.now().isoformat(),
        "checks": results,
    }


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
