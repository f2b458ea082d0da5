"""Locations (warehouses and stores) and the staff attached to them.

Stock per variant per location, its append-only movement ledger, holds and transfers.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from core.actors import LedgerActorRecorded

# ``/api/v1/stock/holds/<reference>/`` shares its first segment with
# ``/api/v1/stock/<location>/<sku>/``: a location coded "holds" could not be addressed there.
RESERVED_LOCATION_CODES = frozenset({"holds"})


def validate_location_code(value: str) -> None:
    if value in RESERVED_LOCATION_CODES:
        raise ValidationError(f"'{value}' is reserved by the stock API; choose another code.")


class Location(models.Model):
    """A warehouse or a store: where stock is kept, orders ship from, and shoppers pick up."""

    class Kind(models.TextChoices):
        WAREHOUSE = "warehouse", "Warehouse"
        STORE = "store", "Store"

    code = models.SlugField(max_length=32, unique=True, validators=[validate_location_code])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    street = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. NL.")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    opening_hours = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per weekday, e.g. {"mon": [["09:00", "18:00"]], "sun": []}.',
    )
    ships_orders = models.BooleanField(default=False, help_text="Can ship online orders.")
    offers_pickup = models.BooleanField(default=False, help_text="Offers click & collect.")
    sells_in_store = models.BooleanField(default=False, help_text="Sells to walk-in shoppers.")
    pickup_preparation_minutes = models.PositiveIntegerField(default=120)
    pickup_hold_days = models.PositiveIntegerField(
        default=7, help_text="Days a ready pickup order waits before it is cancelled."
    )
    sourcing_priority = models.PositiveSmallIntegerField(
        default=100, help_text="Lower is preferred when sourcing ship orders."
    )
    cutoff_time = models.TimeField(
        null=True,
        blank=True,
        help_text="Orders placed before this local time ship the same working day; empty: no "
        "same-day dispatch (they ship the next working day).",
    )
    is_active = models.BooleanField(default=True)
    channels = models.ManyToManyField(
        "core.Channel",
        through="ChannelLocation",
        related_name="locations",
        blank=True,
        help_text="The channels that sell this location's stock.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(latitude__isnull=True, longitude__isnull=True)
                    | models.Q(
                        latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180
                    )
                ),
                name="location_coordinates_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class ChannelLocation(models.Model):
    """A channel sells this location's stock (``channel.locations`` / ``location.channels``).

    It hangs on the inventory side because the channel sits in the bottom layer and may not name
    a location; the table is the one the channel's own many-to-many field used to create.
    """

    channel = models.ForeignKey("core.Channel", on_delete=models.CASCADE)
    location = models.ForeignKey(Location, on_delete=models.CASCADE)

    class Meta:
        db_table = "channels_channel_locations"
        unique_together = [("channel", "location")]

    def __str__(self) -> str:
        return f"{self.channel_id} sells from {self.location_id}"


# The store page's actions, one permission each (granted to roles in ``config.roles``). They hang
# on the membership model because a store is a location; the store page checks them per view.
STORE_PERMISSIONS = (
    ("store_view_stock", "Store page: find stock"),
    ("store_hold", "Store page: put aside and release holds"),
    ("store_count", "Store page: count a shelf"),
    ("store_receive_transfers", "Store page: receive and request transfers"),
    ("store_hand_over", "Store page: pick and hand over pickups"),
    ("store_return_refund", "Store page: receive returns and refund"),
    ("store_redeem", "Store page: find a customer and redeem points"),
    ("store_sell", "Store page: sell at the till"),
    ("store_ship", "Store page: pick, pack and ship parcels"),
)


class StaffMember(models.Model):
    """A staff user's membership of one location: the stores they work at.

    A store associate normally has one; a store manager may have several. The store page acts
    only for the member's stores, and only as far as the user's role grants (``STORE_PERMISSIONS``).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="store_memberships"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="staff")

    class Meta:
        ordering = ["user__username", "location__code"]
        verbose_name = "store membership"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "location"], name="inventory_staffmember_user_location_unique"
            )
        ]
        permissions = STORE_PERMISSIONS

    def __str__(self) -> str:
        return f"{self.user} @ {self.location.code}"


class StockLevel(models.Model):
    """Stock of one variant at one location.

    ``on_hand`` and ``damaged`` are caches of the movement ledger (their sums); ``committed`` and
    ``incoming`` are maintained by the services that allocate to orders and ship transfers.
    Reserved units are not stored here: they are the sum of the *unexpired* active holds, so an
    expired hold stops counting the moment it expires, before the expiry task tidies it up.
    Available = on_hand - committed - reserved - safety_stock, clamped at zero by the selectors.
    """

    variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.PROTECT, related_name="stock_levels"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    committed = models.IntegerField(default=0)
    safety_stock = models.IntegerField(default=0)
    incoming = models.IntegerField(default=0)
    damaged = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["location_id", "variant_id"]
        constraints = [
            models.UniqueConstraint(fields=["variant", "location"], name="stock_level_unique"),
            models.CheckConstraint(condition=models.Q(on_hand__gte=0), name="stock_on_hand_gte_0"),
            models.CheckConstraint(
                condition=models.Q(committed__gte=0), name="stock_committed_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(committed__lte=models.F("on_hand")),
                name="stock_committed_lte_on_hand",
            ),
            models.CheckConstraint(
                condition=models.Q(safety_stock__gte=0), name="stock_safety_stock_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(incoming__gte=0), name="stock_incoming_gte_0"
            ),
            models.CheckConstraint(condition=models.Q(damaged__gte=0), name="stock_damaged_gte_0"),
        ]

    def __str__(self) -> str:
        # callers list levels through selectors, which join variant and location
        return f"{self.variant.sku} @ {self.location.code}"


class StockMovement(LedgerActorRecorded):
    """One append-only entry of the stock ledger: a change of on hand and/or damaged units.

    Who made it is recorded through ``ActorRecorded`` (a user, a partner key or the system)."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        SALE = "sale", "Sale (fulfilled)"
        ADJUSTMENT = "adjustment", "Adjustment"
        COUNT = "count", "Count"
        TRANSFER_OUT = "transfer_out", "Transfer out"
        TRANSFER_IN = "transfer_in", "Transfer in"
        RETURN = "return", "Return"
        DAMAGE = "damage", "Damage"
        WRITE_OFF = "write_off", "Write-off of damaged units"

    class ReferenceType(models.TextChoices):
        NONE = "", "None"
        DOCUMENT = "document", "Document"
        ORDER = "order", "Order"
        TRANSFER = "transfer", "Transfer"
        IMPORT = "import", "Import"
        RETURN = "return", "Return"

    stock = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    on_hand_delta = models.IntegerField(default=0)
    damaged_delta = models.IntegerField(default=0)
    reason = models.CharField(max_length=255, blank=True)
    reference_type = models.CharField(
        max_length=20, choices=ReferenceType.choices, default=ReferenceType.NONE, blank=True
    )
    reference = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=300, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="stock_movement_idempotency_key_unique",
            ),
            models.CheckConstraint(
                condition=~models.Q(on_hand_delta=0, damaged_delta=0),
                name="stock_movement_changes_something",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.on_hand_delta:+d} on hand, {self.damaged_delta:+d} damaged"


class StockHold(models.Model):
    """A temporary reservation of units at a location; it counts only while active and unexpired."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CONSUMED = "consumed", "Consumed (committed)"
        RELEASED = "released", "Released"
        EXPIRED = "expired", "Expired"

    stock = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="holds")
    quantity = models.PositiveIntegerField()
    reference = models.CharField(max_length=255, help_text="Who holds it, e.g. a cart token.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["expires_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="stock_hold_qty_gt_0")
        ]
        indexes = [
            models.Index(
                fields=["stock", "expires_at"],
                condition=models.Q(status="active"),
                name="stock_hold_active_idx",
            ),
            models.Index(fields=["reference"], name="stock_hold_reference_idx"),
        ]

    def __str__(self) -> str:
        return f"hold {self.quantity} ({self.status}) for {self.reference}"


class Transfer(LedgerActorRecorded):
    """Stock moving between two locations: draft, shipped (in transit), received.

    The actor is who created it; who shipped and received it is on its movements."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SHIPPED = "shipped", "Shipped"
        PARTIALLY_RECEIVED = "partially_received", "Partially received"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    source = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="outgoing_transfers"
    )
    destination = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="incoming_transfers"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    reference = models.CharField(max_length=255, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    expected_at = models.DateTimeField(
        null=True, blank=True, help_text="When the goods are expected at the destination."
    )
    received_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(source=models.F("destination")),
                name="transfer_source_not_destination",
            )
        ]

    def __str__(self) -> str:
        return f"Transfer #{self.pk} {self.source_id}->{self.destination_id} ({self.status})"


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0)
    quantity_missing = models.PositiveIntegerField(
        default=0, help_text="Shipped but not received when the transfer was closed."
    )

    class Meta:
        ordering = ["transfer_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "variant"], name="transfer_line_unique"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="transfer_qty_gt_0"),
            models.CheckConstraint(
                condition=models.Q(
                    quantity_received__lte=models.F("quantity") - models.F("quantity_missing")
                ),
                name="transfer_line_received_lte_shipped",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id}"
