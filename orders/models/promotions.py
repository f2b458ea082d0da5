"""Promotions, coupons and coupon redemptions (see docs/orders.md, "Promotions").

A :class:`Promotion` is one rule (percent or amount off, buy X get Y, a spend threshold, free
shipping), scoped to channels, customers and a schedule. A :class:`Coupon` is a code that unlocks
a promotion; a :class:`CouponBatch` is many generated codes at once. A :class:`CouponRedemption`
is one use of a code by an order. ``uses`` on the coupon and on the promotion are counters kept
by ``orders.services.promotions`` under row locks; the check constraints are the backstop that
makes an over-use impossible even for a writer that forgot the lock.

The engine (``orders.promotions``) reads these rows; it never writes them.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from customers.models import ConsentPurpose


class Promotion(models.Model):
    class Kind(models.TextChoices):
        PERCENT_OFF = "percent_off", "Percent off each unit"
        AMOUNT_OFF = "amount_off", "Amount off each unit"
        BUY_X_GET_Y = "buy_x_get_y", "Buy X get Y (percent off the Y cheapest)"
        SPEND_THRESHOLD = "spend_threshold", "Amount off when spending at least the threshold"
        FREE_SHIPPING = "free_shipping", "Free shipping (from the threshold)"

    class Target(models.TextChoices):
        ALL = "all", "All products"
        PRODUCTS = "products", "Chosen products"
        CATEGORIES = "categories", "Chosen categories (and their subcategories)"
        VARIANTS = "variants", "Chosen variants"

    class CustomerScope(models.TextChoices):
        ANYONE = "anyone", "Anyone"
        FIRST_ORDER = "first_order", "A customer's first order"
        LOYALTY = "loyalty", "Loyalty members with at least N lifetime points"
        CONSENT = "consent", "Customers who granted a consent"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        help_text="Percent (percent off, buy X get Y: the discount on the Y units, 100 = free) "
        "or amount in the channel's currency (amount off per unit, spend threshold). "
        "Unused for free shipping.",
    )
    target = models.CharField(max_length=12, choices=Target.choices, default=Target.ALL)
    products = models.ManyToManyField("catalog.Product", blank=True, related_name="+")
    categories = models.ManyToManyField("catalog.Category", blank=True, related_name="+")
    variants = models.ManyToManyField("catalog.Variant", blank=True, related_name="+")
    buy_quantity = models.PositiveIntegerField(default=0, help_text="Buy X get Y: X.")
    get_quantity = models.PositiveIntegerField(default=0, help_text="Buy X get Y: Y.")
    threshold = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        help_text="Spend threshold and free shipping: the least the targeted lines must come to.",
    )
    channels = models.ManyToManyField(
        "core.Channel", related_name="+", help_text="The promotion runs only on these channels."
    )
    customer_scope = models.CharField(
        max_length=12, choices=CustomerScope.choices, default=CustomerScope.ANYONE
    )
    min_lifetime_points = models.PositiveIntegerField(
        default=0, help_text="Loyalty scope: the least lifetime points a customer has earned."
    )
    consent_purpose = models.CharField(
        max_length=32,
        choices=ConsentPurpose.choices,
        blank=True,
        help_text="Consent scope: the purpose the customer must currently have granted.",
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    priority = models.PositiveIntegerField(default=100, help_text="Lower applies first.")
    stackable = models.BooleanField(
        default=True,
        help_text="Off: exclusive. It applies only when no promotion before it applied, and "
        "then nothing after it does.",
    )
    requires_coupon = models.BooleanField(default=False)
    max_uses = models.PositiveIntegerField(
        null=True, blank=True, help_text="Coupon redemptions over all its codes; empty: no limit."
    )
    uses = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("priority", "id")
        indexes = [models.Index(fields=["is_active", "priority"], name="orders_promo_active")]
        constraints = [
            models.CheckConstraint(
                condition=Q(value__gte=Decimal("0")), name="orders_promo_value_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["percent_off", "buy_x_get_y"])
                | Q(value__lte=Decimal("100")),
                name="orders_promo_percent_at_most_100",
            ),
            models.CheckConstraint(
                condition=~Q(kind="buy_x_get_y") | Q(buy_quantity__gte=1, get_quantity__gte=1),
                name="orders_promo_buy_x_get_y_quantities",
            ),
            models.CheckConstraint(
                condition=Q(threshold__gte=Decimal("0")), name="orders_promo_threshold_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=F("starts_at")),
                name="orders_promo_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(uses__lte=F("max_uses")),
                name="orders_promo_uses_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CouponBatch(models.Model):
    """Codes generated at once for one promotion: ``PREFIX-XXXXXXXX``."""

    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="batches")
    name = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=20)
    quantity = models.PositiveIntegerField()
    max_uses_per_code = models.PositiveIntegerField(null=True, blank=True, default=1)
    max_uses_per_customer = models.PositiveIntegerField(null=True, blank=True, default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name_plural = "coupon batches"

    def __str__(self) -> str:
        return self.name or f"{self.prefix} x{self.quantity}"


class Coupon(models.Model):
    """A code (stored upper-case; unique whatever its case) that unlocks its promotion."""

    code = models.CharField(max_length=64)
    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="coupons")
    batch = models.ForeignKey(
        CouponBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="coupons"
    )
    max_uses = models.PositiveIntegerField(
        null=True, blank=True, help_text="Uses of this code; empty: no limit."
    )
    max_uses_per_customer = models.PositiveIntegerField(
        null=True, blank=True, help_text="Uses of this code by one customer; empty: no limit."
    )
    uses = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("code",)
        constraints = [
            models.UniqueConstraint(Upper("code"), name="orders_coupon_code_unique_ci"),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(uses__lte=F("max_uses")),
                name="orders_coupon_uses_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class CouponRedemption(models.Model):
    """One use of a coupon by an order. ``released_at`` is set when the order is cancelled:
    the use is given back to the coupon and the promotion."""

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="coupon_redemptions",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="coupon_redemptions",  # not hidden: a customer merge moves these rows too
    )
    customer_email = models.EmailField(blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["coupon", "customer"], name="orders_coupon_redeem_cust"),
        ]

    def __str__(self) -> str:
        return f"{self.coupon_id} by order {self.order_id}"
