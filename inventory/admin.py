from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from inventory.models import Location, StaffMember


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "city",
        "country",
        "ships_orders",
        "offers_pickup",
        "sourcing_priority",
        "is_active",
    ]
    list_filter = ["kind", "country", "ships_orders", "offers_pickup", "is_active"]
    search_fields = ["code", "name", "city", "postal_code"]
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "is_active"]}),
        (
            "Address",
            {
                "fields": [
                    "street",
                    "postal_code",
                    "city",
                    "country",
                    "phone",
                    "latitude",
                    "longitude",
                ]
            },
        ),
        (
            "Capabilities",
            {
                "fields": [
                    "ships_orders",
                    "offers_pickup",
                    "sells_in_store",
                    "pickup_preparation_minutes",
                    "pickup_hold_days",
                    "sourcing_priority",
                    "opening_hours",
                ]
            },
        ),
    ]


class StaffMemberInline(admin.StackedInline):
    model = StaffMember
    can_delete = True
    verbose_name = "home location"
    verbose_name_plural = "home location"
    autocomplete_fields = ["home_location"]


admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    """Django's user admin with the staff member's home location inline."""

    inlines = [StaffMemberInline]
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "home_location"]
    list_select_related = ["staff_member__home_location"]

    @admin.display(description="home location", ordering="staff_member__home_location__code")
    def home_location(self, obj: User) -> str:
        member = getattr(obj, "staff_member", None)
        return member.home_location.code if member else "-"
