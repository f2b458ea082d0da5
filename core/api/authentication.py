"""``Authorization: Api-Key <key>`` for partners, Django sessions for staff."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from core.api.principal import ApiPrincipal, PartnerUser
from core.models import PartnerAPIKey

KEYWORD = "Api-Key"


class ApiKeyFailed(exceptions.AuthenticationFailed):
    """An API key was sent but cannot be used; ``code`` says why."""


def principal_for_key(api_key: PartnerAPIKey) -> ApiPrincipal:
    partner_channels = {channel.code for channel in api_key.partner.channels.all()}
    key_channels = {channel.code for channel in api_key.channels.all()}
    allowed = partner_channels & key_channels if key_channels else partner_channels
    return ApiPrincipal(
        kind="partner",
        scopes=frozenset(api_key.scopes),
        channel_codes=frozenset(allowed),
        partner=api_key.partner,
        api_key=api_key,
    )


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticate a partner by API key; the key is looked up by prefix and checked by hash."""

    def authenticate(self, request: Request) -> tuple[Any, ApiPrincipal] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != KEYWORD.lower():
            return None
        raw_key = raw_key.strip()
        prefix, dot, _ = raw_key.partition(".")
        if not raw_key or not dot:
            raise ApiKeyFailed("The API key is malformed.", code="invalid_api_key")
        api_key = (
            PartnerAPIKey.objects.select_related("partner")
            .prefetch_related("channels", "partner__channels")
            .filter(prefix=prefix)
            .first()
        )
        if api_key is None or not api_key.is_valid(raw_key):
            raise ApiKeyFailed("The API key is not valid.", code="invalid_api_key")
        if api_key.revoked:
            raise ApiKeyFailed("The API key has been revoked.", code="api_key_revoked")
        if api_key.has_expired:
            raise ApiKeyFailed("The API key has expired.", code="api_key_expired")
        if not api_key.partner.is_active:
            raise ApiKeyFailed("The partner account is disabled.", code="partner_inactive")
        return PartnerUser(api_key.partner), principal_for_key(api_key)

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
