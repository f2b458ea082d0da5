"""Run a real Celery worker in a test, and a private Redis to run it on.

The worker is a separate process started with ``celery -A config worker`` against the broker in
``REDIS_URL`` and the test database, consuming one private queue so that parallel test processes
(and any running app) never take each other's tasks. While it runs, the test process publishes to
the broker instead of running tasks eagerly.

Fault tests that stop the broker use ``private_redis()``: a throwaway ``redis-server`` on a free
port, never the machine's shared Redis, and ``broker_switched(url)`` to point this process's
Celery app (and the workers it starts) at it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest
from celery._state import _set_task_join_will_block
from django.conf import settings
from django.db import connection
from django.test import override_settings

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


def _missing(reason: str) -> NoReturn:
    """Skip the test for a missing service, or fail it where services are required (CI)."""
    if os.environ.get("OMNIHUB_REQUIRE_SERVICES"):
        pytest.fail(f"{reason} (OMNIHUB_REQUIRE_SERVICES is set: CI must run this test)")
    pytest.skip(reason)


@contextmanager
def running_worker(
    timeout: float = 30.0, settings_module: str = "config.settings.test", *, beat: bool = False
) -> Iterator[Worker]:
    """A worker on ``settings.CELERY_BROKER_URL``. With ``beat`` it also runs the periodic tasks
    (``celery worker -B``, schedule from the environment it inherits) and consumes the standard
    queues they are routed to: only ever on a private broker (``private_redis``), where no other
    process's tasks wait."""
    broker = settings.CELERY_BROKER_URL
    if not broker:
        _missing("needs a broker: set REDIS_URL")
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
    beat_dir = ""
    if beat:
        beat_dir = tempfile.mkdtemp(prefix="omnihub-beat-")
        standard = [q.name for q in app.conf.task_queues or []]
        command[command.index(queue)] = ",".join([queue, *standard])
        command += ["-B", "-s", str(Path(beat_dir) / "schedule")]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=beat,  # beat runs in a child process: stop the whole group
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
        if beat:
            with contextlib.suppress(ProcessLookupError):  # a beat left behind by a killed worker
                os.killpg(process.pid, signal.SIGKILL)
            shutil.rmtree(beat_dir, ignore_errors=True)
        log_path.unlink(missing_ok=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PrivateRedis:
    """A throwaway ``redis-server`` without persistence on a free port of 127.0.0.1. ``stop()``
    and ``start()`` it to take the broker away and bring it back (empty, as after a crash)."""

    binary: str
    port: int = field(default_factory=_free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.processes.append(
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        process = self.processes[-1]
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """Start a private ``redis-server`` (skip without one, fail where services are required)
    and stop it, whatever state the test left it in."""
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("redis-server is not installed")
    redis = PrivateRedis(binary=binary)
    redis.start()
    try:
        yield redis
    finally:
        for process in redis.processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)


def _broker_use(url: str) -> None:
    from config.celery import app
    from core import broker

    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None
    broker._pool = None  # the after-commit kicks' connections, made for the old broker


@contextmanager
def broker_switched(url: str) -> Iterator[None]:
    """Publish to ``url`` from this process, and hand it to the workers started meanwhile
    (``settings.CELERY_BROKER_URL`` and the ``CELERY_BROKER_URL`` environment variable, which
    Celery reads before its own setting); the configured broker comes back afterwards."""
    previous, previous_env = settings.CELERY_BROKER_URL, os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = url
    try:
        with override_settings(CELERY_BROKER_URL=url):
            _broker_use(url)
            yield
    finally:
        if previous_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = previous_env
        _broker_use(previous)
