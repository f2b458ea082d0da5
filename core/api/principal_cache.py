"""The API principal from a cache shared by every process (Redis in production).

What an API key stands for (its partner, scopes, channels, expiry, revocation) is read from the
database once and then kept in Django's default cache under a versioned key,
``api-principal:v<FORMAT>:<prefix>``, for at most ``API_PRINCIPAL_CACHE_SECONDS`` (60 s by
default). The secret is still checked against the stored hash on every request, and expiry is
checked against the clock on every request, so neither depends on the cache.

Staleness is bounded two ways:

* every write that changes what a key may do (the key saved or deleted, its channels, its
  partner's activity or channels, a channel renamed, deactivated or deleted) deletes the affected
  entries at once and again when the transaction commits, so a key revoked through the admin, the
  service or any ``save()`` stops working on the next request in every process;
* a change that bypasses model signals (``QuerySet.update()``, raw SQL) is picked up when the
  entry expires: at most ``API_PRINCIPAL_CACHE_SECONDS`` later.

When the cache cannot be reached the principal is read from the database (slower, never from a
stale copy held by the process); nothing is kept in process memory.

Staff sessions on the API load their user through ``CachedUserBackend`` below: the user row,
with its permissions loaded (the staff session's API scopes derive from them), is cached under
``api-staff-user:v<FORMAT>:<id>`` and dropped when the user, their groups or their permissions
(or a group's permissions) change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

from core.models import Channel, Partner, PartnerAPIKey

logger = logging.getLogger("omnihub.api.principal")

# Bump when the cached value's shape changes, so a deploy never reads entries written by the
# previous release's code.
FORMAT = 1
_KEY = f"api-principal:v{FORMAT}:%s"
_STAFF_KEY = f"api-staff-user:v{FORMAT}:%s"


def ttl_seconds() -> int:
    return int(getattr(settings, "API_PRINCIPAL_CACHE_SECONDS", 60))


@dataclass(frozen=True)
class KeyEntry:
    """What the cache holds for one key: the key row (with its partner attached, no prefetches)
    and the channel codes it may act for, already narrowed to the partner's."""

    api_key: PartnerAPIKey
    channel_codes: frozenset[str]


def cache_key(prefix: str) -> str:
    return _KEY % prefix


def _cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception:  # the cache is down: the caller reads the database instead
        logger.warning("principal cache unreachable on read", exc_info=True)
        return None


def _cache_set(key: str, value: Any) -> None:
    try:
        cache.set(key, value, ttl_seconds())
    except Exception:
        logger.warning("principal cache unreachable on write", exc_info=True)


def _cache_delete_many(keys: list[str]) -> None:
    if not keys:
        return
    try:
        cache.delete_many(keys)
    except Exception:
        # Nothing else to do: with the cache down nobody reads it either, and an entry that
        # survives the outage expires after ttl_seconds().
        logger.warning("principal cache unreachable on invalidation", exc_info=True)


def key_entry_load(prefix: str) -> KeyEntry | None:
    """The key with this prefix from the database (two queries), or ``None``."""
    api_key = (
        PartnerAPIKey.objects.select_related("partner")
        .prefetch_related("channels", "partner__channels")
        .filter(prefix=prefix)
        .first()
    )
    if api_key is None:
        return None
    partner_channels = {channel.code for channel in api_key.partner.channels.all()}
    key_channels = {channel.code for channel in api_key.channels.all()}
    allowed = partner_channels & key_channels if key_channels else partner_channels
    # Keep the cached value small and free of querysets: the channels are in channel_codes.
    api_key._prefetched_objects_cache = {}  # type: ignore[attr-defined]
    api_key.partner._prefetched_objects_cache = {}  # type: ignore[attr-defined]
    return KeyEntry(api_key=api_key, channel_codes=frozenset(allowed))


def key_entry_get(prefix: str) -> KeyEntry | None:
    """The key with this prefix: from the shared cache, else from the database (then cached).

    Unknown prefixes are not cached, so a key created a moment ago works at once.
    """
    key = cache_key(prefix)
    entry = _cache_get(key)
    if isinstance(entry, KeyEntry):
        return entry
    entry = key_entry_load(prefix)
    if entry is not None:
        _cache_set(key, entry)
    return entry


# --- invalidation ---------------------------------------------------------------------------------


def principal_cache_invalidate(prefixes: Iterable[str]) -> None:
    """Drop the cached entries of these keys now and again once the transaction commits (so a
    request that read the old row just before the commit cannot leave it cached)."""
    keys = [cache_key(prefix) for prefix in set(prefixes) if prefix]
    if not keys:
        return
    _cache_delete_many(keys)
    transaction.on_commit(lambda: _cache_delete_many(keys))


def _prefixes_of_partners(partner_ids: Iterable[Any]) -> list[str]:
    return list(
        PartnerAPIKey.objects.filter(partner_id__in=list(partner_ids)).values_list(
            "prefix", flat=True
        )
    )


def _on_key_saved(sender: Any, instance: PartnerAPIKey, **kwargs: Any) -> None:
    principal_cache_invalidate([instance.prefix])


def _on_key_channels_changed(sender: Any, instance: Any, action: str, **kwargs: Any) -> None:
    if not action.startswith("post_"):
        return
    if isinstance(instance, PartnerAPIKey):
        principal_cache_invalidate([instance.prefix])
    else:  # a channel's keys changed from the channel's side
        principal_cache_invalidate(
            PartnerAPIKey.objects.filter(pk__in=kwargs.get("pk_set") or ()).values_list(
                "prefix", flat=True
            )
        )


def _on_partner_saved(sender: Any, instance: Partner, **kwargs: Any) -> None:
    principal_cache_invalidate(_prefixes_of_partners([instance.pk]))


def _on_partner_channels_changed(sender: Any, instance: Any, action: str, **kwargs: Any) -> None:
    if not action.startswith("post_"):
        return
    if isinstance(instance, Partner):
        partner_ids: Iterable[Any] = [instance.pk]
    else:  # channel.partners.add(...): pk_set holds partners (None on clear: all of them)
        pk_set = kwargs.get("pk_set")
        partner_ids = (
            pk_set
            if pk_set is not None
            else Partner.objects.filter(channels=instance).values_list("pk", flat=True)
        )
    principal_cache_invalidate(_prefixes_of_partners(partner_ids))


def _on_channel_changed(sender: Any, instance: Channel, **kwargs: Any) -> None:
    # The channel's code or activity may have changed: every key of every partner selling on it.
    # pre_delete, because once the channel is gone its partner links are gone too.
    principal_cache_invalidate(
        _prefixes_of_partners(
            Partner.objects.filter(channels=instance).values_list("pk", flat=True)
        )
    )


# --- staff users ----------------------------------------------------------------------------------


def staff_cache_key(user_id: Any) -> str:
    return _STAFF_KEY % user_id


def staff_cache_invalidate(user_ids: Iterable[Any]) -> None:
    keys = [staff_cache_key(pk) for pk in set(user_ids)]
    if not keys:
        return
    _cache_delete_many(keys)
    transaction.on_commit(lambda: _cache_delete_many(keys))


class CachedUserBackend(ModelBackend):
    """Django's model backend, with the user row of a session read from the shared cache.

    Only ``get_user`` (the per-request lookup from a session) is cached; logging in and
    permission checks are Django's own. The row is cached with the user's permissions already
    loaded (Django's per-user permission cache), so the API scopes of a staff session
    (``ApiPrincipal.for_staff``) cost no query. The cached row is dropped when the user is saved
    or deleted, or when their groups or permissions, or a group's permissions, change.
    """

    def get_user(self, user_id: Any) -> Any:
        key = staff_cache_key(user_id)
        user = _cache_get(key)
        if user is None:
            user = super().get_user(user_id)
            if user is not None:
                self.get_all_permissions(user)  # fills the permission cache the row carries
                _cache_set(key, user)
            return user
        return user if self.user_can_authenticate(user) else None


def _on_user_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    staff_cache_invalidate([instance.pk])


def _on_user_m2m_changed(sender: Any, instance: Any, action: str, **kwargs: Any) -> None:
    """``user.groups`` / ``user.user_permissions`` changed, from either side."""
    if not (action.startswith("post_") or action == "pre_clear"):
        return
    user_model = get_user_model()
    if isinstance(instance, user_model):
        staff_cache_invalidate([instance.pk])
    elif action == "pre_clear":  # group.user_set.clear(): no pk_set, so ask before it happens
        field = "groups" if sender is user_model.groups.through else "user_permissions"  # type: ignore[attr-defined]
        staff_cache_invalidate(
            user_model.objects.filter(**{field: instance}).values_list("pk", flat=True)
        )
    elif action != "post_clear":
        staff_cache_invalidate(kwargs.get("pk_set") or ())


def _on_group_permissions_changed(sender: Any, instance: Any, action: str, **kwargs: Any) -> None:
    """A group gained or lost permissions: every member's cached row goes."""
    from django.contrib.auth.models import Group

    if not (action.startswith("post_") or action == "pre_clear"):
        return
    user_model = get_user_model()
    if isinstance(instance, Group):
        groups: Iterable[Any] = [instance.pk]
    else:  # permission.group_set.add(...)
        groups = kwargs.get("pk_set") or Group.objects.filter(permissions=instance).values_list(
            "pk", flat=True
        )
    staff_cache_invalidate(
        user_model.objects.filter(groups__in=list(groups)).values_list("pk", flat=True)
    )


def _on_group_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    staff_cache_invalidate(instance.user_set.values_list("pk", flat=True))


def connect_signals() -> None:
    """Called from ``CoreConfig.ready()``: every process that can write invalidates."""
    from django.contrib.auth.models import Group

    user_model = get_user_model()
    uid = "core.api.principal_cache"
    post_save.connect(_on_key_saved, sender=PartnerAPIKey, dispatch_uid=f"{uid}.key_saved")
    post_delete.connect(_on_key_saved, sender=PartnerAPIKey, dispatch_uid=f"{uid}.key_deleted")
    m2m_changed.connect(
        _on_key_channels_changed,
        sender=PartnerAPIKey.channels.through,
        dispatch_uid=f"{uid}.key_channels",
    )
    post_save.connect(_on_partner_saved, sender=Partner, dispatch_uid=f"{uid}.partner_saved")
    pre_delete.connect(_on_partner_saved, sender=Partner, dispatch_uid=f"{uid}.partner_deleted")
    m2m_changed.connect(
        _on_partner_channels_changed,
        sender=Partner.channels.through,
        dispatch_uid=f"{uid}.partner_channels",
    )
    post_save.connect(_on_channel_changed, sender=Channel, dispatch_uid=f"{uid}.channel_saved")
    pre_delete.connect(_on_channel_changed, sender=Channel, dispatch_uid=f"{uid}.channel_deleted")
    post_save.connect(_on_user_saved, sender=user_model, dispatch_uid=f"{uid}.user_saved")
    post_delete.connect(_on_user_saved, sender=user_model, dispatch_uid=f"{uid}.user_deleted")
    for through, name in (
        (user_model.groups.through, "user_groups"),  # type: ignore[attr-defined]
        (user_model.user_permissions.through, "user_permissions"),  # type: ignore[attr-defined]
    ):
        m2m_changed.connect(_on_user_m2m_changed, sender=through, dispatch_uid=f"{uid}.{name}")
    m2m_changed.connect(
        _on_group_permissions_changed,
        sender=Group.permissions.through,
        dispatch_uid=f"{uid}.group_permissions",
    )
    pre_delete.connect(_on_group_deleted, sender=Group, dispatch_uid=f"{uid}.group_deleted")
