"""The Celery application.

Settings come from Django's settings (``CELERY_*``). Task modules are autodiscovered in every
installed app. The request id bound where a task is enqueued travels in the task headers and is
bound again while the task runs, so its log lines carry the id of the request that caused it.
"""

from __future__ import annotations

import os
from typing import Any

import structlog
from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("omnihub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["config", "core.api"])


@before_task_publish.connect
def _propagate_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if headers is not None and request_id:
        headers.setdefault("request_id", request_id)


@task_prerun.connect
def _bind_request_id(task: Any = None, task_id: str | None = None, **_: Any) -> None:
    request = getattr(task, "request", None)
    request_id = getattr(request, "request_id", None)
    if request_id is None and request is not None:
        request_id = (getattr(request, "headers", None) or {}).get("request_id")
    if request_id:
        structlog.contextvars.bind_contextvars(request_id=request_id)
    structlog.contextvars.bind_contextvars(task_id=task_id, task=getattr(task, "name", None))


@task_postrun.connect
def _unbind_task(**_: Any) -> None:
    structlog.contextvars.unbind_contextvars("task_id", "task")
