"""Bulk edits of products and variants: set an attribute, change or schedule prices, move products
through the workflow (submit, approve, publish, unpublish).

Every bulk edit is a ``BulkEditJob`` with one ``BulkEditJobRow`` per product or variant. A job of
up to ``CATALOG_BULK_EDIT_INLINE_MAX`` (1,000) rows runs in the request that asked for it; a bigger
one runs as the ``catalog.bulk_edit_run`` Celery task. Either way the rows are processed in
batches of ``CATALOG_BULK_EDIT_BATCH_SIZE`` (500), one transaction per batch, in primary-key
order, and the job's counters move after each batch (the progress the admin shows).

**Per row, not all or nothing.** A row that cannot be changed (no price on the channel, an
attribute its product type does not have, a product that is not complete for the channel) is
recorded as failed with its reason and the other rows go on; a job that cannot run at all (its
author lost the permission, the channel or attribute is gone) stops with ``error`` and leaves the
remaining rows pending. Each changed row keeps its values before and after; the price, product and
variant history rows a job writes carry the change reason ``bulk edit job #<id>``.

Validation of what to do (a price that is not a number, an option the attribute does not know,
an unknown channel) happens before the job exists: a refused edit changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog import services
from catalog.attributes import value_normalise
from catalog.exceptions import AttributeValuesInvalid, NotAllowed, PriceInvalid, UnknownChannel
from catalog.models import (
    Attribute,
    BulkEditJob,
    BulkEditJobRow,
    Price,
    Product,
    ProductPublication,
    ProductTypeAttribute,
    Variant,
)
from core import bulk
from core.actors import Actor
from core.audit import SensitiveAction, audit_record
from core.errors import DomainError
from core.events import EventType
from core.models import Channel
from core.outbox.services import event_record_many

logger = structlog.get_logger("omnihub.catalog.bulk_edit")

User = Any
Action = BulkEditJob.Action
Target = BulkEditJob.Target
RowStatus = BulkEditJobRow.Status

CENT = Decimal("0.01")
# Price.amount is DECIMAL(12, 2)
MAX_AMOUNT = Decimal("9999999999.99")
ROUNDING_RULE = "New prices are rounded to the cent, halves up (19.995 becomes 20.00)."
PRICE_KINDS = {
    "percent": "by a percentage",
    "amount": "by an amount",
    "set": "set to an amount",
}
PRICE_ACTIONS = (Action.PRICE_CHANGE, Action.PRICE_SCHEDULE)
GOVERNANCE_ACTIONS = (Action.SUBMIT, Action.APPROVE, Action.PUBLISH, Action.UNPUBLISH)


class BulkEditInvalid(DomainError):
    """A bulk edit that cannot start (nothing selected, a wrong target); nothing was written."""

    code = "bulk_edit_invalid"
    status = 400


def inline_max() -> int:
    """Jobs of at most this many rows run in the request; bigger ones in the background."""
    return int(getattr(settings, "CATALOG_BULK_EDIT_INLINE_MAX", 1000))


def batch_size() -> int:
    return int(getattr(settings, "CATALOG_BULK_EDIT_BATCH_SIZE", 500))


def task_seconds() -> float:
    """How long one run of the task works before it queues the rest as a new run (well inside
    Celery's soft time limit, so a huge job never gets killed half way through a batch)."""
    return float(getattr(settings, "CATALOG_BULK_EDIT_TASK_SECONDS", 120))


def permission_for(*, action: str, target: str) -> str:
    if action == Action.SET_ATTRIBUTE:
        return f"catalog.change_{target}"
    if action in PRICE_ACTIONS:
        return "catalog.change_price"
    if action == Action.SUBMIT:
        return "catalog.change_product"
    if action == Action.APPROVE:
        return "catalog.approve_product"
    return "catalog.publish_product"


def _require(user: User | None, *, action: str, target: str) -> None:
    if user is not None and not user.has_perm(permission_for(action=action, target=target)):
        raise NotAllowed(
            f"You may not {Action(action).label.lower()} in bulk "
            f"(needs {permission_for(action=action, target=target)})."
        )


# --- what to do: validated before any job exists ---------------------------------------------


def _decimal(value: Any, field_name: str) -> Decimal:
    try:
        number = Decimal(str(value).strip().replace(" ", ""))
    except (InvalidOperation, TypeError, ValueError):
        number = Decimal("NaN")
    if not number.is_finite():
        raise PriceInvalid(
            f"{value!r} is not a number: enter an amount such as 2.50 or a percentage such as -10.",
            errors=[{"field": field_name, "code": "invalid", "message": "Not a number."}],
        )
    return number


def _when(value: Any, field_name: str) -> datetime | None:
    if value in (None, ""):
        return None
    moment = value if isinstance(value, datetime) else parse_datetime(str(value))
    if moment is None:
        raise PriceInvalid(
            f"{field_name}: enter a date and time such as 2026-12-01 09:00.",
            errors=[{"field": field_name, "code": "invalid", "message": "Not a date and time."}],
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def price_params_clean(
    *,
    action: str,
    channel: str,
    kind: str,
    value: Any,
    starts_at: Any = None,
    ends_at: Any = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The parameters of a price change or schedule, checked and in stored form. A change moves
    each variant's base price on ``channel`` (in the channel's currency) by ``value`` percent or
    by ``value``, or sets it to ``value``; a schedule adds a dated price (the promotion mechanism
    of ``Price``) from ``starts_at`` until ``ends_at`` (or open-ended), its amount computed the
    same way from the base price. Raises ``PriceInvalid`` or ``UnknownChannel``."""
    found = Channel.objects.filter(code=channel).only("code", "currency").first()
    if found is None:
        raise UnknownChannel(f"There is no channel {channel!r}.")
    if kind not in PRICE_KINDS:
        raise PriceInvalid(
            f"Choose how to change the price: {', '.join(PRICE_KINDS)}.",
            errors=[{"field": "kind", "code": "invalid", "message": "Unknown kind of change."}],
        )
    number = _decimal(value, "value")
    if kind == "percent" and not Decimal("-100") < number <= Decimal("1000"):
        raise PriceInvalid(
            "A percentage must be above -100 and at most 1000.",
            errors=[{"field": "value", "code": "invalid", "message": "Out of range."}],
        )
    if kind != "percent" and number != number.quantize(CENT):
        raise PriceInvalid(
            "An amount has at most two decimals.",
            errors=[{"field": "value", "code": "invalid", "message": "Two decimals at most."}],
        )
    if kind == "set" and not Decimal("0") <= number <= MAX_AMOUNT:
        raise PriceInvalid(
            "A price is zero or more.",
            errors=[{"field": "value", "code": "invalid", "message": "Zero or more."}],
        )
    if kind == "amount" and number == 0:
        raise PriceInvalid(
            "Changing prices by 0 changes nothing.",
            errors=[{"field": "value", "code": "invalid", "message": "Not zero."}],
        )
    params: dict[str, Any] = {"channel": found.code, "kind": kind, "value": str(number)}
    if action == Action.PRICE_SCHEDULE:
        start, end = _when(starts_at, "starts_at"), _when(ends_at, "ends_at")
        now = now or timezone.now()
        if start is None:
            raise PriceInvalid(
                "A scheduled price needs the date and time it starts.",
                errors=[{"field": "starts_at", "code": "required", "message": "Required."}],
            )
        if start < now - timedelta(minutes=5):
            raise PriceInvalid(
                "A scheduled price cannot start in the past.",
                errors=[{"field": "starts_at", "code": "invalid", "message": "In the past."}],
            )
        if end is not None and end <= start:
            raise PriceInvalid(
                "A scheduled price must end after it starts.",
                errors=[{"field": "ends_at", "code": "invalid", "message": "Before the start."}],
            )
        params["starts_at"] = start.isoformat()
        params["ends_at"] = end.isoformat() if end else None
    return params


def attribute_params_clean(*, target: str, attribute: str, value: Any) -> dict[str, Any]:
    """The attribute and value to set, validated as the admin form validates it: the value must
    fit the attribute's kind, and for (multi) selects be options the attribute knows (by code,
    or by label). Only attributes some product type has at the target's level, and not variant
    axes (those are the variants' options), can be set. Raises ``AttributeValuesInvalid``."""
    found = Attribute.objects.filter(code=attribute).prefetch_related("options").first()
    usable = ProductTypeAttribute.objects.filter(
        attribute__code=attribute, level=target, is_variant_axis=False
    ).exists()
    if found is None or not usable:
        raise AttributeValuesInvalid(
            f"{attribute!r} is not a {target} attribute of any product type.",
            errors=[{"field": "attribute", "code": "unknown_attribute", "message": "Unknown."}],
        )
    options = list(found.options.all())
    by_label = {option.label.casefold(): option.code for option in options}
    raw = value
    if found.kind in (Attribute.Kind.SELECT, Attribute.Kind.MULTI_SELECT) and isinstance(raw, str):
        parts = [part.strip() for part in raw.split(",")] if found.kind == "multi_select" else [raw]
        parts = [by_label.get(part.casefold(), part) for part in parts]
        raw = parts if found.kind == "multi_select" else parts[0]
    if raw in (None, "", []):
        raise AttributeValuesInvalid(
            f"{found.name}: enter a value.",
            errors=[{"field": f"attributes.{attribute}", "code": "required", "message": "Empty."}],
        )
    try:
        normalised = value_normalise(found, raw, {option.code for option in options})
    except ValueError as exc:
        raise AttributeValuesInvalid(
            f"{found.name}: {exc}",
            errors=[{"field": f"attributes.{attribute}", "code": "invalid", "message": str(exc)}],
        ) from None
    return {"attribute": found.code, "value": normalised}


def governance_params_clean(*, action: str, channel: str | None) -> dict[str, Any]:
    if action not in (Action.PUBLISH, Action.UNPUBLISH):
        return {}
    if not channel or not Channel.objects.filter(code=channel).exists():
        raise UnknownChannel(f"There is no channel {channel!r}.")
    return {"channel": channel}


# --- the rows of a selection -------------------------------------------------------------------


def _chunks(ids: Sequence[int], size: int = 2000) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def selection_rows(*, action: str, target: str, object_ids: Iterable[int]) -> tuple[str, list]:
    """(what the rows are, [(id, label)] in id order) for a selection of products or variants:
    prices are per variant, so a price edit of products has a row for each of their variants;
    the workflow is per product."""
    ids = sorted(set(int(i) for i in object_ids))
    if action in GOVERNANCE_ACTIONS and target != Target.PRODUCT:
        raise BulkEditInvalid("Submit, approve, publish and unpublish act on products.")
    rows: list[tuple[int, str]] = []
    if action in PRICE_ACTIONS:
        lookup = "product_id__in" if target == Target.PRODUCT else "id__in"
        for chunk in _chunks(ids):
            rows += Variant.objects.filter(**{lookup: chunk}).values_list("id", "sku")
        return Target.VARIANT, sorted(rows)
    model = Product if target == Target.PRODUCT else Variant
    label = "name" if target == Target.PRODUCT else "sku"
    for chunk in _chunks(ids):
        rows += model.objects.filter(id__in=chunk).values_list("id", label)
    return target, sorted(rows)


# --- prices: one rule for the preview and the job ----------------------------------------------


def price_new_amount(old: Decimal | None, *, kind: str, value: Decimal) -> Decimal:
    """The new amount (``old`` is the base price; ignored when setting), rounded as
    ``ROUNDING_RULE`` says."""
    if kind == "set":
        new = value
    elif old is None:
        raise ValueError("no base price")
    elif kind == "percent":
        new = old * (Decimal("100") + value) / Decimal("100")
    else:
        new = old + value
    return new.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class PriceOutcome:
    status: str  # a BulkEditJobRow status
    old: Decimal | None = None
    new: Decimal | None = None
    error: str = ""


def _price_outcome(
    *,
    base: tuple[Decimal, Decimal | None] | None,
    dated_amount: Decimal | None,
    params: Mapping[str, Any],
    currency: str,
    schedule: bool,
) -> PriceOutcome:
    """What a price edit does to one variant: ``base`` is its base price (amount, compare-at) on
    the channel, ``dated_amount`` the amount of an identical schedule already there."""
    kind, value = params["kind"], Decimal(params["value"])
    old = base[0] if base else None
    if old is None and kind != "set":
        return PriceOutcome(
            RowStatus.FAILED, error=f"No base price on {params['channel']} in {currency} to change."
        )
    new = price_new_amount(old, kind=kind, value=value)
    if new < 0:
        return PriceOutcome(
            RowStatus.FAILED, old, new, f"The price would be below zero ({new} {currency})."
        )
    if new > MAX_AMOUNT:
        return PriceOutcome(RowStatus.FAILED, old, new, f"The price would be too high ({new}).")
    if schedule:
        current = dated_amount
        return PriceOutcome(RowStatus.UNCHANGED if current == new else RowStatus.CHANGED, old, new)
    compare_at = base[1] if base else None
    if compare_at is not None and compare_at <= new:
        return PriceOutcome(
            RowStatus.FAILED,
            old,
            new,
            f"The compare-at price {compare_at} {currency} must stay above the price "
            f"(it would be {new} {currency}).",
        )
    return PriceOutcome(RowStatus.UNCHANGED if old == new else RowStatus.CHANGED, old, new)


def _window(params: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    start, end = params.get("starts_at"), params.get("ends_at")
    return (parse_datetime(start) if start else None, parse_datetime(end) if end else None)


@dataclass(frozen=True)
class PricePreviewRow:
    sku: str
    product: str
    currency: str
    old: Decimal | None
    new: Decimal | None
    status: str
    error: str


@dataclass
class PricePreview:
    channel: str
    currency: str
    rows: list[PricePreviewRow] = field(default_factory=list)
    total: int = 0
    changing: int = 0
    unchanged: int = 0
    failing: int = 0
    rounding: str = ROUNDING_RULE


def bulk_price_preview(
    *, action: str, variant_ids: Sequence[int], params: Mapping[str, Any], limit: int = 200
) -> PricePreview:
    """What a price edit would do: old -> new for the first ``limit`` variants (by id) and the
    counts over all of them. Reads only; the job computes again from the prices it finds when it
    runs. A few queries per 2,000 variants."""
    channel = Channel.objects.get(code=params["channel"])
    schedule = action == Action.PRICE_SCHEDULE
    start, end = _window(params)
    preview = PricePreview(channel=channel.code, currency=channel.currency)
    for chunk in _chunks(sorted(variant_ids)):
        base, dated = _prices_of(chunk, channel, schedule=schedule, start=start, end=end)
        variants = Variant.objects.filter(id__in=chunk).order_by("id")
        for vid, sku, name in variants.values_list("id", "sku", "product__name"):
            price = base.get(vid)
            outcome = _price_outcome(
                base=(price.amount, price.compare_at_amount) if price else None,
                dated_amount=dated[vid].amount if vid in dated else None,
                params=params,
                currency=channel.currency,
                schedule=schedule,
            )
            preview.total += 1
            if outcome.status == RowStatus.CHANGED:
                preview.changing += 1
            elif outcome.status == RowStatus.UNCHANGED:
                preview.unchanged += 1
            else:
                preview.failing += 1
            if len(preview.rows) < limit:
                preview.rows.append(
                    PricePreviewRow(
                        sku,
                        name,
                        channel.currency,
                        outcome.old,
                        outcome.new,
                        outcome.status,
                        outcome.error,
                    )
                )
    return preview


def _prices_of(
    variant_ids: Sequence[int],
    channel: Channel,
    *,
    schedule: bool,
    start: datetime | None,
    end: datetime | None,
) -> tuple[dict[int, Price], dict[int, Price]]:
    """(base price, identical dated price) by variant id, in the channel's currency."""
    rows = Price.objects.filter(
        variant_id__in=variant_ids, channel=channel, currency=channel.currency
    )
    base = {p.variant_id: p for p in rows.filter(starts_at=None, ends_at=None)}
    dated = (
        {p.variant_id: p for p in rows.filter(starts_at=start, ends_at=end).order_by("id")}
        if schedule
        else {}
    )
    return base, dated


# --- creating and running jobs -----------------------------------------------------------------


@transaction.atomic
def bulk_edit_job_create(
    *,
    action: str,
    target: str,
    object_ids: Iterable[int],
    params: Mapping[str, Any],
    user: User | None = None,
) -> BulkEditJob:
    """Record a bulk edit: the job and a pending row per product or variant. ``params`` must come
    from the ``*_params_clean`` function of the action. Start it with ``bulk_edit_job_start``."""
    action, target = Action(action), Target(target)
    _require(user, action=action, target=target)
    rows_target, rows = selection_rows(action=action, target=target, object_ids=object_ids)
    if not rows:
        raise BulkEditInvalid(
            "Nothing to edit: the selection has no variants."
            if rows_target == Target.VARIANT and target == Target.PRODUCT
            else "Nothing to edit: select products or variants first."
        )
    author = user if user is not None and user.is_authenticated else None
    job = BulkEditJob.objects.create(
        action=action,
        target=rows_target,
        params={**params, "by_system": author is None},
        total=len(rows),
        created_by=author,
    )
    bulk.create(
        [
            BulkEditJobRow(job=job, object_id=object_id, label=str(label)[:255])
            for object_id, label in rows
        ],
        BulkEditJobRow,
        history=False,
    )
    return job


def bulk_edit_job_start(*, job: BulkEditJob) -> bool:
    """Run a new job now if it is small (returns True), or queue it for the worker after commit
    (returns False)."""
    if job.total <= inline_max():
        bulk_edit_job_run(job_id=job.id)
        return True
    from catalog.tasks import bulk_edit_run

    transaction.on_commit(lambda: bulk_edit_run.delay(job.id))
    return False


def bulk_edit_job_run(
    *, job_id: int, seconds: float | None = None, max_batches: int | None = None
) -> BulkEditJob:
    """Process the pending rows of a job, batch after batch, until none is left (then the job is
    done), or ``seconds`` have passed or ``max_batches`` ran (then it stays running and the
    caller queues the rest). Safe to repeat and to run twice at once: each batch locks the job
    row and takes the next pending rows, so a row is never edited twice."""
    job = BulkEditJob.objects.select_related("created_by").filter(id=job_id).first()
    if job is None or job.status not in (BulkEditJob.Status.QUEUED, BulkEditJob.Status.RUNNING):
        return job  # type: ignore[return-value]
    user = job.created_by
    try:
        if user is None and not job.params.get("by_system"):
            raise NotAllowed("The user who started this job no longer exists.")
        if user is not None:
            user = type(user).objects.get(pk=user.pk)  # permissions as they are now
        _require(user, action=job.action, target=job.target)
    except DomainError as refused:
        _job_stop(job.id, refused.message)
        return BulkEditJob.objects.get(id=job.id)
    BulkEditJob.objects.filter(id=job.id, status=BulkEditJob.Status.QUEUED).update(
        status=BulkEditJob.Status.RUNNING, started_at=timezone.now()
    )
    handler = HANDLERS[job.action]
    began, batches = time.monotonic(), 0
    while _batch_next(job.id, handler, user, batch_size()):
        batches += 1
        if max_batches is not None and batches >= max_batches:
            break
        if seconds is not None and time.monotonic() - began > seconds:
            break
    with transaction.atomic():
        job = BulkEditJob.objects.select_for_update().get(id=job.id)
        pending = job.rows.filter(status=RowStatus.PENDING).exists()
        if not pending and job.status == BulkEditJob.Status.RUNNING:
            job.status = BulkEditJob.Status.PARTIAL if job.failed else BulkEditJob.Status.SUCCEEDED
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "finished_at"])
    return job


def bulk_edit_job_has_pending(*, job_id: int) -> bool:
    return BulkEditJobRow.objects.filter(
        job_id=job_id,
        status=RowStatus.PENDING,
        job__status=BulkEditJob.Status.RUNNING,
    ).exists()


def _job_stop(job_id: int, message: str) -> None:
    BulkEditJob.objects.filter(id=job_id).update(
        status=BulkEditJob.Status.FAILED, error=message, finished_at=timezone.now()
    )


Handler = Callable[[BulkEditJob, list[BulkEditJobRow], Any], None]


def _row_error(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    logger.exception("catalog.bulk_edit.row_crashed")
    return f"Unexpected error ({type(exc).__name__}); the row was not changed."


def _batch_next(job_id: int, handler: Handler, user: Any, size: int) -> int:
    """Lock the job, take its next ``size`` pending rows and apply the edit to them in one
    transaction. When the batch fails as a whole, each row is tried on its own (in a savepoint),
    so one bad row fails alone. Counters move with the rows' outcomes. Returns how many rows
    were processed (0: none left, or the job was stopped)."""
    with transaction.atomic():
        job = (
            BulkEditJob.objects.select_for_update()
            .filter(id=job_id, status=BulkEditJob.Status.RUNNING)
            .first()
        )
        if job is None:
            return 0
        rows = list(job.rows.filter(status=RowStatus.PENDING).order_by("id")[:size])
        if not rows:
            return 0
        try:
            with transaction.atomic():
                handler(job, rows, user)
        except Exception:  # each row again, alone, to find the bad one
            for row in rows:
                row.status, row.before, row.after, row.error = RowStatus.PENDING, None, None, ""
                try:
                    with transaction.atomic():
                        handler(job, [row], user)
                except Exception as exc:  # recorded on the row
                    row.status, row.before, row.after = RowStatus.FAILED, None, None
                    row.error = _row_error(exc)
        for row in rows:
            if row.status == RowStatus.PENDING:  # a handler must decide every row
                row.status, row.error = RowStatus.FAILED, "Not processed."
        bulk.update(rows, BulkEditJobRow, ["status", "before", "after", "error"], history=False)
        failed = sum(1 for row in rows if row.status == RowStatus.FAILED)
        BulkEditJob.objects.filter(id=job.id).update(
            done=F("done") + len(rows) - failed, failed=F("failed") + failed
        )
        return len(rows)


def _fail(row: BulkEditJobRow, message: str) -> None:
    row.status, row.error = RowStatus.FAILED, message


def _reason(job: BulkEditJob) -> str:
    return f"bulk edit job #{job.pk}"


def _track(obj: Any, job: BulkEditJob, user: Any) -> None:
    """History rows of this write name the job and its author."""
    obj._change_reason = _reason(job)
    if user is not None:
        obj._history_user = user


def _price_events(product_ids: Iterable[int], channel: Channel) -> None:
    """``price.changed`` for each product with every variant's current price on the channel
    (as ``services.price_changed_record``, for many products in a few statements)."""
    from catalog.selectors import variant_prices

    product_ids = sorted(set(product_ids))
    if not product_ids:
        return
    variants: dict[int, list[int]] = {pid: [] for pid in product_ids}
    for vid, pid in Variant.objects.filter(product_id__in=product_ids).values_list(
        "id", "product_id"
    ):
        variants[pid].append(vid)
    prices = variant_prices(
        channel_code=channel.code, variant_ids=[v for vids in variants.values() for v in vids]
    )
    payloads = {
        pid: {
            "product_id": pid,
            "prices": {
                prices[vid].sku: {
                    "amount": str(prices[vid].amount),
                    "compare_at_amount": None
                    if prices[vid].compare_at is None
                    else str(prices[vid].compare_at),
                    "currency": prices[vid].currency,
                }
                for vid in vids
                if vid in prices
            },
        }
        for pid, vids in variants.items()
    }
    ProductPublication.objects.filter(product_id__in=product_ids, channel=channel).update(
        updated_at=timezone.now()
    )
    event_record_many(
        topic=EventType.PRICE_CHANGED,
        aggregate="product",
        payloads=payloads,
        channel_code=channel.code,
    )


def _prices_handler(job: BulkEditJob, rows: list[BulkEditJobRow], user: Any) -> None:
    """Change base prices, or add dated prices, for a batch of variants. Locks the variants in
    primary-key order (as ``services.price_set`` does, so the two never interleave on a price)."""
    params = job.params
    schedule = job.action == Action.PRICE_SCHEDULE
    channel = Channel.objects.get(code=params["channel"])
    start, end = _window(params)
    ids = [row.object_id for row in rows]
    product_of = dict(
        Variant.objects.select_for_update(of=("self",))
        .filter(id__in=ids)
        .order_by("id")
        .values_list("id", "product_id")
    )
    base, dated = _prices_of(ids, channel, schedule=schedule, start=start, end=end)
    now = timezone.now()
    changed: list[Price] = []
    created: list[Price] = []
    for row in rows:
        vid = row.object_id
        if vid not in product_of:
            _fail(row, "The variant no longer exists.")
            continue
        price, existing = base.get(vid), dated.get(vid)
        outcome = _price_outcome(
            base=(price.amount, price.compare_at_amount) if price else None,
            dated_amount=existing.amount if existing else None,
            params=params,
            currency=channel.currency,
            schedule=schedule,
        )
        if outcome.status == RowStatus.FAILED:
            _fail(row, outcome.error)
            continue
        assert outcome.new is not None
        target = existing if schedule else price
        row.before = {
            "amount": None if target is None else str(target.amount),
            "currency": channel.currency,
        }
        row.after = {"amount": str(outcome.new), "currency": channel.currency}
        if schedule:
            row.before["base_amount"] = None if price is None else str(price.amount)
            row.after.update(starts_at=params["starts_at"], ends_at=params.get("ends_at"))
        row.status = outcome.status
        if outcome.status == RowStatus.UNCHANGED:
            continue
        if target is None:
            target = Price(
                variant_id=vid,
                channel=channel,
                currency=channel.currency,
                amount=outcome.new,
                starts_at=start if schedule else None,
                ends_at=end if schedule else None,
            )
            created.append(target)
        else:
            target.amount, target.updated_at = outcome.new, now
            changed.append(target)
        _track(target, job, user)
    bulk.update(changed, Price, ["amount", "updated_at"], date=now)
    bulk.create(created, Price, now=now)
    written = changed + created
    if not written:
        return
    touched = {product_of[price.variant_id] for price in written}
    if not schedule or (start is not None and start <= now):
        # a price that starts later is announced when it starts (``promotions_announce``)
        _price_events(touched, channel)
    if created:  # completeness asks whether a price exists, not what it is
        services.completeness_refresh(
            product_ids=sorted({product_of[price.variant_id] for price in created})
        )
    audit_record(
        action=SensitiveAction.PRICE_CHANGE,
        actor=Actor.for_user(user) if user is not None else None,
        object_type="catalog.bulkeditjob",
        object_id=job.pk,
        data={
            "job_id": job.pk,
            "channel_id": channel.pk,
            "currency": channel.currency,
            "prices_changed": len(written),
            "promotion": schedule,
        },
    )


def _attribute_handler(job: BulkEditJob, rows: list[BulkEditJobRow], user: Any) -> None:
    """Set one attribute on a batch of products or variants (locked in primary-key order). A
    content change: approved products go back to review, with their approved snapshot live."""
    code = job.params["attribute"]
    attribute = Attribute.objects.prefetch_related("options").get(code=code)
    try:  # the options may have changed since the job was created
        value = value_normalise(
            attribute, job.params["value"], {option.code for option in attribute.options.all()}
        )
    except ValueError as exc:
        raise AttributeValuesInvalid(f"{attribute.name}: {exc}") from None
    level = job.target
    types = dict(
        ProductTypeAttribute.objects.filter(attribute=attribute, level=level).values_list(
            "product_type_id", "is_variant_axis"
        )
    )
    ids = [row.object_id for row in rows]
    model: Any = Product if level == Target.PRODUCT else Variant
    objects: Any = model.objects.select_for_update(of=("self",)).filter(id__in=ids).order_by("id")
    if model is Product:
        objects = objects.select_related("product_type").defer("approved_snapshot")
    else:
        objects = objects.select_related("product__product_type")
    found: dict[int, Any] = {obj.id: obj for obj in objects}
    now = timezone.now()
    changed: list[Any] = []
    for row in rows:
        obj = found.get(row.object_id)
        if obj is None:
            _fail(row, f"The {level} no longer exists.")
            continue
        product_type = obj.product_type if model is Product else obj.product.product_type
        if product_type is None:
            _fail(row, "It has no product type, so no attributes.")
            continue
        if product_type.id not in types or types[product_type.id]:
            _fail(row, f"{attribute.name} is not a {level} attribute of {product_type.name}.")
            continue
        old = obj.attributes.get(code)
        row.before, row.after = {code: old}, {code: value}
        if old == value:
            row.status = RowStatus.UNCHANGED
            continue
        row.status = RowStatus.CHANGED
        obj.attributes = {**obj.attributes, code: value}
        obj.updated_at = now
        if model is Product and obj.status == Product.Status.APPROVED:
            obj.status = Product.Status.IN_REVIEW  # the approved snapshot stays live
        _track(obj, job, user)
        changed.append(obj)
    if not changed:
        return
    if model is Product:
        bulk.update(changed, Product, ["attributes", "status", "updated_at"], date=now)
        product_ids = sorted(obj.id for obj in changed)
    else:
        bulk.update(changed, Variant, ["attributes", "updated_at"], date=now)
        product_ids = sorted({obj.product_id for obj in changed})
        Product.objects.filter(id__in=product_ids, status=Product.Status.APPROVED).update(
            status=Product.Status.IN_REVIEW, updated_at=now
        )
    services.completeness_refresh(product_ids=product_ids)


def _governance_handler(job: BulkEditJob, rows: list[BulkEditJobRow], user: Any) -> None:
    """Move a batch of products through the workflow with the workflow's own services (their
    checks, locks and events). A service refuses a batch as a whole; the caller then tries each
    product alone, so the refusal lands on the products it names."""
    ids = [row.object_id for row in rows]
    status_before = dict(Product.objects.filter(id__in=ids).values_list("id", "status"))
    channel = job.params.get("channel", "")
    on_before: set[int] = set()
    if channel:
        on_before = set(
            ProductPublication.objects.filter(
                product_id__in=ids, channel__code=channel
            ).values_list("product_id", flat=True)
        )
    already = {
        Action.SUBMIT: {pid for pid, s in status_before.items() if s == Product.Status.IN_REVIEW},
        Action.APPROVE: {pid for pid, s in status_before.items() if s == Product.Status.APPROVED},
        Action.PUBLISH: on_before,
        Action.UNPUBLISH: set(status_before) - on_before,
    }[Action(job.action)]
    todo = [pid for pid in ids if pid in status_before and pid not in already]
    if todo:
        if job.action == Action.SUBMIT:
            services.product_submit(product_ids=todo, user=user)
        elif job.action == Action.APPROVE:
            services.product_approve(product_ids=todo, user=user)
        elif job.action == Action.PUBLISH:
            services.product_publish(product_ids=todo, channel_code=channel, user=user)
        else:
            services.product_unpublish(product_ids=todo, channel_code=channel, user=user)
    status_after = dict(Product.objects.filter(id__in=todo).values_list("id", "status"))
    for row in rows:
        pid = row.object_id
        if pid not in status_before:
            _fail(row, "The product no longer exists.")
            continue
        if channel:
            row.before = {"published_on": channel} if pid in on_before else {}
            row.after = {"published_on": channel} if job.action == Action.PUBLISH else {}
        else:
            row.before = {"status": status_before[pid]}
            row.after = {"status": status_after.get(pid, status_before[pid])}
        row.status = RowStatus.UNCHANGED if pid in already else RowStatus.CHANGED


HANDLERS: dict[str, Handler] = {
    Action.SET_ATTRIBUTE: _attribute_handler,
    Action.PRICE_CHANGE: _prices_handler,
    Action.PRICE_SCHEDULE: _prices_handler,
    Action.SUBMIT: _governance_handler,
    Action.APPROVE: _governance_handler,
    Action.PUBLISH: _governance_handler,
    Action.UNPUBLISH: _governance_handler,
}
