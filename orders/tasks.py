"""Thin Celery tasks: take ids, call one service."""

from __future__ import annotations

from celery import shared_task

from orders import services


@shared_task(
    name="orders.notification_send",
    autoretry_for=(ConnectionError, OSError),
    retry_backoff=True,
    max_retries=5,
)
def order_notification_send(
    order_id: int, kind: str, subject_key: str = "", pickup_code: str = ""
) -> bool:
    return services.notification_send(
        order_id=order_id, kind=kind, subject_key=subject_key, pickup_code=pickup_code
    )


@shared_task(name="orders.pickups_expire")
def pickups_expire() -> int:
    return len(services.pickups_expire())
