"""Celery task names: one style, no task changed queue in the rename, the old names still run.

Names are ``<app>.<verb phrase>``: the top-level package of the module that defines the task, a dot
and one snake_case phrase (``channels.push_channel``, ``core.idempotency_keys_purge``). The old
names stay registered for one release (``config/task_aliases.py``).
"""

from __future__ import annotations

import re
import socket
import tomllib
from pathlib import Path
from typing import Any

import pytest
import structlog
from django.conf import settings

from config.celery import app
from config.task_aliases import TASK_ALIASES

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = set(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
)
VERB_PHRASE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")

# The queue every task name went to before the rename, from the routes of that release:
# "channels.tasks.*" -> sync, "catalog.tasks.import_*" -> imports, anything else -> default.
# Hard-coded on purpose: a rename that falls through to the default queue must fail here.
QUEUE_BEFORE_RENAME = {
    "channels.tasks.relay": "sync",
    "channels.tasks.push_channel": "sync",
    "channels.tasks.push_subscription": "sync",
    "channels.tasks.dispatch": "sync",
    "channels.tasks.reconcile": "sync",
    "channels.tasks.feed_refresh": "sync",
    "channels.tasks.feeds_refresh": "sync",
    "channels.tasks.noop": "sync",
    "catalog.tasks.import_products": "imports",
    "config.tasks.worker_heartbeat": "default",
    "config.tasks.diagnostics_echo": "default",
    "config.api.tasks.idempotency_keys_purge": "default",
    # not renamed
    "catalog.media_fetch": "default",
    "catalog.media_renditions": "default",
    "catalog.promotions_announce": "default",
    "customers.loyalty_points_expire": "default",
    "inventory.holds_expire": "default",
    "inventory.stock_drift_check": "default",
    "orders.notifications_send": "default",
    "orders.notification_send": "default",
    "orders.pickups_expire": "default",
}


@pytest.fixture
def worker_tasks(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The registry as a worker has it: task modules autodiscovered, then the aliases registered
    (what ``celery worker`` does at start-up; Django's system checks are skipped here)."""
    monkeypatch.setenv("CELERY_SKIP_CHECKS", "1")
    app.loader.import_default_modules()
    return app.tasks


def _project_tasks(tasks: Any) -> dict[str, str]:
    """Task name -> top-level package of the module defining it, for the project's own tasks."""
    found = {}
    for name, task in tasks.items():
        package = type(task).__module__.split(".")[0]
        if package in PROJECT_PACKAGES:
            found[name] = package
    return found


def _queue(name: str) -> str:
    return app.amqp.router.route({}, name)["queue"].name


def test_every_project_task_is_named_app_dot_verb_phrase(worker_tasks: Any) -> None:
    # given the registry of a started worker, minus the aliases kept for one release
    tasks = {
        name: package
        for name, package in _project_tasks(worker_tasks).items()
        if name not in TASK_ALIASES
    }
    # then every task of today is there (the check below is not vacuous) ...
    current_names = {TASK_ALIASES.get(name, name) for name in QUEUE_BEFORE_RENAME}
    assert current_names <= set(tasks)
    # ... and each is named "<its top-level package>.<snake_case phrase>"
    misnamed = [
        name
        for name, package in sorted(tasks.items())
        if not (
            name.startswith(f"{package}.")
            and VERB_PHRASE.fullmatch(name.removeprefix(f"{package}."))
        )
    ]
    assert misnamed == []


def test_beat_schedules_registered_tasks_by_their_new_names(worker_tasks: Any) -> None:
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= set(worker_tasks)
    assert not scheduled & set(TASK_ALIASES)


def test_every_alias_has_its_queue_before_the_rename_and_points_at_a_new_name() -> None:
    assert set(TASK_ALIASES) <= set(QUEUE_BEFORE_RENAME)
    assert not set(TASK_ALIASES) & set(TASK_ALIASES.values())


@pytest.mark.parametrize(("name", "queue_before"), sorted(QUEUE_BEFORE_RENAME.items()))
def test_no_task_changed_queue(name: str, queue_before: str) -> None:
    # the name used before the rename (a message already queued) and the name used now both
    # land on the queue the task always went to
    assert _queue(name) == queue_before
    assert _queue(TASK_ALIASES.get(name, name)) == queue_before


def test_every_old_name_is_registered_as_its_new_task(worker_tasks: Any) -> None:
    for old, new in TASK_ALIASES.items():
        alias, task = worker_tasks[old], worker_tasks[new]
        assert alias.name == old
        assert (alias.ignore_result, alias.max_retries) == (task.ignore_result, task.max_retries)


def test_an_old_name_run_eagerly_runs_the_new_tasks_code(worker_tasks: Any) -> None:
    # given a request id bound where the task is sent
    structlog.contextvars.bind_contextvars(request_id="req-old-name")
    try:
        # when the task is called by its old name
        result = worker_tasks["config.tasks.diagnostics_echo"].delay()
    finally:
        structlog.contextvars.clear_contextvars()
    # then config.diagnostics_echo's code ran and answered
    assert result.get() == {"request_id": "req-old-name", "hostname": socket.gethostname()}


@pytest.mark.worker
def test_a_real_worker_runs_a_message_sent_under_an_old_name(
    celery_worker_process: Any,
) -> None:
    # given a worker of this release; when a message arrives under the old name
    result = app.send_task("config.tasks.diagnostics_echo")
    # then the worker knows the name and runs the task
    assert set(result.get(timeout=30)) == {"request_id", "hostname"}
    assert "Task config.tasks.diagnostics_echo[" in celery_worker_process.log()
