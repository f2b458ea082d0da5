"""Customers, identifiers, consents and loyalty (see docs/customers.md).

Every write goes through ``customers.services``; these models hold fields, constraints and
``__str__`` only. Other apps reference ``customers.Customer`` by string ForeignKey; a merge
re-points every such row generically (``Customer._meta.related_objects``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.actors import ActorRecorded


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    MERGED = "merged", "Merged into another customer"
    ERASED = "erased", "Erased (personal data anonymised)"


class Customer(models.Model):
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=16, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from"
    )
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ("-id",)
        permissions = [
            ("merge_customer", "Can merge duplicate customers"),
            ("export_customer", "Can export a customer's data (GDPR)"),
            ("erase_customer", "Can erase a customer's personal data (GDPR)"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}".strip()


class IdentifierKind(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone (E.164)"
    LOYALTY_CARD = "loyalty_card", "Loyalty card"
    SOCIAL = "social", "Social handle"
    EXTERNAL = "external", "External id on a channel"


class CustomerIdentifier(models.Model):
    """One way to recognise a customer. ``value`` is normalised by the services (lower-cased
    email, E.164 phone); ``namespace`` is the channel code for external ids and the network for
    social handles, empty otherwise. A value belongs to at most one customer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(max_length=16, choices=IdentifierKind.choices)
    namespace = models.CharField(max_length=64, blank=True, default="")
    value = models.CharField(max_length=254)
    channel_code = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("kind", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "namespace", "value"], name="customers_identifier_unique"
            )
        ]
        indexes = [models.Index(fields=["value"], name="customers_identifier_value")]

    def __str__(self) -> str:
        prefix = f"{self.namespace}:" if self.namespace else ""
        return f"{self.kind} {prefix}{self.value}"


class CustomerChannel(models.Model):
    """The channels a customer belongs to (identifier, consent, loyalty or order seen there);
    partner API keys only see customers linked to their channels."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="channel_links")
    channel_code = models.CharField(max_length=64)
    first_seen = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "channel_code"], name="customers_channel_unique"
            )
        ]
        indexes = [models.Index(fields=["channel_code", "customer"], name="customers_ch_code")]

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.channel_code}"


class CustomerNote(ActorRecorded):
    """A note by customer service; its actor is the author."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.text[:50]


class MergeCandidateStatus(models.TextChoices):
    OPEN = "open", "Open"
    MERGED = "merged", "Merged"
    DISMISSED = "dismissed", "Dismissed"


class MergeCandidate(models.Model):
    """Two customers that identifiers of one resolution pointed at; never merged silently.
    ``customer_a`` has the lower id."""

    customer_a = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    customer_b = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=300)
    status = models.CharField(
        max_length=16, choices=MergeCandidateStatus.choices, default=MergeCandidateStatus.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["customer_a", "customer_b"],
                condition=Q(status="open"),
                name="customers_merge_candidate_open_unique",
            ),
            models.CheckConstraint(
                condition=Q(customer_a__lt=models.F("customer_b")),
                name="customers_merge_candidate_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.customer_a_id} ~ #{self.customer_b_id} ({self.status})"


class MergeAudit(ActorRecorded):
    """What a merge moved: ``moved`` maps "app_label.Model.field" to the number of rows."""

    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merge_audits")
    loser_id = models.PositiveBigIntegerField(db_index=True)
    moved = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"#{self.loser_id} -> #{self.survivor_id}"


class AuditAction(models.TextChoices):
    EXPORT = "export", "Data export"
    ERASE = "erase", "Erasure"


class CustomerAudit(ActorRecorded):
    """GDPR actions on a customer (export, erasure): who, when, what."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="audits")
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    detail = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.action} #{self.customer_id}"


class ConsentPurpose(models.TextChoices):
    EMAIL_MARKETING = "email_marketing", "Email marketing"
    SMS_MARKETING = "sms_marketing", "SMS marketing"
    PROFILING = "profiling", "Profiling"
    SEGMENT_EXPORT = "segment_export", "Sharing in exported segments"


class ConsentEvent(models.Model):
    """Append-only consent log; the current state per purpose is the latest event."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=32, choices=ConsentPurpose.choices)
    granted = models.BooleanField()
    channel_code = models.CharField(max_length=64, blank=True, default="")
    source = models.CharField(max_length=100)
    wording_version = models.CharField(max_length=50)
    at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-at", "-id")
        indexes = [
            models.Index(fields=["customer", "purpose", "-at", "-id"], name="customers_consent_cur")
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {'granted' if self.granted else 'withdrawn'}"


class LoyaltyEarnRule(models.Model):
    """Points per whole currency unit earned on a channel (default from settings: 1)."""

    channel_code = models.CharField(max_length=64, unique=True)
    points_per_unit = models.DecimalField(max_digits=8, decimal_places=3)

    def __str__(self) -> str:
        return f"{self.channel_code}: {self.points_per_unit}/unit"


class LoyaltyAccount(models.Model):
    """The balance row that serialises every loyalty write of a customer (row lock)."""

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="loyalty_account"
    )
    balance = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="customers_loyalty_balance_non_negative"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.customer_id}: {self.balance}"


class LoyaltyLot(models.Model):
    """Points earned by one reference; consumed oldest first and expired as a lot."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="loyalty_lots")
    reference = models.CharField(max_length=100, unique=True)
    channel_code = models.CharField(max_length=64)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    points = models.PositiveIntegerField()
    remaining = models.PositiveIntegerField()
    reversed_points = models.PositiveIntegerField(default=0)
    earned_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField(db_index=True)
    expired = models.BooleanField(default=False)

    class Meta:
        ordering = ("earned_at", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(remaining__lte=models.F("points")), name="customers_lot_remaining"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.remaining}/{self.points}"


class LoyaltyEntryKind(models.TextChoices):
    EARN = "earn", "Earned"
    EARN_REVERSE = "earn_reverse", "Earning reversed (return)"
    REDEEM = "redeem", "Redeemed"
    REDEEM_REVERSE = "redeem_reverse", "Redemption reversed"
    EXPIRE = "expire", "Expired"
    MERGE_IN = "merge_in", "Moved in by a merge"


class LoyaltyEntry(models.Model):
    """The ledger: one signed row per balance change, with the balance after it."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="loyalty_entries")
    kind = models.CharField(max_length=16, choices=LoyaltyEntryKind.choices)
    points = models.IntegerField()
    unrecoverable = models.PositiveIntegerField(default=0)
    balance_after = models.IntegerField()
    reference = models.CharField(max_length=100, blank=True, default="")
    channel_code = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name_plural = "loyalty entries"
        indexes = [models.Index(fields=["customer", "-id"], name="customers_ledger_cust")]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d}"


class RedemptionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REVERSED = "reversed", "Reversed"


class Redemption(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="redemptions")
    reference = models.CharField(max_length=100, unique=True)
    channel_code = models.CharField(max_length=64)
    points = models.PositiveIntegerField()
    value = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(
        max_length=16, choices=RedemptionStatus.choices, default=RedemptionStatus.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.reference}: {self.points}"


class RedemptionAllocation(models.Model):
    """Which lots a redemption consumed, so reversing it gives the points back to them."""

    redemption = models.ForeignKey(Redemption, on_delete=models.CASCADE, related_name="allocations")
    lot = models.ForeignKey(LoyaltyLot, on_delete=models.CASCADE, related_name="allocations")
    points = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.redemption_id} <- {self.lot_id}: {self.points}"
