"""Run a real Celery worker in a test.

The worker is a separate process started with ``celery -A config worker`` against the broker in
``REDIS_URL`` and the test database, consuming one private queue so that parallel test processes
(and any running app) never take each other's tasks. While it runs, the test process publishes to
the broker instead of running tasks eagerly.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from celery._state import _set_task_join_will_block
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Worker:
    queue: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _routes_reload(app: Any) -> None:
    """Celery caches its router on first use: rebuild it so that a second worker in the same
    session gets its own queue (not the first worker's, long gone)."""
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)


@contextmanager
def running_worker(
    timeout: float = 30.0, settings_module: str = "config.settings.test"
) -> Iterator[Worker]:
    broker = settings.CELERY_BROKER_URL
    if not broker:
        if os.environ.get("OMNIHUB_REQUIRE_SERVICES"):
            pytest.fail("REDIS_URL is not set: worker tests need a real broker in CI.")
        pytest.skip("needs a broker: set REDIS_URL")
    if connection.vendor == "sqlite" and ":memory:" in str(connection.settings_dict["NAME"]):
        pytest.skip("a worker process cannot share an in-memory SQLite test database")
    from config.celery import app

    queue = f"test-{uuid.uuid4().hex[:12]}"
    log_path = ROOT / "var" / f"{queue}.log"
    log_path.parent.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker,
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-Q",
        queue,
        "--pool",
        "solo",
        "--without-mingle",
        "--without-gossip",
        "--loglevel",
        "INFO",
        "-n",
        f"{queue}@%h",
    ]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    saved = {
        "task_always_eager": app.conf.task_always_eager,
        "task_default_queue": app.conf.task_default_queue,
        "task_routes": app.conf.task_routes,
    }
    # Eager tasks run from several threads (the concurrency tests) can leave Celery's global
    # "this is a worker, never join" flag set; this process is not a worker, so clear it.
    _set_task_join_will_block(False)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    app.conf.task_routes = {"*": {"queue": queue}}
    _routes_reload(app)
    worker = Worker(queue=queue, process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + timeout
        while "ready." not in worker.log():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Celery worker did not start:\n{worker.log()}")
            time.sleep(0.2)
        yield worker
    finally:
        app.conf.update(saved)
        _routes_reload(app)
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_path.unlink(missing_ok=True)
