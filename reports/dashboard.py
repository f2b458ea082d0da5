"""The dashboard on the admin home page: the figures each role acts on, one section per role.

A user sees the sections of every role they hold (a superuser sees them all); without
``reports.view_reports`` the home page stays the plain list of apps. Figures come from the rollup
tables (``reports.selectors``) and, for what is waiting right now (products in review, transfers
in transit, open returns, channel deliveries), from bounded live counts: the page answers in a
fixed number of queries whatever the size of the business.

Money is always shown with its currency and never summed across currencies: every chart has one
dataset per currency.

The operator's channel sync figures come from ``channels.selectors.channel_sync_overview``
(``reports`` sits above ``channels`` in the layers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import Avg, Count, Exists, Min, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from catalog.models import Product, ProductCompleteness
from channels.selectors import channel_sync_overview
from core.models import ChangeEvent
from inventory.models import Location, StaffMember, StockLevel, Transfer
from inventory.selectors import stock_drift_list
from orders.models import Refund, Return
from reports import selectors
from reports.filters import ReportFilters

REPORTS_PERMISSION = "reports.view_reports"
DASHBOARD_PERMISSION = "reports.view_dashboard"  # the dashboard alone (the operator's)
DAY_CHOICES = (7, 30, 90)
DEFAULT_DAYS = 30

# The role groups of ``config.roles`` (config sits above reports: named here, not imported).
MERCHANDISER = "Merchandiser"
CATALOG_APPROVER = "Catalog approver"
INVENTORY_MANAGER = "Inventory manager"
STORE_MANAGER = "Store manager"
CUSTOMER_SERVICE = "Customer service"
OPERATOR = "Operator"

SALES, CATALOG, STOCK, STORES, SERVICE, CHANNEL_OPS = (
    "sales",
    "catalog",
    "stock",
    "stores",
    "service",
    "channel_ops",
)
SECTION_ORDER = (SALES, CATALOG, STOCK, STORES, SERVICE, CHANNEL_OPS)
ROLE_SECTIONS: dict[str, tuple[str, ...]] = {
    MERCHANDISER: (SALES, CATALOG),
    CATALOG_APPROVER: (CATALOG,),  # the approval queue is theirs
    INVENTORY_MANAGER: (STOCK,),
    STORE_MANAGER: (STORES,),
    CUSTOMER_SERVICE: (SERVICE,),
    OPERATOR: (CHANNEL_OPS,),
}

TOP_SELLERS = 10
WAITING_LISTED = 5
AGED_DAYS = 90
# ``stock_drift_list`` sums the whole ledger; live only while the business is small, else the
# result of the hourly drift check (``inventory.stock_drift_check``) that ``config.metrics``
# keeps in the cache under this key.
DRIFT_LIVE_MAX_LEVELS = 5000
DRIFT_CACHE_KEY = "metrics:stock-drift"


# --- what the templates get -----------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """One Chart.js chart: ``<canvas data-chart="{kind}" data-source="{id}">`` and its data
    (``{"labels": [...], "datasets": [{"label", "data"}], "unit": ...}``) in a json_script."""

    id: str
    kind: str  # "bar" | "line"
    title: str
    data: dict[str, Any]

    @property
    def is_empty(self) -> bool:
        return not self.data.get("labels") or not self.data.get("datasets")


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    count: int | None = None


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Dashboard:
    sections: list[Section]
    days: int
    start: date
    end: date
    day_choices: tuple[int, ...] = DAY_CHOICES


# --- who sees what --------------------------------------------------------------------------------


def dashboard_days(raw: str | None) -> int:
    """The range switcher's value (``?days=``): 7, 30 or 90; anything else is the default."""
    try:
        days = int(raw or DEFAULT_DAYS)
    except ValueError:
        return DEFAULT_DAYS
    return days if days in DAY_CHOICES else DEFAULT_DAYS


def dashboard_section_keys(user: Any) -> list[str]:
    """The sections ``user`` sees, in page order: every section for a superuser, those of the
    user's roles for a holder of ``reports.view_reports`` or ``reports.view_dashboard``, none
    for anyone else (one query)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return []
    if getattr(user, "is_superuser", False):
        return list(SECTION_ORDER)
    if not (user.has_perm(REPORTS_PERMISSION) or user.has_perm(DASHBOARD_PERMISSION)):
        return []
    roles = set(user.groups.filter(name__in=ROLE_SECTIONS).values_list("name", flat=True))
    wanted = {key for role in roles for key in ROLE_SECTIONS[role]}
    return [key for key in SECTION_ORDER if key in wanted]


def dashboard_build(*, user: Any, days: int = DEFAULT_DAYS, today: date | None = None) -> Dashboard:
    """The dashboard of ``user`` over the last ``days`` days up to ``today``; no sections when
    the user may not see figures."""
    today = today or timezone.localdate()
    filters = ReportFilters(start=today - timedelta(days=days - 1), end=today)
    builders: dict[str, Callable[[], Section]] = {
        SALES: lambda: _sales_section(filters),
        CATALOG: _catalog_section,
        STOCK: lambda: _stock_section(filters),
        STORES: lambda: _stores_section(filters, user=user),
        SERVICE: _service_section,
        CHANNEL_OPS: _channel_ops_section,
    }
    sections = [builders[key]() for key in dashboard_section_keys(user)]
    return Dashboard(sections=sections, days=days, start=filters.start, end=filters.end)


# --- helpers --------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A chart value: Chart.js wants numbers (money keeps its cents: 2 decimals)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    return float(value)


def _admin_url(name: str, **query: Any) -> str:
    url = reverse(f"admin:{name}")
    return f"{url}?{urlencode(query)}" if query else url


def _column(table: selectors.Table, *, kind: str, key: str | None = None) -> str | None:
    """The key of the column named ``key`` if the table has it, else its first of ``kind``."""
    keys = [column.key for column in table.columns]
    if key is not None and key in keys:
        return key
    return next((column.key for column in table.columns if column.kind == kind), None)


def _label_key(table: selectors.Table, *preferred: str) -> str:
    keys = [column.key for column in table.columns]
    for key in preferred:
        if key in keys:
            return key
    return _column(table, kind="text") or keys[0]


def _bar_by_label(
    *,
    chart_id: str,
    title: str,
    table: selectors.Table,
    value_key: str | None,
    unit: str,
    labels: Sequence[str],
) -> Chart:
    """A one-dataset bar chart of ``value_key`` per row label (percentages, days: no currency)."""
    data: dict[str, Any] = {"labels": [], "datasets": [], "unit": unit}
    if value_key is None or not table.rows:
        return Chart(id=chart_id, kind="bar", title=title, data=data)
    label_key = _label_key(table, *labels)
    data["labels"] = [str(row.get(label_key, "")) for row in table.rows]
    data["datasets"] = [
        {"label": title, "data": [_number(row.get(value_key)) for row in table.rows]}
    ]
    return Chart(id=chart_id, kind="bar", title=title, data=data)


def _series_chart(
    *, chart_id: str, kind: str, title: str, series: Mapping[str, Any], unit: str
) -> Chart:
    """A chart from a selector's ``{"labels", "series": [{"label", "currency", "data"}]}`` or
    ``{"labels", "datasets": [...]}``: one dataset per series (per currency: never summed)."""
    datasets = [
        {
            "label": str(item.get("label") or item.get("currency") or ""),
            "currency": item.get("currency", ""),
            "data": [_number(value) for value in item.get("data", [])],
        }
        for item in series.get("datasets", series.get("series", []))
    ]
    labels = [str(label) for label in series.get("labels", [])]
    return Chart(
        id=chart_id,
        kind=kind,
        title=title,
        data={"labels": labels, "datasets": datasets, "unit": unit},
    )


def _age_minutes(oldest: datetime | None, now: datetime) -> float:
    return round((now - oldest).total_seconds() / 60, 1) if oldest else 0.0


# --- merchandiser: sales --------------------------------------------------------------------------


def _sales_section(filters: ReportFilters) -> Section:
    series = selectors.sales_by_channel_series(filters)
    top, bottom = selectors.top_and_bottom_sellers(filters, limit=TOP_SELLERS)
    return Section(
        key=SALES,
        title="Sales",
        template="reports/dashboard/sales.html",
        context={
            "chart": _series_chart(
                chart_id="chart-sales-by-channel",
                kind="bar",
                title="Net sales by channel",
                series=series,
                unit="currency",
            ),
            "top": top,
            "bottom": bottom,
        },
    )


# --- merchandiser and catalog approver: the catalog -----------------------------------------------


def _catalog_section() -> Section:
    """Completeness gaps per channel (the stored ``ProductCompleteness``) and the products waiting
    for approval. Three queries."""
    gaps: list[dict[str, Any]] = [
        dict(row)
        for row in ProductCompleteness.objects.exclude(product__status=Product.Status.ARCHIVED)
        .values("channel__code")
        .annotate(
            products=Count("pk"),
            incomplete=Count("pk", filter=Q(percent__lt=100)),
            average=Avg("percent"),
        )
        .order_by("channel__code")
    ]
    for gap in gaps:
        gap["average"] = round(Decimal(gap["average"] or 0), 1)
        gap["url"] = _admin_url("catalog_product_changelist", complete=f"no:{gap['channel__code']}")
    waiting = Product.objects.filter(status=Product.Status.IN_REVIEW)
    summary = waiting.aggregate(count=Count("pk"), oldest=Min("updated_at"))
    latest: list[dict[str, Any]] = [
        {**row, "url": reverse("admin:catalog_product_change", args=[row["pk"]])}
        for row in waiting.order_by("updated_at", "pk").values("pk", "name", "updated_at")[
            :WAITING_LISTED
        ]
    ]
    return Section(
        key=CATALOG,
        title="Catalog",
        template="reports/dashboard/catalog.html",
        context={
            "gaps": gaps,
            "chart": Chart(
                id="chart-completeness-gaps",
                kind="bar",
                title="Incomplete products per channel",
                data={
                    "labels": [gap["channel__code"] for gap in gaps],
                    "datasets": [
                        {
                            "label": "Incomplete products",
                            "data": [gap["incomplete"] for gap in gaps],
                        }
                    ]
                    if gaps
                    else [],
                    "unit": "products",
                },
            ),
            "waiting": Link(
                label="Products waiting for approval",
                url=_admin_url("catalog_product_changelist", status__exact="in_review"),
                count=summary["count"],
            ),
            "waiting_oldest": summary["oldest"],
            "waiting_first": latest,
        },
    )


# --- inventory manager ----------------------------------------------------------------------------


def ledger_drift() -> dict[str, Any]:
    """Stock levels that differ from their ledger: counted now while the business is small,
    else the result of the last hourly drift check (``None`` when none ran yet)."""
    # "at most DRIFT_LIVE_MAX_LEVELS levels" without counting them all: no row past that many
    if not StockLevel.objects.order_by("pk")[DRIFT_LIVE_MAX_LEVELS:].exists():
        return {"levels": len(stock_drift_list()), "checked_at": timezone.now(), "live": True}
    last = cache.get(DRIFT_CACHE_KEY)
    if not last:
        return {"levels": None, "checked_at": None, "live": False}
    checked = datetime.fromtimestamp(float(last["at"]), tz=timezone.get_current_timezone())
    return {"levels": int(last["levels"]), "checked_at": checked, "live": False}


def _stock_section(filters: ReportFilters) -> Section:
    cover = selectors.stock_cover(filters)
    out_of_stock = selectors.out_of_stock_rate()
    aged = selectors.aged_stock(days=AGED_DAYS)
    in_transit = Transfer.objects.filter(
        status__in=[Transfer.Status.SHIPPED, Transfer.Status.PARTIALLY_RECEIVED]
    ).aggregate(
        count=Count("pk"),
        overdue=Count("pk", filter=Q(expected_at__lt=timezone.now())),
    )
    return Section(
        key=STOCK,
        title="Stock",
        template="reports/dashboard/stock.html",
        context={
            "cover": cover,
            "cover_chart": _bar_by_label(
                chart_id="chart-stock-cover",
                title="Stock cover (days)",
                table=cover,
                value_key=_column(cover, kind="days", key="cover_days"),
                unit="days",
                labels=("location", "store", "location_code"),
            ),
            "out_of_stock": out_of_stock,
            "out_of_stock_chart": _bar_by_label(
                chart_id="chart-out-of-stock",
                title="Out-of-stock rate (%)",
                table=out_of_stock,
                value_key=_column(out_of_stock, kind="percent", key="out_of_stock_rate"),
                unit="%",
                labels=("location", "store", "location_code"),
            ),
            "aged": aged,
            "aged_days": AGED_DAYS,
            "in_transit": Link(
                label="Transfers in transit",
                url=_admin_url("inventory_transfer_changelist", status__exact="shipped"),
                count=in_transit["count"],
            ),
            "in_transit_overdue": in_transit["overdue"],
            "drift": ledger_drift(),
            "drift_url": _admin_url("inventory_stocklevel_changelist", state="drift"),
        },
    )


# --- store manager --------------------------------------------------------------------------------


def store_ids_for(user: Any) -> tuple[int, ...]:
    """The stores whose figures the store section shows: the user's store memberships, every
    active store for a superuser."""
    if getattr(user, "is_superuser", False):
        stores = Location.objects.filter(is_active=True, kind=Location.Kind.STORE)
    else:
        stores = Location.objects.filter(
            is_active=True,
            pk__in=StaffMember.objects.filter(user_id=user.pk).values("location_id"),
        )
    return tuple(stores.order_by("code").values_list("pk", flat=True))


def _stores_section(filters: ReportFilters, *, user: Any) -> Section:
    location_ids = store_ids_for(user)
    context: dict[str, Any] = {"store_count": len(location_ids)}
    if location_ids:
        scoped = replace(filters, location_ids=location_ids, group_by="day")
        pickup = selectors.pickup_times(scoped, location_ids=location_ids)
        context.update(
            pickup=pickup,
            pickup_chart=Chart(
                id="chart-pickup-times",
                kind="bar",
                title="Click & collect: minutes from order to ready",
                data={
                    "labels": [str(row["store"]) for row in pickup.rows],
                    "datasets": [
                        {"label": label, "data": [_number(row[key]) for row in pickup.rows]}
                        for key, label in (("ready_p50", "p50"), ("ready_p90", "p90"))
                    ]
                    if pickup.rows
                    else [],
                    "unit": "min",
                },
            ),
            uncollected=selectors.uncollected_pickups(location_ids=location_ids),
            sales_chart=_series_chart(
                chart_id="chart-store-sales",
                kind="line",
                title="Store sales per day",
                series=selectors.time_series(scoped, measure="net"),
                unit="currency",
            ),
            returns=selectors.returns_taken_in_store(scoped, location_ids=location_ids),
        )
    return Section(
        key=STORES,
        title="Stores",
        template="reports/dashboard/stores.html",
        context=context,
    )


# --- customer service -----------------------------------------------------------------------------


def _service_section() -> Section:
    """Returns authorised and not yet received, and received returns not refunded yet. Two
    queries."""
    open_returns = Return.objects.filter(status=Return.Status.AUTHORIZED).aggregate(
        count=Count("pk"), oldest=Min("created_at")
    )
    refunded = Refund.objects.filter(return_request_id=OuterRef("pk"))
    waiting = (
        Return.objects.filter(status=Return.Status.RECEIVED)
        .exclude(Exists(refunded))
        .aggregate(count=Count("pk"), oldest=Min("received_at"))
    )
    return Section(
        key=SERVICE,
        title="Customer service",
        template="reports/dashboard/service.html",
        context={
            "open_returns": Link(
                label="Open returns (authorised, not received)",
                url=_admin_url("orders_return_changelist", status__exact="authorized"),
                count=open_returns["count"],
            ),
            "open_oldest": open_returns["oldest"],
            "refunds_waiting": Link(
                label="Refunds waiting (received, not refunded)",
                url=_admin_url("orders_return_changelist", status__exact="received"),
                count=waiting["count"],
            ),
            "refunds_oldest": waiting["oldest"],
        },
    )


# --- operator -------------------------------------------------------------------------------------


def _channel_ops_section() -> Section:
    """Per channel: deliveries waiting and the age of the oldest (the sync lag), failures in the
    last hour and dead deliveries, with links; and the outbox events not relayed yet."""
    now = timezone.now()
    events = ChangeEvent.objects.filter(relayed_at__isnull=True).aggregate(
        count=Count("pk"), oldest=Min("created_at")
    )
    channels: list[dict[str, Any]] = []
    for channel in channel_sync_overview():
        channels.append(
            {
                "code": channel.code,
                "name": channel.name,
                # annotations of channel_sync_overview
                "backlog": int(getattr(channel, "sync_backlog", 0) or 0),
                "oldest_pending": getattr(channel, "sync_oldest_pending", None),
                "lag_minutes": _age_minutes(getattr(channel, "sync_oldest_pending", None), now),
                "failures": int(getattr(channel, "sync_failures", 0) or 0),
                "dead": int(getattr(channel, "sync_dead", 0) or 0),
                "pending_url": _admin_url(
                    "channels_delivery_changelist",
                    state__exact="pending",
                    channel__id__exact=channel.pk,
                ),
                "dead_url": _admin_url(
                    "channels_delivery_changelist",
                    state__exact="dead",
                    channel__id__exact=channel.pk,
                ),
            }
        )
    channels.sort(key=lambda row: row["code"])
    return Section(
        key=CHANNEL_OPS,
        title="Channel operations",
        template="reports/dashboard/channel_ops.html",
        context={
            "channels": channels,
            "dead_total": sum(row["dead"] for row in channels),
            "dead_url": _admin_url("channels_delivery_changelist", state__exact="dead"),
            "lag_chart": Chart(
                id="chart-sync-lag",
                kind="bar",
                title="Sync lag: oldest pending delivery (minutes)",
                data={
                    "labels": [row["code"] for row in channels],
                    "datasets": [
                        {
                            "label": "Minutes",
                            "data": [row["lag_minutes"] for row in channels],
                        }
                    ]
                    if channels
                    else [],
                    "unit": "min",
                },
            ),
            "events_pending": events["count"],
            "events_lag_minutes": _age_minutes(events["oldest"], now),
            "events_url": _admin_url("core_changeevent_changelist", relayed_at__isnull="True"),
        },
    )
