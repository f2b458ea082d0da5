"""The ledger of payment operations: every authorisation, capture, refund, void and provider
callback applied to a :class:`~orders.models.Payment`, in order. A provider's callback carries
its event id, unique per provider, so a redelivered callback is recognised and changes nothing."""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class PaymentEvent(models.Model):
    class Kind(models.TextChoices):
        AUTHORISE = "authorise", "Authorise"
        CAPTURE = "capture", "Capture"
        REFUND = "refund", "Refund"
        VOID = "void", "Void (authorisation released)"
        FAIL = "fail", "Failed"
        WEBHOOK = "webhook", "Provider callback"

    payment = models.ForeignKey("orders.Payment", on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    fulfillment = models.ForeignKey(
        "orders.Fulfillment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The shipped fulfilment a capture is for.",
    )
    provider = models.CharField(max_length=40)
    provider_event_id = models.CharField(
        max_length=100, blank=True, help_text="The provider's event id of a callback."
    )
    provider_reference = models.CharField(
        max_length=100, blank=True, help_text="The provider's reference of the operation."
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_event_id"],
                condition=~models.Q(provider_event_id=""),
                name="orders_paymentevent_once_per_provider_event",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="orders_paymentevent_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} on payment {self.payment_id}"
