"""Thin Celery tasks: take ids, call one service."""

from __future__ import annotations

from celery import shared_task

from orders import services


@shared_task(name="orders.notifications_send")
def notifications_send() -> int:
    """Send the pending customer emails (kicked after each commit that queued one, and swept
    by beat every ``ORDERS_NOTIFICATIONS_SWEEP_SECONDS``)."""
    return services.notifications_send_pending()


@shared_task(name="orders.notification_send")
def notification_send_queued_before_upgrade(
    order_id: int, kind: str, subject_key: str = "", pickup_code: str = ""
) -> None:
    """A message of the previous release (one email, its details in the message): queue it as
    a pending notification, which ``orders.notifications_send`` then sends once. Delete in the
    next release."""
    services.notification_queue_for_order(
        order_id=order_id, kind=kind, subject_key=subject_key, pickup_code=pickup_code
    )


@shared_task(name="orders.pickups_expire")
def pickups_expire() -> int:
    return len(services.pickups_expire())
