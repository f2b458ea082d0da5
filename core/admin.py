"""Back office for the bottom layer: partners and their keys, idempotency records, change events,
the audit log, tax classes and rates, and the countries a channel sells to (an inline the channel
admin in ``channels.admin`` shows)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from core.actors import Actor
from core.api.services import partner_api_key_audit
from core.audit import SensitiveAction
from core.models import (
    AuditEntry,
    ChangeEvent,
    ChannelCountry,
    IdempotencyRecord,
    Partner,
    PartnerAPIKey,
    TaxClass,
    TaxRate,
)
from core.scopes import Scope


class PartnerAPIKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = PartnerAPIKey
        fields = ["name", "partner", "scopes", "channels", "rate_limit", "expiry_date", "revoked"]


# Partners hold scoped keys; the library's unscoped key model is not used.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "is_active", "contact_email", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "code", "contact_email"]
    prepopulated_fields = {"code": ["name"]}
    filter_horizontal = ["channels"]


@admin.register(PartnerAPIKey)
class PartnerAPIKeyAdmin(APIKeyModelAdmin):
    """A new key is shown once, in a message, when it is saved; afterwards only its prefix."""

    form = PartnerAPIKeyForm
    # The library types these as fixed-length tuples; ours are longer.
    list_display = (*APIKeyModelAdmin.list_display, "partner")  # type: ignore[assignment]
    list_filter = (*APIKeyModelAdmin.list_filter, "partner")  # type: ignore[assignment]
    list_select_related = ["partner"]
    search_fields = (*APIKeyModelAdmin.search_fields, "partner__name")  # type: ignore[assignment]
    filter_horizontal = ["channels"]

    def save_model(
        self, request: HttpRequest, obj: Any, form: Any = None, change: bool = False
    ) -> None:
        """Save through the library (which shows a new key once), then audit a creation or a
        revocation in the same transaction (the admin's change view is atomic)."""
        revoking = (
            change
            and obj.revoked
            and not PartnerAPIKey.objects.filter(pk=obj.pk, revoked=True).exists()
        )
        super().save_model(request, obj, form, change)
        if not change or revoking:
            partner_api_key_audit(
                api_key=obj,
                action=SensitiveAction.API_KEY_REVOKE
                if revoking
                else SensitiveAction.API_KEY_CREATE,
                actor=Actor.for_user(request.user),
            )


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["key", "owner", "method", "path", "state", "status_code", "created_at"]
    list_filter = ["state", "method"]
    search_fields = ["key", "owner", "path"]
    readonly_fields = [field.name for field in IdempotencyRecord._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log, read-only for everyone (superusers too): entries are written by services in
    the transaction of the action and never changed. The actor is shown by username or partner
    code, looked up when the page is read (the entry keeps ids only)."""

    list_display = (
        "at",
        "action",
        "actor",
        "surface",
        "remote_ip",
        "object_type",
        "object_id",
        "data",
    )
    list_filter = ("action", "surface", "at", "actor_kind")
    search_fields = ("=object_id", "=request_id")
    search_help_text = "An object id (order, refund, customer, price, key prefix) or a request id."
    list_select_related = ("actor_user", "actor_partner")
    show_full_result_count = False
    readonly_fields = [field.name for field in AuditEntry._meta.fields]

    @admin.display(description="actor")
    def actor(self, obj: AuditEntry) -> str:
        if obj.actor_user_id is not None:
            user = obj.actor_user
            return user.get_username() if user else f"user #{obj.actor_user_id} (deleted)"
        if obj.actor_partner_id is not None:
            partner = obj.actor_partner
            return f"partner:{partner.code}" if partner else f"partner #{obj.actor_partner_id}"
        return obj.get_actor_kind_display()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CountryCodeFormMixin(forms.ModelForm):  # type: ignore[type-arg]
    """Takes ``nl`` or `` NL `` as ``NL``; the model's validator refuses codes that are not
    ISO 3166-1 alpha-2."""

    def clean_country(self) -> str:
        return str(self.cleaned_data.get("country") or "").strip().upper()


class ChannelCountryForm(CountryCodeFormMixin):
    class Meta:
        model = ChannelCountry
        fields = ["country", "position", "languages"]

    def clean_languages(self) -> str:
        """``NL,fr-BE`` is kept as ``nl, fr``; the model's validator refuses other languages."""
        from core.models.channels import languages_parse

        return ", ".join(languages_parse(str(self.cleaned_data.get("languages") or "")))


class ChannelCountryInline(admin.TabularInline):  # type: ignore[type-arg]
    """The countries a channel sells to; the first (lowest position) is its default country."""

    model = ChannelCountry
    form = ChannelCountryForm
    extra = 0
    ordering = ["position", "id"]
    verbose_name = "country sold to"
    verbose_name_plural = "countries sold to (the first is the default: tax and feeds)"


@admin.register(TaxClass)
class TaxClassAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


class TaxRateForm(CountryCodeFormMixin):
    class Meta:
        model = TaxRate
        fields = ["country", "tax_class", "name", "rate"]


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rates listed by country, highest first; filter by country or class."""

    form = TaxRateForm
    list_display = ["country", "name", "rate", "tax_class"]
    list_filter = ["country", "tax_class"]
    list_select_related = ["tax_class"]
    search_fields = ["=country", "name", "tax_class__code"]
    ordering = ["country", "-rate", "tax_class__code"]
