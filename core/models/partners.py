"""Partners, their API keys, and stored responses for idempotent retries."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey

from core.models.mixins import Timestamped
from core.scopes import ALL_SCOPES, Scope


class Partner(Timestamped):
    """An organisation that calls the API: a webshop front-end, a marketplace, an ERP, a POS vendor.

    A partner sees only the channels listed here; every key it holds is further narrowed by the
    key's own channels and scopes.
    """

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    contact_email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)
    channels = models.ManyToManyField(
        "core.Channel", related_name="partners", blank=True, db_table="api_partner_channels"
    )

    class Meta:
        db_table = "api_partner"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def validate_scopes(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Scopes must be a list of scope names.")
    unknown = sorted(set(value) - ALL_SCOPES)
    if unknown:
        raise ValidationError(f"Unknown scopes: {', '.join(unknown)}.")


class PartnerAPIKey(AbstractAPIKey):
    """A partner's API key: stored hashed (only its prefix is readable), revocable, optionally
    expiring, scoped to permissions and to a subset of the partner's channels."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")
    scopes = models.JSONField(
        default=list, validators=[validate_scopes], help_text=f"Any of: {', '.join(Scope.values)}"
    )
    channels = models.ManyToManyField(
        "core.Channel",
        related_name="+",
        db_table="api_partnerapikey_channels",
        blank=True,
        help_text="Restrict the key to these of the partner's channels; empty means all of them.",
    )
    rate_limit = models.CharField(
        max_length=32,
        blank=True,
        help_text="Overrides the default rate limit for this key, e.g. '600/min'.",
    )

    class Meta(AbstractAPIKey.Meta):
        db_table = "api_partnerapikey"
        verbose_name = "partner API key"
        verbose_name_plural = "partner API keys"


class IdempotencyRecord(models.Model):
    """The first response to a POST carrying an ``Idempotency-Key``, replayed on retries."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    owner = models.CharField(
        max_length=100, help_text="Who sent it: 'key:<key prefix>' or 'user:<id>'."
    )
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.IN_PROGRESS)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "api_idempotencyrecord"
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.method} {self.path} [{self.key}]"
