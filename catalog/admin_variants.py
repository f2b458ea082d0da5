"""Variant editing in the admin: option values through one select per axis of the product type
(the product page's variant rows and the variant page), the variant matrix generator, and the
hook through which the prices-and-stock grid (``inventory.admin_grid``, registered in
``config/wiring.py``: the catalog may not import inventory) joins the product page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from catalog import services
from catalog.admin_forms import (
    OPTION_PREFIX,
    VariantAdminForm,
    VariantInlineForm,
    VariantInlineFormSet,
    variant_axes,
    variant_form_class,
)
from catalog.exceptions import VariantMatrixInvalid
from catalog.models import Product, Variant
from catalog.variant_matrix import MatrixPlan, variant_matrix_create, variant_matrix_plan
from core.errors import DomainError

# --- the prices-and-stock grid hook ------------------------------------------------------------

# (request, product, admin context) -> response; set once at start-up by config.wiring
VariantGridView = Callable[[HttpRequest, Product, dict[str, Any]], HttpResponse]
_grid_view: list[VariantGridView] = []


def variant_grid_register(view: VariantGridView) -> None:
    """Serve ``view`` as the product page's prices-and-stock grid (``<product>/grid/``)."""
    _grid_view[:] = [view]


def variant_grid_registered() -> bool:
    return bool(_grid_view)


# --- option fields per axis --------------------------------------------------------------------


def _option_fields(product: Product | None) -> list[str]:
    product_type = product.product_type if product is not None else None
    return [f"{OPTION_PREFIX}{attribute.code}" for attribute in variant_axes(product_type)]


class VariantAxesInlineMixin:
    """The product page's variant rows: one select per variant axis where the raw options JSON
    was, rows with the same options refused, and the links to the matrix and the grid above."""

    formset = VariantInlineFormSet
    template = "admin/catalog/product/variant_inline.html"
    fields_around_options = (["sku", "gtin"], ["weight_grams", "cost_price", "position"])

    @property
    def grid_enabled(self) -> bool:
        return variant_grid_registered()

    def get_fields(self, request: HttpRequest, obj: Product | None = None) -> list[str]:
        before, after = self.fields_around_options
        readonly = list(getattr(self, "readonly_fields", []))
        return [*before, *_option_fields(obj), *after, *readonly]

    def get_formset(self, request: HttpRequest, obj: Product | None = None, **kwargs: Any) -> Any:
        product_type = obj.product_type if obj is not None else None
        kwargs["form"] = variant_form_class(VariantInlineForm, product_type)
        return super().get_formset(request, obj, **kwargs)  # type: ignore[misc]


class VariantAxesAdminMixin:
    """The variant page: the options field becomes one select per axis of its product's type."""

    def get_fields(self, request: HttpRequest, obj: Variant | None = None) -> list[str]:
        fields = list(super().get_fields(request, obj))  # type: ignore[misc]
        if "options" not in fields:
            return fields
        at = fields.index("options")
        return [*fields[:at], *_option_fields(obj.product if obj else None), *fields[at + 1 :]]

    def get_form(
        self, request: HttpRequest, obj: Variant | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        product_type = obj.product.product_type if obj is not None else None
        kwargs["form"] = variant_form_class(VariantAdminForm, product_type)
        return super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]


class VariantRowRefused(DomainError):
    """A variant row of the product page that the catalog services refused while saving."""

    code = "variant_row_refused"


@transaction.atomic
def variant_rows_save(*, product: Product, formset: Any, user: Any) -> None:
    """Save the product page's variant rows (a valid ``VariantInlineFormSet``) through the
    services: deleted rows first, then each changed row through ``variant_save``. The order of
    the rows does not matter: rows whose options change first have them moved out of the way,
    so two rows can swap options (the unique options per product would refuse the first row
    otherwise). All or nothing: a refusal raises ``VariantRowRefused`` naming the row's SKU and
    undoes every row."""
    for inline_form in formset.deleted_forms:
        if inline_form.instance.pk:
            services.variant_delete(variant_id=inline_form.instance.pk, user=user)
    rows = [
        inline_form
        for inline_form in formset.forms
        if inline_form not in formset.deleted_forms
        and inline_form.has_changed()
        and inline_form.cleaned_data
    ]
    stored = dict(
        Variant.objects.filter(
            pk__in=[row.instance.pk for row in rows if row.instance.pk]
        ).values_list("pk", "options")
    )
    for row in rows:
        pk = row.instance.pk
        if pk in stored and stored[pk] != (row.cleaned_data.get("options") or {}):
            # a placeholder no real combination has; variant_save below writes the real one
            # (and the history row), in this same transaction
            Variant.objects.filter(pk=pk).update(options={"__moving__": str(pk)})
    for row in rows:
        data = row.cleaned_data
        try:
            services.variant_save(
                product=product,
                variant=row.instance if row.instance.pk else None,
                sku=data["sku"],
                options=data.get("options") or {},
                attributes=row.instance.attributes or {},
                gtin=data.get("gtin") or "",
                weight_grams=data.get("weight_grams"),
                cost_price=data.get("cost_price"),
                position=data.get("position") or 0,
                user=user,
            )
        except DomainError as refused:
            detail = "; ".join(str(e.get("message", "")) for e in refused.errors)
            raise VariantRowRefused(
                f"{data['sku']}: {detail or refused.message}", errors=refused.errors
            ) from refused


# --- the product page's variant tools: the matrix and the grid --------------------------------


class ProductVariantToolsMixin:
    """Adds ``<product>/variants/matrix/`` and, when registered, ``<product>/grid/``."""

    admin_site: Any

    def get_urls(self) -> list[Any]:
        urls = [
            path(
                "<path:object_id>/variants/matrix/",
                self.admin_site.admin_view(self.variant_matrix_view),
                name="catalog_product_variant_matrix",
            ),
            path(
                "<path:object_id>/grid/",
                self.admin_site.admin_view(self.variant_grid_view),
                name="catalog_product_variant_grid",
            ),
        ]
        return [*urls, *super().get_urls()]  # type: ignore[misc]

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """A service's refusal while saving (e.g. a variant row whose options another variant
        took meanwhile) rolls the whole page back (the admin saves in one transaction) and
        comes back as an error message on the page, never as a server error."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc,no-any-return]
        except DomainError as refused:
            if request.method != "POST":
                raise
            self.message_user(  # type: ignore[attr-defined]
                request, f"Nothing was saved: {refused.message}", messages.ERROR
            )
            return HttpResponseRedirect(request.get_full_path())

    def _product(self, request: HttpRequest, object_id: str, *, check: bool = True) -> Product:
        if not str(object_id).isdigit():
            raise Http404
        product: Product = get_object_or_404(
            Product.objects.select_related("product_type"), pk=object_id
        )
        if check and not self.has_view_or_change_permission(request, product):  # type: ignore[attr-defined]
            raise PermissionDenied
        return product

    def _context(self, request: HttpRequest, product: Product, title: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": Product._meta,
            "original": product,
            "product": product,
            "product_url": reverse("admin:catalog_product_change", args=[product.pk]),
        }

    def variant_grid_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not _grid_view:
            raise Http404("The prices-and-stock grid is not installed.")
        product = self._product(request, object_id, check=False)  # the grid checks its own
        return _grid_view[0](
            request, product, self._context(request, product, f"Prices and stock: {product}")
        )

    def variant_matrix_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Pick values per axis, preview the combinations (new ones with editable SKUs, existing
        ones skipped and listed), then confirm: the new variants are created all or nothing."""
        product = self._product(request, object_id)
        if not request.user.has_perm("catalog.add_variant"):
            raise PermissionDenied
        context = self._context(request, product, f"Generate variants: {product}")
        axes = variant_matrix_axes_in_use(product)
        context["axes"] = axes
        if request.method != "POST":
            return TemplateResponse(request, "admin/catalog/product/variant_matrix.html", context)
        values = {axis["code"]: request.POST.getlist(f"value:{axis['code']}") for axis in axes}
        for axis in axes:
            axis["checked"] = values[axis["code"]]
        stray = {
            key.split(":", 1)[1]
            for key in request.POST
            if key.startswith("value:") and key.split(":", 1)[1] not in values
        }
        for code in stray:  # a crafted axis: refused by the plan, naming it
            values[code] = request.POST.getlist(f"value:{code}")
        skus = {
            key.split(":", 1)[1]: str(request.POST.get(key, ""))
            for key in request.POST
            if key.startswith("sku:")
        }
        try:
            plan = variant_matrix_plan(product=product, values=values)
        except VariantMatrixInvalid as refused:
            context["errors"] = [error["message"] for error in refused.errors]
            return TemplateResponse(request, "admin/catalog/product/variant_matrix.html", context)
        context["plan"] = plan
        context["rows"] = _rows(plan, skus)
        if "confirm" not in request.POST:
            return TemplateResponse(request, "admin/catalog/product/variant_matrix.html", context)
        if set(skus) != {row.key for row in plan.new}:
            context["errors"] = [
                "The values changed since the preview: check this preview, then confirm."
            ]
            return TemplateResponse(request, "admin/catalog/product/variant_matrix.html", context)
        try:
            created = variant_matrix_create(
                product=product, values=values, skus=skus, user=request.user
            )
        except VariantMatrixInvalid as refused:
            by_row = {error["field"]: error["message"] for error in refused.errors}
            context["rows"] = _rows(plan, skus, by_row)
            context["errors"] = [
                error["message"] for error in refused.errors if error["field"] not in skus
            ] or ["Nothing was created: correct the SKUs marked below."]
            return TemplateResponse(request, "admin/catalog/product/variant_matrix.html", context)
        skipped = len(plan.existing)
        self.message_user(  # type: ignore[attr-defined]
            request,
            f"{len(created)} variant(s) created"
            + (f"; {skipped} combination(s) already existed and were skipped." if skipped else "."),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(context["product_url"])


def variant_matrix_axes_in_use(product: Product) -> list[dict[str, Any]]:
    """The select axes with their options; the values the product's variants already use come
    checked, so the preview starts from the current matrix."""
    from catalog.variant_matrix import matrix_axes

    used: dict[str, set[str]] = {}
    for options in Variant.objects.filter(product=product).values_list("options", flat=True):
        for code, value in (options or {}).items():
            used.setdefault(code, set()).add(str(value))
    return [
        {
            "code": axis.code,
            "name": axis.name,
            "options": axis.options,
            "checked": sorted(used.get(axis.code, set())),
        }
        for axis in matrix_axes(product)
    ]


def _rows(
    plan: MatrixPlan, skus: dict[str, str], errors: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    return [
        {
            "key": row.key,
            "label": row.label,
            "sku": skus.get(row.key, row.sku),
            "error": (errors or {}).get(row.key, ""),
        }
        for row in plan.new
    ]
