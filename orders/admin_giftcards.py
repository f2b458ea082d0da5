"""The gift card back office: cards with their ledger (read-only), an "issue a gift card" form
for staff (the code is shown once, on the page that issued it), and "disable" and "expire" as
actions. Every write goes through ``orders.services.giftcards``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from core.actors import Actor
from core.errors import DomainError
from orders.models import GiftCard, GiftCardEntry
from orders.services import giftcards as giftcard_services


class GiftCardIssueForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0.01"), max_value=Decimal("100000")
    )
    currency = forms.RegexField(r"^[A-Z]{3}$", initial="EUR", max_length=3)
    expires_at = forms.DateTimeField(
        required=False, help_text="Empty: the default validity (GIFT_CARD_VALIDITY_DAYS)."
    )
    note = forms.CharField(max_length=200, required=False)


class GiftCardEntryInline(admin.TabularInline):
    model = GiftCardEntry
    extra = 0
    can_delete = False
    fields = ("at", "kind", "amount", "balance_after", "order", "payment", "actor_name")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(GiftCard)
class GiftCardAdmin(admin.ModelAdmin):
    change_list_template = "admin/orders/giftcard/change_list.html"
    list_display = (
        "masked_code",
        "currency",
        "initial_amount",
        "balance",
        "status",
        "expires_at",
        "actor_name",
        "created_at",
    )
    list_filter = ("status", "currency")
    search_fields = ("last4", "note")
    readonly_fields = (
        "masked_code",
        "currency",
        "initial_amount",
        "balance",
        "status",
        "expires_at",
        "sold_on",
        "note",
        "actor_kind",
        "actor_name",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    inlines = [GiftCardEntryInline]
    actions = ["disable_cards"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # cards are issued through the "issue" form (a code and a ledger entry)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _can_issue(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("orders.add_giftcard"))

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra = {**(extra_context or {}), "can_issue": self._can_issue(request)}
        return super().changelist_view(request, extra_context=extra)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "issue/",
                self.admin_site.admin_view(self.issue_view),
                name="orders_giftcard_issue",
            ),
            *super().get_urls(),
        ]

    def issue_view(self, request: HttpRequest) -> HttpResponse:
        if not self._can_issue(request):
            raise PermissionDenied
        form = GiftCardIssueForm(request.POST or None)
        issued = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            kwargs: dict[str, Any] = {}
            if data["expires_at"] is not None:
                kwargs["expires_at"] = data["expires_at"]
            try:
                issued = giftcard_services.giftcard_issue(
                    amount=data["amount"],
                    currency=data["currency"],
                    note=data["note"],
                    actor=Actor.for_user(request.user),
                    **kwargs,
                )
            except DomainError as refused:
                form.add_error(None, refused.message)
        return TemplateResponse(
            request,
            "admin/orders/giftcard/issue.html",
            {
                **self.admin_site.each_context(request),
                "title": "Issue a gift card",
                "form": form,
                "issued": issued,
                "validity_days": giftcard_services.giftcard_validity_days(),
                "opts": self.model._meta,
            },
        )

    @admin.action(description="Disable the selected gift cards", permissions=["disable"])
    def disable_cards(self, request: HttpRequest, queryset: QuerySet[GiftCard]) -> None:
        actor = Actor.for_user(request.user)
        for card in queryset:
            giftcard_services.giftcard_disable(card_id=card.pk, actor=actor)
        messages.success(request, f"{queryset.count()} gift card(s) disabled.")

    def has_disable_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("orders.change_giftcard"))
