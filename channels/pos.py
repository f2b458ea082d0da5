"""Store POS: each store pulls the changes its till must apply, and acknowledges what it applied.

A POS channel (``Channel.Kind.POS``) is not pushed to (see ``channels.relay.PUSH_KINDS``): each
store's till polls ``GET /api/v1/pos/{channel}/changes/?location=<store>`` and reads the outbox
(``core.outbox.ChangeEvent``) directly, in ``position`` order, with the position as its cursor
(named ``event_id``/``cursor`` on the wire). What a store sees, with absolute values:

- ``price.changed`` recorded for the channel (or for every channel: empty ``channel_code``);
- ``product.updated`` / ``product.deleted`` recorded for the channel, ``product.updated`` for
  every channel when the product is published on this one, and ``product.deleted`` for every
  channel (an archived product: its publications are gone by the time anyone reads the event, so
  every POS is told, and a till drops a delete of a product it does not know);
- ``stock.changed`` of variants whose product is published on the channel, with ``available``
  at that store only (the event's per-location figure; no channel buffer: the till sells what is
  on its own shelf).

The cursor is not the event id: an id is taken at insert, so a transaction that commits slowly
makes visible an id lower than ones a till may already have passed. The position is assigned after
commit, in the order events become visible (``core.outbox.services.event_positions_assign``, run
by the relay and at the start of every read here), so a till's cursor never passes a change it has
not been served, however long the transaction that made it took. An event not yet positioned is
not served; the read that would serve it positions it first.

``StoreAcknowledgement`` keeps per store the cursor up to which it applied everything; it only
moves forwards. The admin shows per store how many changes it is behind and the age of the
oldest one it has not acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from django.db import transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from catalog import selectors as catalog_selectors
from catalog.selectors import VariantPrice
from channels.exceptions import PosCursorOutOfRange
from channels.models import StoreAcknowledgement
from core.events import EventType
from core.models import ChangeEvent, Channel
from core.outbox.services import event_positions_assign
from inventory.models import Location
from orders.pricing import display_prices

# Topics a till applies, and the stream each belongs to: the latest change of an object's stream
# is the whole truth for it, so a till keeps, per object and stream, the highest sequence applied.
POS_STREAMS: dict[str, str] = {
    EventType.PRICE_CHANGED: "price",
    EventType.PRODUCT_UPDATED: "product",
    EventType.PRODUCT_DELETED: "product",
    EventType.STOCK_CHANGED: "stock",
}
DEFAULT_LIMIT = 100
MAX_LIMIT = 200
# The admin counts a store's backlog up to this many changes ("1000+" beyond), so a store that
# has been offline for months does not make the changelist scan the whole outbox.
LAG_CAP = 1000
MAX_BIGINT = 2**63 - 1


# --- which events a POS channel reads ------------------------------------------------------------


def _object_pk() -> Case:
    """The numeric id of a product or variant event's object. The cast is guarded so that no
    other event's ``aggregate_id`` (an order number...) is ever cast: PostgreSQL would fail."""
    return Case(
        When(
            topic__in=list(POS_STREAMS),
            aggregate__in=["product", "variant"],
            then=Cast("aggregate_id", BigIntegerField()),
        ),
        default=Value(None),
        output_field=BigIntegerField(),
    )


def _relevant(channel_code: str | None) -> Q:
    """The events a POS channel applies (see the module). ``channel_code=None`` builds the filter
    for a subquery of ``StoreAcknowledgement`` rows (the channel of the outer row)."""
    here: Any = channel_code if channel_code is not None else OuterRef("channel__code")
    inner: Any = channel_code if channel_code is not None else OuterRef(OuterRef("channel__code"))
    published = catalog_selectors.published_product_list(channel_code=cast(str, inner))
    product_published = Exists(published.filter(product_id=OuterRef("object_pk")))
    variant_published = Exists(published.filter(product__variants=OuterRef("object_pk")))
    return (
        (Q(topic=EventType.PRICE_CHANGED) & (Q(channel_code="") | Q(channel_code=here)))
        | Q(topic__in=[EventType.PRODUCT_UPDATED, EventType.PRODUCT_DELETED], channel_code=here)
        | Q(topic=EventType.PRODUCT_DELETED, channel_code="")
        | (
            Q(topic=EventType.PRODUCT_UPDATED, channel_code="", aggregate="product")
            & Q(product_published)
        )
        | (Q(topic=EventType.STOCK_CHANGED, aggregate="variant") & Q(variant_published))
    )


def pos_change_events(*, channel_code: str) -> QuerySet[ChangeEvent]:
    """Every positioned change event the POS channel ``channel_code`` applies, in position order."""
    return (
        ChangeEvent.objects.filter(topic__in=list(POS_STREAMS), position__isnull=False)
        .annotate(object_pk=_object_pk())
        .filter(_relevant(channel_code))
        .order_by("position")
    )


def latest_position() -> int:
    """The highest position committed so far (0 for an empty outbox): the head of the feed."""
    return (
        ChangeEvent.objects.filter(position__isnull=False)
        .order_by("-position")
        .values_list("position", flat=True)
        .first()
        or 0
    )


# --- reading changes -----------------------------------------------------------------------------


def pos_store_get(*, channel: Channel, code: str) -> Location | None:
    """The store ``code`` if it is one of the channel's locations (they are prefetched)."""
    return next((loc for loc in channel.locations.all() if loc.code == code), None)


@dataclass(frozen=True)
class PosChange:
    """One change a till applies: absolute values, with its position (the cursor; ``event_id``
    on the wire) and the object's sequence (drop it when not above the last applied for the
    object and stream)."""

    event_id: int
    type: str
    stream: str
    object_type: str
    object_id: str
    sequence: int
    created_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class ChangesPage:
    changes: list[PosChange]
    next_cursor: int
    has_more: bool
    acked_cursor: int | None


def _store_payload(event: ChangeEvent, store_code: str) -> dict[str, Any]:
    """The event's absolute values as the store's till reads them."""
    payload = dict(event.payload)
    if event.topic == EventType.STOCK_CHANGED:
        per_location = payload.get("locations") or {}
        return {
            "variant_id": payload.get("variant_id"),
            "sku": payload.get("sku", ""),
            "location": store_code,
            "available": int(per_location.get(store_code, 0)),
        }
    return payload


def _with_sale_prices(*, channel: Channel, events: list[ChangeEvent]) -> dict[int, dict[str, Any]]:
    """The payloads of ``price.changed`` events with each SKU's sale: ``sale_amount``,
    ``sale_starts_at`` and ``sale_ends_at`` (null when no promotion lowers it), what
    ``orders.pricing.display_prices`` gives for the recorded price under the promotions
    running now (the till sells now; a sale starting or ending is announced as a new
    ``price.changed`` by ``orders.promotions_announce``). By event id; three queries for the
    page (five more when a sale runs), whatever its size."""
    priced = [event for event in events if event.topic == EventType.PRICE_CHANGED]
    entries = {
        (event.pk, sku): entry
        for event in priced
        for sku, entry in ((event.payload or {}).get("prices") or {}).items()
        if isinstance(entry, dict)
    }
    if not entries:
        return {}
    ids = dict(
        catalog_selectors.variant_list()
        .filter(sku__in={sku for _pk, sku in entries})
        .values_list("sku", "id")
    )
    recorded: dict[int, VariantPrice] = {}
    for (_pk, sku), entry in entries.items():
        if sku not in ids:
            continue
        try:
            amount = Decimal(str(entry["amount"]))
            compare = entry.get("compare_at_amount")
            compare_at = None if compare is None else Decimal(str(compare))
        except (KeyError, ArithmeticError, ValueError):
            continue
        recorded[ids[sku]] = VariantPrice(
            variant_id=ids[sku],
            sku=sku,
            amount=amount,
            compare_at=compare_at,
            currency=str(entry.get("currency") or channel.currency),
        )
    shown = display_prices(channel=channel, variant_ids=list(recorded), prices=recorded, tax=False)
    payloads: dict[int, dict[str, Any]] = {}
    for event in priced:
        payload = dict(event.payload)
        prices: dict[str, Any] = {}
        for sku, entry in (payload.get("prices") or {}).items():
            display = shown.get(ids.get(sku, 0))
            prices[sku] = (
                {
                    **entry,
                    "sale_amount": None if display.sale_price is None else str(display.sale_price),
                    "sale_starts_at": _iso(display.sale_starts_at),
                    "sale_ends_at": _iso(display.sale_ends_at),
                }
                if isinstance(entry, dict) and display is not None
                else entry
            )
        payload["prices"] = prices
        payloads[event.pk] = payload
    return payloads


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def store_acked_cursor(*, channel: Channel, location: Location) -> int | None:
    """The cursor the store acknowledged last, ``None`` when it never did."""
    return (
        StoreAcknowledgement.objects.filter(channel=channel, location=location)
        .values_list("acked_event_id", flat=True)
        .first()
    )


def pos_changes(
    *, channel: Channel, location: Location, after: int | None, limit: int = DEFAULT_LIMIT
) -> ChangesPage:
    """The next ``limit`` changes the store must apply after position ``after`` (``None``: after
    the store's acknowledged cursor, or from the start). Events committed since the last run are
    positioned first (its own short transaction; see ``event_positions_assign``), so the feed
    never waits for a worker. Within the page only the latest change per object and stream is
    kept. ``next_cursor`` is the cursor to ask with next: the last change read, or, once caught
    up, the head of the feed (irrelevant events are skipped, so a store that acknowledges it is
    not behind). A fixed number of queries, whatever the page size.

    Raises ``PosCursorOutOfRange`` for a cursor beyond the latest position."""
    event_positions_assign()
    acked = store_acked_cursor(channel=channel, location=location)
    start = after if after is not None else (acked or 0)
    latest = latest_position()
    if start > latest:
        raise PosCursorOutOfRange(
            f"Cursor {start} is beyond the latest change ({latest}).",
            errors=[{"field": "after", "code": "out_of_range", "message": f"at most {latest}"}],
            extra={"latest_cursor": latest},
        )
    limit = max(1, min(limit, MAX_LIMIT))
    events_qs = pos_change_events(channel_code=channel.code).filter(position__gt=start)
    events = list(events_qs[: limit + 1])
    has_more = len(events) > limit
    events = events[:limit]
    # Positions become visible in order: every one up to ``latest`` was visible when it was read,
    # and every one up to the last event read was visible to that read, so nothing is passed.
    last_read = cast(int, events[-1].position) if events else 0
    next_cursor = last_read if has_more else max(start, latest, last_read)

    latest_of: dict[tuple[str, str, str], ChangeEvent] = {}
    for event in events:
        key = (POS_STREAMS[event.topic], event.aggregate, event.aggregate_id)
        current = latest_of.get(key)
        if current is None or current.sequence < event.sequence:
            latest_of[key] = event
    kept = sorted(latest_of.values(), key=lambda e: cast(int, e.position))
    priced = _with_sale_prices(channel=channel, events=kept)
    changes = [
        PosChange(
            event_id=cast(int, event.position),
            type=event.topic,
            stream=POS_STREAMS[event.topic],
            object_type=event.aggregate,
            object_id=event.aggregate_id,
            sequence=event.sequence,
            created_at=event.created_at,
            data=priced.get(event.pk) or _store_payload(event, location.code),
        )
        for event in kept
    ]
    return ChangesPage(
        changes=changes, next_cursor=next_cursor, has_more=has_more, acked_cursor=acked
    )


# --- acknowledgements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AckResult:
    acknowledgement: StoreAcknowledgement
    moved: bool


def store_ack_record(*, channel: Channel, location: Location, cursor: int) -> AckResult:
    """Record that the store applied every change up to position ``cursor``. Never moves backwards:
    an older (or equal) cursor is accepted and changes nothing but ``updated_at`` (``moved`` is
    False). Safe under concurrent acks of one store: the row is created if missing and moved with
    one conditional ``UPDATE ... WHERE acked_event_id < cursor``.

    Raises ``PosCursorOutOfRange`` for a cursor beyond the latest position."""
    latest = latest_position()
    if cursor > latest:
        raise PosCursorOutOfRange(
            f"Cursor {cursor} is beyond the latest change ({latest}).",
            errors=[{"field": "cursor", "code": "out_of_range", "message": f"at most {latest}"}],
            extra={"latest_cursor": latest},
        )
    now = timezone.now()
    with transaction.atomic():
        StoreAcknowledgement.objects.bulk_create(
            [StoreAcknowledgement(channel=channel, location=location, acked_event_id=0)],
            ignore_conflicts=True,
        )
        store = StoreAcknowledgement.objects.filter(channel=channel, location=location)
        moved = bool(
            store.filter(acked_event_id__lt=cursor).update(
                acked_event_id=cursor, acked_at=now, updated_at=now
            )
        )
        if not moved:
            store.update(updated_at=now)
        acknowledgement = store.select_related("channel", "location").get()
    return AckResult(acknowledgement, moved)


def store_acknowledgement_list() -> QuerySet[StoreAcknowledgement]:
    """Every store's acknowledgement with ``lag_count`` (changes it has not acknowledged, counted
    up to ``LAG_CAP``; ``lag_capped`` when there are more) and ``oldest_unacked_at`` (when the
    oldest of them was recorded, ``None`` when caught up). One query for any number of rows."""
    behind = (
        ChangeEvent.objects.filter(
            topic__in=list(POS_STREAMS), position__gt=OuterRef("acked_event_id")
        )
        .annotate(object_pk=_object_pk())
        .filter(_relevant(None))
        .order_by("position")
    )
    # The position of the LAG_CAP-th change behind: counting stops there.
    cap_id = Subquery(behind.values("position")[LAG_CAP - 1 : LAG_CAP])
    counted = (
        behind.filter(position__lte=Coalesce(OuterRef("lag_cap_id"), Value(MAX_BIGINT)))
        .order_by()
        .annotate(n=Func(F("id"), function="COUNT", output_field=BigIntegerField()))
        .values("n")
    )
    return (
        StoreAcknowledgement.objects.select_related("channel", "location")
        .annotate(
            lag_cap_id=cap_id,
            oldest_unacked_at=Subquery(behind.values("created_at")[:1]),
        )
        .annotate(lag_count=Coalesce(Subquery(counted), Value(0)))
        .order_by(F("channel__code"), F("location__code"))
    )
