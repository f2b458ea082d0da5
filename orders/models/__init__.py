"""Carts, orders with their price snapshot, fulfilments, the order timeline, returns, refunds and
sent notifications (see docs/orders.md).

Stock never lives here: fulfilment lines say which location's committed units belong to the order,
and every stock change goes through ``inventory.services`` with the order number as reference.
Channels are referenced by string FK; ``orders`` never imports the channels app.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.db import models
from django.utils import timezone

from core.actors import ActorKind, ActorRecorded


def cart_token() -> str:
    return secrets.token_urlsafe(24)


class Cart(models.Model):
    """A persistent cart, continued from any channel or device that knows its token."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CONVERTED = "converted", "Converted to an order"

    token = models.CharField(max_length=64, unique=True, default=cart_token)
    channel = models.ForeignKey("core.Channel", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="carts",
    )
    customer_email = models.EmailField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    coupon_codes = models.JSONField(
        default=list, db_default=[], blank=True, help_text="Coupon codes the shopper entered."
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    def __str__(self) -> str:
        return f"cart {self.token[:8]}"

    @property
    def hold_reference(self) -> str:
        return f"cart:{self.token}"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="orders_cartline_unique"),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="orders_cartline_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class FulfillmentMethod(models.TextChoices):
    SHIP = "ship", "Ship"
    PICKUP = "pickup", "Click & collect"
    CARRY_OUT = "carry_out", "Carry-out (sold in store)"


class Order(models.Model):
    class Status(models.TextChoices):
        PLACED = "placed", "Placed"
        PROCESSING = "processing", "Processing"
        READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
        PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
        SHIPPED = "shipped", "Shipped"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    class PaymentStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        AUTHORIZED = "authorized", "Authorized"
        PARTIALLY_CAPTURED = "partially_captured", "Partially captured"
        CAPTURED = "captured", "Captured"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"

    number = models.CharField(max_length=20, unique=True)
    channel = models.ForeignKey("core.Channel", on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PLACED, db_index=True
    )
    fulfillment_method = models.CharField(max_length=10, choices=FulfillmentMethod.choices)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        help_text="Resolved from email, phone or loyalty card; empty for an anonymous sale.",
    )
    customer_email = models.EmailField(blank=True, db_index=True)
    customer_phone = models.CharField(max_length=32, blank=True)
    customer_name = models.CharField(max_length=200, blank=True)
    loyalty_card = models.CharField(max_length=64, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    discount_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    loyalty_points_redeemed = models.PositiveIntegerField(default=0)
    shipping_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    shipping_discount = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), db_default=Decimal("0")
    )
    tax_total = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), db_default=Decimal("0")
    )
    prices_include_tax = models.BooleanField(
        default=True, db_default=True, help_text="Whether the amounts above include tax."
    )
    tax_country = models.CharField(
        max_length=2, blank=True, default="", db_default="", help_text="Whose tax rates applied."
    )
    shipping_method = models.CharField(max_length=40, blank=True, default="", db_default="")
    coupon_codes = models.JSONField(default=list, db_default=[], blank=True)
    promotions = models.JSONField(
        default=list,
        db_default=[],
        blank=True,
        help_text="The promotions applied: id, name, coupon and amounts, as priced.",
    )
    payment_status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.AUTHORIZED
    )
    amount_captured = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    amount_refunded = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    placed_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~models.Q(external_id=""),
                name="orders_order_external_id_per_channel",
            ),
            models.CheckConstraint(
                condition=models.Q(amount_refunded__lte=models.F("amount_captured")),
                name="orders_order_refund_within_captured",
            ),
        ]
        indexes = [models.Index(fields=["updated_at", "id"], name="orders_order_sync")]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    """A line with the channel's price at placement (a snapshot, never recomputed)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    title = models.CharField(max_length=300)
    options = models.JSONField(default=dict, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    line_total = models.DecimalField(max_digits=12, decimal_places=2)
    discount_amount = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), db_default=Decimal("0")
    )
    tax_rate = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("0"), db_default=Decimal("0")
    )
    tax_amount = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), db_default=Decimal("0")
    )
    quantity_cancelled = models.PositiveIntegerField(default=0)
    quantity_refunded = models.PositiveIntegerField(default=0)
    cost_price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The variant's cost per unit at the time of sale, in the base currency "
        "(settings.BASE_CURRENCY); empty when it was unknown. Never recomputed.",
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="orders_orderline_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity_refunded__lte=models.F("quantity")),
                name="orders_orderline_refund_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class OrderTaxLine(models.Model):
    """An order's tax per rate, goods and shipping apart, as priced at placement
    (``orders.pricing``): the figures a receipt, an invoice and the tax report show."""

    class Kind(models.TextChoices):
        GOODS = "goods", "Goods"
        SHIPPING = "shipping", "Shipping"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="tax_lines")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    country = models.CharField(max_length=2)
    rate = models.DecimalField(max_digits=5, decimal_places=2)
    net = models.DecimalField(max_digits=12, decimal_places=2)
    tax = models.DecimalField(max_digits=12, decimal_places=2)
    gross = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["kind", "-rate"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind", "rate"], name="orders_taxline_one_per_rate"
            ),
            models.CheckConstraint(
                condition=models.Q(net__gte=0, tax__gte=0, gross__gte=0),
                name="orders_taxline_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.rate}%: {self.tax} on {self.order_id}"


class Fulfillment(models.Model):
    """The part of an order served from one location; its status follows an explicit state
    machine (``orders.services.fulfilment.FULFILLMENT_TRANSITIONS``)."""

    class Status(models.TextChoices):
        AWAITING_TRANSFER = "awaiting_transfer", "Awaiting transfer"
        ALLOCATED = "allocated", "Allocated"
        PICKING = "picking", "Picking"
        PACKED = "packed", "Packed"
        READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
        SHIPPED = "shipped", "Shipped"
        PICKED_UP = "picked_up", "Picked up"
        CARRIED_OUT = "carried_out", "Carried out"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fulfillments")
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=10, choices=FulfillmentMethod.choices)
    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)
    promised_at = models.DateTimeField(null=True, blank=True)
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    pickup_code_hash = models.CharField(max_length=64, blank=True)
    hold_until = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.pk} {self.status}"

    @property
    def stock_committed(self) -> bool:
        """Whether the location's units are committed to this fulfilment right now."""
        return self.status in (
            self.Status.ALLOCATED,
            self.Status.PICKING,
            self.Status.PACKED,
            self.Status.READY_FOR_PICKUP,
        )


class FulfillmentLine(models.Model):
    fulfillment = models.ForeignKey(Fulfillment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.order_line_id}"


class TimelineEvent(ActorRecorded):
    """Everything that happened to an order, as the admin, the API and the emails show it, and
    who did it (``ActorRecorded``)."""

    class Kind(models.TextChoices):
        """Stable codes partners read in the API ``timeline``; never rename a value."""

        PLACED = "placed", "Placed"
        STATUS_CHANGED = "status_changed", "Status changed"
        PICKING = "picking", "Picking started"
        PACKED = "packed", "Packed"
        CARRIED_OUT = "carried_out", "Sold in store and carried out"
        PAYMENT_RECORDED = "payment_recorded", "Payment recorded"
        READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
        PICKED_UP = "picked_up", "Picked up"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        FULFILLMENT_CANCELLED = "fulfillment_cancelled", "Fulfilment cancelled"
        ITEM_MISSING = "item_missing", "Item missing when picking"
        RESOURCED = "resourced", "Sourced again"
        LINE_CANCELLED = "line_cancelled", "Line cancelled"
        PAYMENT_CAPTURED = "payment_captured", "Payment captured"
        RETURN_CREATED = "return_created", "Return authorised"
        RETURN_RECEIVED = "return_received", "Return received"
        EXCHANGE = "exchange", "Exchange"
        REFUNDED = "refunded", "Refunded"
        LOYALTY_EARNED = "loyalty_earned", "Loyalty points earned"
        LOYALTY_REVERSED = "loyalty_reversed", "Loyalty points taken back"
        LOYALTY_RESTORED = "loyalty_restored", "Loyalty points given back"
        GIFT_CARD_ISSUED = "gift_card_issued", "Gift card issued"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=40, choices=Kind.choices)
    message = models.CharField(max_length=500)
    fulfillment = models.ForeignKey(
        Fulfillment, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"

    @property
    def actor_label(self) -> str:
        """The author as the order page has always shown it: ``user:ann`` (admin, API),
        ``store:ann`` (the store page), ``partner:webshop``, ``channel:webshop`` (inbound
        orders), the process (``system``, ``demo``), or nothing for the unnamed system."""
        if self.actor_kind == ActorKind.SYSTEM:
            return self.actor_name
        if self.actor_kind == ActorKind.USER and ":" in self.actor_name:
            return self.actor_name  # named with the surface the user acted through
        return f"{self.actor_kind}:{self.actor_name}"


class Return(models.Model):
    """One RMA for an order of any channel, received at any location."""

    class Status(models.TextChoices):
        AUTHORIZED = "authorized", "Authorized"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    rma = models.CharField(max_length=20, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="returns",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.AUTHORIZED)
    reason = models.CharField(max_length=300, blank=True)
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.rma


class ReturnLine(models.Model):
    class Disposition(models.TextChoices):
        PENDING = "pending", "Not inspected"
        RESTOCK = "restock", "Restock"
        DAMAGED = "damaged", "Damaged"

    return_request = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    reason = models.CharField(max_length=300, blank=True)
    disposition = models.CharField(
        max_length=10, choices=Disposition.choices, default=Disposition.PENDING
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.order_line_id}"


class Payment(models.Model):
    """Money taken for an order, with its tender and provider: a till's cash or card (provider
    ``manual``, authorised and captured at once), or a provider's payment for an online order,
    authorised at checkout and captured per shipped fulfilment (``orders.payments``). Refunds
    point at the payment they give money back to and never exceed what it captured.

    ``status`` is the capture lifecycle; what was given back is ``amount_refunded``."""

    class Tender(models.TextChoices):
        CASH = "cash", "Cash"
        CARD = "card", "Card"
        OTHER = "other", "Other"
        GIFT_CARD = "gift_card", "Gift card"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        AUTHORIZED = "authorized", "Authorized"
        PARTIALLY_CAPTURED = "partially_captured", "Partially captured"
        CAPTURED = "captured", "Captured"
        VOIDED = "voided", "Voided"
        FAILED = "failed", "Failed"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    tender = models.CharField(max_length=10, choices=Tender.choices)
    provider = models.CharField(
        max_length=40,
        default="manual",
        db_default="manual",
        help_text="The provider code (``orders.payments`` registry); ``manual`` records only.",
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.CAPTURED, db_default="captured"
    )
    amount_authorised = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="What the provider authorised; empty when the money was taken at once (a "
        "till's tender), where authorising does not apply.",
    )
    # the column of the former ``amount`` (money taken): renamed in the code only, so the code
    # of the previous release keeps working during a rolling deploy
    amount_captured = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), db_column="amount"
    )
    amount_refunded = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), db_default=Decimal("0")
    )
    provider_reference = models.CharField(
        max_length=100, blank=True, help_text="The payment provider's or terminal's reference."
    )
    location = models.ForeignKey(
        "inventory.Location",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The store where a till took it; empty for online payments.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_captured__gte=0, amount_refunded__gte=0),
                name="orders_payment_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(amount_authorised__isnull=True)
                | models.Q(amount_captured__lte=models.F("amount_authorised")),
                name="orders_payment_capture_within_authorised",
            ),
            models.CheckConstraint(
                condition=models.Q(amount_refunded__lte=models.F("amount_captured")),
                name="orders_payment_refund_within_captured",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tender} {self.amount_captured} on {self.order_id}"

    @property
    def amount(self) -> Decimal:
        """The money taken (captured), the record's name before providers. Setting it
        (``Payment(amount=...)``, as a till records a tender) records money taken at once."""
        return self.amount_captured

    @amount.setter
    def amount(self, value: Decimal) -> None:
        self.amount_captured = value

    @property
    def amount_refundable(self) -> Decimal:
        return self.amount_captured - self.amount_refunded


class Refund(models.Model):
    """Money given back; ``key`` makes a retried request land once."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    return_request = models.ForeignKey(
        Return, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    payment = models.ForeignKey(
        Payment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
        help_text="The payment the money goes back to (its tender).",
    )
    key = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    shipping_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    tax_amount = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), db_default=Decimal("0")
    )
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "key"], name="orders_refund_key_per_order"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="orders_refund_positive"),
        ]

    def __str__(self) -> str:
        return f"refund {self.amount} on {self.order_id}"


class RefundLine(models.Model):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    tax_amount = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), db_default=Decimal("0")
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.order_line_id}"


class Notification(models.Model):
    """A customer email. Written as *pending* in the transaction of the change it tells about (so
    it is never lost when the broker is down: the worker's sweep sends what is pending), then
    sent once by the worker. The unique key makes queueing twice and a retried send harmless."""

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", "Order confirmation"
        READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"
        CHANGED = "changed", "Order changed"
        RECEIPT = "receipt", "Receipt"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    subject_key = models.CharField(
        max_length=40, default="", blank=True, help_text="Fulfilment or refund id, or empty."
    )
    recipient = models.EmailField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    pickup_code = models.CharField(
        max_length=12,
        blank=True,
        default="",
        help_text="Kept only until the email is sent (the fulfilment keeps its hash).",
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind", "subject_key"], name="orders_notification_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(status="pending"),
                name="orders_notification_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.order_id}"


from orders.models.giftcards import GiftCard, GiftCardEntry  # noqa: E402, F401
from orders.models.payments import PaymentEvent  # noqa: E402, F401
from orders.models.promotions import Coupon, CouponBatch, CouponRedemption, Promotion  # noqa: E402,F401
from orders.models.shipping import NonWorkingDay, ShippingMethod, ShippingRate, ShippingZone  # noqa: E402, F401
