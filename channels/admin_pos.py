"""Store POS acknowledgements in the back office: per store, how far its till has applied the
channel's changes, how many it is behind and how old the oldest one it has not applied is.

Read-only: the cursor is moved by the stores themselves (``POST /api/v1/pos/{channel}/acks/``).
Registered from ``ChannelsConfig.ready``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.timesince import timesince

from channels.models import StoreAcknowledgement
from channels.pos import LAG_CAP, store_acknowledgement_list


@admin.register(StoreAcknowledgement)
class StoreAcknowledgementAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "channel",
        "location",
        "acked_event_id",
        "acked_at",
        "updated_at",
        "lag",
        "oldest_unacked",
    ]
    list_filter = ["channel"]
    search_fields = ["location__code", "location__name", "channel__code"]
    readonly_fields = ["channel", "location", "acked_event_id", "acked_at", "updated_at"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[StoreAcknowledgement]:
        return store_acknowledgement_list()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Changes behind (lag)", ordering="lag_count")
    def lag(self, obj: Any) -> str:
        if obj.lag_cap_id is not None:
            return f"{LAG_CAP}+"
        return str(obj.lag_count)

    @admin.display(description="Oldest unacknowledged change", ordering="oldest_unacked_at")
    def oldest_unacked(self, obj: Any) -> str:
        oldest = obj.oldest_unacked_at
        return f"{timesince(oldest, timezone.now())} ago" if oldest else "—"
