"""The migration to the gap-free POS cursor: events recorded before it get ``position = id``, so a
store's stored acknowledgement (an event id then) means the same place after it: the store
neither starts over nor skips a change, and new events come after it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from channels import pos
from channels.models import StoreAcknowledgement
from core.models import ChangeEvent, Channel
from core.outbox.services import event_positions_assign
from inventory.models import Location
from tests.factories import ChannelFactory, LocationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _targets() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(just before, at) the core migration that adds ``ChangeEvent.position``, found by name so
    that renumbering it does not break this test."""
    graph = MigrationExecutor(connection).loader.graph
    [at] = [
        key for key in graph.nodes if key[0] == "core" and key[1].endswith("changeevent_position")
    ]
    [before] = [parent for parent in graph.node_map[at].parents if parent.key[0] == "core"]
    return [before.key], [at]


def _migrate(target: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def _price_event(model: Any, product_id: int) -> Any:
    return model.objects.create(
        topic="price.changed",
        aggregate="product",
        aggregate_id=str(product_id),
        sequence=1,
        channel_code="pos-x",
        payload={"product_id": product_id, "prices": {}},
    )


def test_acknowledged_cursors_mean_the_same_place_after_the_migration() -> None:
    channel: Channel = ChannelFactory(code="pos-x", kind=Channel.Kind.POS)  # type: ignore[assignment]
    store: Location = LocationFactory(code="store-x")  # type: ignore[assignment]
    channel.locations.set([store])
    before, _at = _targets()
    old_apps = _migrate(before)
    try:
        OldChangeEvent = old_apps.get_model("core", "ChangeEvent")
        old = [_price_event(OldChangeEvent, product_id) for product_id in (101, 102, 103)]
        StoreAcknowledgement.objects.create(
            channel=channel, location=store, acked_event_id=old[1].pk
        )
    finally:
        # back to the latest state of every app: going back to ``before`` also unapplied the
        # later core migrations and those that depend on them (tax, channel countries, ...)
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    positions = dict(
        ChangeEvent.objects.filter(pk__in=[e.pk for e in old]).values_list("pk", "position")
    )
    assert positions == {e.pk: e.pk for e in old}

    resumed = pos.pos_changes(channel=channel, location=store, after=None)

    assert [c.object_id for c in resumed.changes] == ["103"]
    assert resumed.changes[0].event_id == old[2].pk
    assert resumed.next_cursor == old[2].pk

    new = _price_event(ChangeEvent, 104)  # recorded after the migration: no position yet
    assert new.position is None
    event_positions_assign()
    new.refresh_from_db()
    after_new = pos.pos_changes(channel=channel, location=store, after=resumed.next_cursor)
    assert new.position is not None and new.position > old[2].pk
    assert [(c.object_id, c.event_id) for c in after_new.changes] == [("104", new.position)]
