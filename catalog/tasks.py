"""Catalog background work: thin Celery tasks that take ids, re-fetch and call one service.

Media tasks run on the default queue (see ``CELERY_TASK_ROUTES``); the product import task lives in
``catalog.imports.tasks`` and runs on the ``imports`` queue.
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
