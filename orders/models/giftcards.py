"""Gift cards: a secret code plus a balance ledger (see docs/orders.md, "Gift cards").

The code is never stored: a card keeps the SHA-256 of its normalised code (the lookup key) and its
last four characters (what the admin, receipts and the timeline show). The code is shown once,
when the card is issued (to the staff member who issues it, or in the buyer's order timeline and
confirmation for a card sold as a product). ``balance`` is kept equal to the sum of the card's
ledger entries by ``orders.services.giftcards``, which changes both under the card's row lock.
A card records no personal data: a sold card points at its order line, whose order holds the
buyer (and is erased with it).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from core.actors import ActorRecorded


class GiftCard(ActorRecorded):
    """A gift card; ``ActorRecorded`` is who issued it (staff, or the buyer's order placement)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"

    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    last4 = models.CharField(max_length=4, editable=False)
    currency = models.CharField(max_length=3)
    initial_amount = models.DecimalField(max_digits=12, decimal_places=2)
    balance = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    sold_on = models.ForeignKey(
        "orders.OrderLine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The order line that sold it; empty for a card issued by staff.",
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance__gte=0), name="orders_giftcard_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(initial_amount__gt=0), name="orders_giftcard_initial_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"gift card …{self.last4}"

    @property
    def masked_code(self) -> str:
        return f"****-****-****-{self.last4}"


class GiftCardEntry(ActorRecorded):
    """One movement of a card's balance: ``amount`` is signed (issue and refund add, spend, void
    and expire take away); ``balance_after`` is the card's balance once it was applied."""

    class Kind(models.TextChoices):
        ISSUE = "issue", "Issued"
        SPEND = "spend", "Spent"
        REFUND = "refund", "Refunded to the card"
        VOID = "void", "Voided"
        EXPIRE = "expire", "Expired"

    card = models.ForeignKey(GiftCard, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    balance_after = models.DecimalField(max_digits=12, decimal_places=2)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payment = models.ForeignKey(
        "orders.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "gift card entries"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(amount=0), name="orders_giftcardentry_amount_not_zero"
            ),
            models.CheckConstraint(
                condition=models.Q(balance_after__gte=0),
                name="orders_giftcardentry_balance_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} on {self.card_id}"
