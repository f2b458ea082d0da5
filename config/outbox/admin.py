from django.contrib import admin

from config.outbox.models import ChangeEvent


@admin.register(ChangeEvent)
class ChangeEventAdmin(admin.ModelAdmin):
    """Read-only: events are written by services and consumed by the relay, never edited."""

    list_display = (
        "id",
        "topic",
        "aggregate",
        "aggregate_id",
        "sequence",
        "channel_code",
        "created_at",
        "relayed_at",
    )
    list_filter = ("topic", "aggregate", "channel_code")
    search_fields = ("aggregate_id",)
    show_full_result_count = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
