from __future__ import annotations

from celery import shared_task

from core.api.idempotency import idempotency_records_purge


@shared_task(name="core.idempotency_keys_purge", ignore_result=True)
def idempotency_keys_purge() -> int:
    """Forget idempotency keys past their retention period."""
    return idempotency_records_purge()
