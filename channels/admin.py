from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from channels import delivery as delivery_service
from channels.feeds import services as feed_services
from channels.models import (
    Delivery,
    DeliveryAttempt,
    FeedItem,
    Listing,
    WebhookSubscription,
)
from channels.selectors import channel_sync_overview, delivery_list
from core.admin import ChannelCountryInline
from core.models import Channel
from core.net import UrlNotAllowed, url_public_check
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services


def secret_masked(secret: str) -> str:
    """Enough to recognise a secret, never enough to use it."""
    if not secret:
        return "—"
    return f"{secret[:10]}…{secret[-2:]}" if len(secret) > 16 else "••••"


def outbound_url_clean(url: str, *, field: str) -> str:
    """An empty URL or one that reaches public addresses (``core.net``); a form error otherwise."""
    if url:
        try:
            url_public_check(url, field=field)
        except UrlNotAllowed as refused:
            raise forms.ValidationError(refused.message, code=refused.reason) from None
    return url


class LocationsWidget(FilteredSelectMultiple):
    """The admin's two-box picker, wrapped as the admin wraps a model's own many-to-many field
    (its script puts the boxes first in their container, which must not be the label's row)."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        picker = super().render(name, value, attrs, renderer)
        return format_html('<div class="related-widget-wrapper">{}</div>', picker)


class ChannelForm(forms.ModelForm):  # type: ignore[type-arg]
    signing_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Type a new secret to replace the current one; leave empty to keep it.",
    )
    # Which locations a channel sells from is kept on the inventory side (ChannelLocation).
    locations = forms.ModelMultipleChoiceField(
        queryset=inventory_selectors.location_list(active_only=False),
        required=False,
        widget=LocationsWidget("locations", is_stacked=False),
        help_text="The locations whose stock this channel sells.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["locations"].initial = list(self.instance.locations.all())

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
            "product_url_template",
            "prices_include_tax",
            "is_active",
        ]

    def clean_endpoint_url(self) -> str:
        return outbound_url_clean(self.cleaned_data.get("endpoint_url") or "", field="endpoint_url")

    def clean_signing_secret(self) -> str:
        typed = self.cleaned_data.get("signing_secret") or ""
        return typed or (self.instance.signing_secret if self.instance.pk else "")

    def _save_m2m(self) -> None:
        super()._save_m2m()  # type: ignore[misc]
        inventory_services.channel_locations_set(
            channel_id=self.instance.pk,
            location_ids=[location.pk for location in self.cleaned_data["locations"]],
        )


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
        "feed_generated",
    ]
    list_filter = ["kind", "currency", "is_active"]
    search_fields = ["code", "name"]
    readonly_fields = ["current_secret", "feed_status"]
    actions = ["rebuild_feeds"]
    inlines = [ChannelCountryInline]

    @admin.display(description="Feed last generated", ordering="feed_generated_at")
    def feed_generated(self, obj: Any) -> str:
        generated = getattr(obj, "feed_generated_at", None)
        if obj.kind not in feed_services.FEED_KINDS:
            return "—"
        return f"{timesince(generated, timezone.now())} ago" if generated else "never"

    @admin.display(description="Feed files")
    def feed_status(self, obj: Channel) -> str:
        if obj.pk is None or obj.kind not in feed_services.FEED_KINDS:
            return "Not a feed channel."
        rows = [
            format_html(
                "<li><a href='/channels/{}/feed.{}'>feed.{}</a>: {} items, {} left out, {} KB, "
                "generated {} in {} s{}</li>",
                obj.code,
                feed.format,
                feed.format,
                feed.item_count,
                feed.excluded_count,
                feed.size_bytes // 1024,
                localize(timezone.localtime(feed.generated_at)) if feed.generated_at else "never",
                feed.seconds,
                " (changes waiting)" if feed.dirty else "",
            )
            for feed in obj.feeds.all()
        ]
        problems = feed_services.feed_problem_summary(obj)
        reasons = [
            format_html("<li>{}: {} item(s)</li>", attribute, count)
            for attribute, count in problems.items()
        ]
        return format_html(
            "<ul>{}</ul>{}",
            format_html_join("", "{}", ((row,) for row in rows)) or "Not generated yet.",
            format_html(
                "<p>Left out because of a field rule (see Feed items):</p><ul>{}</ul>",
                format_html_join("", "{}", ((reason,) for reason in reasons)),
            )
            if reasons
            else "",
        )

    @admin.action(description="Rebuild the feeds of the selected channels now")
    def rebuild_feeds(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        built = []
        for channel in queryset.filter(kind__in=feed_services.FEED_KINDS):
            result = feed_services.feed_rebuild(channel)
            built.append(f"{channel.code} ({result.products} products)")
        if built:
            self.message_user(request, "Rebuilt: " + ", ".join(built) + ".", messages.SUCCESS)
        else:
            self.message_user(request, "None of those is a feed channel.", messages.WARNING)

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


class WebhookSubscriptionForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = WebhookSubscription
        fields = ["partner", "url", "events", "description", "is_active"]

    def clean_url(self) -> str:
        return outbound_url_clean(self.cleaned_data.get("url") or "", field="url")


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = WebhookSubscriptionForm
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


class _HasProblems(admin.SimpleListFilter):
    title = "field rules"
    parameter_name = "problems"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Left out (breaks a rule)"), ("no", "In the feed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[FeedItem]) -> QuerySet[FeedItem]:
        if self.value() == "yes":
            return queryset.exclude(problems=[])
        if self.value() == "no":
            return queryset.filter(problems=[])
        return queryset


@admin.register(FeedItem)
class FeedItemAdmin(_ReadOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    """What each feed channel lists per variant, and why an item is left out."""

    list_display = ["item_id", "channel", "availability", "price", "problem_list", "updated_at"]
    list_filter = ["channel", _HasProblems]
    search_fields = ["fields__id", "product_id"]
    list_select_related = ["channel"]
    show_full_result_count = False

    @admin.display(description="Id (SKU)")
    def item_id(self, obj: FeedItem) -> str:
        return str(obj.fields.get("id", obj.variant_id))

    @admin.display(description="Availability")
    def availability(self, obj: FeedItem) -> str:
        return str(obj.fields.get("availability", ""))

    @admin.display(description="Price")
    def price(self, obj: FeedItem) -> str:
        sale = obj.fields.get("sale_price")
        return (
            f"{sale} (was {obj.fields.get('price')})" if sale else str(obj.fields.get("price", ""))
        )

    @admin.display(description="Left out because")
    def problem_list(self, obj: FeedItem) -> str:
        return "; ".join(obj.problems) or "—"
