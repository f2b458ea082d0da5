"""Fault tests: a worker SIGKILLed mid-push, the broker's Redis stopped while orders are placed,
a channel down for "minutes" (compressed). After recovery every channel converges, nothing lost.

The broker test starts its own ``redis-server`` on a free port and stops that one, never the
machine's shared Redis. Time is compressed through the workers' CHANNELS_* settings; the
dispatcher that beat runs every few seconds in production is called by the test."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from channels.models import Delivery, Listing
from channels.tasks import dispatch
from core.models import ChangeEvent, Channel
from inventory.selectors import channel_availability
from orders import services as order_services
from tests import workers
from tests.channels.receiver import Receiver
from tests.channels.syncing import FAST, assert_in_order, price_edit, wait_converged
from tests.factories import ChannelFactory, WebhookSubscriptionFactory
from tests.shop import Shop
from tests.workers import PrivateRedis, broker_switched, running_worker

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fast_env(transactional_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)


def _channel(receiver: Receiver, code: str = "shop") -> Channel:
    return ChannelFactory(  # type: ignore[no-any-return]
        code=code,
        kind=Channel.Kind.WEBSHOP,
        endpoint_url=receiver.url,
        signing_secret=receiver.secret,
        rate_limit_per_second=1000,
        batch_size=10,
    )


def test_a_worker_killed_mid_push_loses_nothing(fast_env: None, receiver: Receiver) -> None:
    # given a channel whose first answer is slow, and a worker pushing to it
    _channel(receiver)
    receiver.script = [("slow", 3.0)]
    with running_worker() as doomed:
        price_edit(1, "1.00")
        assert receiver.wait_for(receiver.in_flight.is_set, timeout=20), doomed.log()[-2000:]
        # when the worker is killed with SIGKILL while the request is in flight
        os.kill(doomed.process.pid, signal.SIGKILL)
        doomed.process.wait(timeout=10)
        price_edit(1, "2.00")  # a change committed while no worker runs
        price_edit(2, "7.00")
    assert Delivery.objects.filter(state="pending").exists()

    # then a new worker (its lease on the rows expired) delivers the latest state of everything
    with running_worker():
        wait_converged(receiver, {"1": "2.00", "2": "7.00"})
    assert_in_order(receiver)
    assert set(Listing.objects.values_list("state", flat=True)) == {"synced"}


def test_a_channel_down_for_minutes_converges_when_it_returns(
    fast_env: None, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a channel that is down, a breaker that opens after 3 failures for 1 s (a minute,
    # compressed) and a second channel that works
    monkeypatch.setenv("CHANNELS_BREAKER_THRESHOLD", "3")
    monkeypatch.setenv("CHANNELS_BREAKER_COOLDOWN_SECONDS", "1")
    broken = _channel(receiver)
    receiver.default = 503
    from tests.channels.receiver import running_receiver

    with running_receiver(secret=receiver.secret) as healthy_receiver, running_worker():
        _channel(healthy_receiver, code="other")
        # when edits keep coming during the outage
        expected: dict[str, str] = {}
        for n in range(60):
            price_edit(n % 6, f"{n}.00")
            price_edit(n % 6, f"{n}.50", channel_code="other")
            expected[str(n % 6)] = f"{n}.00"
        wait_converged_other = {k: v.replace(".00", ".50") for k, v in expected.items()}
        assert healthy_receiver.wait_for(
            lambda: (
                {k[2]: c["data"]["amount"] for k, c in healthy_receiver.state.items()}
                == wait_converged_other
            ),
            timeout=30,
        )  # the healthy channel is not held up by the broken one
        time.sleep(3)
        failed_calls = len(receiver.requests)
        assert not receiver.accepted
        assert Delivery.objects.filter(channel=broken, state="pending").count() == 6
        # while the breaker is open the broken channel gets few calls, not one per edit
        assert failed_calls < 60

        # and when the channel comes back, it converges on the latest state
        receiver.default = 200
        wait_converged(receiver, expected)
    assert_in_order(receiver)
    assert not Delivery.objects.filter(state__in=["dead", "failed"]).exists()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    with workers.private_redis() as redis:
        yield redis


def test_orders_placed_while_the_broker_is_down_reach_every_channel_after_recovery(
    fast_env: None,
    receiver: Receiver,
    shop: Shop,
    private_redis: PrivateRedis,
) -> None:
    url, stop, start = private_redis.url, private_redis.stop, private_redis.start
    subscription = WebhookSubscriptionFactory(url=receiver.url, events=["order.created"])
    receiver.secret = subscription.secret
    Channel.objects.filter(pk=shop.channel.pk).update(
        endpoint_url=receiver.url, signing_secret=subscription.secret, rate_limit_per_second=1000
    )
    shop.receive(shop.warehouse, shop.s, 50)
    shop.receive(shop.warehouse, shop.m, 50)
    with broker_switched(url), running_worker():
        # given the broker's Redis is stopped
        stop()
        # when orders are placed meanwhile, they succeed (the relay kick is deferred)
        numbers = []
        for n in range(8):
            placed = order_services.order_place(
                channel_code=shop.channel.code,
                lines=[
                    order_services.LineInput(
                        "ORGANIC-TEE-S" if n % 2 else "ORGANIC-TEE-M", 1 + n % 3
                    )
                ],
                method="ship",
                address={"country": "NL"},
                external_id=f"MKT-{n}",
            )
            numbers.append(placed.order.number)
        assert ChangeEvent.objects.filter(relayed_at__isnull=True).count() >= 16
        # then, once Redis is back (empty: whatever it held is gone), all converges
        start()
        expected_stock = {
            str(item.sku): item.available
            for item in channel_availability(
                channel=Channel.objects.get(pk=shop.channel.pk),
                skus=["ORGANIC-TEE-S", "ORGANIC-TEE-M"],
            )[0]
        }
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):  # the web side reconnects
                dispatch.delay()
            orders = {k[2] for k in receiver.state if k[0] == "order"}
            stock = {
                c["data"]["sku"]: c["data"]["available"]
                for k, c in receiver.state.items()
                if k[0] == "stock"
            }
            if orders == set(numbers) and stock == expected_stock:
                break
            time.sleep(0.5)
        assert {k[2] for k in receiver.state if k[0] == "order"} == set(numbers)
        assert stock == expected_stock
    assert_in_order(receiver)
    assert not ChangeEvent.objects.filter(relayed_at__isnull=True).exists()
