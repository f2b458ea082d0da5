"""Fault test: the broker's Redis stops while orders arrive, with a real worker (Trust issue "a
Redis outage turns into 500s and lost emails", shown end to end).

A private ``redis-server`` is the broker and the cache of this process and of a real worker that
also runs beat, its sweeps compressed to a second (the notification sweep, the channel
dispatcher). Orders come in over the API (with an API key) and as signed inbound webhooks before,
during and after an outage that starts while a partner's webhook is in flight (the partner takes
it; the worker then finds Redis gone). Then:

- no request is answered 5xx (nor anything but 201), and every order is saved exactly once;
- once Redis is back, every confirmation email goes out exactly once (counted in the files the
  worker's email backend writes);
- every push reaches its receiver exactly once per (target, event): the webhook subscription's
  ``order.created`` and the channel's stock pushes, and the channel converges on the stock left.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client, override_settings
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.test import APIClient

from channels import connectors, delivery
from channels.connectors import signature
from channels.models import Delivery, WebhookSubscription, webhook_secret_generate
from channels.relay import relay_run
from core.events import EventType
from core.models import ChangeEvent, Channel
from core.outbox.services import event_record
from inventory.selectors import channel_availability
from orders.models import Notification, Order
from tests.channels.receiver import Receiver, running_receiver
from tests.factories import ChannelFactory, WebhookSubscriptionFactory
from tests.shop import Shop
from tests.workers import broker_switched, private_redis, running_worker

API_ORDERS_PER_PHASE = 4
INBOUND_ORDERS_PER_PHASE = 3
MIN_OUTAGE_SECONDS = 3.0
CONVERGE_SECONDS = 40.0
QUIET_SECONDS = 2.5  # sweeps keep running after everything arrived: they must add nothing
SKUS = ("ORGANIC-TEE-S", "ORGANIC-TEE-M")

# for the worker process (it inherits the environment) and its beat
WORKER_ENV = {
    "ORDERS_NOTIFICATIONS_SWEEP_SECONDS": "1",
    "CHANNELS_DISPATCH_SECONDS": "1",
    "CHANNELS_RETRY_BASE_SECONDS": "0.2",
    "CHANNELS_RETRY_MAX_SECONDS": "1",
    "CHANNELS_HTTP_TIMEOUT_SECONDS": "5",  # the slow answers below are answers, not timeouts
    "CHANNELS_LEASE_SECONDS": "3",
    "CHANNELS_BREAKER_THRESHOLD": "1000",
    "CHANNELS_MAX_ATTEMPTS": "30",
    "CELERY_TASK_ALWAYS_EAGER": "false",
    # the receivers listen on 127.0.0.1, which pushes may only reach with this
    "OUTBOUND_ALLOW_PRIVATE_URLS": "true",
}


def _cache_at(url: str) -> dict[str, Any]:
    """The production cache (``config.settings.base``) on ``url``."""
    return {
        "default": {
            "BACKEND": "config.cache.ReusedClientRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "omnihub-broker-outage",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
        }
    }


def _order_body(external_id: str, n: int) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "customer": {"email": f"{external_id.lower()}@example.com"},
        "lines": [{"sku": SKUS[n % 2], "quantity": 1 + n % 2}],
        "fulfillment": {"method": "ship", "address": {"country": "NL"}},
    }


def _api_order(client: APIClient, external_id: str, n: int) -> int:
    response = client.post(
        "/api/v1/orders/",
        {"channel": "webshop", **_order_body(external_id, n)},
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"key-{external_id}",
    )
    return int(response.status_code)


def _inbound_order(client: Client, secret: str, external_id: str, n: int) -> int:
    body = json.dumps(_order_body(external_id, n)).encode()
    message_id, timestamp = f"msg_{external_id}", int(time.time())
    response = client.post(
        "/channels/webshop/orders/",
        data=body,
        content_type="application/json",
        HTTP_WEBHOOK_ID=message_id,
        HTTP_WEBHOOK_TIMESTAMP=str(timestamp),
        HTTP_WEBHOOK_SIGNATURE=signature(
            secret=secret, message_id=message_id, timestamp=timestamp, body=body
        ),
    )
    return int(response.status_code)


def _mail_subjects(folder: Path) -> Counter[str]:
    """Subjects of the emails the worker's file backend wrote, with how often each went out."""
    subjects: Counter[str] = Counter()
    for path in folder.glob("*.log") if folder.exists() else []:
        subjects.update(re.findall(r"^Subject: (.*?)\r?$", path.read_text(), flags=re.M))
    return subjects


def _accepted(receiver: Receiver) -> list[dict[str, Any]]:
    with receiver.lock:
        return [entry["body"] for entry in receiver.accepted]


def _hook_events(hooks: Receiver) -> Counter[tuple[str, int]]:
    """(order number, event id) of every ``order.created`` the subscription's receiver took."""
    return Counter(
        (str(body["data"]["object"]["id"]), int(body["data"]["event_id"]))
        for body in _accepted(hooks)
        if body["type"] == "order.created"
    )


def _pushed_changes(pushes: Receiver) -> Counter[int]:
    """Event ids of every change the channel's receiver took."""
    return Counter(int(c["event_id"]) for body in _accepted(pushes) for c in body["changes"])


def _pushed_stock(pushes: Receiver) -> dict[str, int]:
    with pushes.lock:
        return {
            change["data"]["sku"]: change["data"]["available"]
            for key, change in pushes.state.items()
            if key[0] == "stock"
        }


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return predicate()


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["channel", "subscription"])
def test_a_push_the_target_took_is_settled_when_redis_goes_away_right_after(
    target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rate limit and the breaker live in the cache (Redis): a push that was taken is
    settled before the breaker is told, so losing Redis then cannot send it again later."""
    channel: Channel = ChannelFactory(  # type: ignore[assignment]
        code="shop", endpoint_url="https://shop.example/push"
    )
    subscription: WebhookSubscription = WebhookSubscriptionFactory(  # type: ignore[assignment]
        events=["price.changed"]
    )
    with transaction.atomic():
        event_record(
            topic=EventType.PRICE_CHANGED,
            aggregate="product",
            aggregate_id=7,
            channel_code="shop",
            payload={"product_id": 7, "amount": "5.00"},
        )
    relay_run()
    taken = connectors.PushResult("ok", 200, "", None, 5)
    monkeypatch.setattr(delivery.connectors, "push", lambda **_: taken)

    def redis_gone(*args: Any, **kwargs: Any) -> None:
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(delivery, "breaker_record", redis_gone)
    with pytest.raises(RedisConnectionError):
        if target == "channel":
            delivery.channel_push(channel_id=channel.pk)
        else:
            delivery.subscription_push(subscription_id=subscription.pk)

    row = Delivery.objects.get(**{f"{target}__isnull": False})
    assert (row.state, row.attempts, row.lease_token) == (Delivery.State.DELIVERED, 1, "")


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_orders_arriving_while_the_broker_is_down_are_saved_and_told_exactly_once(
    shop: Shop,
    api_client_for: Callable[..., APIClient],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mail_folder = tmp_path / "mail"
    for key, value in WORKER_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("EMAIL_FILE_PATH", str(mail_folder))
    shop.receive(shop.warehouse, shop.s, 100)
    shop.receive(shop.warehouse, shop.m, 100)
    api = api_client_for(channels=[shop.channel])
    api.raise_request_exception = False  # a 500 is an answer to count, not an exception
    marketplace = Client(raise_request_exception=False)
    channel_secret = webhook_secret_generate()
    answers: list[tuple[str, str, int]] = []  # (phase, external id, status)

    def orders_arrive(phase: str, api_orders: int, inbound_orders: int) -> None:
        for n in range(max(api_orders, inbound_orders)):
            if n < api_orders:
                external_id = f"API-{phase}-{n}"
                answers.append((phase, external_id, _api_order(api, external_id, n)))
            if n < inbound_orders:
                external_id = f"MKT-{phase}-{n}"
                status = _inbound_order(marketplace, channel_secret, external_id, n)
                answers.append((phase, external_id, status))

    def all_told() -> bool:
        """Every saved order's email and order.created went out, the channel holds the stock
        left, and nothing waits."""
        numbers = set(Order.objects.values_list("number", flat=True))
        stock = channel_availability(channel=Channel.objects.get(pk=shop.channel.pk), skus=SKUS)
        return (
            set(_mail_subjects(mail_folder)) == {f"Your order {n} is confirmed" for n in numbers}
            and {number for number, _ in _hook_events(hooks)} == numbers
            and _pushed_stock(pushes) == {str(item.sku): item.available for item in stock[0]}
            and not Notification.objects.filter(status=Notification.Status.PENDING).exists()
            and not Delivery.objects.filter(state=Delivery.State.PENDING).exists()
            and not ChangeEvent.objects.filter(relayed_at__isnull=True).exists()
        )

    with ExitStack() as stack:
        redis = stack.enter_context(private_redis())
        pushes = stack.enter_context(running_receiver(secret=channel_secret))
        hooks = stack.enter_context(running_receiver())
        # given the channel pushes to one receiver and signs with the secret its orders are
        # signed with, and the API partner has a webhook subscription to order.created
        Channel.objects.filter(pk=shop.channel.pk).update(
            endpoint_url=pushes.url,
            signing_secret=channel_secret,
            rate_limit_per_second=1000,
            batch_size=50,
        )
        subscription: WebhookSubscription = WebhookSubscriptionFactory(  # type: ignore[assignment]
            partner=api.partner,  # type: ignore[attr-defined]
            url=hooks.url,
            events=["order.created"],
        )
        hooks.secret = subscription.secret
        # and the broker and the cache, here and in the worker, are the private Redis
        monkeypatch.setenv("REDIS_URL", redis.url)
        stack.enter_context(override_settings(CACHES=_cache_at(redis.url)))
        stack.enter_context(broker_switched(redis.url))
        worker = stack.enter_context(
            running_worker(settings_module="tests.worker_mail_settings", beat=True)
        )
        # and orders arrive and are told as usual
        orders_arrive("before", API_ORDERS_PER_PHASE, INBOUND_ORDERS_PER_PHASE)
        assert _wait(all_told, CONVERGE_SECONDS), worker.log()[-4000:]
        # when the broker stops while the partner's webhook for one more order is in flight
        hooks.in_flight.clear()
        hooks.script = [("slow", 1.5)]
        orders_arrive("in-flight", 1, 0)
        assert _wait(hooks.in_flight.is_set, 20), worker.log()[-4000:]
        redis.stop()
        stopped_at = time.monotonic()
        caplog.clear()
        # and orders keep arriving while it is down
        orders_arrive("during", API_ORDERS_PER_PHASE, INBOUND_ORDERS_PER_PHASE)
        time.sleep(max(MIN_OUTAGE_SECONDS - (time.monotonic() - stopped_at), 0.0))
        redis.start()  # empty: whatever it held is gone
        outage = time.monotonic() - stopped_at
        during = [record.getMessage() for record in caplog.records]
        orders_arrive("after", API_ORDERS_PER_PHASE, INBOUND_ORDERS_PER_PHASE)
        numbers = dict(Order.objects.values_list("external_id", "number"))
        expected_mail = Counter(f"Your order {number} is confirmed" for number in numbers.values())

        # then once Redis is back the worker's sweeps deliver everything
        converged = _wait(all_told, CONVERGE_SECONDS)
        time.sleep(QUIET_SECONDS)
        log = worker.log()

    timing = f"outage {outage:.1f} s, {len(answers)} orders"
    assert converged, f"not everything was delivered after the outage ({timing}):\n{log[-4000:]}"
    # the orders of the outage met it: their kicks failed, the API's rate limit let them through
    kicks_failed = sum("broker.kick_failed" in message for message in during)
    assert kicks_failed >= API_ORDERS_PER_PHASE + INBOUND_ORDERS_PER_PHASE, during[-5:]
    assert any("request not throttled" in message for message in during), during[-5:]
    # no request was answered 5xx (nor anything but 201) and every order was saved exactly once
    assert [a for a in answers if a[2] != 201] == [], timing
    placed = Counter(Order.objects.values_list("external_id", flat=True))
    assert placed == Counter(external_id for _, external_id, _ in answers)
    assert len(placed) == 3 * (API_ORDERS_PER_PHASE + INBOUND_ORDERS_PER_PHASE) + 1
    # every confirmation email went out exactly once
    assert _mail_subjects(mail_folder) == expected_mail
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    # every order.created reached the subscription exactly once, one event per order
    hook_events = _hook_events(hooks)
    assert [pair for pair, count in hook_events.items() if count > 1] == []
    assert sorted(number for number, _ in hook_events) == sorted(numbers.values())
    # every stock change the channel was sent, it was sent once, and it holds what is left
    assert [event for event, count in _pushed_changes(pushes).items() if count > 1] == []
    assert pushes.bad_signatures == hooks.bad_signatures == 0
