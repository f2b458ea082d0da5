"""Who did it: a staff user, a partner (through its API key) or the system.

Every app records the author of a change the same way: services take ``actor: Actor`` and models
that keep an author mix in ``ActorRecorded`` (``actor_kind``, ``actor_user``, ``actor_partner``).
The system is left unnamed (``SYSTEM``) or named by what acted (``"import_stock"``,
``"channel:webshop"``); a user may be named by the surface they acted through (``"store:ann"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models


class ActorKind(models.TextChoices):
    USER = "user", "Staff user"
    PARTNER = "partner", "Partner"
    SYSTEM = "system", "System"


@dataclass(frozen=True)
class Actor:
    """The author of a change. Build one with ``Actor.for_user``, ``Actor.for_partner`` or
    ``Actor.system``; ``name`` is what people read (a username, a partner code, a process)."""

    kind: ActorKind
    name: str
    user_id: int | None = None
    partner_id: int | None = None

    @classmethod
    def for_user(cls, user: Any, *, via: str = "") -> Actor:
        """``via`` names the surface the user acted through when it matters to readers: the store
        page records ``store:<username>``."""
        name = f"{via}:{user.get_username()}" if via else user.get_username()
        return cls(kind=ActorKind.USER, name=name, user_id=user.pk)

    @classmethod
    def for_partner(cls, partner: Any) -> Actor:
        return cls(kind=ActorKind.PARTNER, name=partner.code, partner_id=partner.pk)

    @classmethod
    def system(cls, name: str = "") -> Actor:
        """The system, unnamed (``SYSTEM``) or named by the process that acted."""
        return cls(kind=ActorKind.SYSTEM, name=name)

    def fields(self) -> dict[str, Any]:
        """The ``ActorRecorded`` columns for this actor, for ``Model(**actor.fields())``."""
        return {
            "actor_kind": self.kind,
            "actor_name": self.name[:150],
            "actor_user_id": self.user_id,
            "actor_partner_id": self.partner_id,
        }

    def __str__(self) -> str:
        if self.kind == ActorKind.SYSTEM:
            return self.name or "system"
        return self.name if self.kind == ActorKind.USER else f"{self.kind}:{self.name}"


SYSTEM = Actor.system()


def _actor_user(on_delete: Any) -> models.ForeignKey:  # type: ignore[type-arg]
    return models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=on_delete, null=True, blank=True, related_name="+"
    )


def _actor_partner(on_delete: Any) -> models.ForeignKey:  # type: ignore[type-arg]
    return models.ForeignKey(
        "core.Partner", on_delete=on_delete, null=True, blank=True, related_name="+"
    )


class ActorRecorded(models.Model):
    """Abstract: the author of the row, recorded the same way in every app.

    ``actor_name`` keeps what people read even after the user or partner is gone; the foreign keys
    make the author queryable (``StockMovement.objects.filter(actor_partner=...)``).
    """

    actor_kind = models.CharField(
        max_length=10, choices=ActorKind.choices, default=ActorKind.SYSTEM
    )
    actor_name = models.CharField(max_length=150, blank=True)
    actor_user = _actor_user(models.SET_NULL)
    actor_partner = _actor_partner(models.SET_NULL)

    class Meta:
        abstract = True

    @property
    def actor(self) -> Actor:
        return Actor(
            kind=ActorKind(self.actor_kind),
            name=self.actor_name,
            user_id=self.actor_user_id,
            partner_id=self.actor_partner_id,
        )


class LedgerActorRecorded(ActorRecorded):
    """``ActorRecorded`` for accounting records (the stock ledger, transfers): a user or partner
    named by a row cannot be deleted (deactivate them instead), so the record keeps its author."""

    actor_user = _actor_user(models.PROTECT)
    actor_partner = _actor_partner(models.PROTECT)

    class Meta:
        abstract = True
