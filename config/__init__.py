"""Project configuration: settings, the Celery app, URLs, logging and the API platform."""

from config.celery import app as celery_app

__all__ = ["celery_app"]
