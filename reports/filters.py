"""The filters every report and chart takes: a date range, channels, stores, a category and a
period to group by, parsed from query parameters with one clear message per mistake.

A code the caller may not see is reported exactly like an unknown one, so that the message never
reveals channels or stores outside the caller's reach.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from catalog.models import Category
from core.errors import DomainError
from core.models import Channel
from inventory.models import Location

GROUP_BYS = ("day", "week", "month")
DEFAULT_DAYS = 30
MAX_RANGE_DAYS = 1096  # three years, one of them a leap year
MAX_KNOWN_LISTED = 20
MAX_ID = 2**31 - 1
EARLIEST = date(1900, 1, 1)
LATEST = date(9998, 12, 31)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ReportFilterError(DomainError):
    """A filter that cannot be applied; ``field`` names the parameter to fix."""

    code = "invalid_report_filter"
    status = 400
    title = "Invalid report filter"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(
            message,
            errors=[{"field": field, "code": "invalid", "message": message}],
            extra={"field": field},
        )
        self.field = field


@dataclass(frozen=True)
class ReportFilters:
    """What a report covers. ``None`` ids mean no restriction; an empty tuple means nothing."""

    start: date
    end: date
    channel_ids: tuple[int, ...] | None = None
    location_ids: tuple[int, ...] | None = None
    category_id: int | None = None
    group_by: str = "day"
    channel_codes: tuple[str, ...] = ()
    location_codes: tuple[str, ...] = ()
    category_name: str = ""

    @property
    def days(self) -> int:
        """Days in the range, both ends included."""
        return (self.end - self.start).days + 1


def _param(params: Mapping[str, str], name: str) -> str:
    """The stripped value of ``name``; repeated parameters (a QueryDict) are joined by commas
    so that ``channel=a&channel=b`` reads like ``channel=a,b``."""
    getlist = getattr(params, "getlist", None)
    if getlist is not None:
        return ",".join(str(value) for value in getlist(name)).strip()
    return str(params.get(name) or "").strip()


def _codes(raw: str) -> list[str]:
    seen: dict[str, None] = {}
    for part in raw.split(","):
        code = part.strip()
        if code:
            seen.setdefault(code, None)
    return list(seen)


def _date(raw: str, field: str) -> date:
    if _ISO_DATE.match(raw):
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            pass
        else:
            # the reports step a day or a period past either end: keep clear of date's limits
            if not EARLIEST <= value <= LATEST:
                raise ReportFilterError(
                    f"{field}: {raw} is out of range; choose a date from {EARLIEST} to {LATEST}.",
                    field=field,
                )
            return value
    raise ReportFilterError(f"{field}: '{raw}' is not a date (YYYY-MM-DD).", field=field)


def _known_list(codes: list[str]) -> str:
    listed = ", ".join(codes[:MAX_KNOWN_LISTED])
    more = len(codes) - MAX_KNOWN_LISTED
    if more > 0:
        listed += f" and {more} more"
    return listed or "none"


def _resolve(
    wanted: list[str],
    known: dict[str, int],
    *,
    noun: str,
    field: str,
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    unknown = [code for code in wanted if code not in known]
    if unknown:
        quoted = ", ".join(f"'{code}'" for code in unknown)
        plural = "s" if len(unknown) > 1 else ""
        raise ReportFilterError(
            f"Unknown {noun}{plural} {quoted}. Known: {_known_list(sorted(known))}.", field=field
        )
    return tuple(known[code] for code in wanted), tuple(wanted)


def _ids_or_allowed(
    ids: tuple[int, ...] | None, allowed: Collection[int] | None
) -> tuple[int, ...] | None:
    """No choice given: everything the caller may see (``None`` when unrestricted)."""
    if ids is not None:
        return ids
    return None if allowed is None else tuple(sorted(allowed))


def filters_parse(
    params: Mapping[str, str],
    *,
    allowed_channel_ids: Collection[int] | None = None,
    allowed_location_ids: Collection[int] | None = None,
    today: date | None = None,
) -> ReportFilters:
    """Read ``start``, ``end``, ``channel``, ``store``, ``category`` and ``group_by``.

    Empty values mean "not given". The range defaults to the last 30 days up to today; a lone
    ``start`` runs to today, a lone ``end`` covers the 30 days up to it. Without a channel (or
    store) choice, ``channel_ids`` (``location_ids``) are the allowed ones, or ``None`` when the
    caller may see everything.
    """
    today = today or timezone.localdate()
    raw_start, raw_end = _param(params, "start"), _param(params, "end")
    end = _date(raw_end, "end") if raw_end else None
    start = _date(raw_start, "start") if raw_start else None
    if end is None:
        end = today if start is None or start <= today else start
    if start is None:
        start = max(end - timedelta(days=DEFAULT_DAYS - 1), EARLIEST)
    if end < start:
        raise ReportFilterError("The end date is before the start date.", field="end")
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        raise ReportFilterError(
            f"The range is over 3 years ({days:,} days); choose at most {MAX_RANGE_DAYS:,} days.",
            field="start",
        )

    group_by = _param(params, "group_by") or "day"
    if group_by not in GROUP_BYS:
        raise ReportFilterError(
            f"Cannot group by '{group_by}'. Choose day, week or month.", field="group_by"
        )

    channel_ids: tuple[int, ...] | None = None
    channel_codes: tuple[str, ...] = ()
    wanted_channels = _codes(_param(params, "channel"))
    if wanted_channels:
        channels = Channel.objects.all()
        if allowed_channel_ids is not None:
            channels = channels.filter(pk__in=list(allowed_channel_ids))
        known = dict(channels.values_list("code", "pk"))
        channel_ids, channel_codes = _resolve(
            wanted_channels, known, noun="channel", field="channel"
        )

    location_ids: tuple[int, ...] | None = None
    location_codes: tuple[str, ...] = ()
    wanted_stores = _codes(_param(params, "store"))
    if wanted_stores:
        locations = Location.objects.all()
        if allowed_location_ids is not None:
            locations = locations.filter(pk__in=list(allowed_location_ids))
        known = dict(locations.values_list("code", "pk"))
        location_ids, location_codes = _resolve(wanted_stores, known, noun="store", field="store")

    category_id: int | None = None
    category_name = ""
    raw_category = _param(params, "category")
    if raw_category:
        # ASCII digits only (str.isdigit accepts "²"), and an id a database integer can hold
        if not re.fullmatch(r"[0-9]{1,10}", raw_category) or int(raw_category) > MAX_ID:
            raise ReportFilterError(
                f"category: '{raw_category}' is not a category id (a whole number).",
                field="category",
            )
        category = Category.objects.filter(pk=int(raw_category)).only("name", "full_name").first()
        if category is None:
            raise ReportFilterError(f"Unknown category {raw_category}.", field="category")
        category_id, category_name = category.pk, category.full_name or category.name

    return ReportFilters(
        start=start,
        end=end,
        channel_ids=_ids_or_allowed(channel_ids, allowed_channel_ids),
        location_ids=_ids_or_allowed(location_ids, allowed_location_ids),
        category_id=category_id,
        group_by=group_by,
        channel_codes=channel_codes,
        location_codes=location_codes,
        category_name=category_name,
    )
