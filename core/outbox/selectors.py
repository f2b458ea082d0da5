"""Reading change events (the relay in ``channels`` claims them; tests and admin read them)."""

from __future__ import annotations

from django.db.models import QuerySet

from core.models import ChangeEvent


def event_list(*, pending_only: bool = False) -> QuerySet[ChangeEvent]:
    events = ChangeEvent.objects.all()
    if pending_only:
        events = events.filter(relayed_at__isnull=True)
    return events.order_by("id")
