from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from catalog.models import Variant
from core.actors import SYSTEM, Actor
from core.errors import DomainError
from inventory import selectors, services
from inventory.models import (
    Location,
    StaffMember,
    StockHold,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
)
from inventory.stock_feed import stock_feed_apply


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
                    "cutoff_time",
                    "opening_hours",
                ]
            },
        ),
    ]


class StaffMemberInline(admin.TabularInline):
    """The user's store memberships: one row per store (a store manager may have several)."""

    model = StaffMember
    can_delete = True
    extra = 1
    verbose_name = "store membership"
    verbose_name_plural = "store memberships"
    autocomplete_fields = ["location"]


admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    """Django's user admin with the staff member's store memberships inline."""

    inlines = [StaffMemberInline]
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "stores"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "store_memberships",
                    queryset=StaffMember.objects.select_related("location").order_by(
                        "location__code"
                    ),
                )
            )
        )

    @admin.display(description="stores")
    def stores(self, obj: User) -> str:
        codes = [member.location.code for member in obj.store_memberships.all()]
        return ", ".join(codes) or "-"


class LowStockFilter(admin.SimpleListFilter):
    title = "stock state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("low", "low (2 or fewer available)"),
            ("out", "sold out (nothing available)"),
            ("drift", "drift (on hand differs from the ledger)"),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[StockLevel]
    ) -> QuerySet[StockLevel]:
        if self.value() == "low":
            # available_now is annotated by selectors.stock_level_list
            return queryset.filter(available_now__lte=LOW_STOCK, available_now__gt=0)  # type: ignore[misc]
        if self.value() == "out":
            return queryset.filter(available_now__lte=0)  # type: ignore[misc]
        if self.value() == "drift":
            return queryset.filter(
                pk__in=[drift.stock_id for drift in selectors.stock_drift_list()]
            )
        return queryset


LOW_STOCK = 2


class StockFeedUploadForm(forms.Form):
    file = forms.FileField(
        help_text="CSV with the columns sku, location, on_hand (reason and reference optional)."
    )


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    """Stock per variant per location. Counters change only through movements and services;
    safety stock is the one field edited here (through ``stock_safety_set``)."""

    list_display = [
        "variant",
        "location",
        "on_hand",
        "committed",
        "reserved",
        "safety_stock",
        "available",
        "incoming",
        "next_arrival",
        "damaged",
        "updated_at",
    ]
    list_filter = [LowStockFilter, "location"]
    search_fields = ["variant__sku", "location__code"]
    show_full_result_count = False
    fields = [
        "variant",
        "location",
        "on_hand",
        "committed",
        "safety_stock",
        "incoming",
        "damaged",
    ]
    readonly_fields = ["variant", "location", "on_hand", "committed", "incoming", "damaged"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StockLevel]:
        return selectors.stock_level_list().annotate(
            next_arrival_at=selectors.next_arrival_subquery()
        )

    @admin.display(description="reserved")
    def reserved(self, obj: Any) -> int:
        return int(obj.reserved_now)

    @admin.display(description="available")
    def available(self, obj: Any) -> int:
        return max(int(obj.available_now), 0)

    @admin.display(description="next arrival", ordering="next_arrival_at")
    def next_arrival(self, obj: Any) -> Any:
        return obj.next_arrival_at or "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: StockLevel, form: Any, change: bool) -> None:
        services.stock_safety_set(
            variant_id=obj.variant_id, location_id=obj.location_id, safety_stock=obj.safety_stock
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "feed/",
                self.admin_site.admin_view(self.feed_view),
                name="inventory_stocklevel_feed",
            ),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:
        extra = {
            **(extra_context or {}),
            "can_feed": request.user.has_perm("inventory.add_stockmovement"),
        }
        return super().changelist_view(request, extra)

    def feed_view(self, request: HttpRequest) -> Any:
        """Upload an ERP/WMS stock feed (inventory managers): applied whole or refused with the
        row and column of every bad cell."""
        if not request.user.has_perm("inventory.add_stockmovement"):
            raise PermissionDenied
        form = StockFeedUploadForm(request.POST or None, request.FILES or None)
        errors: list[dict[str, Any]] = []
        if request.method == "POST" and form.is_valid():
            try:
                summary = stock_feed_apply(
                    data=form.cleaned_data["file"].read(), actor=Actor.for_user(request.user)
                )
            except DomainError as refused:
                errors = refused.errors
                self.message_user(
                    request,
                    refused.message if not errors else "The feed was not applied.",
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request,
                    f"{summary.rows} rows: {summary.levels_changed} levels changed, "
                    f"{summary.unchanged} unchanged "
                    f"(+{summary.units_added} / -{summary.units_removed} units).",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:inventory_stocklevel_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Apply a stock feed",
            "form": form,
            "errors": errors,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/inventory/stocklevel/feed.html", context)


class StockMovementForm(forms.ModelForm):
    """Record a movement or a count. The service runs while the form is validated (inside the
    admin's transaction), so a refusal (more damage than on hand, a count below committed units)
    comes back as a form error with everything the user typed still there."""

    COUNT = "count"

    sku = forms.CharField(max_length=64)
    location = forms.ModelChoiceField(queryset=Location.objects.all())
    kind = forms.ChoiceField(
        choices=[
            *[(k, StockMovement.Kind(k).label) for k in sorted(services.MANUAL_MOVEMENT_KINDS)],
            (COUNT, "Count (the quantity is what is on the shelf)"),
        ]
    )
    quantity = forms.IntegerField(
        help_text="Positive; an adjustment may be negative; for a count, the units counted."
    )

    class Meta:
        model = StockMovement
        fields = ["reason", "reference_type", "reference"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        variant = Variant.objects.filter(sku=data["sku"]).first()
        if variant is None:
            raise forms.ValidationError({"sku": "No variant has this SKU."})
        kind = data["kind"]
        if kind == self.COUNT and data["quantity"] < 0:
            raise forms.ValidationError({"quantity": "A count cannot be negative."})
        if kind not in ("adjustment", self.COUNT) and data["quantity"] <= 0:
            raise forms.ValidationError({"quantity": "Must be positive for this kind."})
        if kind in ("adjustment", self.COUNT) and not data.get("reason", "").strip():
            raise forms.ValidationError(
                {"reason": f"A{'' if kind == self.COUNT else 'n'} {kind} needs a reason."}
            )
        actor: Actor = getattr(self, "actor", SYSTEM)
        try:
            if kind == self.COUNT:
                _level, movement = services.stock_count(
                    variant_id=variant.pk,
                    location_id=data["location"].pk,
                    on_hand=data["quantity"],
                    reason=data.get("reason", ""),
                    reference=data.get("reference", ""),
                    reference_type=data.get("reference_type", ""),
                    actor=actor,
                )
                if movement is None:
                    raise forms.ValidationError(
                        "The count matches what is on hand: nothing to record."
                    )
                self.movement = movement
            else:
                [self.movement] = services.stock_movements_apply(
                    movements=[
                        services.MovementInput(
                            variant_id=variant.pk,
                            location_id=data["location"].pk,
                            kind=kind,
                            quantity=data["quantity"],
                            reason=data.get("reason", ""),
                            reference=data.get("reference", ""),
                            reference_type=data.get("reference_type", ""),
                        )
                    ],
                    actor=actor,
                )
        except DomainError as refused:
            raise forms.ValidationError(refused.message) from refused
        return data


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    """The append-only ledger: movements are recorded through ``stock_movements_apply`` and
    are never changed or deleted."""

    list_display = [
        "created_at",
        "kind",
        "sku",
        "location_code",
        "on_hand_delta",
        "damaged_delta",
        "reason",
        "reference",
        "by",
    ]
    list_filter = ["kind", "reference_type", "actor_kind", "stock__location"]
    search_fields = ["stock__variant__sku", "reference", "reason", "idempotency_key"]
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[StockMovement]:
        return selectors.stock_movement_list()

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = StockMovementForm
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = Actor.for_user(request.user)  # type: ignore[attr-defined]  # a class per request
        return form

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["sku", "location", "kind", "quantity", "reason", "reference_type", "reference"]
        # the movement's own fields first, who made it last (as the ledger page always showed)
        actor = {"actor_kind", "actor_name", "actor_user", "actor_partner"}
        fields = [f.name for f in StockMovement._meta.fields if f.name != "id"]
        return [f for f in fields if f not in actor] + [f for f in fields if f in actor]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj) if obj is not None else []

    @admin.display(description="SKU", ordering="stock__variant__sku")
    def sku(self, obj: StockMovement) -> str:
        return obj.stock.variant.sku

    @admin.display(description="by", ordering="actor_name")
    def by(self, obj: StockMovement) -> str:
        """The user's name, the partner's name (as the partner column showed it), or the process."""
        return obj.actor_partner.name if obj.actor_partner is not None else obj.actor_name

    @admin.display(description="location", ordering="stock__location__code")
    def location_code(self, obj: StockMovement) -> str:
        return obj.stock.location.code

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: StockMovement, form: Any, change: bool) -> None:
        obj.pk = form.movement.pk  # recorded by the service when the form was validated


@admin.register(StockHold)
class StockHoldAdmin(admin.ModelAdmin):
    list_display = ["reference", "stock", "quantity", "status", "expires_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["reference", "stock__variant__sku"]
    actions = ["release_holds"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StockHold]:
        return selectors.stock_hold_list()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Release the holds of the selected references")
    def release_holds(self, request: HttpRequest, queryset: QuerySet[StockHold]) -> None:
        freed = sum(
            services.stock_hold_release(reference=ref)
            for ref in set(queryset.values_list("reference", flat=True))
        )
        self.message_user(request, f"Released {freed} unit(s).")


class TransferLineInline(admin.TabularInline):
    model = TransferLine
    extra = 1
    raw_id_fields = ["variant"]
    readonly_fields = ["quantity_received", "quantity_missing"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or obj.status == Transfer.Status.DRAFT

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or obj.status == Transfer.Status.DRAFT

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or obj.status == Transfer.Status.DRAFT


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    """Drafts are edited here; shipping and receiving go through the transfer services."""

    list_display = [
        "id",
        "source",
        "destination",
        "status",
        "reference",
        "shipped_at",
        "expected_at",
        "received_at",
    ]
    list_filter = ["status", "source", "destination"]
    search_fields = ["reference"]
    inlines = [TransferLineInline]
    actions = ["ship", "receive_in_full", "cancel"]
    readonly_fields = ["status", "shipped_at", "received_at", "created_by"]
    # who created the draft is recorded by save_model, never typed in
    exclude = ["actor_kind", "actor_name", "actor_user", "actor_partner"]

    @admin.display(description="created by")
    def created_by(self, obj: Transfer) -> str:
        return obj.actor_name or "-"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Transfer]:
        return selectors.transfer_list()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.status != Transfer.Status.DRAFT:
            return [*self.readonly_fields, "source", "destination", "reference"]
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Transfer, form: Any, change: bool) -> None:
        if not change:
            for name, value in Actor.for_user(request.user).fields().items():
                setattr(obj, name, value)
        super().save_model(request, obj, form, change)

    @admin.action(description="Ship the selected draft transfers")
    def ship(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        for transfer_id in queryset.values_list("pk", flat=True):
            try:
                services.transfer_ship(transfer_id=transfer_id, actor=Actor.for_user(request.user))
            except DomainError as exc:
                self.message_user(request, f"Transfer {transfer_id}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"Transfer {transfer_id} shipped.")

    @admin.action(description="Receive everything outstanding on the selected transfers")
    def receive_in_full(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        for transfer in queryset.prefetch_related("lines"):
            outstanding = {
                line.variant_id: line.quantity - line.quantity_received - line.quantity_missing
                for line in transfer.lines.all()
            }
            try:
                services.transfer_receive(
                    transfer_id=transfer.pk,
                    received=outstanding,
                    actor=Actor.for_user(request.user),
                )
            except DomainError as exc:
                self.message_user(request, f"Transfer {transfer.pk}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"Transfer {transfer.pk} received.")

    @admin.action(description="Cancel the selected draft transfers")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        for transfer_id in queryset.values_list("pk", flat=True):
            try:
                services.transfer_cancel(transfer_id=transfer_id)
            except DomainError as exc:
                self.message_user(request, f"Transfer {transfer_id}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"Transfer {transfer_id} cancelled.")
