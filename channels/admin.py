from django.contrib import admin

from channels.models import Channel, WebhookSubscription


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "currency", "locale", "is_active", "updated_at"]
    list_filter = ["kind", "currency", "is_active"]
    search_fields = ["code", "name"]
    filter_horizontal = ["locations"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["partner", "url", "is_active", "created_at"]
    list_filter = ["is_active", "partner"]
    search_fields = ["url", "partner__name"]
    list_select_related = ["partner"]
    readonly_fields = ["created_at", "updated_at"]
