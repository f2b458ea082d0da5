"""gunicorn settings for production: ``gunicorn -c config/gunicorn.conf.py config.wsgi``.

The figures behind each choice are in docs/operations.md ("Web server"); every value can be
overridden from the environment without editing this file.

* ``workers``: 2 per core by default. The API is mostly waiting on PostgreSQL and Redis, so a
  second process per core keeps the core busy; more only adds memory and lock contention.
* ``threads``: 1 (sync workers). Threads inside a worker share its GIL; with the request mostly
  in Python (DRF, the ORM) they measured no better than more processes, and a thread per
  connection needs ``CONN_MAX_AGE`` connections per thread.
* ``preload_app``: on. Django and every app are imported once in the master and shared
  copy-on-write by the workers (less memory per worker, faster restarts). Database and Redis
  connections are opened lazily, per worker, after the fork.
* request limits: gunicorn refuses, with its own small HTML page (before Django, so it cannot be
  problem+json), a request line over ``limit_request_line`` bytes (414), more than
  ``limit_request_fields`` headers or a header over ``limit_request_field_size`` bytes (400). The
  line limit is gunicorn's maximum, 8190, so that the longest valid API URL (``sku=`` with 100
  SKUs of 64 characters, about 6,600 bytes) fits; bodies are limited by Django
  (``DATA_UPLOAD_MAX_MEMORY_SIZE``, answered 413 problem+json).
* ``max_requests`` with jitter: each worker is replaced after about 10,000 requests (plus up to
  1,000 at random, so they do not all restart at once), which bounds any slow growth of memory.
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = _int("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count())
threads = _int("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() in ("1", "true", "yes")
max_requests = _int("GUNICORN_MAX_REQUESTS", 10_000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 1_000)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
limit_request_line = _int("GUNICORN_LIMIT_REQUEST_LINE", 8190)
limit_request_fields = _int("GUNICORN_LIMIT_REQUEST_FIELDS", 100)
limit_request_field_size = _int("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", 8190)
# The request id middleware logs failures as structured events; a per-request access line on
# top costs a write per request (measured in docs/operations.md). Set GUNICORN_ACCESS_LOG=- to
# get one on stdout.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")


def child_exit(server: object, worker: object) -> None:
    """With ``PROMETHEUS_MULTIPROC_DIR`` set (several workers share /metrics): a worker that
    exits stops counting in the live figures (docs/operations.md, "Metrics")."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
