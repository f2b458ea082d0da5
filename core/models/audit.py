"""The audit log of sensitive actions: who did what, when, from where and through which surface.

An entry holds references only (ids, action names, amounts, quantities), never personal data, so
erasing a customer leaves the log intact and clean. Entries are written by ``core.audit`` inside
the transaction of the action they describe and are never changed afterwards.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.actors import ActorKind


class SensitiveAction(models.TextChoices):
    REFUND = "refund", "Refund"
    LOYALTY_REDEEM = "loyalty_redeem", "Loyalty redemption"
    STOCK_ADJUST = "stock_adjust", "Stock adjustment"
    STOCK_COUNT = "stock_count", "Stock count"
    STOCK_FEED = "stock_feed", "Stock feed applied"
    PRICE_CHANGE = "price_change", "Price change"
    PRICE_DELETE = "price_delete", "Price deletion"
    PRICE_IMPORT = "price_import", "Prices imported"
    CUSTOMER_ERASE = "customer_erase", "Customer erasure"
    CUSTOMER_MERGE = "customer_merge", "Customer merge"
    API_KEY_CREATE = "api_key_create", "API key created"
    API_KEY_REVOKE = "api_key_revoke", "API key revoked"


class AuditSurface(models.TextChoices):
    """Where the action came in: the back office, the store page, the partner API (by key or a
    staff session), a sales channel's inbound webhook, or the system (worker, command, shell)."""

    ADMIN = "admin", "Back office"
    STORE = "store", "Store page"
    API = "api", "API (key)"
    API_SESSION = "api_session", "API (staff session)"
    CHANNEL = "channel", "Channel webhook"
    WEB = "web", "Other web request"
    WORKER = "worker", "Worker task"
    SYSTEM = "system", "System (command, shell)"


class AuditEntry(models.Model):
    """One sensitive action. Append-only; the admin shows it read-only.

    The actor's user and partner are foreign keys without a database constraint and with
    ``DO_NOTHING``: the admin resolves them at read time, and deleting a user or partner keeps
    the id in the log instead of blanking or blocking it.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=32, choices=SensitiveAction.choices, db_index=True)
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_partner = models.ForeignKey(
        "core.Partner",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    surface = models.CharField(max_length=16, choices=AuditSurface.choices)
    remote_ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    object_type = models.CharField(max_length=64, help_text="app_label.model of the target")
    object_id = models.CharField(max_length=64, db_index=True, blank=True)
    data = models.JSONField(
        default=dict, blank=True, help_text="Ids, amounts and quantities only; never names."
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["object_type", "object_id"], name="core_audit_object")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_type}#{self.object_id}"
