"""Reads of inventory data used by the API, the admin, pages and tasks.

Availability is computed in SQL, a whole set of variants at once: reserved units are a subquery
over active *unexpired* holds (see ``inventory.services``), so the answer never counts an expired
hold, whether or not the expiry task has run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Variant
from core.api.channel_cache import channel_config_get
from core.models import Channel
from inventory.models import (
    Location,
    StaffMember,
    StockHold,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
)

EARTH_RADIUS_KM = 6371.0088


def location_list(*, active_only: bool = True) -> QuerySet[Location]:
    queryset = Location.objects.all()
    return queryset.filter(is_active=True) if active_only else queryset


def staff_store_list(*, user_id: int) -> QuerySet[Location]:
    """The active locations the staff user ``user_id`` is a member of, by code."""
    return Location.objects.filter(
        is_active=True, pk__in=StaffMember.objects.filter(user_id=user_id).values("location_id")
    ).order_by("code")


def staff_is_member(*, user_id: int, location_id: int) -> bool:
    """Whether the staff user ``user_id`` is a member of the active location ``location_id``."""
    return staff_store_list(user_id=user_id).filter(pk=location_id).exists()


def stock_level_list(*, now: datetime | None = None) -> QuerySet[StockLevel]:
    """Stock levels with ``reserved_now`` (unexpired active holds) and ``available_now``
    (on hand - committed - reserved - safety stock, clamped at zero by callers via ``max``)."""
    moment = now or timezone.now()
    reserved = (
        StockHold.objects.filter(
            stock=OuterRef("pk"), status=StockHold.Status.ACTIVE, expires_at__gt=moment
        )
        .values("stock")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return (
        StockLevel.objects.select_related("variant", "location")
        .annotate(reserved_now=Coalesce(Subquery(reserved, output_field=IntegerField()), Value(0)))
        .annotate(
            available_now=F("on_hand") - F("committed") - F("reserved_now") - F("safety_stock")
        )
    )


def stock_level_get(*, location_code: str, sku: str) -> StockLevel | None:
    return stock_level_list().filter(location__code=location_code, variant__sku=sku).first()


@dataclass(frozen=True)
class ChannelBuffer:
    """A channel's stock buffer, as plain data: ``absolute`` units or ``percent`` of the total."""

    kind: str  # "absolute" | "percent"
    value: Decimal


def apply_buffer(available: int, buffer: ChannelBuffer | None) -> int:
    """What a channel may promise out of ``available`` units after its buffer (never negative)."""
    if buffer is None or available <= 0:
        return max(available, 0)
    if buffer.kind == "absolute":
        return max(available - int(buffer.value), 0)
    if buffer.kind == "percent":
        kept = math.ceil(Decimal(available) * buffer.value / Decimal(100))
        return max(available - kept, 0)
    raise ValueError(f"Unknown buffer kind {buffer.kind!r}")


@dataclass(frozen=True)
class VariantAvailability:
    variant_id: int
    total: int
    by_location: dict[int, int]


def availability_for_variants(
    *,
    variant_ids: Iterable[int],
    location_ids: Iterable[int] | None = None,
    buffer: ChannelBuffer | None = None,
    now: datetime | None = None,
) -> dict[int, VariantAvailability]:
    """Available-to-sell per variant over a set of locations, in one query whatever the count.

    Each location contributes ``max(available, 0)`` (a location's safety stock never eats into
    another's units); the channel ``buffer`` applies to the total. Variants with no stock get 0.
    """
    ids = list(dict.fromkeys(variant_ids))
    levels = stock_level_list(now=now).filter(variant_id__in=ids, location__is_active=True)
    if location_ids is not None:
        levels = levels.filter(location_id__in=list(location_ids))
    by_variant: dict[int, dict[int, int]] = {vid: {} for vid in ids}
    for variant_id, location_id, available in levels.values_list(  # type: ignore[misc]
        "variant_id", "location_id", "available_now"
    ):
        by_variant[variant_id][location_id] = max(available, 0)
    return {
        vid: VariantAvailability(
            variant_id=vid,
            total=apply_buffer(sum(per_location.values()), buffer),
            by_location=per_location,
        )
        for vid, per_location in by_variant.items()
    }


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = math.radians(lat2 - lat1), math.radians(lng2 - lng1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def locations_near(
    *,
    latitude: float,
    longitude: float,
    pickup_only: bool = False,
    with_stock_of: Sequence[int] | None = None,
    limit: int | None = None,
) -> list[tuple[Location, float]]:
    """Active located locations sorted by great-circle distance, as ``(location, km)``.

    ``with_stock_of`` keeps only locations with every one of those variants available now.
    Haversine runs in Python over the candidates (a few hundred locations at most).
    """
    candidates = location_list().filter(latitude__isnull=False, longitude__isnull=False)
    if pickup_only:
        candidates = candidates.filter(offers_pickup=True)
    if with_stock_of:
        wanted = set(with_stock_of)
        stocked: dict[int, set[int]] = {}
        rows = stock_level_list().filter(variant_id__in=wanted, available_now__gt=0)  # type: ignore[misc]
        for location_id, variant_id in rows.values_list("location_id", "variant_id"):
            stocked.setdefault(location_id, set()).add(variant_id)
        candidates = candidates.filter(
            pk__in=[loc for loc, variants in stocked.items() if variants >= wanted]
        )
    ranked = sorted(
        (
            (loc, haversine_km(latitude, longitude, float(loc.latitude), float(loc.longitude)))
            for loc in candidates
            if loc.latitude is not None and loc.longitude is not None
        ),
        key=lambda pair: (pair[1], pair[0].code),
    )
    return ranked[:limit] if limit is not None else ranked


@dataclass(frozen=True)
class StockDrift:
    stock_id: int
    on_hand: int
    ledger_on_hand: int
    damaged: int
    ledger_damaged: int


def stock_drift_list() -> list[StockDrift]:
    """Levels whose on hand or damaged differ from the sum of their movements (one query)."""
    ledger_on_hand = Coalesce(Sum("movements__on_hand_delta"), Value(0))
    ledger_damaged = Coalesce(Sum("movements__damaged_delta"), Value(0))
    rows = (
        StockLevel.objects.annotate(ledger_on_hand=ledger_on_hand, ledger_damaged=ledger_damaged)
        .filter(~Q(on_hand=F("ledger_on_hand")) | ~Q(damaged=F("ledger_damaged")))
        .order_by("pk")
        .values_list("pk", "on_hand", "ledger_on_hand", "damaged", "ledger_damaged")
    )
    return [StockDrift(*row) for row in rows]


def stock_movement_list() -> QuerySet[StockMovement]:
    return StockMovement.objects.select_related(
        "stock__variant", "stock__location", "actor_partner"
    )


def stock_hold_list() -> QuerySet[StockHold]:
    return StockHold.objects.select_related("stock__variant", "stock__location")


def transfer_list() -> QuerySet[Transfer]:
    return Transfer.objects.select_related("source", "destination")


def location_ids_by_code(*, codes: Iterable[str]) -> dict[str, int]:
    """``{code: location_id}`` for the active locations that exist (one query)."""
    return dict(location_list().filter(code__in=list(set(codes))).values_list("code", "pk"))


@dataclass(frozen=True)
class IncomingStock:
    transfer_id: int
    source_code: str
    quantity: int
    status: str
    expected_at: datetime | None


def incoming_for(*, variant_ids: Iterable[int], location_id: int) -> dict[int, list[IncomingStock]]:
    """Open transfers (draft or shipped, not yet received) bringing each variant to a location,
    soonest first. One query."""
    lines = (
        TransferLine.objects.filter(
            variant_id__in=list(variant_ids),
            transfer__destination_id=location_id,
            transfer__status__in=[
                Transfer.Status.DRAFT,
                Transfer.Status.SHIPPED,
                Transfer.Status.PARTIALLY_RECEIVED,
            ],
        )
        .select_related("transfer__source")
        .order_by(F("transfer__expected_at").asc(nulls_last=True), "transfer_id")
    )
    result: dict[int, list[IncomingStock]] = {}
    for line in lines:
        open_quantity = line.quantity - line.quantity_received - line.quantity_missing
        if open_quantity <= 0:
            continue
        result.setdefault(line.variant_id, []).append(
            IncomingStock(
                transfer_id=line.transfer_id,
                source_code=line.transfer.source.code,
                quantity=open_quantity,
                status=line.transfer.status,
                expected_at=line.transfer.expected_at,
            )
        )
    return result


@dataclass(frozen=True)
class PickupPromise:
    """When ``quantity`` units can be collected at a store: ``ready_at`` (None: no promise),
    and whether it relies on a transfer (``via_transfer``)."""

    variant_id: int
    quantity: int
    ready_at: datetime | None
    via_transfer: int | None = None


def pickup_promises(
    *, lines: dict[int, int], location_id: int, now: datetime | None = None
) -> dict[int, PickupPromise]:
    """For ``{variant_id: quantity}`` at a pickup store: ready after the store's preparation time
    when the store has the units available; otherwise at the expected arrival of the earliest
    open transfer that, with what the store has, covers the quantity (plus preparation); otherwise
    no promise. A fixed number of queries."""
    moment = now or timezone.now()
    location = Location.objects.get(pk=location_id)
    preparation = timedelta(minutes=location.pickup_preparation_minutes)
    here = availability_for_variants(variant_ids=lines, location_ids=[location_id], now=moment)
    incoming = incoming_for(variant_ids=lines, location_id=location_id)
    promises = {}
    for variant_id, quantity in lines.items():
        available = here[variant_id].total
        if available >= quantity:
            promises[variant_id] = PickupPromise(variant_id, quantity, moment + preparation)
            continue
        covered, promise = available, PickupPromise(variant_id, quantity, None)
        for item in incoming.get(variant_id, []):
            covered += item.quantity
            if covered >= quantity:
                if item.expected_at is not None:
                    ready = max(item.expected_at, moment) + preparation
                    promise = PickupPromise(variant_id, quantity, ready, item.transfer_id)
                break
        promises[variant_id] = promise
    return promises


def pickup_promise(
    *, variant_id: int, location_id: int, quantity: int, now: datetime | None = None
) -> PickupPromise:
    return pickup_promises(lines={variant_id: quantity}, location_id=location_id, now=now)[
        variant_id
    ]


def next_arrival_subquery() -> Subquery:
    """For annotating stock levels: the expected arrival of the soonest open transfer bringing
    the level's variant to its location (None when nothing is on its way)."""
    return Subquery(
        TransferLine.objects.filter(
            variant_id=OuterRef("variant_id"),
            transfer__destination_id=OuterRef("location_id"),
            transfer__status__in=[
                Transfer.Status.DRAFT,
                Transfer.Status.SHIPPED,
                Transfer.Status.PARTIALLY_RECEIVED,
            ],
            transfer__expected_at__isnull=False,
        )
        .order_by("transfer__expected_at")
        .values("transfer__expected_at")[:1]
    )


# --- what a channel may promise ------------------------------------------------------------------
# A channel sells from its locations (``ChannelLocation``), with its stock buffer applied.


def channel_get(*, code: str, visible_codes: Iterable[str] | None) -> Channel | None:
    """The active channel ``code`` with its locations, if the caller may see it (from the shared
    channel cache, ``core.api.channel_cache``: no query once cached)."""
    if visible_codes is not None and code not in set(visible_codes):
        return None
    return channel_config_get(
        code, lambda: channel_list(visible_codes=None).filter(code=code, is_active=True).first()
    )


def location_ids_for_channels(*, channel_codes: Iterable[str]) -> frozenset[int]:
    """The active locations the active channels ``channel_codes`` sell from: where a partner key
    acting for those channels may read and write stock. From the shared channel cache (no query
    once cached), so a location linked or unlinked in the admin counts on the next request."""
    location_ids: set[int] = set()
    for code in sorted(set(channel_codes)):
        channel = channel_get(code=code, visible_codes=None)
        if channel is not None:
            location_ids.update(loc.pk for loc in channel.locations.all() if loc.is_active)
    return frozenset(location_ids)


def channel_list(*, visible_codes: Iterable[str] | None) -> QuerySet[Channel]:
    """Channels, restricted to ``visible_codes`` unless it is ``None`` (staff: all of them)."""
    queryset = Channel.objects.prefetch_related("locations")
    if visible_codes is not None:
        queryset = queryset.filter(code__in=list(visible_codes))
    return queryset


@dataclass(frozen=True)
class LocationAvailability:
    location: Location
    available: int
    distance_km: float | None

    @property
    def pickup_available(self) -> bool:
        return self.available > 0 and self.location.offers_pickup


@dataclass(frozen=True)
class SkuAvailability:
    sku: str
    available: int
    locations: list[LocationAvailability]


def channel_buffer(channel: Channel) -> ChannelBuffer | None:
    """The channel's stock buffer, or ``None`` when it shows every available unit."""
    if channel.stock_buffer_kind == Channel.BufferKind.NONE:
        return None
    return ChannelBuffer(kind=channel.stock_buffer_kind, value=channel.stock_buffer_value)


def channel_availability(
    *, channel: Channel, skus: Sequence[str], near: tuple[float, float] | None = None
) -> tuple[list[SkuAvailability], list[str]]:
    """What ``channel`` may promise per SKU, and per location it sells from.

    The channel total is the sum over its active locations with the channel's buffer applied; per
    location figures are the location's own available units (its safety stock already kept
    back). With ``near``, locations carry ``distance_km`` and come nearest first. Returns the
    results in the order asked and the SKUs that do not exist. One query, whatever the number
    of SKUs (the channel's locations come with the channel).
    """
    wanted = list(dict.fromkeys(skus))
    locations = [loc for loc in channel.locations.all() if loc.is_active]
    distances: dict[int, float] = {}
    if near is not None:
        distances = {
            loc.pk: round(
                haversine_km(near[0], near[1], float(loc.latitude), float(loc.longitude)), 2
            )
            for loc in locations
            if loc.latitude is not None and loc.longitude is not None
        }
        locations.sort(key=lambda loc: (distances.get(loc.pk, float("inf")), loc.code))
    per_sku = _units_by_sku(skus=wanted, location_ids=[loc.pk for loc in locations])
    buffer = channel_buffer(channel)
    results = []
    for sku in wanted:
        per_location = per_sku.get(sku)
        if per_location is None:
            continue
        results.append(
            SkuAvailability(
                sku=sku,
                available=apply_buffer(sum(per_location.values()), buffer),
                locations=[
                    LocationAvailability(
                        location=loc,
                        available=per_location.get(loc.pk, 0),
                        distance_km=distances.get(loc.pk),
                    )
                    for loc in locations
                ],
            )
        )
    unknown = [sku for sku in wanted if sku not in per_sku]
    return results, unknown


def _units_by_sku(*, skus: list[str], location_ids: list[int]) -> dict[str, dict[int, int]]:
    """``{sku: {location_id: max(available, 0)}}`` for the SKUs that exist (``{}`` when the
    variant has no stock at those active locations): the rule of
    :func:`availability_for_variants`, in one statement with the SKU lookup folded in."""
    if not skus:
        return {}
    moment = connection.ops.adapt_datetimefield_value(timezone.now())
    ids = location_ids or [0]
    sql = f"""
        SELECT v.sku, s.location_id, s.on_hand - s.committed - s.safety_stock - COALESCE((
                   SELECT SUM(h.quantity) FROM {StockHold._meta.db_table} h
                   WHERE h.stock_id = s.id AND h.status = %s AND h.expires_at > %s
               ), 0)
        FROM {Variant._meta.db_table} v
        LEFT JOIN ({StockLevel._meta.db_table} s
                   JOIN {Location._meta.db_table} l ON l.id = s.location_id AND l.is_active)
               ON s.variant_id = v.id AND s.location_id IN ({", ".join(["%s"] * len(ids))})
        WHERE v.sku IN ({", ".join(["%s"] * len(skus))})"""
    result: dict[str, dict[int, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [StockHold.Status.ACTIVE, moment, *ids, *skus])
        for sku, location_id, units in cursor.fetchall():
            per_location = result.setdefault(sku, {})
            if location_id is not None:
                per_location[location_id] = max(int(units), 0)
    return result


# --- a store's own work -------------------------------------------------------------------------


def walk_in_hold_list(*, location: Location, limit: int = 20) -> list[StockHold]:
    """The active walk-in holds a store made at its counter, soonest to expire first."""
    return list(
        StockHold.objects.filter(
            stock__location=location,
            status=StockHold.Status.ACTIVE,
            reference__startswith=f"walk-in:{location.code}:",
        )
        .select_related("stock__variant__product")
        .order_by("expires_at")[:limit]
    )


def incoming_transfer_list(
    *, location_id: int, statuses: Iterable[str] = (Transfer.Status.SHIPPED,)
) -> QuerySet[Transfer]:
    """Transfers on their way to a location, with their source and lines, expected first."""
    return (
        Transfer.objects.filter(destination_id=location_id, status__in=list(statuses))
        .select_related("source")
        .prefetch_related("lines__variant")
        .order_by("expected_at", "pk")
    )


def incoming_transfer_get(*, transfer_id: int, location_id: int) -> Transfer | None:
    """One transfer bound for ``location_id`` (``None`` when it goes elsewhere)."""
    return (
        Transfer.objects.prefetch_related("lines")
        .filter(pk=transfer_id, destination_id=location_id)
        .first()
    )


@dataclass(frozen=True)
class StoreHold:
    """An active hold at a store, with who made it read from its reference: ``origin`` is
    ``partner`` (``POST /api/v1/stock/holds/``), ``staff`` (the same API with a staff login),
    ``cart`` (an online cart at checkout), ``walk-in`` (this store's counter) or ``other``;
    ``made_by`` names the partner, user or walk-in customer; ``label`` is the reference as its
    maker wrote it (without the namespace the services add)."""

    hold: StockHold
    origin: str
    made_by: str
    label: str


def _hold_origin(reference: str) -> tuple[str, str, str]:
    """``(origin, id or name, label)`` from a stored hold reference (see ``StoreHold``)."""
    kind, _, rest = reference.partition(":")
    if kind == "api":
        namespace, _, rest = rest.partition(":")
        owner, _, label = rest.partition(":")
        if namespace in ("partner", "user") and owner.isdigit():
            return ("partner" if namespace == "partner" else "staff", owner, label)
    if kind == "cart" and rest:
        return "cart", "", rest
    if kind == "walk-in":
        _store, _, customer = rest.partition(":")
        return "walk-in", customer, customer
    return "other", "", reference


def store_hold_list(*, location_id: int, limit: int = 100) -> list[StoreHold]:
    """The active, unexpired holds at a location, whoever made them (partners through the API,
    online carts, the store's own walk-in holds), soonest to expire first, with their maker.
    Three queries whatever the number of holds."""
    from django.contrib.auth import get_user_model

    from core.models import Partner

    holds = list(
        StockHold.objects.filter(
            stock__location_id=location_id,
            status=StockHold.Status.ACTIVE,
            expires_at__gt=timezone.now(),
        )
        .select_related("stock__variant__product")
        .order_by("expires_at", "pk")[:limit]
    )
    origins = [_hold_origin(hold.reference) for hold in holds]
    partner_ids = {int(owner) for origin, owner, _ in origins if origin == "partner"}
    user_ids = {int(owner) for origin, owner, _ in origins if origin == "staff"}
    partners = dict(Partner.objects.filter(pk__in=partner_ids).values_list("pk", "name"))
    users = {
        user.pk: user.get_username() for user in get_user_model().objects.filter(pk__in=user_ids)
    }
    rows = []
    for hold, (origin, owner, label) in zip(holds, origins, strict=True):
        if origin == "partner":
            made_by = partners.get(int(owner), f"partner #{owner}")
        elif origin == "staff":
            made_by = users.get(int(owner), f"user #{owner}")
        elif origin == "cart":
            made_by = "online cart"
        elif origin == "walk-in":
            made_by = "this store (walk-in)"
        else:
            made_by = "unknown"
        rows.append(StoreHold(hold=hold, origin=origin, made_by=made_by, label=label))
    return rows


def store_hold_get(*, hold_id: int, location_id: int) -> StockHold | None:
    """One hold at ``location_id`` in any state (``None`` when it is elsewhere or unknown)."""
    return (
        StockHold.objects.select_related("stock__variant")
        .filter(pk=hold_id, stock__location_id=location_id)
        .first()
    )


def outgoing_transfer_list(
    *, location_id: int, statuses: Iterable[str] = (Transfer.Status.DRAFT, Transfer.Status.SHIPPED)
) -> QuerySet[Transfer]:
    """Transfers leaving a location (its requests answered and its own shipments), with their
    destination and lines, newest first."""
    return (
        Transfer.objects.filter(source_id=location_id, status__in=list(statuses))
        .select_related("destination")
        .prefetch_related("lines__variant")
        .order_by("-created_at", "-pk")
    )
