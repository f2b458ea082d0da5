"""Writes of the API platform."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction

from core.actors import Actor
from core.audit import SensitiveAction, audit_record
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
    actor: Actor | None = None,
) -> tuple[PartnerAPIKey, str]:
    """Create a key and return it with its secret, which is never stored and cannot be shown again.

    ``raw_key`` (``<prefix>.<secret>``) is for reproducible demo data only. The creation is
    audited (``actor``, or whoever is signed in to the current request).
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
    partner_api_key_audit(api_key=api_key, action=SensitiveAction.API_KEY_CREATE, actor=actor)
    return api_key, raw_key


@transaction.atomic
def partner_api_key_revoke(*, api_key: PartnerAPIKey, actor: Actor | None = None) -> None:
    """Revoke a key for good (revocation cannot be undone); audited."""
    api_key.revoked = True
    api_key.save(update_fields=["revoked"])
    partner_api_key_audit(api_key=api_key, action=SensitiveAction.API_KEY_REVOKE, actor=actor)


def partner_api_key_audit(
    *, api_key: PartnerAPIKey, action: SensitiveAction, actor: Actor | None = None
) -> None:
    """The audit log entry of a key's creation or revocation: the key by its prefix (its id
    holds the hash), its partner and scopes. The back office, which saves keys through the
    library's admin, calls it too."""
    audit_record(
        action=action,
        actor=actor,
        object_type=PartnerAPIKey._meta.label_lower,
        object_id=api_key.prefix,
        data={"partner_id": api_key.partner_id, "scopes": sorted(api_key.scopes)},
    )
