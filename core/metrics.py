"""Prometheus instruments shared by every process: web requests, Celery task outcomes, orders.

Every metric the processes count is declared here, once, so any app can count without importing
the app that exports them (``config.metrics`` serves ``/metrics`` and computes the scrape-time
gauges). Names start with ``omnihub_``; label values are bounded (URL patterns, not paths; task
names; channel codes).

Several processes (gunicorn workers, Celery pool processes): with ``PROMETHEUS_MULTIPROC_DIR`` set
in the environment *before* the process starts, prometheus_client writes each process's values to
files in that directory and :func:`scrape_registry` adds them up at scrape time. Without it each
process keeps its own values (one process: ``runserver``, tests).
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client import multiprocess as _multiprocess

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Requests: one sample per request, labelled by the matched URL pattern (``route``).
http_requests = Counter(
    "omnihub_http_requests",
    "HTTP requests answered, by URL pattern, method and status code.",
    ["route", "method", "status"],
)
http_request_duration = Histogram(
    "omnihub_http_request_duration_seconds",
    "Time from the first middleware to the response, by URL pattern and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
http_request_db_queries = Histogram(
    "omnihub_http_request_db_queries",
    "Database queries run by one request, by URL pattern.",
    ["route"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144),
)

# Celery: counted in the process that runs the task (a worker; the web process when eager).
celery_tasks = Counter(
    "omnihub_celery_tasks",
    "Celery tasks finished, by task name and outcome (success, failure, retry).",
    ["task", "outcome"],
)

# Orders: counted after the placing transaction commits, in whichever process placed them.
orders_placed = Counter(
    "omnihub_orders_placed",
    "Orders placed, by sales channel code.",
    ["channel"],
)


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIR_ENV))


def scrape_registry() -> CollectorRegistry:
    """The registry to expose: every process's files in multiprocess mode (read at each scrape,
    as prometheus_client requires), else this process's default registry."""
    if not multiprocess_enabled():
        return REGISTRY
    registry = CollectorRegistry()
    _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def process_dead(pid: int) -> None:
    """Tell the multiprocess files that ``pid`` exited (gunicorn's ``child_exit`` hook)."""
    if multiprocess_enabled():
        _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
