"""The transactional outbox: events commit or roll back with the change, numbered per object."""

from __future__ import annotations

import pytest
from django.db import transaction

from core.events import EventType
from core.models import ChangeEvent
from core.outbox import services
from core.outbox.selectors import event_list

pytestmark = pytest.mark.django_db


def _record(aggregate_id: int = 7, **payload: object) -> ChangeEvent:
    return services.event_record(
        topic=EventType.STOCK_CHANGED,
        aggregate="variant",
        aggregate_id=aggregate_id,
        payload=payload,
    )


def test_sequence_counts_per_object() -> None:
    with transaction.atomic():
        first = _record(7, available=3)
        second = _record(7, available=2)
        other = _record(8, available=9)
    assert (first.sequence, second.sequence, other.sequence) == (1, 2, 1)
    assert [e.payload["available"] for e in event_list(pending_only=True)] == [3, 2, 9]


def test_event_rolls_back_with_the_change() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        _record(7, available=1)
        raise RuntimeError("the change failed")
    assert not ChangeEvent.objects.exists()


def test_recording_outside_a_transaction_is_refused(transactional_db: None) -> None:
    with pytest.raises(services.OutsideTransaction):
        _record(7, available=1)
    assert not ChangeEvent.objects.exists()


def test_relay_hooks_run_after_commit_only(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []

    def hook() -> None:
        calls.append("kicked")

    services.relay_hook_register(hook)
    try:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            _record(1, available=1)
            assert calls == []
        assert calls == ["kicked"]
    finally:
        services._relay_hooks.remove(hook)


def test_many_events_in_one_go_continue_each_objects_sequence() -> None:
    with transaction.atomic():
        _record(7, available=5)
        recorded = services.event_record_many(
            topic=EventType.STOCK_CHANGED,
            aggregate="variant",
            payloads={7: {"available": 4}, 8: {"available": 1}},
        )
    assert recorded == 2
    assert [(e.aggregate_id, e.sequence, e.payload) for e in event_list()] == [
        ("7", 1, {"available": 5}),
        ("7", 2, {"available": 4}),
        ("8", 1, {"available": 1}),
    ]


def test_locking_sequences_uses_up_no_number() -> None:
    from core.models import ObjectSequence

    # given object 7 has had one event
    with transaction.atomic():
        _record(7, available=1)
    # when its and a new object's sequences are locked
    with transaction.atomic():
        services.sequences_lock(aggregate="variant", object_ids=[12, 7])
        # then both rows exist and neither number moved
        assert dict(
            ObjectSequence.objects.filter(aggregate="variant").values_list("aggregate_id", "last")
        ) == {"7": 1, "12": 0}
        # and the next events continue the numbering
        assert (_record(7).sequence, _record(12).sequence) == (2, 1)
