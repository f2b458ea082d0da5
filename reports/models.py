"""Rollup tables: the figures reports read, kept current from the outbox (``reports.rollups``)
and rebuilt by ``manage.py reports_rebuild``. Reports never scan orders.

Days are calendar days in UTC. Money is in the row's ``currency`` (the order's
currency), except ``cost``, which is in ``settings.BASE_CURRENCY`` (cost prices are kept in the base
currency); rows of different currencies are never summed together.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models

ZERO = Decimal("0")


def _money(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(
        max_digits=14, decimal_places=2, default=ZERO, db_default=ZERO, **kwargs
    )


class SalesFigures(models.Model):
    """The figures of a sales rollup row (``DailySales`` and the coarser rollups summed from it:
    ``DailyChannelSales``, ``MonthlyProductSales``)."""

    units_sold = models.IntegerField(default=0)
    gross = _money()
    discount = _money()
    tax = _money()
    revenue = _money(help_text="What the units sold brought in: after discounts, tax excluded.")
    cost = _money(help_text="Cost of the units sold, in the base currency.")
    units_costed = models.IntegerField(default=0)
    units_returned = models.IntegerField(default=0)
    refunded = _money(
        help_text="Money given back for these lines, in the basis of gross: tax included only "
        "where the order's prices include tax."
    )
    refunded_tax = _money(help_text="The tax of the money given back.")

    class Meta:
        abstract = True


class DailySales(SalesFigures):
    """Sales and returns of one variant on one day, at one location, on one channel.

    Sales count on the day the order was placed, at the location that serves the line (its
    first fulfilment); returns and refunds count on the day they happened, at the location that
    took the return. ``units_sold`` leaves out cancelled units; ``gross`` is the unit price times
    the units sold (as the channel prices: tax included or not), ``discount`` and ``tax`` the
    line's share for those units, ``revenue`` what they brought in after discounts and without
    tax (what margin is taken from); ``cost`` is the cost price times the units sold, for the
    ``units_costed`` units whose cost was known (base currency).
    """

    day = models.DateField()
    channel = models.ForeignKey("core.Channel", on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)

    class Meta:
        db_table = "reports_daily_sales"
        # view_reports: the dashboard, the report pages and (staff) the reporting API;
        # view_dashboard: the dashboard on the admin home page only (the operator's)
        permissions = [
            ("view_reports", "Can see the dashboard and the reports"),
            ("view_dashboard", "Can see the dashboard"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "channel", "location", "variant", "currency"],
                name="reports_daily_sales_key",
            )
        ]
        indexes = [
            models.Index(fields=["day", "channel"], name="reports_sales_day_channel"),
            models.Index(fields=["variant", "day"], name="reports_sales_variant_day"),
            models.Index(fields=["location", "day"], name="reports_sales_location_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.channel_id}/{self.location_id} v{self.variant_id}"


def _costed_revenue() -> models.DecimalField:
    return models.DecimalField(
        max_digits=20,
        decimal_places=6,
        default=ZERO,
        db_default=ZERO,
        help_text="Revenue of the units whose cost was known: per daily row, the revenue times "
        "units_costed / units_sold, summed (what margin is taken from).",
    )


class DailyChannelSales(SalesFigures):
    """``DailySales`` summed over the variants: one row per day, channel, location and currency.

    Derived, not computed from the orders: ``reports.rollups`` writes these rows again from the
    daily rows of the days it touched, in the same transaction, so they always equal the sum of
    ``DailySales``. The sales, returns and stock cover figures that are not per product read
    them (a year is some 20,000 rows instead of 360,000)."""

    day = models.DateField()
    channel = models.ForeignKey("core.Channel", on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    costed_revenue = _costed_revenue()

    class Meta:
        db_table = "reports_daily_channel_sales"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "channel", "location", "currency"],
                name="reports_channel_sales_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.channel_id}/{self.location_id} {self.currency}"


class MonthlyProductSales(SalesFigures):
    """``DailySales`` summed per calendar month (``month`` is its first day) and product: one
    row per month, channel, location, product and currency.

    Derived like ``DailyChannelSales``. Nothing reads it any more (``MonthlyProductChannelSales``,
    without the location, took its place): it is still written so that the release before,
    which reads it, keeps right figures during a rolling deploy, and is dropped by a contract
    migration a release later (docs/operations.md, "Upgrades")."""

    month = models.DateField(help_text="The first day of the month.")
    channel = models.ForeignKey("core.Channel", on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    costed_revenue = _costed_revenue()

    class Meta:
        db_table = "reports_monthly_product_sales"
        constraints = [
            models.UniqueConstraint(
                fields=["month", "channel", "location", "product", "currency"],
                name="reports_monthly_product_key",
            )
        ]
        indexes = [models.Index(fields=["product", "month"], name="reports_monthly_product")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.channel_id}/{self.location_id} p{self.product_id}"


class MonthlyProductChannelSales(SalesFigures):
    """``DailySales`` summed per calendar month (``month`` is its first day), channel and product,
    over every location: one row per month, channel, product and currency.

    Derived like ``DailyChannelSales``. The figures per product or category read the whole
    months of their range here and only the days at its ends from ``DailySales``; a report
    narrowed to stores, or grouped per store, reads ``DailySales``. Without the location a
    year of the large demo is 38,000 rows instead of 170,000."""

    month = models.DateField(help_text="The first day of the month.")
    channel = models.ForeignKey("core.Channel", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    costed_revenue = _costed_revenue()

    class Meta:
        db_table = "reports_monthly_product_channel_sales"
        constraints = [
            models.UniqueConstraint(
                fields=["month", "channel", "product", "currency"],
                name="reports_product_channel_key",
            )
        ]
        indexes = [models.Index(fields=["product", "month"], name="reports_product_channel_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.channel_id} p{self.product_id}"


class DailyOrders(models.Model):
    """Orders placed on one day on one channel at one location (the location of the order's
    first fulfilment), with the order totals.

    ``orders`` leaves out cancelled orders (counted in ``orders_cancelled``); the money columns
    are the totals of the orders counted. ``new_customer_orders`` are known customers' first
    orders in the order's currency that were not cancelled (ordered by ``(placed_at, id)``; a
    cancelled first order makes no one a customer, as in ``CustomerFact``),
    ``returning_customer_orders`` their later ones, ``guest_orders`` orders without a customer.
    ``refunded_shipping`` is shipping money given back, on the day of the refund.
    """

    day = models.DateField()
    channel = models.ForeignKey("core.Channel", on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    orders = models.IntegerField(default=0)
    orders_cancelled = models.IntegerField(default=0)
    units = models.IntegerField(default=0)
    subtotal = _money()
    discount = _money()
    shipping = _money()
    tax = _money()
    total = _money()
    new_customer_orders = models.IntegerField(default=0)
    returning_customer_orders = models.IntegerField(default=0)
    guest_orders = models.IntegerField(default=0)
    refunded_shipping = _money()

    class Meta:
        db_table = "reports_daily_orders"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "channel", "location", "currency"],
                name="reports_daily_orders_key",
            )
        ]
        indexes = [models.Index(fields=["day", "channel"], name="reports_orders_day_channel")]

    def __str__(self) -> str:
        return f"{self.day} {self.channel_id}/{self.location_id} {self.orders} orders"


class DailyCustomerOrders(models.Model):
    """Orders of one known customer placed on one day on one channel at one location (the
    location of the order's first fulfilment), in one currency: who ordered where and when, so
    that the customers of a range are counted with the channel and store filters (a
    ``CustomerFact`` is per customer, not per day, channel or store). Cancelled orders and guest
    orders are left out, as in ``DailyOrders.orders`` and ``CustomerFact``."""

    day = models.DateField()
    channel = models.ForeignKey("core.Channel", on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    # an id, not a foreign key, like CustomerFact's: a merge moves the rows by recomputing them
    customer_id = models.BigIntegerField()
    orders = models.IntegerField(default=0)

    class Meta:
        db_table = "reports_daily_customer_orders"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "channel", "location", "currency", "customer_id"],
                name="reports_customer_orders_key",
            )
        ]
        indexes = [
            models.Index(fields=["customer_id", "currency"], name="reports_customer_orders_who")
        ]

    def __str__(self) -> str:
        return f"{self.day} customer {self.customer_id}: {self.orders} orders"


class DailyReturnReason(models.Model):
    """Units returned on one day on one channel at one location (the return's: where it was
    taken in), per variant and per reason given (the return line's reason, else the return's;
    empty when none was given)."""

    day = models.DateField()
    channel = models.ForeignKey("core.Channel", on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    units = models.IntegerField(default=0)

    class Meta:
        db_table = "reports_daily_return_reason"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "channel", "location", "variant", "reason"],
                name="reports_return_reason_key",
            )
        ]
        indexes = [models.Index(fields=["location", "day"], name="reports_reason_location_day")]

    def __str__(self) -> str:
        return f"{self.day} v{self.variant_id}: {self.units} x {self.reason!r}"


class StockSnapshot(models.Model):
    """Stock of one variant at one location at the end of a day, written for the days it changed
    (a day without a row has the level of the latest row before it). ``received`` and
    ``last_received_on`` count stock arriving: receipts and transfers in."""

    day = models.DateField()
    variant = models.ForeignKey("catalog.Variant", on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    on_hand = models.IntegerField()
    received = models.IntegerField(default=0, help_text="Units received that day.")
    last_received_on = models.DateField(null=True, blank=True)

    class Meta:
        db_table = "reports_stock_snapshot"
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "location", "day"], name="reports_stock_snapshot_key"
            )
        ]
        indexes = [models.Index(fields=["location", "day"], name="reports_stock_location_day")]

    def __str__(self) -> str:
        return f"{self.day} v{self.variant_id}@{self.location_id}: {self.on_hand}"


class StockCurrent(models.Model):
    """The latest ``StockSnapshot`` of each variant at each location: its units on hand now and
    the day it last received stock. Kept by the same writes as the snapshots, so that the
    figures of today (aged stock, cover, on hand at the end of a range that ends today) read one
    row per stock level instead of looking for the latest snapshot of each."""

    variant = models.ForeignKey("catalog.Variant", on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(help_text="The day of the latest snapshot.")
    on_hand = models.IntegerField()
    last_received_on = models.DateField(null=True, blank=True)

    class Meta:
        db_table = "reports_stock_current"
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "location"], name="reports_stock_current_key"
            )
        ]
        indexes = [models.Index(fields=["location"], name="reports_stock_current_location")]

    def __str__(self) -> str:
        return f"v{self.variant_id}@{self.location_id}: {self.on_hand}"


class FulfilmentTiming(models.Model):
    """One row per pickup or shipment: when the order was placed, when the part was ready (ready
    for pickup, or shipped) and when it was done (picked up, delivered, carried out)."""

    fulfillment_id = models.BigIntegerField(unique=True)
    order_id = models.BigIntegerField(db_index=True)
    channel = models.ForeignKey("core.Channel", on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=10)
    status = models.CharField(max_length=20)
    placed_at = models.DateTimeField()
    ready_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "reports_fulfilment_timing"
        indexes = [
            models.Index(fields=["location", "placed_at"], name="reports_timing_location"),
            models.Index(fields=["placed_at"], name="reports_timing_placed"),
            # the pickups ready and waiting now (the store manager's dashboard): a few rows of
            # a table that grows by every fulfilment ever made
            models.Index(
                fields=["location"],
                name="reports_timing_uncollected",
                condition=models.Q(
                    method="pickup",
                    ready_at__isnull=False,
                    done_at__isnull=True,
                    cancelled_at__isnull=True,
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"fulfilment {self.fulfillment_id} ({self.method})"


class CustomerFact(models.Model):
    """What one customer has bought, per currency: first and last order, the channels used and
    the lifetime value (order totals of orders not cancelled, less the money refunded)."""

    # an id, not a foreign key: a customer merge re-points foreign keys one by one, and the
    # facts of a merged customer are computed again from its orders instead
    customer_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    first_order_at = models.DateTimeField()
    last_order_at = models.DateTimeField()
    orders = models.IntegerField(default=0)
    channels = models.JSONField(default=list, help_text="Codes of the channels bought on.")
    channel_count = models.IntegerField(default=0)
    lifetime_value = _money()

    class Meta:
        db_table = "reports_customer_fact"
        constraints = [
            models.UniqueConstraint(
                fields=["customer_id", "currency"], name="reports_customer_fact_key"
            )
        ]
        indexes = [models.Index(fields=["first_order_at"], name="reports_customer_first")]

    def __str__(self) -> str:
        return f"customer {self.customer_id} ({self.currency})"


class OrderContribution(models.Model):
    """What one order last added to the rollups (its facts, as ``reports.facts`` computes
    them), so that a change to the order applies only the difference."""

    order_id = models.BigIntegerField(primary_key=True)
    facts = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "reports_order_contribution"

    def __str__(self) -> str:
        return f"order {self.order_id}"


class RollupCursor(models.Model):
    """How far the rollups have read the outbox (``ChangeEvent.position``)."""

    name = models.CharField(max_length=32, primary_key=True)
    position = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "reports_rollup_cursor"

    def __str__(self) -> str:
        return f"{self.name} at {self.position}"
