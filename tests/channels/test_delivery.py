"""Pushing deliveries: signatures, batching, retries with backoff, refusals, dead, retry action,
rate limit and circuit breaker (services called directly against a local receiver)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from channels import delivery as delivery_service
from channels.models import Delivery, DeliveryAttempt, Listing
from channels.relay import relay_run
from core.events import EventType
from core.models import Channel
from core.outbox.services import event_record
from tests.channels.receiver import Receiver
from tests.factories import ChannelFactory, WebhookSubscriptionFactory

pytestmark = pytest.mark.django_db


def _prices(*amounts: str, product_id: int = 7, channel_code: str = "shop") -> None:
    for amount in amounts:
        with transaction.atomic():
            event_record(
                topic=EventType.PRICE_CHANGED,
                aggregate="product",
                aggregate_id=product_id,
                channel_code=channel_code,
                payload={"product_id": product_id, "amount": amount},
            )
    relay_run()


def _make_due() -> None:
    Delivery.objects.filter(state="pending").update(next_attempt_at=timezone.now())


def test_a_batch_is_pushed_signed_and_the_listings_are_synced(
    push_channel: Channel, receiver: Receiver
) -> None:
    # given changes of three products
    for product_id in (1, 2, 3):
        _prices("5.00", "6.00", product_id=product_id)

    # when the channel is pushed
    outcome = delivery_service.channel_push(channel_id=push_channel.pk)

    # then one signed request carried the latest of each, and everything is acknowledged
    assert (outcome.sent, outcome.delivered, outcome.retry_in) == (3, 3, None)
    assert len(receiver.accepted) == 1 and receiver.bad_signatures == 0
    headers = receiver.accepted[0]["headers"]
    assert headers["webhook-id"].startswith("msg_") and headers["webhook-signature"].startswith(
        "v1,"
    )
    changes = receiver.accepted[0]["body"]["changes"]
    assert [(c["object"]["id"], c["sequence"], c["data"]["amount"]) for c in changes] == [
        ("1", 2, "6.00"),
        ("2", 2, "6.00"),
        ("3", 2, "6.00"),
    ]
    assert set(Delivery.objects.values_list("state", flat=True)) == {"delivered"}
    assert set(Listing.objects.values_list("state", "acked_sequence")) == {("synced", 2)}
    assert DeliveryAttempt.objects.filter(outcome="ok", status_code=200).count() == 3


def test_a_wrong_secret_is_refused_by_the_receiver(
    push_channel: Channel, receiver: Receiver
) -> None:
    Channel.objects.filter(pk=push_channel.pk).update(
        signing_secret="whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    )
    _prices("5.00")

    delivery_service.channel_push(channel_id=push_channel.pk)

    assert receiver.bad_signatures == 1 and receiver.accepted == []
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.last_error) == ("failed", "bad signature")


def test_the_secret_can_come_from_the_environment(
    push_channel: Channel, receiver: Receiver, monkeypatch: Any
) -> None:
    monkeypatch.setenv("SHOP_SECRET", receiver.secret)
    Channel.objects.filter(pk=push_channel.pk).update(
        signing_secret="", signing_secret_env="SHOP_SECRET"
    )
    _prices("5.00")

    delivery_service.channel_push(channel_id=push_channel.pk)

    assert receiver.bad_signatures == 0 and len(receiver.accepted) == 1


@override_settings(CHANNELS_RETRY_BASE_SECONDS=4.0)
def test_a_500_is_retried_later_with_backoff_and_logged(
    push_channel: Channel, receiver: Receiver
) -> None:
    receiver.script = [500]
    _prices("5.00")
    before = timezone.now()

    outcome = delivery_service.channel_push(channel_id=push_channel.pk)

    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("pending", 1, "boom")
    assert before + timedelta(seconds=1.9) <= delivery.next_attempt_at
    assert delivery.next_attempt_at <= timezone.now() + timedelta(seconds=4.1)
    assert outcome.retry_in is not None and outcome.retry_in > 1
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.status_code, attempt.outcome) == (500, "retry")
    # and when it is due again, it goes through
    _make_due()
    delivery_service.channel_push(channel_id=push_channel.pk)
    assert Delivery.objects.get().state == "delivered"
    assert list(DeliveryAttempt.objects.values_list("status_code", flat=True)) == [500, 200]


def test_retry_after_of_a_429_is_honoured(push_channel: Channel, receiver: Receiver) -> None:
    receiver.script = [("429", 30)]
    _prices("5.00")

    delivery_service.channel_push(channel_id=push_channel.pk)

    delivery = Delivery.objects.get()
    assert delivery.state == "pending"
    assert delivery.next_attempt_at >= timezone.now() + timedelta(seconds=29)


@override_settings(CHANNELS_HTTP_TIMEOUT_SECONDS=0.3)
def test_a_timeout_is_retried(push_channel: Channel, receiver: Receiver) -> None:
    receiver.script = [("hang", 1.0)]
    _prices("5.00")

    delivery_service.channel_push(channel_id=push_channel.pk)

    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("pending", 1)
    assert "timed out" in delivery.last_error


def test_a_400_fails_the_listing_with_the_channels_message_and_is_not_retried(
    push_channel: Channel, receiver: Receiver
) -> None:
    receiver.script = [400]
    _prices("-1.00")

    outcome = delivery_service.channel_push(channel_id=push_channel.pk)

    assert outcome.retry_in is None
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.last_error) == ("failed", "price must be positive")
    listing = Listing.objects.get()
    assert (listing.state, listing.last_error, listing.acked_sequence) == (
        "failed",
        "price must be positive",
        0,
    )
    assert delivery_service.due_targets() == ([], [])


@override_settings(CHANNELS_MAX_ATTEMPTS=3, CHANNELS_BREAKER_THRESHOLD=100)
def test_dead_after_n_attempts_then_retried_by_the_operator(
    push_channel: Channel, receiver: Receiver
) -> None:
    receiver.script = [500, 500, 500]
    _prices("5.00")
    for _ in range(3):
        _make_due()
        delivery_service.channel_push(channel_id=push_channel.pk)

    dead = Delivery.objects.get()
    assert (dead.state, dead.attempts) == ("dead", 3)
    assert Listing.objects.get().state == "dead"
    assert delivery_service.due_targets() == ([], [])

    retried, superseded = delivery_service.delivery_retry(delivery_ids=[dead.pk])
    assert (retried, superseded) == ([dead.pk], [])
    delivery_service.channel_push(channel_id=push_channel.pk)
    assert Delivery.objects.get().state == "delivered"
    assert Listing.objects.get().state == "synced"
    assert receiver.state[("price", "product", "7")]["data"]["amount"] == "5.00"


@override_settings(CHANNELS_MAX_ATTEMPTS=1)
def test_retrying_a_dead_delivery_overtaken_by_a_newer_change_supersedes_it(
    push_channel: Channel, receiver: Receiver
) -> None:
    receiver.script = [500]
    _prices("5.00")
    delivery_service.channel_push(channel_id=push_channel.pk)
    dead = Delivery.objects.get(state="dead")
    _prices("6.00")  # a newer change is pending

    retried, superseded = delivery_service.delivery_retry(delivery_ids=[dead.pk])

    assert (retried, superseded) == ([], [dead.pk])
    delivery_service.channel_push(channel_id=push_channel.pk)
    assert receiver.state[("price", "product", "7")]["data"]["amount"] == "6.00"
    assert [c["data"]["amount"] for c in receiver.changes()] == ["6.00"]


def test_a_change_merged_while_a_push_is_in_flight_is_sent_next_never_older_after_newer(
    push_channel: Channel, receiver: Receiver, monkeypatch: Any
) -> None:
    _prices("5.00")
    real_push = delivery_service.connectors.push

    def push_while_editing(**kwargs: Any) -> Any:
        result = real_push(**kwargs)
        if len(receiver.accepted) == 1:
            _prices("6.00")  # the relay merges a newer state into the leased row
        return result

    monkeypatch.setattr(delivery_service.connectors, "push", push_while_editing)

    first = delivery_service.channel_push(channel_id=push_channel.pk)
    assert (first.delivered, first.retry_in) == (0, 0)
    assert Delivery.objects.get().state == "pending"
    delivery_service.channel_push(channel_id=push_channel.pk)

    assert [(c["sequence"], c["data"]["amount"]) for c in receiver.changes()] == [
        (1, "5.00"),
        (2, "6.00"),
    ]
    assert Listing.objects.get().acked_sequence == 2
    assert Listing.objects.get().state == "synced"


@override_settings(CHANNELS_BREAKER_THRESHOLD=2, CHANNELS_BREAKER_COOLDOWN_SECONDS=60)
def test_the_breaker_stops_calling_a_broken_channel_and_others_go_on(
    push_channel: Channel, receiver: Receiver
) -> None:
    other = ChannelFactory(
        code="other",
        kind=Channel.Kind.APP,
        endpoint_url=receiver.url,
        signing_secret=receiver.secret,
    )
    receiver.script = [500, 500]
    _prices("5.00")
    for _ in range(2):
        _make_due()
        delivery_service.channel_push(channel_id=push_channel.pk)
    calls = len(receiver.requests)

    _make_due()
    outcome = delivery_service.channel_push(channel_id=push_channel.pk)

    assert len(receiver.requests) == calls  # no request while open
    assert outcome.retry_in is not None and 50 < outcome.retry_in <= 60
    assert Delivery.objects.get(channel=push_channel).attempts == 2
    _prices("1.00", channel_code="other")
    assert delivery_service.channel_push(channel_id=other.pk).delivered == 1


def test_the_rate_limit_defers_requests_beyond_the_channels_rate(
    push_channel: Channel, receiver: Receiver
) -> None:
    Channel.objects.filter(pk=push_channel.pk).update(rate_limit_per_second=1, batch_size=1)
    _prices("5.00", product_id=1)
    _prices("5.00", product_id=2)

    first = delivery_service.channel_push(channel_id=push_channel.pk)
    second = delivery_service.channel_push(channel_id=push_channel.pk)

    assert first.delivered == 1
    if second.sent == 0:  # same second: deferred, untouched
        assert second.retry_in is not None and 0 < second.retry_in <= 1
        assert Delivery.objects.filter(state="pending", attempts=0).count() == 1
        assert len(receiver.requests) == 1


def test_webhook_subscription_events_go_one_by_one_in_order_with_a_log(
    db: Any, receiver: Receiver
) -> None:
    subscription = WebhookSubscriptionFactory(
        url=receiver.url, events=["order.created", "order.updated"]
    )
    receiver.secret = subscription.secret
    receiver.script = [200, 500]
    with transaction.atomic():
        for topic in ("order.created", "order.updated", "order.updated"):
            event_record(topic=topic, aggregate="order", aggregate_id=9, payload={"status": topic})
    relay_run()

    outcome = delivery_service.subscription_push(subscription_id=subscription.pk)

    # the second failed: the third waits behind it
    assert (outcome.sent, outcome.delivered) == (2, 1)
    assert list(Delivery.objects.order_by("id").values_list("state", "attempts")) == [
        ("delivered", 1),
        ("pending", 1),
        ("pending", 0),
    ]
    _make_due()
    delivery_service.subscription_push(subscription_id=subscription.pk)
    assert [c["data"]["sequence"] for c in receiver.changes()] == [1, 2, 3]
    assert receiver.changes()[0]["type"] == "order.created"
    assert DeliveryAttempt.objects.count() == 4
    assert receiver.bad_signatures == 0
