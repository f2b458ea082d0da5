from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.timesince import timesince

from channels import delivery as delivery_service
from channels.models import Channel, Delivery, DeliveryAttempt, Listing, WebhookSubscription
from channels.selectors import channel_sync_overview, delivery_list


def secret_masked(secret: str) -> str:
    """Enough to recognise a secret, never enough to use it."""
    if not secret:
        return "—"
    return f"{secret[:10]}…{secret[-2:]}" if len(secret) > 16 else "••••"


class ChannelForm(forms.ModelForm):  # type: ignore[type-arg]
    signing_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Type a new secret to replace the current one; leave empty to keep it.",
    )

    class Meta:
        model = Channel
        fields = [
            "code",
            "name",
            "kind",
            "currency",
            "locale",
            "locations",
            "stock_buffer_kind",
            "stock_buffer_value",
            "endpoint_url",
            "signing_secret",
            "signing_secret_env",
            "rate_limit_per_second",
            "batch_size",
            "is_active",
        ]

    def clean_signing_secret(self) -> str:
        typed = self.cleaned_data.get("signing_secret") or ""
        return typed or (self.instance.signing_secret if self.instance.pk else "")


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ChannelForm
    list_display = [
        "code",
        "name",
        "kind",
        "currency",
        "is_active",
        "backlog",
        "sync_lag",
        "pushes_last_hour",
        "failures_last_hour",
        "dead",
    ]
    list_filter = ["kind", "currency", "is_active"]
    search_fields = ["code", "name"]
    filter_horizontal = ["locations"]
    readonly_fields = ["current_secret"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Channel]:
        return channel_sync_overview()

    @admin.display(description="Current secret")
    def current_secret(self, obj: Channel) -> str:
        return secret_masked(obj.signing_secret)

    @admin.display(description="Backlog", ordering="sync_backlog")
    def backlog(self, obj: Any) -> int:
        return int(obj.sync_backlog)

    @admin.display(description="Oldest pending (sync lag)", ordering="sync_oldest_pending")
    def sync_lag(self, obj: Any) -> str:
        oldest = obj.sync_oldest_pending
        return timesince(oldest, timezone.now()) if oldest else "—"

    @admin.display(description="Pushes (1 h)", ordering="sync_pushes")
    def pushes_last_hour(self, obj: Any) -> int:
        return int(obj.sync_pushes)

    @admin.display(description="Failures (1 h)", ordering="sync_failures")
    def failures_last_hour(self, obj: Any) -> int:
        return int(obj.sync_failures)

    @admin.display(description="Dead", ordering="sync_dead")
    def dead(self, obj: Any) -> int:
        return int(obj.sync_dead)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["partner", "url", "is_active", "created_at"]
    list_filter = ["is_active", "partner"]
    search_fields = ["url", "partner__name"]
    list_select_related = ["partner"]
    readonly_fields = ["created_at", "updated_at"]


class DeliveryAttemptInline(admin.TabularInline):  # type: ignore[type-arg]
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["created_at", "sequence", "message_id", "status_code", "outcome", "error"]
    readonly_fields = ["created_at", "sequence", "message_id", "status_code", "outcome", "error"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(_ReadOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    """Every push and webhook delivery; dead and failed ones can be sent again (action)."""

    list_display = [
        "id",
        "target",
        "topic",
        "aggregate",
        "aggregate_id",
        "sequence",
        "state",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
    ]
    list_filter = ["state", "channel", "topic"]
    search_fields = ["aggregate_id"]
    show_full_result_count = False
    inlines = [DeliveryAttemptInline]
    actions = ["retry"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return delivery_list()

    @admin.display(description="Target")
    def target(self, obj: Delivery) -> str:
        return str(obj.channel or obj.subscription)

    @admin.action(description="Send the selected dead or failed deliveries again")
    def retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        from channels.tasks import dispatch

        retried, superseded = delivery_service.delivery_retry(
            delivery_ids=list(queryset.values_list("pk", flat=True))
        )
        if retried:
            dispatch.delay()
        self.message_user(
            request,
            f"{len(retried)} queued again; {len(superseded)} superseded by a newer change.",
            messages.SUCCESS if retried or superseded else messages.WARNING,
        )


@admin.register(Listing)
class ListingAdmin(_ReadOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "channel",
        "aggregate",
        "aggregate_id",
        "state",
        "last_sequence",
        "acked_sequence",
        "last_success_at",
        "last_error",
    ]
    list_filter = ["state", "channel"]
    search_fields = ["aggregate_id"]
    list_select_related = ["channel"]
    show_full_result_count = False
