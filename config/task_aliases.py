"""Old Celery task names, kept for one release so that messages sent before the rename still run.

Task names became ``<app>.<verb phrase>`` (``channels.tasks.relay`` is now ``channels.relay``). A
message published under an old name (waiting in a queue, retried with a countdown, sent by a beat
or web process still on the previous release) must still find its task in an upgraded worker, so
each old name is registered as a subclass of the new task's class that changes only the name:
the same code, the same options (``ignore_result``, retries, time limits). The old names route to
the queue they always went to (``CELERY_TASK_ROUTES``); ``tests/test_task_names.py`` checks both.

Delete in the next release: this module, its hook in ``config/celery.py``, the old-name route in
``CELERY_TASK_ROUTES``, its layer in pyproject's import-linter contract and the alias tests.
"""

from __future__ import annotations

from celery import Celery

# old name -> new name: the one list of aliases. Delete in the next release.
TASK_ALIASES: dict[str, str] = {
    "channels.tasks.relay": "channels.relay",
    "channels.tasks.push_channel": "channels.push_channel",
    "channels.tasks.push_subscription": "channels.push_subscription",
    "channels.tasks.dispatch": "channels.dispatch",
    "channels.tasks.reconcile": "channels.reconcile",
    "channels.tasks.feed_refresh": "channels.feed_refresh",
    "channels.tasks.feeds_refresh": "channels.feeds_refresh",
    "channels.tasks.noop": "channels.noop",
    "catalog.tasks.import_products": "catalog.import_products",
    "config.tasks.worker_heartbeat": "config.worker_heartbeat",
    "config.tasks.diagnostics_echo": "config.diagnostics_echo",
    # its name before the API platform moved from config/api to core/api
    "config.api.tasks.idempotency_keys_purge": "core.idempotency_keys_purge",
}


def task_aliases_register(app: Celery) -> None:
    """Register every old name as the new task under that name.

    The new tasks must be registered already: call it once the task modules are imported (after
    autodiscovery). Safe to call again. A task run under its old name enqueues its follow-ups
    under the new names (its code refers to the new task objects).
    """
    for old, new in TASK_ALIASES.items():
        if old in app.tasks:
            continue
        # the new task's class, renamed: same code and options; it shares the new task's request
        # stack, so code reading the new task's ``request`` sees the alias's message
        new_task_class: type = type(app.tasks[new])
        alias_class = type(new_task_class.__name__, (new_task_class,), {"name": old})
        app.register_task(alias_class())
