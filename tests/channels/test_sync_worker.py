"""End to end with a real Celery worker on Redis and PostgreSQL, against a local receiver that
injects failures: every change arrives, in order, exactly the latest state; dead deliveries are
visible and retryable. Time is compressed through the CHANNELS_* settings of the worker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from channels import delivery as delivery_service
from channels.models import Delivery, DeliveryAttempt, Listing
from channels.tasks import dispatch, push_channel
from core.models import ChangeEvent, Channel
from tests.channels.receiver import Receiver
from tests.channels.syncing import FAST, assert_in_order, price_edit, wait_converged
from tests.factories import ChannelFactory
from tests.workers import Worker, running_worker

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sync_settings() -> dict[str, str]:
    """Extra worker settings; a test overrides it with ``parametrize("sync_settings", [...])``."""
    return {}


@pytest.fixture
def sync_worker(
    transactional_db: Any, monkeypatch: pytest.MonkeyPatch, sync_settings: dict[str, str]
) -> Iterator[Worker]:
    """A worker with time compressed through its CHANNELS_* settings."""
    for key, value in {**FAST, **sync_settings}.items():
        monkeypatch.setenv(key, value)
    with running_worker() as worker:
        yield worker


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
