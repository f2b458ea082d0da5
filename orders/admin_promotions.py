"""The promotions back office: promotions with their coupon batches, a "generate codes" form,
the preview ("this cart would get ...") and the coupons with their use counts.

Every write goes through ``orders.services.promotions``; the preview calls the one pricing function
(``orders.pricing.basket_price``) exactly as carts, placement and the till do.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from catalog.models import Variant
from core.errors import DomainError
from core.models import Channel
from orders.models.promotions import Coupon, CouponBatch, CouponRedemption, Promotion
from orders.pricing import BasketItem, Pricing, basket_price
from orders.promotions import coupon_code_normalise
from orders.services import promotions as promo_services

Kind = Promotion.Kind
MAX_PREVIEW_LINES = 50


class PromotionForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Promotion
        fields = (
            "name",
            "kind",
            "value",
            "is_active",
            "target",
            "products",
            "categories",
            "variants",
            "buy_quantity",
            "get_quantity",
            "threshold",
            "channels",
            "customer_scope",
            "min_lifetime_points",
            "consent_purpose",
            "starts_at",
            "ends_at",
            "priority",
            "stackable",
            "requires_coupon",
            "max_uses",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, value = data.get("kind"), data.get("value")
        if kind in (Kind.PERCENT_OFF, Kind.BUY_X_GET_Y) and value is not None and value > 100:
            self.add_error("value", "A percentage is at most 100.")
        if kind in (Kind.PERCENT_OFF, Kind.AMOUNT_OFF, Kind.SPEND_THRESHOLD) and not value:
            self.add_error("value", "Give the discount.")
        if kind == Kind.BUY_X_GET_Y:
            for name in ("buy_quantity", "get_quantity"):
                if not data.get(name):
                    self.add_error(name, "Buy X get Y needs X and Y of at least 1.")
        target = data.get("target")
        chosen = {
            Promotion.Target.PRODUCTS: "products",
            Promotion.Target.CATEGORIES: "categories",
            Promotion.Target.VARIANTS: "variants",
        }
        if target in chosen and not data.get(chosen[target]):
            self.add_error(chosen[target], "Choose at least one.")
        scope = data.get("customer_scope")
        if scope == Promotion.CustomerScope.CONSENT and not data.get("consent_purpose"):
            self.add_error("consent_purpose", "Choose the consent the customers must have given.")
        if scope == Promotion.CustomerScope.LOYALTY and not data.get("min_lifetime_points"):
            self.add_error("min_lifetime_points", "Give the least lifetime points.")
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", "The end must be after the start.")
        return data


class CouponBatchInline(admin.TabularInline):  # type: ignore[type-arg]
    model = CouponBatch
    extra = 0
    can_delete = False
    fields = (
        "name",
        "prefix",
        "quantity",
        "max_uses_per_code",
        "max_uses_per_customer",
        "created_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class GenerateCodesForm(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    code_prefix = forms.RegexField(label="Prefix", regex=r"^[A-Za-z0-9]{1,20}$", max_length=20)
    quantity = forms.IntegerField(min_value=1, max_value=promo_services.BATCH_MAX)
    length = forms.IntegerField(
        min_value=promo_services.CODE_LENGTH_RANGE[0],
        max_value=promo_services.CODE_LENGTH_RANGE[1],
        initial=8,
    )
    max_uses_per_code = forms.IntegerField(min_value=1, required=False, initial=1)
    max_uses_per_customer = forms.IntegerField(min_value=1, required=False, initial=1)


class PreviewForm(forms.Form):
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.order_by("code"), to_field_name="code"
    )
    lines = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "cols": 40}),
        help_text="One line per SKU: 'SKU quantity', e.g. 'ORGANIC-TEE-S 2'.",
    )
    coupons = forms.CharField(required=False, help_text="Codes, separated by commas or spaces.")
    customer_email = forms.EmailField(required=False)
    shipping = forms.DecimalField(
        min_value=Decimal("0"), max_digits=10, decimal_places=2, initial=Decimal("0")
    )

    def clean_lines(self) -> list[tuple[str, int]]:
        parsed: list[tuple[str, int]] = []
        for number, raw in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            parts = raw.split()
            if not parts:
                continue
            if len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
                raise forms.ValidationError(f"Line {number}: write 'SKU quantity'.")
            quantity = int(parts[1]) if len(parts) == 2 else 1
            if not 1 <= quantity <= 999:
                raise forms.ValidationError(f"Line {number}: the quantity is 1 to 999.")
            parsed.append((parts[0], quantity))
        if not parsed:
            raise forms.ValidationError("Give at least one SKU.")
        if len(parsed) > MAX_PREVIEW_LINES:
            raise forms.ValidationError(f"At most {MAX_PREVIEW_LINES} lines.")
        known = dict(
            Variant.objects.filter(sku__in=[sku for sku, _ in parsed]).values_list("sku", "pk")
        )
        unknown = [sku for sku, _ in parsed if sku not in known]
        if unknown:
            raise forms.ValidationError(f"Unknown SKU: {', '.join(unknown)}.")
        self.variant_ids = known
        return parsed


@dataclass
class PreviewRow:
    sku: str
    unit_price: Decimal
    quantity: int
    total: Decimal
    discount: Decimal
    net: Decimal


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = PromotionForm
    inlines = [CouponBatchInline]
    list_display = (
        "name",
        "kind",
        "value",
        "priority",
        "stackable",
        "requires_coupon",
        "starts_at",
        "ends_at",
        "uses",
        "is_active",
    )
    list_filter = ("kind", "is_active", "requires_coupon", "customer_scope", "channels")
    search_fields = ("name",)
    filter_horizontal = ("channels", "products", "variants", "categories")
    readonly_fields = ("uses",)
    autocomplete_fields = ()
    fieldsets = (
        (None, {"fields": ("name", "kind", "value", "is_active", "uses")}),
        ("What it applies to", {"fields": ("target", "products", "categories", "variants")}),
        ("Buy X get Y, thresholds", {"fields": ("buy_quantity", "get_quantity", "threshold")}),
        (
            "Who and where",
            {"fields": ("channels", "customer_scope", "min_lifetime_points", "consent_purpose")},
        ),
        (
            "When and how it combines",
            {
                "fields": (
                    "starts_at",
                    "ends_at",
                    "priority",
                    "stackable",
                    "requires_coupon",
                    "max_uses",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Promotion]:
        return super().get_queryset(request).prefetch_related("channels")

    def get_urls(self) -> list[Any]:
        return [
            path(
                "preview/",
                self.admin_site.admin_view(self.preview_view),
                name="orders_promotion_preview",
            ),
            path(
                "<int:promotion_id>/generate-codes/",
                self.admin_site.admin_view(self.generate_view),
                name="orders_promotion_generate",
            ),
            *super().get_urls(),
        ]

    def generate_view(self, request: HttpRequest, promotion_id: int) -> HttpResponse:
        """Generate a batch of codes for the promotion (``orders.add_coupon``)."""
        if not request.user.has_perm("orders.add_coupon"):
            raise PermissionDenied
        promotion = get_object_or_404(Promotion, pk=promotion_id)
        form = GenerateCodesForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                batch = promo_services.coupon_batch_generate(
                    promotion_id=promotion.pk,
                    prefix=data["code_prefix"],
                    quantity=data["quantity"],
                    length=data["length"],
                    max_uses_per_code=data["max_uses_per_code"],
                    max_uses_per_customer=data["max_uses_per_customer"],
                    name=data["name"],
                )
            except DomainError as error:
                messages.error(request, f"{error.message} ({error.code})")
            else:
                messages.success(request, f"{batch.quantity} codes generated ({batch.prefix}-...).")
                url = reverse("admin:orders_coupon_changelist") + f"?batch__id__exact={batch.pk}"
                return HttpResponseRedirect(url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Generate coupon codes for {promotion}",
            "promotion": promotion,
            "form": form,
        }
        return TemplateResponse(request, "admin/orders/promotion/generate_codes.html", context)

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """ "This cart would get ...": the engine's result for a channel, SKUs and coupons."""
        if not request.user.has_perm("orders.view_promotion"):
            raise PermissionDenied
        form = PreviewForm(request.GET if "channel" in request.GET else None)
        result: Pricing | None = None
        rows: list[PreviewRow] = []
        error: DomainError | None = None
        missing_prices: list[str] = []
        totals: dict[str, Decimal] = {}
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            channel: Channel = data["channel"]
            at = timezone.now()
            items = [
                BasketItem(variant_id=form.variant_ids[sku], quantity=quantity, key=sku)
                for sku, quantity in data["lines"]
            ]
            codes = [
                coupon_code_normalise(code)
                for code in data["coupons"].replace(",", " ").split()
                if code
            ]
            try:
                # the one pricing function, as carts, placement and the till price
                result = basket_price(
                    channel=channel,
                    items=items,
                    shipping=data["shipping"],
                    coupon_codes=codes,
                    customer_email=data["customer_email"],
                    at=at,
                )
            except DomainError as caught:
                error = caught
            else:
                missing_prices = [
                    sku for sku, _ in data["lines"] if form.variant_ids[sku] in result.unpriced
                ]
                rows = [
                    PreviewRow(
                        line.key,
                        line.unit_price,
                        line.quantity,
                        line.subtotal,
                        line.discount,
                        line.total,
                    )
                    for line in result.lines
                ]
                totals = {
                    "subtotal": result.subtotal,
                    "discount": result.discount_total,
                    "shipping": result.shipping,
                    "shipping_discount": result.shipping_discount,
                    "tax": result.tax_total,
                    "total": result.total,
                }
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Preview promotions on a cart",
            "form": form,
            "result": result,
            "rows": rows,
            "totals": totals,
            "error": error,
            "missing_prices": missing_prices,
        }
        return TemplateResponse(request, "admin/orders/promotion/preview.html", context)


class CouponRedemptionInline(admin.TabularInline):  # type: ignore[type-arg]
    model = CouponRedemption
    extra = 0
    can_delete = False
    fields = ("order", "customer", "created_at", "released_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CouponForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Coupon
        fields = ("code", "promotion", "max_uses", "max_uses_per_customer", "is_active")

    def clean_code(self) -> str:
        code = coupon_code_normalise(self.cleaned_data["code"])
        if not promo_services.CODE_PATTERN.match(code):
            raise forms.ValidationError("3 to 64 letters, digits, '-' or '_'.")
        return code


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = CouponForm
    inlines = [CouponRedemptionInline]
    list_display = (
        "code",
        "promotion",
        "batch",
        "uses",
        "max_uses",
        "max_uses_per_customer",
        "is_active",
    )
    list_filter = ("is_active", "promotion", "batch")
    list_select_related = ("promotion", "batch")
    search_fields = ("code",)
    readonly_fields = ("uses", "batch")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # a used code keeps its text and promotion: redemptions point at it
        return (
            (*self.readonly_fields, "code", "promotion")
            if obj is not None
            else self.readonly_fields
        )
