"""Celery tasks of the sync queue: thin wrappers that call one service and schedule what next.

All are routed to the ``sync`` queue (``CELERY_TASK_ROUTES``). Acks are late and a task is handed
back when its worker dies (global settings), and every task here is safe to run twice: the relay
claims events in one transaction, pushes claim rows under a lease and settle them only if unchanged.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import current_task, shared_task
from django.conf import settings
from django.core.cache import cache

from channels import delivery, relay
from core.broker import task_kick

log = structlog.get_logger(__name__)


def _eager() -> bool:
    from celery import current_app as app

    return bool(app.conf.task_always_eager)


def _push_now() -> bool:
    """Pushes run right away unless tasks are eager and inline pushes are off (dev and tests
    without a worker: deliveries then wait for a worker or ``manage.py`` run of the tasks)."""
    return not _eager() or bool(getattr(settings, "CHANNELS_EAGER_PUSH", False))


def _enqueue(task: Any, *args: Any, countdown: float | None = None) -> None:
    """Enqueue ``task``; from inside a task, on the queue the current task came from (``sync``
    in production, a test worker's private queue in tests)."""
    options: dict[str, Any] = {}
    request = getattr(current_task, "request", None)
    info = getattr(request, "delivery_info", None) or {}
    if info.get("routing_key") and not _eager():
        options["queue"] = info["routing_key"]
    if countdown:
        options["countdown"] = countdown
    task.apply_async(args, **options)


def _follow_up(task: Any, target_id: int, retry_in: float | None) -> None:
    """Schedule one later run for a target (at most one waiting per target)."""
    if retry_in is None or _eager():
        return
    key = f"channels:scheduled:{task.name}:{target_id}"
    if cache.add(key, 1, timeout=int(retry_in) + 30):
        _enqueue(task, target_id, countdown=retry_in)


@shared_task(name="channels.relay", ignore_result=True)
def relay_events() -> int:
    """Relay pending change events and kick the pushes they created."""
    result = relay.relay_run()
    if _push_now():
        for channel_id in sorted(result.channel_ids):
            _enqueue(push_channel, channel_id)
        for subscription_id in sorted(result.subscription_ids):
            _enqueue(push_subscription, subscription_id)
    for channel_id in sorted(result.feed_channel_ids):
        _enqueue(feed_refresh, channel_id)
    if result.events >= int(getattr(settings, "CHANNELS_RELAY_BATCH", 1000)) and not _eager():
        _enqueue(relay_events)
    return result.events


@shared_task(name="channels.push_channel", ignore_result=True)
def push_channel(channel_id: int) -> int:
    cache.delete(f"channels:scheduled:{push_channel.name}:{channel_id}")
    outcome = delivery.channel_push(channel_id=channel_id)
    if outcome.sent and outcome.retry_in == 0:
        _enqueue(push_channel, channel_id)
    else:
        _follow_up(push_channel, channel_id, outcome.retry_in)
    return outcome.delivered


@shared_task(name="channels.push_subscription", ignore_result=True)
def push_subscription(subscription_id: int) -> int:
    cache.delete(f"channels:scheduled:{push_subscription.name}:{subscription_id}")
    outcome = delivery.subscription_push(subscription_id=subscription_id)
    _follow_up(push_subscription, subscription_id, outcome.retry_in)
    return outcome.delivered


@shared_task(name="channels.dispatch", ignore_result=True)
def dispatch() -> None:
    """Periodic safety net (beat): relay events a lost kick left behind (the broker was down at
    commit) and push every target with work due (a lost or expired task)."""
    from core.outbox.selectors import event_list

    if event_list(pending_only=True).exists():
        _enqueue(relay_events)
    channel_ids, subscription_ids = delivery.due_targets()
    for channel_id in channel_ids:
        _enqueue(push_channel, channel_id)
    for subscription_id in subscription_ids:
        _enqueue(push_subscription, subscription_id)


@shared_task(name="channels.reconcile", ignore_result=True)
def reconcile() -> int:
    """Periodic: re-queue listings whose acknowledged version is behind (see the service)."""
    count = relay.listings_reconcile(
        older_than_seconds=float(getattr(settings, "CHANNELS_RECONCILE_AFTER_SECONDS", 300))
    )
    if count:
        log.info("channels.reconcile", requeued=count)
        _enqueue(dispatch)
    return count


@shared_task(name="channels.feed_refresh", ignore_result=True)
def feed_refresh(channel_id: int) -> int:
    """Recompute the stale items of one feed channel; write its files when due."""
    from channels.feeds import services as feeds
    from core.models import Channel

    channel = Channel.objects.filter(pk=channel_id, is_active=True).first()
    if channel is None:
        return 0
    result = feeds.feed_refresh(channel)
    if result.items_changed and not result.rendered:
        # the files wait for the minimum interval: come back then (one waiting run per feed)
        _follow_up(feed_refresh, channel_id, feeds.min_seconds())
    return result.items_changed


@shared_task(name="channels.feeds_refresh", ignore_result=True)
def feeds_refresh() -> None:
    """Periodic (beat): refresh every feed channel (a lost kick, a promotion that ended)."""
    from channels.feeds import services as feeds

    for channel in feeds.feed_channels():
        _enqueue(feed_refresh, channel.pk)


def relay_kick() -> None:
    """The outbox hook: after a commit that recorded events, enqueue the relay. A broker outage
    must not fail the request whose data is already committed: the periodic ``dispatch`` relays
    the events once the broker is back (``core.broker.task_kick``)."""
    task_kick(relay_events)


@shared_task(name="channels.noop", ignore_result=True)
def noop() -> None:
    """Does nothing: the calibration of ``bench/channels_propagation.py`` (plain task rate)."""
