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


@shared_task(name="orders.giftcards_expire")
def giftcards_expire() -> int:
    """Close the balance of the gift cards past their expiry (beat runs it daily)."""
    return services.giftcards_expire()


@shared_task(name="orders.promotions_announce", ignore_result=True)
def promotions_announce() -> int:
    """Periodic (beat, every minute): announce the promotions that started, ended or were saved
    since the last run (kept in the cache; an hour back at most after an outage; overlapping
    runs are harmless because channels keep only the newest price)."""
    from datetime import timedelta

    from django.core.cache import cache
    from django.utils import timezone

    from orders.services.promotion_prices import promotion_prices_announce

    now = timezone.now()
    since = cache.get("orders:promotions_announced_until") or now - timedelta(minutes=2)
    since = max(since, now - timedelta(hours=1))
    count = promotion_prices_announce(since=since, until=now)
    cache.set("orders:promotions_announced_until", now, timeout=None)
    return count
