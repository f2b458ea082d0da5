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
# The request id middleware logs failures as structured events; a per-request access line on
# top costs a write per request (measured in docs/operations.md). Set GUNICORN_ACCESS_LOG=- to
# get one on stdout.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
