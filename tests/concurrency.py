"""Real concurrency for race tests on PostgreSQL: every attempt on its own thread and connection."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connections


def run_concurrently(attempts: list[Callable[[], Any]], workers: int) -> list[Any]:
    """Start every attempt at the same moment on its own connection; return result or exception."""
    barrier = threading.Barrier(min(workers, len(attempts)))

    def run(attempt: Callable[[], Any]) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=10)
        try:
            return attempt()
        except Exception as exc:  # the outcome under test
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, attempts))
