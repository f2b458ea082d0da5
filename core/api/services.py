"""Writes of the API platform."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction

from core.models import Partner, PartnerAPIKey, validate_scopes


@transaction.atomic
def partner_api_key_create(
    *,
    partner: Partner,
    name: str,
    scopes: Iterable[str],
    channel_ids: Iterable[int] = (),
    expires_at: datetime | None = None,
    rate_limit: str = "",
    raw_key: str | None = None,
) -> tuple[PartnerAPIKey, str]:
    """Create a key and return it with its secret, which is never stored and cannot be shown again.

    ``raw_key`` (``<prefix>.<secret>``) is for reproducible demo data only.
    """
    scope_list = sorted(set(scopes))
    validate_scopes(scope_list)
    api_key = PartnerAPIKey(
        partner=partner, name=name, scopes=scope_list, expiry_date=expires_at, rate_limit=rate_limit
    )
    if raw_key is None:
        raw_key = PartnerAPIKey.objects.assign_key(api_key)
    else:
        prefix, _, _ = raw_key.partition(".")
        generator = PartnerAPIKey.objects.key_generator
        api_key.prefix = prefix
        api_key.hashed_key = generator.hash(raw_key)
        api_key.id = f"{prefix}.{api_key.hashed_key}"
    api_key.save()
    api_key.channels.set(list(channel_ids))
    return api_key, raw_key


def partner_api_key_revoke(*, api_key: PartnerAPIKey) -> None:
    """Revoke a key for good (revocation cannot be undone)."""
    api_key.revoked = True
    api_key.save(update_fields=["revoked"])
