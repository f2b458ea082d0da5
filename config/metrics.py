"""``/metrics``: Prometheus exposition of the request, task and order counters (``core.metrics``)
and of gauges read at scrape time (queue depths, outbox backlog, channel sync lag, stock drift).

* :class:`MetricsMiddleware` (first in ``MIDDLEWARE``) times every request and counts its
  database queries, labelled by the matched URL pattern, never the raw path.
* :class:`OperationsCollector` reads the gauges only when scraped, so they cost a request nothing:
  ``LLEN`` of each Celery queue on a Redis broker, the undelivered change events, the pending
  deliveries per channel and the last stock drift check.
* :func:`metrics_setup` (``config.apps`` at start-up, in web and worker processes) counts Celery
  task outcomes from Celery's signals and, when ``OTEL_ENABLED``, starts OpenTelemetry tracing.
* :func:`metrics_view` answers an ``Authorization: Bearer <METRICS_TOKEN>`` or a staff session
  with ``core.view_metrics``; anyone else gets 401 (no credentials) or 403 (no permission).

Domain modules are imported inside the functions: ``config.apps`` imports this module before the
models are needed, and a scrape is the only caller of the reads.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterator
from typing import Any

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from core.metrics import (
    celery_tasks,
    http_request_db_queries,
    http_request_duration,
    http_requests,
    scrape_registry,
)

log = structlog.get_logger("omnihub.metrics")

METRICS_PERMISSION = "core.view_metrics"
UNMATCHED_ROUTE = "<unmatched>"  # no URL pattern: 404s, static files, middleware answers
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

STOCK_DRIFT_TASK = "inventory.stock_drift_check"
STOCK_DRIFT_CACHE_KEY = "metrics:stock-drift"
# kombu's Redis transport keeps a queue's messages of priority p > 0 in "<queue>\x06\x16<p>"
_REDIS_PRIORITY_SEPARATOR = "\x06\x16"
_REDIS_PRIORITY_STEPS = (3, 6, 9)


# --- per request ------------------------------------------------------------------------------


class _QueryCounter:
    """A ``connection.execute_wrapper`` that only counts."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


class MetricsMiddleware:
    """Count, time and count the queries of every request, by URL pattern, method and status.

    The labelled children are looked up once per (pattern, method, status) and kept, so a request
    costs two clock reads, one wrapper per query and three observations."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._children: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        queries = _QueryCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(queries):
            response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = request.resolver_match
        route = (match.route or "/") if match is not None else UNMATCHED_ROUTE
        method = request.method if request.method in _METHODS else "other"
        key = (route, method or "other", response.status_code)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                http_requests.labels(route=key[0], method=key[1], status=str(key[2])),
                http_request_duration.labels(route=key[0], method=key[1]),
                http_request_db_queries.labels(route=key[0]),
            )
        children[0].inc()
        children[1].observe(elapsed)
        children[2].observe(queries.count)
        return response


# --- at scrape time ---------------------------------------------------------------------------


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _celery_queue_depths() -> Iterator[Metric]:
    """``LLEN`` of every configured queue on a Redis broker (one round trip); nothing otherwise."""
    from kombu import Queue

    url = str(getattr(settings, "CELERY_BROKER_URL", "") or "")
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return
    prefix = str(
        (getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}).get(
            "global_keyprefix", ""
        )
    )
    queues: list[Queue] = list(getattr(settings, "CELERY_TASK_QUEUES", None) or [])
    names = [queue.name for queue in queues] or [settings.CELERY_TASK_DEFAULT_QUEUE]
    pipe = _broker_client(url).pipeline(transaction=False)
    for name in names:
        pipe.llen(f"{prefix}{name}")
        for step in _REDIS_PRIORITY_STEPS:
            pipe.llen(f"{prefix}{name}{_REDIS_PRIORITY_SEPARATOR}{step}")
    lengths = pipe.execute()
    family = GaugeMetricFamily(
        "omnihub_celery_queue_depth",
        "Messages waiting in each Celery queue on the broker.",
        labels=["queue"],
    )
    per_queue = 1 + len(_REDIS_PRIORITY_STEPS)
    for i, name in enumerate(names):
        family.add_metric([name], float(sum(lengths[i * per_queue : (i + 1) * per_queue])))
    yield family


_broker_clients: dict[str, Any] = {}


def _broker_client(url: str) -> Any:
    """One small Redis client per broker URL and process, with short timeouts: a broker that is
    down costs the scrape a fraction of a second and shows as ``omnihub_metrics_source_up`` 0."""
    client = _broker_clients.get(url)
    if client is None:
        import redis

        client = _broker_clients[url] = redis.Redis.from_url(
            url, socket_connect_timeout=0.25, socket_timeout=0.5
        )
    return client


def _outbox_backlog() -> Iterator[Metric]:
    from django.db.models import Count, Min

    from core.outbox.selectors import event_list

    pending = event_list(pending_only=True).order_by()
    row = pending.aggregate(n=Count("pk"), oldest=Min("created_at"))
    yield _gauge(
        "omnihub_outbox_backlog",
        "Change events committed and not yet relayed to the channels.",
        float(row["n"]),
    )
    yield _gauge(
        "omnihub_outbox_oldest_seconds",
        "Age of the oldest change event not yet relayed (0 when none).",
        _age(row["oldest"]),
    )


def _channel_sync() -> Iterator[Metric]:
    """Pending deliveries per channel and the age of the oldest (every channel, 0 when none)."""
    from django.db.models import Count, Min

    from channels.models import Delivery
    from channels.selectors import delivery_list
    from core.models import Channel

    pending = {
        row["channel__code"]: row
        for row in delivery_list()
        .filter(state=Delivery.State.PENDING, channel__isnull=False)
        .order_by()
        .values("channel__code")
        .annotate(n=Count("pk"), oldest=Min("created_at"))
    }
    backlog = GaugeMetricFamily(
        "omnihub_channel_sync_backlog",
        "Deliveries waiting to be pushed to each channel.",
        labels=["channel"],
    )
    lag = GaugeMetricFamily(
        "omnihub_channel_sync_lag_seconds",
        "Age of each channel's oldest pending delivery: how far the channel is behind (0 when "
        "nothing waits).",
        labels=["channel"],
    )
    for code in Channel.objects.order_by("code").values_list("code", flat=True):
        row = pending.get(code)
        backlog.add_metric([code], float(row["n"]) if row else 0.0)
        lag.add_metric([code], _age(row["oldest"]) if row else 0.0)
    yield backlog
    yield lag


def stock_drift_record(levels: int) -> None:
    """Keep the result of the last stock drift check where every web process can read it."""
    cache.set(STOCK_DRIFT_CACHE_KEY, {"levels": levels, "at": time.time()}, timeout=None)


def _stock_drift() -> Iterator[Metric]:
    last = cache.get(STOCK_DRIFT_CACHE_KEY)
    if not last:
        return
    yield _gauge(
        "omnihub_stock_drift_levels",
        "Stock levels whose counters differed from their ledger at the last drift check.",
        float(last["levels"]),
    )
    yield _gauge(
        "omnihub_stock_drift_checked_timestamp_seconds",
        "When the last stock drift check finished (Unix time).",
        float(last["at"]),
    )


def _age(oldest: Any) -> float:
    from django.utils import timezone

    return round((timezone.now() - oldest).total_seconds(), 1) if oldest else 0.0


SOURCES: dict[str, Callable[[], Iterator[Metric]]] = {
    "celery_queues": _celery_queue_depths,
    "outbox": _outbox_backlog,
    "channel_sync": _channel_sync,
    "stock_drift": _stock_drift,
}


class OperationsCollector(Collector):
    """The scrape-time gauges. A source that fails (the broker is down) is left out of the scrape
    and reported as ``omnihub_metrics_source_up{source=...} 0``; the others are still served."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "omnihub_metrics_source_up",
            "Whether each scrape-time source could be read (1) or failed (0).",
            labels=["source"],
        )
        for name, source in SOURCES.items():
            try:
                families = list(source())
            except Exception as error:
                log.warning("metrics.source_failed", source=name, error=f"{type(error).__name__}")
                up.add_metric([name], 0.0)
                continue
            up.add_metric([name], 1.0)
            yield from families
        yield up


_operations = CollectorRegistry(auto_describe=False)
_operations.register(OperationsCollector())


def metrics_exposition() -> bytes:
    """Every process's counters and histograms, then the scrape-time gauges."""
    return generate_latest(scrape_registry()) + generate_latest(_operations)


# --- the view ---------------------------------------------------------------------------------


def _unauthorized(error: str = "") -> HttpResponse:
    response = HttpResponse(
        "Authentication required: a bearer token or a staff session.\n",
        status=401,
        content_type="text/plain; charset=utf-8",
    )
    challenge = 'Bearer realm="metrics"'
    response["WWW-Authenticate"] = f'{challenge}, error="{error}"' if error else challenge
    return response


def _access_refused(request: HttpRequest) -> HttpResponse | None:
    """None when the caller may read the metrics, else the 401 or 403 to answer."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        token = str(getattr(settings, "METRICS_TOKEN", "") or "")
        given = header[7:].strip()
        if token and hmac.compare_digest(given.encode(), token.encode()):
            return None
        return _unauthorized("invalid_token")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return _unauthorized()
    if user.is_active and user.is_staff and user.has_perm(METRICS_PERMISSION):
        return None
    return HttpResponse(
        f"Forbidden: needs the {METRICS_PERMISSION} permission.\n",
        status=403,
        content_type="text/plain; charset=utf-8",
    )


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    refused = _access_refused(request)
    if refused is not None:
        return refused
    return HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE_LATEST)


# --- Celery task outcomes and tracing, connected at start-up ------------------------------------


def _task_name(sender: Any) -> str:
    return str(getattr(sender, "name", None) or "unknown")


def _task_succeeded(sender: Any = None, result: Any = None, **_: Any) -> None:
    name = _task_name(sender)
    celery_tasks.labels(task=name, outcome="success").inc()
    if name == STOCK_DRIFT_TASK and isinstance(result, int):
        stock_drift_record(result)


def _task_failed(sender: Any = None, **_: Any) -> None:
    celery_tasks.labels(task=_task_name(sender), outcome="failure").inc()


def _task_retried(sender: Any = None, **_: Any) -> None:
    celery_tasks.labels(task=_task_name(sender), outcome="retry").inc()


_tracing_warned = False


def tracing_setup() -> bool:
    """With ``OTEL_ENABLED``, start OpenTelemetry's auto-instrumentation (every installed
    instrumentation package: Django, psycopg, Celery, ...; exporter and sampling from the
    standard ``OTEL_*`` variables). Off by default; without the packages a warning, once."""
    global _tracing_warned
    if not getattr(settings, "OTEL_ENABLED", False):
        return False
    try:
        from opentelemetry.instrumentation.auto_instrumentation import (  # type: ignore[import-not-found]
            initialize,
        )
    except ImportError:
        if not _tracing_warned:
            _tracing_warned = True
            log.warning(
                "otel.not_installed",
                hint="OTEL_ENABLED is set but OpenTelemetry is not installed: see "
                "docs/operations.md (Metrics). Tracing stays off.",
            )
        return False
    initialize()
    return True


def metrics_setup() -> None:
    """Count task outcomes in this process (idempotent) and start tracing when enabled."""
    from celery.signals import task_failure, task_retry, task_success

    task_success.connect(_task_succeeded, weak=False, dispatch_uid="omnihub.metrics.success")
    task_failure.connect(_task_failed, weak=False, dispatch_uid="omnihub.metrics.failure")
    task_retry.connect(_task_retried, weak=False, dispatch_uid="omnihub.metrics.retry")
    tracing_setup()
