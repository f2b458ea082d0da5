"""``Authorization: Api-Key <key>`` for partners, Django sessions for staff."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from core.api.principal import ApiPrincipal, PartnerUser
from core.api.principal_cache import KeyEntry, key_entry_get
from core.models import PartnerAPIKey

KEYWORD = "Api-Key"


class ApiKeyFailed(exceptions.AuthenticationFailed):
    """An API key was sent but cannot be used; ``code`` says why."""


def principal_for_key(api_key: PartnerAPIKey, channel_codes: frozenset[str]) -> ApiPrincipal:
    return ApiPrincipal(
        kind="partner",
        scopes=frozenset(api_key.scopes),
        channel_codes=channel_codes,
        partner=api_key.partner,
        api_key=api_key,
    )


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticate a partner by API key; the key is looked up by prefix and checked by hash.

    The key row, its partner and channels come from the shared principal cache
    (``core.api.principal_cache``: no query once cached); the hash, revocation, expiry and the
    partner's activity are checked on every request against that row.
    """

    def authenticate(self, request: Request) -> tuple[Any, ApiPrincipal] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != KEYWORD.lower():
            return None
        raw_key = raw_key.strip()
        prefix, dot, _ = raw_key.partition(".")
        if not raw_key or not dot:
            raise ApiKeyFailed("The API key is malformed.", code="invalid_api_key")
        entry: KeyEntry | None = key_entry_get(prefix)
        api_key = entry.api_key if entry is not None else None
        if entry is None or api_key is None or not api_key.is_valid(raw_key):
            raise ApiKeyFailed("The API key is not valid.", code="invalid_api_key")
        if api_key.revoked:
            raise ApiKeyFailed("The API key has been revoked.", code="api_key_revoked")
        if api_key.has_expired:
            raise ApiKeyFailed("The API key has expired.", code="api_key_expired")
        if not api_key.partner.is_active:
            raise ApiKeyFailed("The partner account is disabled.", code="partner_inactive")
        return PartnerUser(api_key.partner), principal_for_key(api_key, entry.channel_codes)

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class StaffSessionAuthentication(authentication.SessionAuthentication):
    """A logged-in staff member's browser session (with CSRF on unsafe methods)."""

    def authenticate(self, request: Request) -> tuple[Any, ApiPrincipal] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        if not (user.is_active and user.is_staff):
            return None
        return user, ApiPrincipal.for_staff(user)
