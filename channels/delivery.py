"""Delivering: claim due work under a lease, push it, record the attempt, decide what next.

A channel push claims up to ``batch_size`` due deliveries of the channel (``SKIP LOCKED`` on
PostgreSQL) and leases them, so two workers never send the same rows at once; the HTTP request is
made outside any transaction. Afterwards each row is settled only if it still carries the sequence
that was sent: when the relay merged a newer change into it meanwhile, the row stays pending and
the newer state goes next, so an older state is never sent after a newer one.

Outcomes: 2xx delivered (listing synced up to that sequence); timeout, network error, 5xx or 429
retried with exponential backoff and full jitter (``Retry-After`` honoured as a floor); another
4xx refused at once (listing failed with the channel's message); dead after
``CHANNELS_MAX_ATTEMPTS`` attempts. A per-channel token bucket limits the request rate and a
circuit breaker stops calling a channel that keeps failing, so one broken channel costs the others
nothing. Webhook subscriptions use the same steps, one event per request, in order.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from channels import connectors
from channels.models import Delivery, DeliveryAttempt, Listing, WebhookSubscription
from core import bulk
from core.models import Channel


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def channel_secret(channel: Channel) -> str:
    """The channel's signing secret: from its environment variable when named, else the field."""
    if channel.signing_secret_env:
        return os.environ.get(channel.signing_secret_env, "")
    return channel.signing_secret


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, capped; never sooner than ``Retry-After``."""
    base = _setting("CHANNELS_RETRY_BASE_SECONDS", 2.0)
    cap = _setting("CHANNELS_RETRY_MAX_SECONDS", 600.0)
    delay = random.uniform(base / 2, min(cap, base * 2 ** max(attempts - 1, 0)))
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


# --- rate limit and circuit breaker (shared through the cache: Redis in production) ----------


def _bucket_key(target: str) -> str:
    return f"channels:rate:{target}:{int(time.time())}"


def rate_limit_take(*, target: str, per_second: int) -> float:
    """Take one request slot of ``target`` for this second; 0 when granted, else seconds to wait
    (a fixed window per second, counted atomically in the cache)."""
    if per_second <= 0:
        return 0.0
    key = _bucket_key(target)
    cache.add(key, 0, timeout=5)
    try:
        used = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=5)
        used = 1
    if used <= per_second:
        return 0.0
    return max(1.0 - (time.time() % 1.0), 0.01)


def _breaker_keys(target: str) -> tuple[str, str]:
    return f"channels:breaker:{target}:failures", f"channels:breaker:{target}:open_until"


def breaker_open_for(target: str) -> float:
    """Seconds left while the breaker of ``target`` is open (0 when closed or half-open)."""
    _, open_key = _breaker_keys(target)
    until = cache.get(open_key)
    return max(float(until) - time.time(), 0.0) if until else 0.0


def breaker_record(target: str, *, success: bool) -> None:
    failures_key, open_key = _breaker_keys(target)
    if success:
        cache.delete_many([failures_key, open_key])
        return
    cache.add(failures_key, 0, timeout=3600)
    try:
        failures = cache.incr(failures_key)
    except ValueError:
        cache.set(failures_key, 1, timeout=3600)
        failures = 1
    if failures >= int(_setting("CHANNELS_BREAKER_THRESHOLD", 5)):
        cooldown = _setting("CHANNELS_BREAKER_COOLDOWN_SECONDS", 60.0)
        cache.set(open_key, time.time() + cooldown, timeout=int(cooldown) + 5)


# --- claiming and settling ---------------------------------------------------------------------


@dataclass(frozen=True)
class PushOutcome:
    """What a push run did; ``retry_in`` says when the caller should run again (None: no need)."""

    sent: int
    delivered: int
    retry_in: float | None


def _claim(queryset: QuerySet[Delivery], limit: int) -> tuple[list[Delivery], str]:
    now = timezone.now()
    token = uuid.uuid4().hex
    with transaction.atomic():
        due = (
            queryset.filter(state=Delivery.State.PENDING, next_attempt_at__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .order_by("id")
        )
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        rows = list(due[:limit])
        if rows:
            Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(
                lease_token=token,
                lease_until=now + timedelta(seconds=_setting("CHANNELS_LEASE_SECONDS", 60.0)),
            )
    return rows, token


def _next_due_in(queryset: QuerySet[Delivery]) -> float | None:
    """Seconds until the next pending row of ``queryset`` is due (lease expiry included)."""
    row = (
        queryset.filter(state=Delivery.State.PENDING)
        .order_by("next_attempt_at")
        .values("next_attempt_at", "lease_until")
        .first()
    )
    if row is None:
        return None
    due: datetime = row["next_attempt_at"]
    if row["lease_until"] is not None and row["lease_until"] > due:
        due = row["lease_until"]
    return max((due - timezone.now()).total_seconds(), 0.0)


def _message_id(rows: list[Delivery]) -> str:
    """Same content, same id (retries are recognisable); new content, new id."""
    import hashlib

    digest = hashlib.sha256(
        ",".join(f"{row.pk}:{row.sequence}" for row in rows).encode()
    ).hexdigest()
    return f"msg_{digest[:32]}"


def _log(rows: list[Delivery], message_id: str, result: connectors.PushResult) -> None:
    bulk.create(  # COPY on PostgreSQL
        [
            DeliveryAttempt(
                delivery_id=row.pk,
                sequence=row.sequence,
                message_id=message_id,
                status_code=result.status_code,
                outcome=result.outcome,
                error=result.message[:2000],
                duration_ms=result.duration_ms,
            )
            for row in rows
        ],
        DeliveryAttempt,
        history=False,
    )


def _release(rows: list[Delivery], token: str, *, delay: float = 0.0) -> None:
    """Hand rows back untouched (rate limited, breaker open), due again in ``delay`` seconds."""
    Delivery.objects.filter(pk__in=[row.pk for row in rows], lease_token=token).update(
        lease_token="",
        lease_until=None,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )


def _settle(
    rows: list[Delivery], token: str, message_id: str, result: connectors.PushResult
) -> int:
    """Record the attempt and move each row on; returns how many were delivered (a 2xx settles
    the whole batch at once, a failure row by row)."""
    now = timezone.now()
    max_attempts = int(_setting("CHANNELS_MAX_ATTEMPTS", 8))
    if result.outcome == "ok":
        with transaction.atomic():
            _log(rows, message_id, result)
            return _settle_delivered(rows, token, now)
    with transaction.atomic():
        _log(rows, message_id, result)
        for row in rows:
            mine = Delivery.objects.filter(
                pk=row.pk, lease_token=token, state=Delivery.State.PENDING
            )
            same = mine.filter(sequence=row.sequence)
            if result.outcome == "refused":
                if not same.update(
                    state=Delivery.State.FAILED,
                    attempts=F("attempts") + 1,
                    last_error=result.message,
                    lease_token="",
                    lease_until=None,
                ):
                    mine.update(lease_token="", lease_until=None, next_attempt_at=now)
                _listing_fail(row, result, Listing.State.FAILED)
            else:
                attempts = row.attempts + 1
                if attempts >= max_attempts and same.update(
                    state=Delivery.State.DEAD,
                    attempts=attempts,
                    last_error=result.message,
                    lease_token="",
                    lease_until=None,
                ):
                    _listing_fail(row, result, Listing.State.DEAD)
                    continue
                mine.update(
                    attempts=attempts,
                    last_error=result.message,
                    lease_token="",
                    lease_until=None,
                    next_attempt_at=now
                    + timedelta(seconds=backoff_seconds(attempts, result.retry_after)),
                )
    return 0


def _settle_delivered(rows: list[Delivery], token: str, now: datetime) -> int:
    """A 2xx for the whole batch, in a fixed number of statements whatever its size. The rows
    still leased to us are locked (the relay merges into pending rows under the same lock, so
    nothing changes between this read and the writes); those that still carry the sequence we
    sent are delivered, the others (a newer change merged in meanwhile) go back to the queue, due
    now. Each listing is acknowledged up to the highest sequence sent for it, and marked synced
    when that reaches the last relayed one."""
    sent = {row.pk: row.sequence for row in rows}
    current = dict(
        Delivery.objects.select_for_update()
        .filter(pk__in=list(sent), lease_token=token, state=Delivery.State.PENDING)
        .order_by("pk")
        .values_list("pk", "sequence")
    )
    same = [pk for pk, sequence in current.items() if sequence == sent[pk]]
    merged = [pk for pk, sequence in current.items() if sequence != sent[pk]]
    delivered = 0
    if same:
        delivered = Delivery.objects.filter(pk__in=same).update(
            state=Delivery.State.DELIVERED,
            delivered_at=now,
            attempts=F("attempts") + 1,
            last_error="",
            lease_token="",
            lease_until=None,
        )
    if merged:
        Delivery.objects.filter(pk__in=merged).update(
            lease_token="", lease_until=None, next_attempt_at=now
        )
    _listings_ack([row for row in rows if row.channel_id is not None], now)
    return delivered


def _listings_ack(rows: list[Delivery], now: datetime) -> None:
    """What ``_listing_ack`` does for each row, for all of them at once."""
    if not rows:
        return
    highest: dict[tuple[int, str, str], int] = {}
    for row in rows:
        key = (int(row.channel_id or 0), row.aggregate, row.aggregate_id)
        highest[key] = max(highest.get(key, 0), row.sequence)
    listings = list(
        Listing.objects.select_for_update()
        .filter(
            channel_id__in={key[0] for key in highest},
            aggregate__in={key[1] for key in highest},
            aggregate_id__in={key[2] for key in highest},
        )
        .order_by("pk")
        .only(
            "pk",
            "channel_id",
            "aggregate",
            "aggregate_id",
            "acked_sequence",
            "last_sequence",
            "state",
        )
    )
    listings = [
        row for row in listings if (row.channel_id, row.aggregate, row.aggregate_id) in highest
    ]
    if not listings:
        return
    for listing in listings:
        sequence = highest[(listing.channel_id, listing.aggregate, listing.aggregate_id)]
        listing.acked_sequence = max(listing.acked_sequence, sequence)
        if listing.acked_sequence >= listing.last_sequence:
            listing.state = Listing.State.SYNCED
        listing.last_success_at, listing.last_error = now, ""
    # one UPDATE from a COPY-filled temporary table on PostgreSQL (no CASE per row)
    bulk.update(
        listings,
        Listing,
        ["acked_sequence", "state", "last_success_at", "last_error"],
        history=False,
    )


def _listing_fail(row: Delivery, result: connectors.PushResult, state: str) -> None:
    if row.channel_id is None:
        return
    Listing.objects.filter(
        channel_id=row.channel_id,
        aggregate=row.aggregate,
        aggregate_id=row.aggregate_id,
        last_sequence__lte=row.sequence,
    ).update(state=state, last_error=result.message[:2000])


def _body(rows: list[Delivery], target: str) -> dict[str, Any]:
    return {
        "channel": target,
        "changes": [
            {
                "event_id": row.event_id,
                "type": row.topic,
                "object": {"type": row.aggregate, "id": row.aggregate_id},
                "sequence": row.sequence,
                "data": row.payload,
            }
            for row in rows
        ],
    }


def _target_ready(target: str, per_second: int) -> float:
    """0 when a request to ``target`` may go now, else seconds to wait (breaker, rate)."""
    open_for = breaker_open_for(target)
    if open_for > 0:
        return open_for
    return rate_limit_take(target=target, per_second=per_second)


def channel_push(*, channel_id: int) -> PushOutcome:
    """Push one batch of a channel's due deliveries (see the module docstring)."""
    channel = Channel.objects.filter(pk=channel_id, is_active=True).first()
    if channel is None or not channel.endpoint_url:
        return PushOutcome(0, 0, None)
    work = Delivery.objects.filter(channel_id=channel_id)
    target = f"channel:{channel.code}"
    rows, token = _claim(work, max(channel.batch_size, 1))
    if not rows:
        return PushOutcome(0, 0, _next_due_in(work))
    wait = _target_ready(target, channel.rate_limit_per_second)
    if wait > 0:
        _release(rows, token, delay=wait)
        return PushOutcome(0, 0, wait)
    message_id = _message_id(rows)
    result = connectors.push(
        url=channel.endpoint_url,
        secret=channel_secret(channel),
        message_id=message_id,
        payload=_body(rows, channel.code),
        timeout=_setting("CHANNELS_HTTP_TIMEOUT_SECONDS", 10.0),
    )
    # settled before the breaker is told: the breaker lives in the cache (Redis), and a request
    # the channel took must be recorded as taken even when Redis went away meanwhile
    delivered = _settle(rows, token, message_id, result)
    breaker_record(target, success=result.outcome != "retry")
    return PushOutcome(len(rows), delivered, _next_due_in(work))


def subscription_push(*, subscription_id: int) -> PushOutcome:
    """Deliver a webhook subscription's due events one by one, oldest first, stopping at the first
    that is not delivered so that a partner sees its events in order."""
    subscription = (
        WebhookSubscription.objects.filter(pk=subscription_id, is_active=True)
        .select_related("partner")
        .first()
    )
    if subscription is None:
        return PushOutcome(0, 0, None)
    work = Delivery.objects.filter(subscription_id=subscription_id)
    target = f"webhook:{subscription_id}"
    sent = delivered = 0
    per_second = int(_setting("CHANNELS_WEBHOOK_RATE_PER_SECOND", 10))
    while True:
        rows, token = _claim(work, 1)
        if not rows:
            break
        wait = _target_ready(target, per_second)
        if wait > 0:
            _release(rows, token, delay=wait)
            return PushOutcome(sent, delivered, wait)
        row = rows[0]
        message_id = f"msg_{row.pk}_{row.event_id}"
        result = connectors.push(
            url=subscription.url,
            secret=subscription.secret,
            message_id=message_id,
            payload={
                "type": row.topic,
                "timestamp": row.created_at.isoformat(),
                "data": {
                    "object": {"type": row.aggregate, "id": row.aggregate_id},
                    "sequence": row.sequence,
                    "event_id": row.event_id,
                    **row.payload,
                },
            },
            timeout=_setting("CHANNELS_HTTP_TIMEOUT_SECONDS", 10.0),
        )
        sent += 1
        delivered += _settle(rows, token, message_id, result)  # before the cache, as above
        breaker_record(target, success=result.outcome != "retry")
        if result.outcome != "ok":
            break
    return PushOutcome(sent, delivered, _next_due_in(work))


# --- operator actions --------------------------------------------------------------------------


@transaction.atomic
def delivery_retry(*, delivery_ids: list[int]) -> tuple[list[int], list[int]]:
    """Put dead or failed deliveries back in the queue, due now, attempts reset. One that a newer
    change of the same object has overtaken (a pending or later delivered row) is marked
    superseded instead: resending it would send an older state. Returns (retried, superseded)
    delivery ids. Locks the rows in primary-key order."""
    rows = list(
        Delivery.objects.select_for_update()
        .filter(pk__in=delivery_ids, state__in=[Delivery.State.DEAD, Delivery.State.FAILED])
        .order_by("pk")
    )
    retried: list[int] = []
    superseded: list[int] = []
    now = timezone.now()
    for row in rows:
        newer = False
        if row.channel_id is not None:
            newer = (
                Delivery.objects.filter(
                    channel_id=row.channel_id,
                    stream=row.stream,
                    aggregate=row.aggregate,
                    aggregate_id=row.aggregate_id,
                )
                .exclude(pk=row.pk)
                .filter(
                    Q(state=Delivery.State.PENDING)
                    | Q(state=Delivery.State.DELIVERED, sequence__gt=row.sequence)
                )
                .exists()
            )
        if newer:
            Delivery.objects.filter(pk=row.pk).update(state=Delivery.State.SUPERSEDED)
            superseded.append(row.pk)
            continue
        Delivery.objects.filter(pk=row.pk).update(
            state=Delivery.State.PENDING,
            attempts=0,
            next_attempt_at=now,
            lease_token="",
            lease_until=None,
        )
        if row.channel_id is not None:
            Listing.objects.filter(
                channel_id=row.channel_id, aggregate=row.aggregate, aggregate_id=row.aggregate_id
            ).update(state=Listing.State.PENDING)
        retried.append(row.pk)
    return retried, superseded


def due_targets() -> tuple[list[int], list[int]]:
    """Channel and subscription ids with pending deliveries due now (for the dispatcher)."""
    now = timezone.now()
    due = Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=now).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )
    channels = sorted(
        {pk for pk in due.values_list("channel_id", flat=True).distinct() if pk is not None}
    )
    subscriptions = sorted(
        {pk for pk in due.values_list("subscription_id", flat=True).distinct() if pk is not None}
    )
    return channels, subscriptions
