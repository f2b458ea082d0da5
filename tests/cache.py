"""Emptying the cache between and inside tests without touching other processes' keys."""

from __future__ import annotations


def cache_clear() -> None:
    """Delete this test process's cache entries.

    On Redis only the keys under this process's prefix go (``config.settings.test`` gives each
    pytest-xdist worker its own): ``cache.clear()`` would flush the whole database, with the
    broker's queues and the keys of the other test processes, whose cached lookups then vanish
    mid-test (a query count that depends on a cached API key then comes out higher).
    """
    from django.conf import settings
    from django.core.cache import cache

    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
        prefix = settings.CACHES["default"]["KEY_PREFIX"]
        for key in client.scan_iter(match=f"{prefix}:*", count=500):
            client.delete(key)
    else:
        cache.clear()
