"""Outbox rows: what changed, in which order, waiting to be relayed to the channels."""

from __future__ import annotations

from django.db import models

from core.events import EventType


class ChangeEvent(models.Model):
    """One committed change that a channel or partner can see.

    ``aggregate``/``aggregate_id`` name the object ("variant", "42"); ``sequence`` increases by one
    per object, so a receiver drops anything older than what it has. ``payload`` carries absolute
    values (the new price, the new available-to-sell), never deltas. ``channel_code`` is set when
    the change concerns one channel only (a channel price, a listing); empty means every channel
    that shows the object. ``relayed_at`` is set by the relay once it has handed the event on.

    ``position`` orders events in the order they became visible (committed), for readers that
    page by cursor (the store POS feed). The id cannot serve: it is taken at insert, so a slow
    transaction commits an id lower than ones already visible. The position is assigned after
    commit by ``core.outbox.services.event_positions_assign``; until then it is null and the event
    is not served by position.
    """

    topic = models.CharField(max_length=64, choices=EventType.choices)
    aggregate = models.CharField(max_length=32)
    aggregate_id = models.CharField(max_length=64)
    sequence = models.PositiveBigIntegerField()
    channel_code = models.CharField(max_length=32, blank=True, default="")
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    relayed_at = models.DateTimeField(null=True, blank=True)
    position = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        unique=True,
        editable=False,
        help_text="Order of visibility (assigned after commit); the POS feed's cursor.",
    )

    class Meta:
        db_table = "outbox_changeevent"
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"], condition=models.Q(relayed_at__isnull=True), name="outbox_pending"
            ),
            models.Index(fields=["aggregate", "aggregate_id", "sequence"], name="outbox_object"),
            models.Index(
                fields=["id"], condition=models.Q(position__isnull=True), name="outbox_unpositioned"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.topic} {self.aggregate}:{self.aggregate_id} seq {self.sequence}"


class ObjectSequence(models.Model):
    """The last sequence number handed out per object; bumped with one upsert per event."""

    aggregate = models.CharField(max_length=32)
    aggregate_id = models.CharField(max_length=64)
    last = models.PositiveBigIntegerField(default=0)

    class Meta:
        db_table = "outbox_objectsequence"
        constraints = [
            models.UniqueConstraint(fields=["aggregate", "aggregate_id"], name="outbox_seq_object")
        ]

    def __str__(self) -> str:
        return f"{self.aggregate}:{self.aggregate_id} = {self.last}"
