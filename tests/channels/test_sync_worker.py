"""End to end with a real Celery worker on Redis and PostgreSQL, against a local receiver that
injects failures: every change arrives, in order, exactly the latest state; dead deliveries are
visible and retryable. Time is compressed through the CHANNELS_* settings of the worker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction

from channels import delivery as delivery_service
from channels.models import Delivery, DeliveryAttempt, Listing
from channels.tasks import dispatch, push_channel
from core.models import ChangeEvent, Channel
from core.outbox.events import EventType
from core.outbox.services import event_record
from tests.channels.receiver import Receiver
from tests.factories import ChannelFactory
from tests.workers import Worker, running_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FAST = {
    "CHANNELS_RETRY_BASE_SECONDS": "0.2",
    "CHANNELS_RETRY_MAX_SECONDS": "1",
    "CHANNELS_HTTP_TIMEOUT_SECONDS": "0.5",
    "CHANNELS_LEASE_SECONDS": "2",
    "CHANNELS_BREAKER_THRESHOLD": "1000",
    "CHANNELS_MAX_ATTEMPTS": "30",
    # the worker publishes its follow-ups (retries, next batches) for real, as in production
    "CELERY_TASK_ALWAYS_EAGER": "false",
}


@pytest.fixture
def sync_settings() -> dict[str, str]:
    """Extra worker settings; a test overrides it with ``parametrize("sync_settings", [...])``."""
    return {}


@pytest.fixture
def sync_worker(
    transactional_db: Any, monkeypatch: pytest.MonkeyPatch, sync_settings: dict[str, str]
) -> Iterator[Worker]:
    """A worker with time compressed through its CHANNELS_* settings."""
    if connection.vendor != "postgresql":
        pytest.skip("sync worker tests run on PostgreSQL (SKIP LOCKED, concurrent processes)")
    for key, value in {**FAST, **sync_settings}.items():
        monkeypatch.setenv(key, value)
    with running_worker() as worker:
        yield worker


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


def test_every_change_arrives_in_order_as_the_latest_state_despite_failures(
    sync_worker: Worker, receiver: Receiver
) -> None:
    # given a channel whose endpoint fails in every way before it recovers
    channel = ChannelFactory(
        code="shop",
        kind=Channel.Kind.WEBSHOP,
        endpoint_url=receiver.url,
        signing_secret=receiver.secret,
        rate_limit_per_second=1000,
        batch_size=20,
    )
    receiver.script = [500, ("429", 1), ("hang", 1.0), ("slow", 0.3), 500, 503]

    # when 200 price edits over 10 products are committed, quickly
    expected: dict[str, str] = {}
    for n in range(200):
        product_id = n % 10
        amount = f"{n}.00"
        price_edit(product_id, amount)
        expected[str(product_id)] = amount

    # then the receiver converges on exactly the latest price of each product
    wait_converged(receiver, expected)
    assert_in_order(receiver)
    assert receiver.bad_signatures == 0
    listings = Listing.objects.filter(channel=channel)
    assert listings.count() == 10
    assert set(listings.values_list("state", flat=True)) == {"synced"}
    assert all(row.acked_sequence == row.last_sequence == 20 for row in listings)
    assert not ChangeEvent.objects.filter(relayed_at__isnull=True).exists()
    # coalesced: far fewer changes sent than edits made
    assert len(receiver.changes()) < 200
    statuses = set(DeliveryAttempt.objects.values_list("status_code", flat=True))
    assert {500, 429, 200} <= statuses


@pytest.mark.parametrize("sync_settings", [{"CHANNELS_MAX_ATTEMPTS": "3"}])
def test_dead_deliveries_are_visible_and_retryable(sync_worker: Worker, receiver: Receiver) -> None:
    # given a channel that is down long enough for the delivery to die
    ChannelFactory(
        code="shop",
        kind=Channel.Kind.WEBSHOP,
        endpoint_url=receiver.url,
        signing_secret=receiver.secret,
        rate_limit_per_second=1000,
    )
    receiver.default = 500
    price_edit(1, "9.99")
    deadline = time.monotonic() + 30
    while not Delivery.objects.filter(state="dead").exists() and time.monotonic() < deadline:
        dispatch.delay()
        time.sleep(0.3)
    assert Delivery.objects.exists(), sync_worker.log()[-3000:]
    dead = Delivery.objects.get()
    assert (dead.state, dead.attempts) == ("dead", 3), sync_worker.log()[-3000:]
    assert Listing.objects.get().state == "dead"
    assert DeliveryAttempt.objects.filter(delivery=dead, status_code=500).count() == dead.attempts

    # when the channel is back and an operator retries
    receiver.default = 200
    retried, _ = delivery_service.delivery_retry(delivery_ids=[dead.pk])
    push_channel.delay(dead.channel_id)

    # then it is delivered
    wait_converged(receiver, {"1": "9.99"})
    assert retried == [dead.pk]
    assert Listing.objects.get().state == "synced"
