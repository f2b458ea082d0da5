"""Customer 360 for customer service: search by any identifier, the whole story on one page,
notes, merge with a preview, GDPR export and erasure. Reads come from selectors, writes from
services; every page runs a fixed number of queries."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html

from core.actors import Actor
from core.errors import DomainError
from customers import selectors, services
from customers.models import (
    Customer,
    CustomerAudit,
    CustomerStatus,
    LoyaltyAccount,
    LoyaltyEarnRule,
    MergeAudit,
    MergeCandidate,
    MergeCandidateStatus,
)


class NoteForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class MergeForm(forms.Form):
    other = forms.IntegerField(label="Customer id to merge into this one", min_value=1)


def _admin_url(obj: Model) -> str | None:
    try:
        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return None


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "email", "status", "balance", "created_at", "updated_at")
    list_filter = ("status",)
    search_fields = ("name",)  # replaced by any-identifier search below
    search_help_text = "Email, phone (any notation), loyalty card, handle, external id, name or id"
    fields = ("name", "status", "merged_into", "erased_at", "created_at", "updated_at")
    readonly_fields = ("status", "merged_into", "erased_at", "created_at", "updated_at")
    change_form_template = "admin/customers/customer/change_form.html"
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        return selectors.customer_changelist()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.status != CustomerStatus.ACTIVE:
            return False  # a merged or erased customer is kept as it is
        return super().has_change_permission(request, obj)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Customer], search_term: str
    ) -> tuple[QuerySet[Customer], bool]:
        if not search_term.strip():
            return queryset, False
        matches = selectors.customer_search(term=search_term).values("pk")
        return queryset.filter(pk__in=matches), False

    @admin.display(description="email")
    def email(self, obj: Any) -> str:
        return obj.email or ""

    @admin.display(description="points")
    def balance(self, obj: Customer) -> int:
        try:
            return obj.loyalty_account.balance
        except LoyaltyAccount.DoesNotExist:
            return 0

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # customers are created by resolution (orders, carts, the store page)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # erase instead: orders and refunds must keep their customer

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        services.customer_rename(customer_id=obj.pk, name=obj.name)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/note/", view(self.note_view), name="customers_customer_note"),
            path("<int:pk>/merge/", view(self.merge_view), name="customers_customer_merge"),
            path("<int:pk>/export/", view(self.export_view), name="customers_customer_export"),
            path("<int:pk>/erase/", view(self.erase_view), name="customers_customer_erase"),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not object_id.isdigit():
            raise Http404
        story = selectors.customer_360(customer_id=int(object_id))
        if story is None:
            raise Http404
        registered = set(self.admin_site._registry)
        sections = [
            {
                "label": section.label,
                "count": section.count,
                "rows": [
                    {"text": str(row), "url": _admin_url(row), "status": getattr(row, "status", "")}
                    for row in section.rows
                ],
            }
            for section in selectors.customer_related_sections(
                customer_id=story.customer.pk,
                models=[m for m in registered if m._meta.app_label != "customers"],
            )
        ]
        user = request.user
        extra = {
            **(extra_context or {}),
            "story": story,
            "sections": sections,
            "note_form": NoteForm(),
            "merge_form": MergeForm(),
            "can_merge": user.has_perm("customers.merge_customer"),
            "can_export": user.has_perm("customers.export_customer"),
            "can_erase": user.has_perm("customers.erase_customer"),
            "active": story.customer.status == CustomerStatus.ACTIVE,
        }
        return super().change_view(request, object_id, form_url, extra)

    def _customer_or_404(self, pk: int) -> Customer:
        customer = Customer.objects.filter(pk=pk).first()
        if customer is None:
            raise Http404
        return customer

    def _back(self, pk: int) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:customers_customer_change", args=[pk]))

    def note_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        form = NoteForm(request.POST)
        if form.is_valid():
            try:
                services.customer_note_add(
                    customer_id=pk,
                    text=form.cleaned_data["text"],
                    actor=Actor.for_user(request.user),
                )
            except DomainError as refused:
                self.message_user(request, refused.message, messages.ERROR)
            else:
                self.message_user(request, "Note added.", messages.SUCCESS)
        else:
            self.message_user(request, "A note needs text.", messages.ERROR)
        return self._back(pk)

    def merge_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Preview what moves from the other customer into this one; merge on confirmation."""
        if not request.user.has_perm("customers.merge_customer"):
            raise PermissionDenied
        survivor = self._customer_or_404(pk)
        form = MergeForm(request.POST or request.GET or None)
        preview: dict[str, int] | None = None
        loser: Customer | None = None
        if form.is_valid():
            loser = Customer.objects.filter(pk=form.cleaned_data["other"]).first()
            try:
                if loser is None:
                    raise DomainError(f"No customer #{form.cleaned_data['other']}.")
                if request.method == "POST" and "confirm" in request.POST:
                    audit = services.customer_merge(
                        survivor_id=survivor.pk,
                        loser_id=loser.pk,
                        actor=Actor.for_user(request.user),
                    )
                    moved = ", ".join(f"{k}: {v}" for k, v in audit.moved.items()) or "nothing"
                    self.message_user(
                        request,
                        f"Merged #{loser.pk} into #{survivor.pk} ({moved}).",
                        messages.SUCCESS,
                    )
                    return self._back(survivor.pk)
                preview = services.customer_merge_preview(
                    survivor_id=survivor.pk, loser_id=loser.pk
                )
            except DomainError as refused:
                self.message_user(request, refused.message, messages.ERROR)
                preview = None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Merge a duplicate into {survivor}",
            "opts": self.model._meta,
            "original": survivor,
            "survivor": survivor,
            "loser": loser,
            "form": form,
            "preview": preview,
        }
        return TemplateResponse(request, "admin/customers/customer/merge.html", context)

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """GDPR data export: a confirm page, then the JSON download (audited)."""
        if not request.user.has_perm("customers.export_customer"):
            raise PermissionDenied
        customer = self._customer_or_404(pk)
        if request.method == "POST":
            data = services.customer_export(
                customer_id=customer.pk, actor=Actor.for_user(request.user)
            )
            response = HttpResponse(
                json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
            )
            response["Content-Disposition"] = f'attachment; filename="customer-{pk}.json"'
            return response
        return self._confirm(
            request,
            customer,
            action="export",
            text="Download everything held about this customer as JSON. The export is recorded.",
        )

    def erase_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """GDPR erasure: a confirm page, then the irreversible anonymisation (audited)."""
        if not request.user.has_perm("customers.erase_customer"):
            raise PermissionDenied
        customer = self._customer_or_404(pk)
        if request.method == "POST":
            try:
                services.customer_erase(customer_id=customer.pk, actor=Actor.for_user(request.user))
            except DomainError as refused:
                self.message_user(request, refused.message, messages.ERROR)
            else:
                self.message_user(request, f"Customer #{pk} was erased.", messages.SUCCESS)
            return self._back(pk)
        return self._confirm(
            request,
            customer,
            action="erase",
            text="Erase this customer's personal data: the name, identifiers and notes are "
            "removed for good. Orders, refunds, the loyalty ledger and the consent log stay for "
            "accounting. This cannot be undone.",
        )

    def _confirm(
        self, request: HttpRequest, customer: Customer, *, action: str, text: str
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": f"{action.title()} {customer}",
            "opts": self.model._meta,
            "original": customer,
            "action": action,
            "text": text,
        }
        return TemplateResponse(request, "admin/customers/customer/confirm.html", context)


@admin.register(MergeCandidate)
class MergeCandidateAdmin(admin.ModelAdmin):
    list_display = ("id", "customer_a", "customer_b", "reason", "status", "created_at", "preview")
    list_filter = ("status",)
    list_select_related = ("customer_a", "customer_b")
    readonly_fields = ("customer_a", "customer_b", "reason", "status", "created_at")
    actions = ("dismiss",)

    @admin.display(description="merge")
    def preview(self, obj: MergeCandidate) -> str:
        if obj.status != MergeCandidateStatus.OPEN:
            return ""
        url = reverse("admin:customers_customer_merge", args=[obj.customer_a_id])
        return format_html('<a href="{}?other={}">preview</a>', url, obj.customer_b_id)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Dismiss (not the same person)")
    def dismiss(self, request: HttpRequest, queryset: QuerySet[MergeCandidate]) -> None:
        for pk in queryset.values_list("pk", flat=True):
            services.merge_candidate_dismiss(candidate_id=pk)
        self.message_user(request, "Dismissed.", messages.SUCCESS)


class _ReadOnlyAdmin(admin.ModelAdmin):
    @admin.display(description="user", ordering="actor_name")
    def user(self, obj: MergeAudit | CustomerAudit) -> str:
        return obj.actor_name

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MergeAudit)
class MergeAuditAdmin(_ReadOnlyAdmin):
    list_display = ("id", "survivor", "loser_id", "user", "created_at")
    list_select_related = ("survivor",)


@admin.register(CustomerAudit)
class CustomerAuditAdmin(_ReadOnlyAdmin):
    list_display = ("id", "customer", "action", "user", "created_at")
    list_filter = ("action", "actor_kind")
    list_select_related = ("customer",)


@admin.register(LoyaltyEarnRule)
class LoyaltyEarnRuleAdmin(admin.ModelAdmin):
    list_display = ("channel_code", "points_per_unit")

    def save_model(
        self, request: HttpRequest, obj: LoyaltyEarnRule, form: Any, change: bool
    ) -> None:
        services.loyalty_earn_rule_set(
            channel_code=obj.channel_code, points_per_unit=obj.points_per_unit
        )
