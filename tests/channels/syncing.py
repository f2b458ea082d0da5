"""Helpers for tests that run a real sync worker: compressed timings, a price edit recorded in the
outbox, and waiting until a receiver holds the expected state in order."""

from __future__ import annotations

import time

from django.db import transaction

from channels.models import Delivery
from channels.tasks import dispatch
from core.events import EventType
from core.outbox.services import event_record
from tests.channels.receiver import Receiver

FAST = {
    "CHANNELS_RETRY_BASE_SECONDS": "0.2",
    "CHANNELS_RETRY_MAX_SECONDS": "1",
    "CHANNELS_HTTP_TIMEOUT_SECONDS": "0.5",
    "CHANNELS_LEASE_SECONDS": "2",
    "CHANNELS_BREAKER_THRESHOLD": "1000",
    "CHANNELS_MAX_ATTEMPTS": "30",
    # the worker publishes its follow-ups (retries, next batches) for real, as in production
    "CELERY_TASK_ALWAYS_EAGER": "false",
    # the receiver listens on 127.0.0.1, a private address that pushes may not reach by default
    "OUTBOUND_ALLOW_PRIVATE_URLS": "true",
}


def price_edit(product_id: int, amount: str, channel_code: str = "shop") -> None:
    with transaction.atomic():
        event_record(
            topic=EventType.PRICE_CHANGED,
            aggregate="product",
            aggregate_id=product_id,
            channel_code=channel_code,
            payload={"product_id": product_id, "amount": amount},
        )


def converged(receiver: Receiver, expected: dict[str, str]) -> bool:
    got = {key[2]: change["data"]["amount"] for key, change in receiver.state.items()}
    return got == expected


def wait_converged(receiver: Receiver, expected: dict[str, str], timeout: float = 45.0) -> None:
    """Wait for the receiver to hold ``expected``, running the dispatcher as beat would."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if converged(receiver, expected) and not Delivery.objects.filter(state="pending").exists():
            return
        dispatch.delay()
        time.sleep(0.5)
    state = {key: change["data"]["amount"] for key, change in receiver.state.items()}
    raise AssertionError(f"did not converge: {state} != {expected}")


def assert_in_order(receiver: Receiver) -> None:
    """No object ever went back to an older sequence at the receiver."""
    last: dict[str, int] = {}
    for change in receiver.changes():
        object_id = change["object"]["id"]
        assert change["sequence"] >= last.get(object_id, 0), (object_id, change["sequence"])
        last[object_id] = change["sequence"]
