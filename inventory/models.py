"""Locations (warehouses and stores) and the staff attached to them.

Stock levels, movements, holds and transfers arrive with the inventory issue.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Location(models.Model):
    """A warehouse or a store: where stock is kept, orders ship from, and shoppers pick up."""

    class Kind(models.TextChoices):
        WAREHOUSE = "warehouse", "Warehouse"
        STORE = "store", "Store"

    code = models.SlugField(max_length=32, unique=True)
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
    is_active = models.BooleanField(default=True)
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


class StaffMember(models.Model):
    """Links a staff user to the location they work at (a store associate's home store)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_member"
    )
    home_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="staff")

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.home_location.code}"
