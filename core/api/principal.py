"""Who is calling the API, and what they may see."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.actors import Actor
from core.scopes import staff_scopes

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from core.models import Partner, PartnerAPIKey


@dataclass(frozen=True)
class ApiPrincipal:
    """The caller of an API request, set as ``request.auth`` by the authentication classes.

    ``channel_codes`` is ``None`` for staff (every channel) and otherwise the exact set of channel
    codes the key may see; selectors filter on it so a key never sees another partner's data.
    """

    kind: str  # "partner" or "staff"
    scopes: frozenset[str]
    channel_codes: frozenset[str] | None
    partner: Partner | None = None
    api_key: PartnerAPIKey | None = None
    user: AbstractBaseUser | None = field(default=None, compare=False)

    @property
    def ident(self) -> str:
        """A stable identity for throttling and idempotency records."""
        if self.api_key is not None:
            return f"key:{self.api_key.prefix}"
        assert self.user is not None
        return f"user:{self.user.pk}"

    @property
    def actor(self) -> Actor:
        """Who the changes made by this request are recorded as."""
        if self.partner is not None:
            return Actor.for_partner(self.partner)
        assert self.user is not None
        return Actor.for_user(self.user)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def can_see_channel(self, code: str) -> bool:
        return self.channel_codes is None or code in self.channel_codes

    @classmethod
    def for_staff(cls, user: AbstractBaseUser) -> ApiPrincipal:
        """A staff session: every channel, and exactly the scopes the user's role grants
        (``core.scopes.STAFF_SCOPE_PERMISSIONS``; a superuser has them all). The permissions
        come with the user row from the shared cache (``CachedUserBackend``), which is dropped
        when the user's groups or permissions change."""
        scopes = staff_scopes(
            is_superuser=bool(getattr(user, "is_superuser", False)),
            has_perms=user.has_perms,  # type: ignore[attr-defined]
        )
        return cls(kind="staff", scopes=scopes, channel_codes=None, user=user)


class PartnerUser:
    """``request.user`` for API-key requests: authenticated, never staff, never a Django user."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, partner: Partner) -> None:
        self.partner = partner
        self.username = f"partner:{partner.code}"

    def __str__(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False
