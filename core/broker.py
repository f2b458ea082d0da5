"""Enqueue a task after a commit without ever failing the request that committed.

The data a kick is about is already in the database (an outbox: change events, pending
notifications), and a periodic task sweeps what was not kicked. So a kick only hurries the worker:
when the broker is down it fails in milliseconds (no connection retries), logs a warning and
returns. Each process keeps its own small pool of broker connections for kicks, made on first use
(after a fork), so a kick costs a publish, not a new connection and its queue declaration.
"""

from __future__ import annotations

from typing import Any

import structlog

log = structlog.get_logger(__name__)

_pool: Any = None


def _connections() -> Any:
    global _pool
    if _pool is None:
        from celery import current_app as app

        _pool = app.connection_for_write(transport_options={"max_retries": 0}).Pool(
            limit=app.conf.broker_pool_limit or 10
        )
    return _pool


def task_kick(task: Any, *args: Any) -> bool:
    """Enqueue ``task(*args)``; with eager Celery (development, tests) run it now. Returns
    whether it was handed over; a broker error is logged (``broker.kick_failed``), never raised."""
    global _pool
    from celery import current_app as app

    if app.conf.task_always_eager:
        task.delay(*args)
        return True
    pool = _connections()
    try:
        with pool.acquire(block=True, timeout=1) as conn:
            task.apply_async(args, retry=False, connection=conn)
    except Exception as error:  # the broker is down: the periodic sweep picks the work up
        log.warning("broker.kick_failed", task=task.name, error=f"{type(error).__name__}: {error}")
        _pool = None  # start again with new connections next time
        pool.force_close_all()
        return False
    return True
