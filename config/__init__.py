"""Composition: settings, the Celery app, URLs, app wiring, staff roles and logging."""

from config.celery import app as celery_app

__all__ = ["celery_app"]
