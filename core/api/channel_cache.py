"""Channel configuration (the channel row with the locations it sells from) from the shared cache.

Every API read that names a channel (availability, products, variants, POS) starts by loading the
channel and its locations; that is two queries for data that changes a few times a year. Here the
loaded channel is kept in Django's default cache (Redis in production, so shared by every process)
under ``channel-config:v<FORMAT>:<code>`` for ``CHANNEL_CONFIG_CACHE_SECONDS`` (60 s by default):
one cache read a request.

Whenever a channel, a location or a channel's location link is saved or deleted, every channel's
entry is deleted (at once and again after the commit, with a renamed channel's old code), so
every process sees the change on its next request: renames, deactivations and new locations
included.
A write that bypasses model signals (``QuerySet.update()``, ``bulk_create``) is seen within the
TTL. When the cache is unreachable the channel is read from the database; nothing is kept in
process memory.

The models of the layer above (``inventory.Location``, ``inventory.ChannelLocation``) are named by
their label only, so this module imports nothing above ``core``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save

from core.models import Channel

logger = logging.getLogger("omnihub.api.channel_cache")

FORMAT = 1
_KEY = f"channel-config:v{FORMAT}:%s"


def ttl_seconds() -> int:
    return int(getattr(settings, "CHANNEL_CONFIG_CACHE_SECONDS", 60))


def channel_config_get(code: str, load: Callable[[], Channel | None]) -> Channel | None:
    """The channel ``code`` as ``load()`` returns it, from the shared cache when it is there.

    ``load`` must return the same thing whoever calls (no per-caller filtering): visibility is
    the caller's check. ``None`` (no such active channel) is not cached.
    """
    key = _KEY % code
    try:
        channel = cache.get(key)
    except Exception:
        logger.warning("channel cache unreachable on read", exc_info=True)
        return load()
    if isinstance(channel, Channel):
        return channel
    channel = load()
    if channel is not None:
        try:
            cache.set(key, channel, ttl_seconds())
        except Exception:
            logger.warning("channel cache unreachable on write", exc_info=True)
    return channel


def _delete(keys: list[str]) -> None:
    try:
        cache.delete_many(keys)
    except Exception:
        # With the cache down nobody reads it; entries written before the outage expire after
        # ttl_seconds().
        logger.warning("channel cache unreachable on invalidation", exc_info=True)


def channel_config_invalidate(extra_codes: Iterable[str] = ()) -> None:
    """Every cached channel configuration is out of date: drop them now and after the commit.

    One query (the channel codes); ``extra_codes`` adds codes no longer in the table (a
    renamed or deleted channel's old code).
    """
    codes = set(Channel.objects.values_list("code", flat=True)) | set(extra_codes)
    keys = [_KEY % code for code in sorted(codes)]
    if keys:
        _delete(keys)
        transaction.on_commit(lambda: _delete(keys))


def _on_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    old_code = getattr(instance, "_channel_cache_old_code", None)
    extra = [instance.code] if isinstance(instance, Channel) else []
    channel_config_invalidate([*extra, *([old_code] if old_code else [])])


def _remember_old_code(sender: Any, instance: Channel, **kwargs: Any) -> None:
    """Before a channel is saved: its code as stored, in case this save renames it."""
    if instance.pk is not None:
        instance._channel_cache_old_code = (  # type: ignore[attr-defined]
            Channel.objects.filter(pk=instance.pk).values_list("code", flat=True).first()
        )


def connect_signals() -> None:
    """Called from ``CoreConfig.ready()``."""
    uid = "core.api.channel_cache"
    pre_save.connect(_remember_old_code, sender=Channel, dispatch_uid=f"{uid}.pre_save")
    for sender in (Channel, "inventory.Location", "inventory.ChannelLocation"):
        name = sender if isinstance(sender, str) else "core.Channel"
        post_save.connect(_on_change, sender=sender, weak=False, dispatch_uid=f"{uid}.save.{name}")
        post_delete.connect(
            _on_change, sender=sender, weak=False, dispatch_uid=f"{uid}.delete.{name}"
        )
