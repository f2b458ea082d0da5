"""Project-wide periodic tasks."""

from __future__ import annotations

from celery import shared_task

from core import health


@shared_task(name="config.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> None:
    """Record that a worker is alive; ``/healthz`` reports how long ago it last ran."""
    health.worker_heartbeat_record()


@shared_task(name="config.diagnostics_echo")
def diagnostics_echo() -> dict[str, str | None]:
    """Report which worker ran it and under which request id.

    How an operator checks that tasks run and that request ids reach the workers:
    ``celery -A config call config.diagnostics_echo``.
    """
    import socket

    from config.observability import current_request_id

    return {"request_id": current_request_id(), "hostname": socket.gethostname()}
