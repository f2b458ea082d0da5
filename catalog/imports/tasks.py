"""The background product import (routed to the ``imports`` queue as ``catalog.import_*``)."""

from __future__ import annotations

from celery import shared_task

from catalog.imports.services import import_job_run


@shared_task(name="catalog.import_products")
def import_products(job_id: int) -> str:
    return import_job_run(job_id=job_id).status
