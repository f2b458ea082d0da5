"""Operations: sync figures per channel in the admin, the retry action, /healthz lag, and the
periodic reconciliation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from channels import delivery as delivery_service
from channels.models import Delivery, DeliveryAttempt, Listing
from channels.relay import listings_reconcile, relay_run
from channels.selectors import channel_sync_overview
from core.events import EventType
from core.models import Channel
from core.outbox.services import event_record
from inventory.models import ChannelLocation
from tests.channels.receiver import Receiver
from tests.factories import ChannelFactory, LocationFactory

pytestmark = pytest.mark.django_db


def _price(product_id: int, amount: str, channel_code: str = "shop") -> None:
    with transaction.atomic():
        event_record(
            topic=EventType.PRICE_CHANGED,
            aggregate="product",
            aggregate_id=product_id,
            channel_code=channel_code,
            payload={"product_id": product_id, "amount": amount},
        )


def test_the_overview_counts_backlog_lag_pushes_failures_and_dead(
    push_channel: Channel, receiver: Receiver
) -> None:
    # given one delivered, one failing (500) and one dead delivery, and an idle channel
    idle = ChannelFactory(code="idle")
    _price(1, "1.00")
    relay_run()
    delivery_service.channel_push(channel_id=push_channel.pk)
    receiver.script = [500]
    _price(2, "1.00")
    relay_run()
    delivery_service.channel_push(channel_id=push_channel.pk)
    Delivery.objects.create(
        channel=push_channel,
        stream="price",
        topic="price.changed",
        aggregate="product",
        aggregate_id="3",
        event_id=1,
        sequence=1,
        state=Delivery.State.DEAD,
    )
    Delivery.objects.filter(aggregate_id="2").update(
        created_at=timezone.now() - timedelta(minutes=5)
    )

    rows = {channel.code: channel for channel in channel_sync_overview()}

    shop = rows["shop"]
    assert (shop.sync_backlog, shop.sync_pushes, shop.sync_failures, shop.sync_dead) == (1, 1, 1, 1)  # type: ignore[attr-defined]
    assert timezone.now() - shop.sync_oldest_pending >= timedelta(minutes=5)  # type: ignore[attr-defined]
    assert (rows["idle"].sync_backlog, rows["idle"].sync_oldest_pending) == (0, None)  # type: ignore[attr-defined]
    assert idle.pk


def test_admin_pages_show_sync_figures_in_a_fixed_number_of_queries(
    admin_client: Any, push_channel: Channel, django_assert_max_num_queries: Any
) -> None:
    for n in range(3):
        ChannelFactory(code=f"c{n}")
    _price(1, "1.00")
    relay_run()
    with django_assert_max_num_queries(8):
        page = admin_client.get("/admin/core/channel/")
    assert page.status_code == 200
    for n in range(3, 30):
        ChannelFactory(code=f"c{n}")
    with django_assert_max_num_queries(8):
        assert admin_client.get("/admin/core/channel/").status_code == 200
    with django_assert_max_num_queries(8):
        assert admin_client.get("/admin/channels/delivery/").status_code == 200
    with django_assert_max_num_queries(8):
        assert admin_client.get("/admin/channels/listing/").status_code == 200


def test_the_channel_form_never_shows_the_secret_and_keeps_it_when_left_empty(
    admin_client: Any, push_channel: Channel
) -> None:
    page = admin_client.get(f"/admin/core/channel/{push_channel.pk}/change/")
    assert page.status_code == 200
    assert push_channel.signing_secret not in page.content.decode()
    assert push_channel.signing_secret[:10] in page.content.decode()


def test_the_channel_form_sets_exactly_the_locations_it_sells_from(
    admin_client: Any, push_channel: Channel
) -> None:
    # given a channel selling from a store and a warehouse
    store, warehouse, other = (LocationFactory(code=code) for code in ("st-a", "wh-a", "st-b"))
    push_channel.locations.set([store, warehouse])
    page = admin_client.get(f"/admin/core/channel/{push_channel.pk}/change/").content.decode()
    assert f'<option value="{store.pk}" selected>' in page
    # when the form is saved with another store instead of the warehouse
    form = {
        field: getattr(push_channel, field)
        for field in ("code", "name", "kind", "currency", "locale", "stock_buffer_kind")
    }
    form |= {
        "stock_buffer_value": "0",
        "rate_limit_per_second": "10",
        "batch_size": "100",
        "is_active": "on",
        "endpoint_url": push_channel.endpoint_url,
        "locations": [store.pk, other.pk],
        "prices_include_tax": "on",
        # the countries sold to (an inline): none
        "countries-TOTAL_FORMS": "0",
        "countries-INITIAL_FORMS": "0",
    }
    response = admin_client.post(f"/admin/core/channel/{push_channel.pk}/change/", form)
    # then the channel sells from exactly those two (kept on the inventory side)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert set(push_channel.locations.values_list("code", flat=True)) == {"st-a", "st-b"}
    assert set(
        ChannelLocation.objects.filter(channel=push_channel).values_list(
            "location__code", flat=True
        )
    ) == {"st-a", "st-b"}


def test_the_retry_action_requeues_dead_deliveries(
    admin_client: Any, push_channel: Channel, receiver: Receiver
) -> None:
    _price(1, "1.00")
    relay_run()
    dead = Delivery.objects.get()
    Delivery.objects.filter(pk=dead.pk).update(state=Delivery.State.DEAD, attempts=8)

    response = admin_client.post(
        "/admin/channels/delivery/",
        {"action": "retry", "_selected_action": [dead.pk]},
        follow=True,
    )

    # then it is queued again (attempts reset) and, tasks being eager here, delivered at once
    assert "1 queued again" in response.content.decode()
    dead.refresh_from_db()
    assert (dead.state, dead.attempts) == ("delivered", 1)
    assert receiver.state[("price", "product", "1")]["data"]["amount"] == "1.00"


def test_healthz_reports_the_sync_lag(client: Any, push_channel: Channel) -> None:
    _price(1, "1.00")
    relay_run()
    Delivery.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    _price(2, "1.00")  # not relayed yet

    sync = client.get("/healthz").json()["checks"]["sync"]

    assert sync["ok"] is True
    assert (sync["events_pending"], sync["deliveries_pending"], sync["dead_deliveries"]) == (
        1,
        1,
        0,
    )
    assert sync["oldest_delivery_seconds"] >= 600
    assert sync["lagging"] is True


def test_reconciliation_requeues_a_listing_the_channel_is_behind_on(
    push_channel: Channel, receiver: Receiver
) -> None:
    # given a change relayed whose delivery was lost (marked delivered without reaching the
    # channel, e.g. by hand), so the listing's acknowledgement is behind
    _price(1, "1.00")
    _price(1, "2.00")
    relay_run()
    Delivery.objects.update(state=Delivery.State.DELIVERED)
    Listing.objects.update(updated_at=timezone.now() - timedelta(hours=1))

    # when reconciliation runs, then the latest state is queued again and delivered
    assert listings_reconcile(older_than_seconds=60) == 1
    assert listings_reconcile(older_than_seconds=60) == 0  # already queued
    delivery_service.channel_push(channel_id=push_channel.pk)
    assert receiver.state[("price", "product", "1")]["data"]["amount"] == "2.00"
    assert Listing.objects.get().state == "synced"
    assert DeliveryAttempt.objects.count() == 1


def test_reconciliation_leaves_synced_and_refused_listings_alone(push_channel: Channel) -> None:
    _price(1, "1.00")
    relay_run()
    Delivery.objects.update(state=Delivery.State.FAILED)
    Listing.objects.update(
        state=Listing.State.FAILED, updated_at=timezone.now() - timedelta(hours=1)
    )

    assert listings_reconcile(older_than_seconds=60) == 0
    assert Delivery.objects.filter(state="pending").count() == 0
