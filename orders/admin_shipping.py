"""Back office for shipping: methods with their zones and rate tiers inline, and the non-working
days (public holidays) per country. Location cut-off times are on the location page."""

from __future__ import annotations

from django.contrib import admin

from orders.models import NonWorkingDay, ShippingMethod, ShippingRate, ShippingZone


class ShippingZoneInline(admin.TabularInline):
    model = ShippingZone
    extra = 1
    fields = ["country", "postcode_from", "postcode_to"]


class ShippingRateInline(admin.TabularInline):
    model = ShippingRate
    extra = 1
    fields = ["up_to_weight_grams", "up_to_value", "price"]


@admin.register(ShippingMethod)
class ShippingMethodAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "carrier",
        "service",
        "rate_basis",
        "free_over",
        "transit_days",
        "currency",
        "is_active",
    ]
    list_filter = ["is_active", "carrier", "rate_basis", "channels"]
    search_fields = ["code", "name", "carrier", "service"]
    filter_horizontal = ["channels"]
    fieldsets = [
        (None, {"fields": ["code", "name", "carrier", "service", "channels", "is_active"]}),
        (
            "Price and time",
            {
                "fields": ["currency", "rate_basis", "free_over", "transit_days"],
                "description": "Rates: the smallest tier that covers the parcel (weight in "
                "grams or goods value, by the rate basis) applies; an empty bound covers the "
                "rest. Zones: a country, or a postcode range within it.",
            },
        ),
    ]
    inlines = [ShippingZoneInline, ShippingRateInline]


@admin.register(NonWorkingDay)
class NonWorkingDayAdmin(admin.ModelAdmin):
    list_display = ["date", "country", "name"]
    list_filter = ["country"]
    search_fields = ["name"]
    date_hierarchy = "date"
