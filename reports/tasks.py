"""Celery tasks of the reports app: thin wrappers over ``reports.rollups``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import structlog
from celery import shared_task
from django.conf import settings

from core.broker import task_kick

log = structlog.get_logger(__name__)


@shared_task(name="reports.rollups_update", ignore_result=True)
def rollups_update() -> int:
    """Apply the outbox events after the rollup cursor (beat runs it every 15 s; commits that
    record events kick it too). Another run holding the cursor makes this one return 0."""
    from reports.rollups import rollups_update as update

    return update()


_kicks_paused: ContextVar[bool] = ContextVar("reports_rollups_kicks_paused", default=False)


@contextmanager
def rollups_kicks_paused() -> Iterator[None]:
    """No rollup update after each commit while inside: for bulk loads (``seed_demo``) that
    rebuild the rollups once at the end instead (``reports.rollups.rollups_rebuild``)."""
    token = _kicks_paused.set(True)
    try:
        yield
    finally:
        _kicks_paused.reset(token)


def rollups_kick() -> None:
    """The outbox hook: after a commit that recorded events, enqueue the rollup update so the
    dashboard stays live. Off with ``REPORTS_ROLLUPS_ON_COMMIT = False`` (tests call
    ``rollups_update()`` themselves; the beat entry still sweeps)."""
    if not getattr(settings, "REPORTS_ROLLUPS_ON_COMMIT", True) or _kicks_paused.get():
        return
    try:
        task_kick(rollups_update)
    except Exception:  # eager (no broker): the update ran here and failed
        # the request's own data is committed: never fail it for a figure; beat's sweep and
        # the next commit retry from the same cursor (nothing was applied: one transaction)
        log.exception("reports.rollups_update_failed")
