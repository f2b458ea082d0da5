"""Record sensitive actions in the audit log (``core.AuditEntry``).

Services call :func:`audit_record` inside the transaction of the action, so an action that rolls
back leaves no entry and one that commits always has one. The service names the action, its target
and a few ids or amounts; *where* it came from is taken from the audit context:

* ``config.middleware.AuditContextMiddleware`` opens one per web request: the surface from the
  path (``/admin/``, ``/store/``, ``/api/`` by key or by staff session, ``/channels/``), the
  client address and the request itself, from which the acting user or partner is read when
  the service was not told (``loyalty_redeem`` takes no actor);
* outside a request the surface is ``worker`` inside a Celery task and ``system`` otherwise
  (commands, the shell); :func:`audit_context` lets a caller say more;
* the request id is the one bound to the log context (``X-Request-ID``, carried into tasks).

An entry holds references, not personal data: ``data`` takes numbers, booleans and short codes
(a channel code, a tender, an SKU), and refuses anything with spaces or ``@`` so a name, an
e-mail or a free-text reason cannot slip in by mistake.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog
from django.db import models

from core.actors import SYSTEM, Actor, ActorKind
from core.models.audit import AuditEntry, AuditSurface, SensitiveAction

__all__ = [
    "AuditContext",
    "AuditSurface",
    "SensitiveAction",
    "audit_context",
    "audit_record",
    "surface_for_path",
]

_CODE = re.compile(r"^[A-Za-z0-9_.:#/+-]{0,80}$")


@dataclass(frozen=True)
class AuditContext:
    """Where the current action comes from. ``request`` (a Django ``HttpRequest``) is kept so the
    actor can be read at record time, after DRF or the session middleware has authenticated."""

    surface: str
    remote_ip: str | None = None
    request: Any = None


_context: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


@contextmanager
def audit_context(
    surface: str, *, remote_ip: str | None = None, request: Any = None
) -> Iterator[AuditContext]:
    """Within the block, entries are recorded as coming from ``surface`` (and ``remote_ip``)."""
    context = AuditContext(surface=AuditSurface(surface), remote_ip=remote_ip, request=request)
    token = _context.set(context)
    try:
        yield context
    finally:
        _context.reset(token)


def surface_for_path(path: str, *, api_key: bool) -> AuditSurface:
    """The surface of a web request by its path; ``api_key`` says the API call carries a key."""
    if path.startswith("/admin/"):
        return AuditSurface.ADMIN
    if path.startswith("/store/"):
        return AuditSurface.STORE
    if path.startswith("/api/"):
        return AuditSurface.API if api_key else AuditSurface.API_SESSION
    if path.startswith("/channels/"):
        return AuditSurface.CHANNEL
    return AuditSurface.WEB


def _in_worker() -> bool:
    from celery import current_task

    return bool(current_task) and bool(getattr(current_task.request, "id", None))


def _request_actor(request: Any) -> Actor | None:
    """The authenticated principal of ``request``: the API principal DRF set (``request.auth``,
    a partner's key or a staff session) or the session's staff user."""
    if request is None:
        return None
    principal_actor = getattr(getattr(request, "auth", None), "actor", None)
    if isinstance(principal_actor, Actor):
        return principal_actor
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False) and user.pk is not None:
        return Actor.for_user(user)
    return None


def _clean(value: Any, key: str) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, Decimal | float):
        return str(value)
    if isinstance(value, str):
        if not _CODE.match(value):
            raise ValueError(f"Audit data {key!r} must be an id, amount or code, not text.")
        return value
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [_clean(item, key) for item in items]
    if isinstance(value, Mapping):
        return {str(k): _clean(v, f"{key}.{k}") for k, v in value.items()}
    raise ValueError(f"Audit data {key!r} has an unsupported type {type(value).__name__}.")


def audit_record(
    *,
    action: SensitiveAction | str,
    actor: Actor | None = None,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: Any = "",
    data: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Write one entry for ``action`` on ``target`` (or ``object_type``/``object_id``) in the
    caller's transaction.

    ``actor`` is who the service was told acted; when it is missing or the unnamed system, the
    authenticated principal of the current request is recorded instead (the system outside one).
    ``data`` holds ids, amounts and codes only (``ValueError`` otherwise).
    """
    context = _context.get()
    if actor is None or (actor.kind == ActorKind.SYSTEM and not actor.name):
        actor = (_request_actor(context.request) if context else None) or actor or SYSTEM
    if context is not None:
        surface, remote_ip = context.surface, context.remote_ip
    else:
        surface = AuditSurface.WORKER if _in_worker() else AuditSurface.SYSTEM
        remote_ip = None
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = object_id or target.pk
    request_id = structlog.contextvars.get_contextvars().get("request_id") or ""
    return AuditEntry.objects.create(
        action=SensitiveAction(action),
        actor_kind=actor.kind,
        actor_user_id=actor.user_id,
        actor_partner_id=actor.partner_id,
        surface=surface,
        remote_ip=remote_ip or None,
        request_id=str(request_id)[:128],
        object_type=object_type,
        object_id=str(object_id if object_id is not None else "")[:64],
        data=_clean(dict(data or {}), "data"),
    )
