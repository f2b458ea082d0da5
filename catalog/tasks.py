"""Catalog background work: thin Celery tasks that take ids, re-fetch and call one service.

Media tasks run on the default queue (see ``CELERY_TASK_ROUTES``), bulk edits on the ``imports``
queue beside the product import task, which lives in ``catalog.imports.tasks``.
"""

from __future__ import annotations

from celery import shared_task

from catalog import media


@shared_task(name="catalog.media_fetch")
def media_fetch(media_id: int) -> str | None:
    """Fetch a pending image from its URL. A bad URL or image marks the media failed (with the
    reason in ``error``) and does not raise, so it is never retried blindly. Returns the status."""
    result = media.media_fetch(media_id=media_id)
    return result.status if result is not None else None


@shared_task(name="catalog.media_renditions")
def media_renditions(media_id: int) -> dict[str, str]:
    """Make the missing renditions of a ready image (idempotent)."""
    return media.media_renditions_generate(media_id=media_id)


@shared_task(name="catalog.promotions_announce", ignore_result=True)
def promotions_announce() -> int:
    """Periodic (beat, every minute): announce the promotions that started or ended since the
    last run (kept in the cache; an hour back at most after an outage, overlapping runs are
    harmless because channels keep only the newest price)."""
    from datetime import timedelta

    from django.core.cache import cache
    from django.utils import timezone

    from catalog import services

    now = timezone.now()
    since = cache.get("catalog:promotions_announced_until") or now - timedelta(minutes=2)
    since = max(since, now - timedelta(hours=1))
    count = services.promotions_announce(since=since, until=now)
    cache.set("catalog:promotions_announced_until", now, timeout=None)
    return count


@shared_task(name="catalog.bulk_edit_run", ignore_result=True)
def bulk_edit_run(job_id: int) -> str:
    """Run a bulk edit job (``catalog.bulk_edit``) for up to ``CATALOG_BULK_EDIT_TASK_SECONDS``,
    then queue the rest as a new run, so that no run reaches Celery's time limit. A run that was
    lost (worker killed) is redelivered and goes on from the first pending row."""
    from catalog import bulk_edit

    job = bulk_edit.bulk_edit_job_run(job_id=job_id, seconds=bulk_edit.task_seconds())
    if job is not None and bulk_edit.bulk_edit_job_has_pending(job_id=job_id):
        bulk_edit_run.delay(job_id)
    return job.status if job is not None else "missing"
