"""The relay: outbox events become coalesced, channel-shaped deliveries, in one transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from catalog.models import Product, ProductPublication, Variant
from channels.models import Delivery, Listing
from channels.relay import relay_run
from core.events import EventType
from core.models import ChangeEvent, Channel
from core.outbox.services import event_record
from tests.factories import ChannelFactory, LocationFactory, WebhookSubscriptionFactory

pytestmark = pytest.mark.django_db


def _price(product_id: int, amount: str, channel_code: str = "shop") -> ChangeEvent:
    with transaction.atomic():
        return event_record(
            topic=EventType.PRICE_CHANGED,
            aggregate="product",
            aggregate_id=product_id,
            channel_code=channel_code,
            payload={"product_id": product_id, "prices": {"SKU-1": {"amount": amount}}},
        )


def test_a_hundred_price_edits_become_one_delivery_of_the_latest(push_channel: Channel) -> None:
    # given 100 committed price changes of one product on the channel
    events = [_price(7, f"{n}.00") for n in range(1, 101)]

    # when the relay runs
    result = relay_run()

    # then one pending delivery carries the last state, its event id and sequence
    assert result.events == 100
    delivery = Delivery.objects.get()
    assert (delivery.channel_id, delivery.stream, delivery.aggregate_id) == (
        push_channel.pk,
        "price",
        "7",
    )
    assert delivery.sequence == events[-1].sequence == 100
    assert delivery.event_id == events[-1].pk
    assert delivery.payload["prices"]["SKU-1"]["amount"] == "100.00"
    assert not ChangeEvent.objects.filter(relayed_at__isnull=True).exists()
    listing = Listing.objects.get()
    assert (listing.last_sequence, listing.acked_sequence, listing.state) == (100, 0, "pending")
    # and a second run finds nothing to do
    assert relay_run().events == 0
    assert Delivery.objects.count() == 1


def test_a_newer_change_merges_into_the_pending_delivery(push_channel: Channel) -> None:
    _price(7, "1.00")
    relay_run()
    first = Delivery.objects.get()

    _price(7, "2.00")
    relay_run()

    delivery = Delivery.objects.get()
    assert delivery.pk == first.pk
    assert (delivery.sequence, delivery.payload["prices"]["SKU-1"]["amount"]) == (2, "2.00")


def test_events_for_other_or_feed_channels_make_no_push(push_channel: Channel) -> None:
    ChannelFactory(code="gfeed", kind=Channel.Kind.GOOGLE_FEED, endpoint_url="http://x.test/")
    ChannelFactory(code="noend", kind=Channel.Kind.WEBSHOP)
    _price(1, "1.00", channel_code="gfeed")
    _price(2, "1.00", channel_code="noend")
    _price(3, "1.00", channel_code="unknown")

    result = relay_run()

    assert result.events == 3
    assert not Delivery.objects.exists()
    assert not Listing.objects.exists()


def _published_variant(channels: list[Channel]) -> Variant:
    product = Product.objects.create(
        handle="tee", name="Tee", approved_snapshot={"id": 1, "variants": []}
    )
    variant = Variant.objects.create(product=product, sku="TEE-M")
    for channel in channels:
        ProductPublication.objects.create(product=product, channel=channel)
    return variant


def test_stock_reaches_each_listing_channel_as_its_own_available_to_sell(
    push_channel: Channel, receiver: Any
) -> None:
    # given two push channels selling from different stores, one with a 20 % buffer, and a
    # third push channel where the product is not published
    north, south = LocationFactory(code="north"), LocationFactory(code="south")
    push_channel.locations.set([north, south])
    market = ChannelFactory(
        code="market",
        kind=Channel.Kind.MARKETPLACE,
        endpoint_url=receiver.url,
        stock_buffer_kind=Channel.BufferKind.PERCENT,
        stock_buffer_value=Decimal("20"),
    )
    market.locations.set([south])
    other = ChannelFactory(code="other", kind=Channel.Kind.APP, endpoint_url=receiver.url)
    variant = _published_variant([push_channel, market])

    # when stock.changed is recorded for the variant and relayed
    with transaction.atomic():
        event_record(
            topic=EventType.STOCK_CHANGED,
            aggregate="variant",
            aggregate_id=variant.pk,
            payload={
                "variant_id": variant.pk,
                "sku": "TEE-M",
                "available": 17,
                "locations": {"north": 7, "south": 10},
            },
        )
    relay_run()

    # then each channel gets its own figure, the unlisted channel nothing
    by_channel = {d.channel_id: d.payload for d in Delivery.objects.all()}
    assert by_channel == {
        push_channel.pk: {
            "sku": "TEE-M",
            "variant_id": variant.pk,
            "available": 17,
            "locations": {"north": 7, "south": 10},
        },
        market.pk: {
            "sku": "TEE-M",
            "variant_id": variant.pk,
            "available": 8,
            "locations": {"south": 10},
        },
    }
    assert other.pk not in by_channel


def test_webhook_subscriptions_get_one_delivery_per_event_they_asked_for(db: Any) -> None:
    orders_hook = WebhookSubscriptionFactory(events=["order.created", "order.updated"])
    WebhookSubscriptionFactory(events=["stock.changed"])
    inactive = WebhookSubscriptionFactory(events=["order.created"], is_active=False)
    with transaction.atomic():
        for topic in (EventType.ORDER_CREATED, EventType.ORDER_UPDATED, EventType.ORDER_UPDATED):
            event_record(topic=topic, aggregate="order", aggregate_id=5, payload={"id": 5})

    relay_run()

    rows = list(Delivery.objects.order_by("id").values_list("subscription_id", "topic", "sequence"))
    assert rows == [
        (orders_hook.pk, "order.created", 1),
        (orders_hook.pk, "order.updated", 2),
        (orders_hook.pk, "order.updated", 3),
    ]
    assert not Delivery.objects.filter(subscription=inactive).exists()


def test_a_failing_relay_relays_nothing(push_channel: Channel, monkeypatch: Any) -> None:
    _price(7, "1.00")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr("channels.relay._webhook_deliveries_create", broken)
    with pytest.raises(RuntimeError):
        relay_run()

    assert not Delivery.objects.exists()
    assert ChangeEvent.objects.filter(relayed_at__isnull=True).count() == 1
