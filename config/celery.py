"""The Celery application.

Settings come from Django's settings (``CELERY_*``). Task modules are autodiscovered in every
installed app; old task names live on for one release as aliases (``config.task_aliases``). The
request id bound where a task is enqueued travels in the task headers and is bound again while
the task runs, so its log lines carry the id of the request that caused it.
"""

from __future__ import annotations

import os
from typing import Any

import structlog
from celery import Celery
from celery.signals import before_task_publish, import_modules, task_postrun, task_prerun

from config.task_aliases import task_aliases_register

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("omnihub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["config", "core.api"])


@import_modules.connect(sender=app)
def _task_aliases_register(**_: Any) -> None:
    """Register the old task names once a worker (or beat) has imported the task modules.

    Connected after the autodiscovery above, whose receivers therefore run first.
    """
    task_aliases_register(app)


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
