"""The merchandisers' back office: products with typed attributes, variants, media, channel prices
and content; the approval workflow and publication as actions; completeness as a column and a
filter; imports with progress. Every write goes through ``catalog.services``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from simple_history.admin import SimpleHistoryAdmin
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from catalog import selectors, services
from catalog.admin_bulk import BulkEditActionsMixin, governance_in_background
from catalog.admin_forms import (
    ATTRIBUTE_PREFIX,
    CatalogActionForm,
    ImportUploadForm,
    PriceInlineForm,
    ProductAdminForm,
    VariantInlineForm,
)
from catalog.admin_translations import ProductTranslationsMixin, completeness_by_language
from catalog.admin_variants import (
    ProductVariantToolsMixin,
    VariantAxesAdminMixin,
    VariantAxesInlineMixin,
    variant_rows_save,
)
from catalog.imports.services import import_job_create, import_job_progress
from catalog.locales import OTHER_LANGUAGES
from catalog.models import (
    Attribute,
    AttributeOption,
    Category,
    ChannelContent,
    ChannelContentRule,
    ImportJob,
    Price,
    Product,
    ProductCompleteness,
    ProductMedia,
    ProductType,
    ProductTypeAttribute,
    Variant,
)
from catalog.search import product_search_filter, variant_search_filter
from core.errors import DomainError
from core.models import Channel


@admin.register(Category)
class CategoryAdmin(TreeAdmin):
    form = movenodeform_factory(Category, exclude=["full_name"])
    list_display = ["name", "google_id", "full_name"]
    search_fields = ["name", "full_name", "=google_id"]
    list_per_page = 200


class AttributeOptionInline(admin.TabularInline):
    model = AttributeOption
    extra = 1
    fields = ["code", "label", "position"]
    prepopulated_fields = {"code": ["label"]}


@admin.register(Attribute)
class AttributeAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "unit"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]
    inlines = [AttributeOptionInline]
    prepopulated_fields = {"code": ["name"]}


class ProductTypeAttributeInline(admin.TabularInline):
    model = ProductTypeAttribute
    extra = 1
    fields = ["attribute", "level", "is_variant_axis", "required_for", "position"]
    autocomplete_fields = ["attribute"]


@admin.register(ProductType)
class ProductTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "tax_class", "attribute_count"]
    list_filter = ["tax_class"]
    list_select_related = ["tax_class"]
    search_fields = ["name", "code"]
    inlines = [ProductTypeAttributeInline]
    prepopulated_fields = {"code": ["name"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProductType]:
        return (
            super()
            .get_queryset(request)
            .annotate(attribute_total=Count("type_attributes"))
            .order_by("name", "pk")
        )

    @admin.display(description="attributes", ordering="attribute_total")
    def attribute_count(self, obj: ProductType) -> int:
        return obj.attribute_total  # type: ignore[attr-defined, no-any-return]


@admin.register(ChannelContentRule)
class ChannelContentRuleAdmin(admin.ModelAdmin):
    list_display = ["channel", "title_template", "title_max_length", "description_max_length"]


# --- changelist filters ------------------------------------------------------------------------


def _distinct_product_values(column: str, *, limit: int, skip_empty: bool = False) -> list[Any]:
    """The distinct non-null values of an indexed ``catalog_product`` column, in order, by a
    loose index scan (one index probe per value instead of reading every product). A recursive
    CTE: PostgreSQL and SQLite both run it."""
    table = connection.ops.quote_name(Product._meta.db_table)
    skip = " AND {c} <> ''" if skip_empty else ""
    first = f"SELECT {{c}} AS v FROM {table} WHERE {{c}} IS NOT NULL{skip} ORDER BY {{c}} LIMIT 1"
    following = (
        f"SELECT (SELECT {{c}} FROM {table} WHERE {{c}} > t.v{skip} ORDER BY {{c}} LIMIT 1) "
        "FROM t WHERE t.v IS NOT NULL"
    )
    sql = (
        f"WITH RECURSIVE t(v) AS (SELECT * FROM ({first}) AS f UNION ALL {following}) "
        "SELECT v FROM t WHERE v IS NOT NULL LIMIT %s"
    ).format(c=connection.ops.quote_name(column))
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        return [row[0] for row in cursor.fetchall()]


class BrandFilter(admin.SimpleListFilter):
    title = "brand"
    parameter_name = "brand"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        brands = _distinct_product_values("brand", limit=200, skip_empty=True)
        return [(brand, brand) for brand in brands]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> QuerySet[Product]:
        return queryset.filter(brand=self.value()) if self.value() else queryset


class CategoryFilter(admin.RelatedOnlyFieldListFilter):
    """The categories products are in (as ``RelatedOnlyFieldListFilter``), found by a loose
    index scan instead of ``DISTINCT`` over every product."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        ids = _distinct_product_values("category_id", limit=100_000)
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False, limit_choices_to={"pk__in": ids}, ordering=ordering
        )


def _channel_codes() -> list[str]:
    return list(
        Channel.objects.filter(is_active=True).order_by("code").values_list("code", flat=True)
    )


class CompletenessFilter(admin.SimpleListFilter):
    title = "completeness"
    parameter_name = "complete"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            item
            for code in _channel_codes()
            for item in [
                (f"yes:{code}", f"complete on {code}"),
                (f"no:{code}", f"incomplete on {code}"),
            ]
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> QuerySet[Product]:
        if not self.value() or ":" not in str(self.value()):
            return queryset
        state, code = str(self.value()).split(":", 1)
        complete = ProductCompleteness.objects.filter(
            product=OuterRef("pk"), channel__code=code, percent=100
        )
        return (
            queryset.filter(Exists(complete))
            if state == "yes"
            else queryset.exclude(Exists(complete))
        )


class ChannelFilter(admin.SimpleListFilter):
    title = "channel"
    parameter_name = "channel"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            item
            for code in _channel_codes()
            for item in [(f"on:{code}", f"published on {code}"), (f"off:{code}", f"not on {code}")]
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> QuerySet[Product]:
        if not self.value() or ":" not in str(self.value()):
            return queryset
        state, code = str(self.value()).split(":", 1)
        on = Q(publications__channel__code=code)
        return queryset.filter(on) if state == "on" else queryset.exclude(on)


# --- inlines -----------------------------------------------------------------------------------


class VariantInline(VariantAxesInlineMixin, admin.TabularInline):  # type: ignore[misc]
    """Options: one select per variant axis (``catalog.admin_variants``)."""

    model = Variant
    form = VariantInlineForm
    extra = 0
    fields = ["sku", "gtin", "weight_grams", "cost_price", "position", "price_summary"]
    readonly_fields = ["price_summary"]
    show_change_link = True
    ordering = ["position", "id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Variant]:
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("prices", queryset=Price.objects.select_related("channel")))
        )

    @admin.display(description="prices")
    def price_summary(self, obj: Variant) -> str:
        if not obj.pk:
            return "-"
        prices = sorted(
            obj.prices.all(),
            key=lambda p: (p.channel.code, p.starts_at is not None or p.ends_at is not None),
        )
        if not prices:
            return "-"
        # one line per channel price, promotions marked, instead of one run of text
        return format_html_join(
            mark_safe("<br>"),
            '<span style="white-space:nowrap">{}: {} {}{}</span>',
            (
                (
                    p.channel.code,
                    p.amount,
                    p.currency,
                    " (promotion)" if p.starts_at or p.ends_at else "",
                )
                for p in prices
            ),
        )


class ChannelContentInline(admin.TabularInline):
    model = ChannelContent
    extra = 0
    fields = ["channel", "title", "description"]
    verbose_name_plural = "channel content (overrides title and description on one channel)"


def _media_inline() -> type[admin.options.InlineModelAdmin]:
    from catalog.admin_media import ProductMediaInline

    return ProductMediaInline


def _formset_changes_note(formset: Any) -> None:
    """What the admin's change message reads, for formsets whose rows the services write."""
    formset.new_objects = [f.instance for f in formset.extra_forms if f.has_changed()]
    formset.changed_objects = [
        (f.instance, f.changed_data) for f in formset.initial_forms if f.has_changed()
    ]
    formset.deleted_objects = [f.instance for f in formset.deleted_forms]


# --- products ----------------------------------------------------------------------------------


def _best_first(request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """Search results best match first, unless the user sorted by a column (the changelist
    orders before it searches, so the order is set here)."""
    if ORDER_VAR in request.GET:
        return queryset
    return queryset.order_by("-search_rank", "-pk")


class ProductChangeList(ChangeList):
    """The product list reads narrow rows: the wide columns it never shows are deferred and the
    category comes by one prefetch of the page's categories, so PostgreSQL sorts and limits
    product rows alone instead of joining every product to its category and type first."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Any]:
        return (
            super()
            .get_queryset(request, exclude_parameters)
            .select_related(None)
            .defer("description", "attributes", "approved_snapshot")
            .prefetch_related("category")
        )


@admin.register(Product)
class ProductAdmin(
    BulkEditActionsMixin, ProductVariantToolsMixin, ProductTranslationsMixin, SimpleHistoryAdmin
):
    form = ProductAdminForm
    action_form = CatalogActionForm
    list_display = [
        "thumbnail",
        "name",
        "handle",
        "brand",
        "category",
        "status",
        "variant_count",
        "completeness_column",
        "channels_column",
        "updated_at",
    ]
    list_display_links = ["name"]
    list_filter = [
        "status",
        ChannelFilter,
        CompletenessFilter,
        BrandFilter,
        "product_type",
        ("category", CategoryFilter),
    ]
    search_fields = ["name"]  # shows the search box; get_search_results does the searching
    search_help_text = (
        "Name and brand words (typos corrected), SKU or GTIN (exact or the start), best first."
    )
    autocomplete_fields = ["category", "product_type"]
    list_per_page = 50
    list_max_show_all = 200
    show_full_result_count = False
    readonly_fields = ["status", "approved_at", "approved_by", "completeness_table"]
    prepopulated_fields = {"handle": ["name"]}
    actions = [
        "submit_for_review",
        "approve",
        "send_back",
        "publish",
        "unpublish",
        "set_category",
        "archive",
        "export_csv",
        "export_xlsx",
        "bulk_set_attribute",  # the bulk edits: catalog/admin_bulk.py
        "bulk_change_prices",
        "bulk_schedule_price",
    ]
    history_list_display = ["status"]

    def get_fieldsets(self, request: HttpRequest, obj: Product | None = None) -> Any:
        form = self.get_form(request, obj)
        attribute_fields = [name for name in form.base_fields if name.startswith(ATTRIBUTE_PREFIX)]
        if obj is not None:
            attribute_fields = (
                [
                    f"{ATTRIBUTE_PREFIX}{ta.attribute.code}"
                    for ta in obj.product_type.type_attributes.filter(
                        level="product"
                    ).select_related("attribute")
                ]
                if obj.product_type
                else []
            )
        fieldsets: list[tuple[str | None, dict[str, Any]]] = [
            (
                None,
                {"fields": ["name", "handle", "brand", "category", "product_type", "description"]},
            ),
        ]
        if attribute_fields:
            fieldsets.append(("Attributes", {"fields": attribute_fields}))
        if obj is not None:
            fieldsets.append(
                (
                    "Workflow and channels",
                    {"fields": ["status", "approved_at", "approved_by", "completeness_table"]},
                )
            )
        return fieldsets

    def get_form(
        self, request: HttpRequest, obj: Product | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["fields"] = None
        form = super().get_form(request, obj, change=change, fields=None)
        return form

    def get_inlines(self, request: HttpRequest, obj: Product | None) -> list[Any]:
        inlines: list[Any] = [VariantInline]
        inlines.append(_media_inline())
        inlines.append(ChannelContentInline)
        return inlines

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        variant_total = (
            Variant.objects.filter(product=OuterRef("pk"))
            .order_by()
            .values("product")
            .annotate(n=Count("id"))
            .values("n")
        )
        return (
            selectors.product_list()
            .annotate(variant_total=Coalesce(Subquery(variant_total), 0))
            .prefetch_related(
                # ordered by channel code in Python (completeness_column): ordering in SQL
                # makes PostgreSQL scan each channel's rows instead of the page's products'
                Prefetch(
                    "completeness",
                    queryset=ProductCompleteness.objects.select_related("channel").order_by(),
                ),
                Prefetch(
                    "media",
                    queryset=ProductMedia.objects.filter(
                        status=ProductMedia.Status.READY, kind=ProductMedia.Kind.IMAGE
                    ).order_by("position", "id"),
                    to_attr="ready_media",
                ),
                "publications__channel",
            )
        )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ProductChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Product], search_term: str
    ) -> tuple[QuerySet[Product], bool]:
        """The one product search (``catalog.search``): exact SKU/GTIN, SKU prefix, name and
        brand words, typos corrected; ranked (``search_rank``), best first unless a column is
        sorted. No join on variants, so never duplicates."""
        if not search_term.strip():
            return queryset, False
        outcome = product_search_filter(queryset, term=search_term)
        match = getattr(request, "resolver_match", None)
        if outcome.corrected and match is not None and match.url_name.endswith("changelist"):
            messages.info(request, f"No match as typed; showing results for “{outcome.corrected}”.")
        return _best_first(request, outcome.queryset), False

    # columns

    @admin.display(description="")
    def thumbnail(self, obj: Product) -> str:
        media = getattr(obj, "ready_media", None) or []
        if not media:
            return ""
        first = media[0]
        url = first.image.url if first.image else ""
        path = (first.renditions or {}).get("thumb")
        if path:
            from django.core.files.storage import default_storage

            url = default_storage.url(path)
        return format_html(
            '<img src="{}" alt="{}" style="height:40px;width:auto;border-radius:4px">',
            url,
            first.alt_text,
        )

    def action_checkbox(self, obj: Product) -> str:
        """The row's checkbox, the same markup as Django's, written directly instead of through
        a form widget template for each of the page's rows (a sixth of the page's render)."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            format_html(_("Select this object for an action - {}"), str(obj)),
        )

    @admin.display(description="variants", ordering="variant_total")
    def variant_count(self, obj: Product) -> int:
        return obj.variant_total  # type: ignore[attr-defined, no-any-return]

    @admin.display(description="completeness")
    def completeness_column(self, obj: Product) -> str:
        rows = sorted(obj.completeness.all(), key=lambda row: row.channel.code)
        # escape() on each value and one mark_safe: format_html per cell costs more than the
        # rest of the column (fifty rows times every channel)
        cells = []
        for row in rows:
            title = escape("; ".join(row.missing) or "complete")
            color = "#2e7d32" if row.percent == 100 else "#b26a00"
            cells.append(
                f'<span title="{title}" style="white-space:nowrap;color:{color}">'
                f"{escape(row.channel.code)}&nbsp;{int(row.percent)}%</span>"
            )
        return mark_safe(" ".join(cells))  # every value above is escaped

    @admin.display(description="published on")
    def channels_column(self, obj: Product) -> str:
        return ", ".join(sorted(p.channel.code for p in obj.publications.all())) or "-"

    @admin.display(description="completeness per channel")
    def completeness_table(self, obj: Product) -> str:
        if not obj.pk:
            return "-"
        published = {p.channel.code for p in obj.publications.select_related("channel")}
        rows = obj.completeness.select_related("channel").order_by("channel__code")
        return format_html(
            "<table><tr><th>channel</th><th>complete</th><th>per language</th><th>missing</th>"
            '<th>published</th></tr>{}</table><p><a href="{}" id="translations-link">'
            "Edit translations side by side</a></p>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}%</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        row.channel.code,
                        row.percent,
                        completeness_by_language(row.locales),
                        ", ".join(row.missing) or "nothing",
                        "yes" if row.channel.code in published else "no",
                    )
                    for row in rows
                ),
            ),
            reverse("admin:catalog_product_translations", args=[obj.pk]),
        )

    # saving through the services

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        attributes = getattr(form, "cleaned_attributes", None)
        changed = set(form.changed_data)
        if attributes is not None and any(name.startswith(ATTRIBUTE_PREFIX) for name in changed):
            obj.attributes = attributes
            changed.add("attributes")
        changed = {name for name in changed if not name.startswith(ATTRIBUTE_PREFIX)}
        services.product_save(product=obj, changed=changed, user=request.user)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        product: Product = form.instance
        _formset_changes_note(formset)
        if formset.model is Variant:
            # order-independent (rows may swap options); a refusal rolls the whole page back
            # and comes back as a message (ProductVariantToolsMixin.changeform_view)
            variant_rows_save(product=product, formset=formset, user=request.user)
            return
        if formset.model is ChannelContent:
            for inline_form in formset.forms:
                data = inline_form.cleaned_data
                if not data or (
                    not inline_form.has_changed() and inline_form not in formset.deleted_forms
                ):
                    continue
                deleting = inline_form in formset.deleted_forms
                services.channel_content_set(
                    product_id=product.pk,
                    channel_code=data["channel"].code,
                    title="" if deleting else data.get("title", ""),
                    description="" if deleting else data.get("description", ""),
                    user=request.user,
                )
            return
        super().save_formset(request, form, formset, change)
        if formset.has_changed():
            services.product_content_changed(
                product_id=product.pk, fields={formset.model._meta.model_name}, user=request.user
            )

    # actions

    def _run(self, request: HttpRequest, done: str, call: Any) -> None:
        try:
            count = call()
        except DomainError as refused:
            self.message_user(request, refused.message, messages.ERROR)
        else:
            self.message_user(request, done.format(count=count), messages.SUCCESS)

    @admin.action(description="Submit for review", permissions=["change"])
    def submit_for_review(self, request: HttpRequest, queryset: QuerySet[Product]) -> Any:
        if job := governance_in_background(self, request, queryset, action="submit"):
            return job  # beyond 1,000 products: a background job, row by row
        ids = list(queryset.values_list("id", flat=True))
        self._run(
            request,
            "{count} product(s) submitted for review.",
            lambda: services.product_submit(product_ids=ids, user=request.user),
        )

    @admin.action(description="Approve (catalog approvers)", permissions=["approve"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Product]) -> Any:
        if job := governance_in_background(self, request, queryset, action="approve"):
            return job
        ids = list(queryset.values_list("id", flat=True))
        self._run(
            request,
            "{count} product(s) approved.",
            lambda: services.product_approve(product_ids=ids, user=request.user),
        )

    @admin.action(description="Send back to draft (catalog approvers)", permissions=["approve"])
    def send_back(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        ids = list(queryset.values_list("id", flat=True))
        self._run(
            request,
            "{count} product(s) sent back to draft.",
            lambda: services.product_reject(product_ids=ids, user=request.user),
        )

    def _channel(self, request: HttpRequest) -> str | None:
        code = request.POST.get("channel", "")
        if not code:
            self.message_user(
                request, "Choose a channel in the action bar first.", messages.WARNING
            )
            return None
        return code

    @admin.action(description="Publish to the chosen channel", permissions=["publish"])
    def publish(self, request: HttpRequest, queryset: QuerySet[Product]) -> Any:
        code = self._channel(request)
        if code and (job := governance_in_background(self, request, queryset, action="publish")):
            return job
        if code:
            ids = list(queryset.values_list("id", flat=True))
            self._run(
                request,
                f"{{count}} product(s) published on {code}.",
                lambda: services.product_publish(
                    product_ids=ids, channel_code=code, user=request.user
                ),
            )

    @admin.action(description="Unpublish from the chosen channel", permissions=["publish"])
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Product]) -> Any:
        code = self._channel(request)
        if code and (job := governance_in_background(self, request, queryset, action="unpublish")):
            return job
        if code:
            ids = list(queryset.values_list("id", flat=True))
            self._run(
                request,
                f"{{count}} product(s) taken off {code}.",
                lambda: services.product_unpublish(
                    product_ids=ids, channel_code=code, user=request.user
                ),
            )

    @admin.action(description="Set the category given in the action bar", permissions=["change"])
    def set_category(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        wanted = request.POST.get("category", "").strip()
        category = None
        if wanted.isdigit():
            category = Category.objects.filter(google_id=int(wanted)).first()
        elif wanted:
            category = Category.objects.filter(full_name__iexact=wanted).first()
        if category is None:
            self.message_user(
                request,
                f"No category {wanted!r}: give a Google id or a full name "
                "such as 'Apparel & Accessories > Clothing'.",
                messages.ERROR,
            )
            return
        ids = list(queryset.values_list("id", flat=True))
        self._run(
            request,
            f"{{count}} product(s) moved to {category.full_name}.",
            lambda: services.product_category_set(
                product_ids=ids, category_id=category.id, user=request.user
            ),
        )

    @admin.action(description="Archive (takes them off every channel)", permissions=["change"])
    def archive(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        ids = list(queryset.values_list("id", flat=True))
        self._run(
            request,
            "{count} product(s) archived.",
            lambda: services.product_archive(product_ids=ids, user=request.user),
        )

    def _export(self, request: HttpRequest, queryset: QuerySet[Product], fmt: str) -> HttpResponse:
        from catalog.resources import catalog_native_export

        ids = list(queryset.values_list("id", flat=True))
        language = request.POST.get("language", "")  # the action bar's: translation columns
        languages = [language] if language in OTHER_LANGUAGES else []
        data = catalog_native_export(fmt=fmt, product_ids=ids, languages=languages)
        content_type = (
            "text/csv; charset=utf-8"
            if fmt == "csv"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response = HttpResponse(data, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="products.{fmt}"'
        return response

    @admin.action(description="Export products and variants (CSV)", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Product]) -> HttpResponse:
        return self._export(request, queryset, "csv")

    @admin.action(description="Export products and variants (XLSX)", permissions=["view"])
    def export_xlsx(self, request: HttpRequest, queryset: QuerySet[Product]) -> HttpResponse:
        return self._export(request, queryset, "xlsx")

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("catalog.approve_product")

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("catalog.publish_product")


class PriceInline(admin.TabularInline):
    model = Price
    form = PriceInlineForm
    extra = 1
    fields = ["channel", "currency", "amount", "compare_at_amount", "starts_at", "ends_at"]


@admin.register(Variant)
class VariantAdmin(BulkEditActionsMixin, VariantAxesAdminMixin, SimpleHistoryAdmin):
    list_display = ["sku", "gtin", "product", "options", "weight_grams", "cost_price"]
    search_fields = ["sku"]  # shows the search box; get_search_results does the searching
    search_help_text = "SKU or GTIN (exact or the start), or product name and brand words."
    list_select_related = ["product"]
    show_full_result_count = False
    bulk_target = "variant"
    actions = ["bulk_set_attribute", "bulk_change_prices", "bulk_schedule_price"]
    fields = [
        "product",
        "sku",
        "gtin",
        "options",
        "attributes",
        "weight_grams",
        "cost_price",
        "position",
    ]
    readonly_fields = ["product"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Variant], search_term: str
    ) -> tuple[QuerySet[Variant], bool]:
        """The product search (``catalog.search``), the variant whose SKU or GTIN is the term
        first."""
        if not search_term.strip():
            return queryset, False
        return _best_first(request, variant_search_filter(queryset, term=search_term)), False

    def get_inlines(self, request: HttpRequest, obj: Variant | None) -> list[Any]:
        from catalog.admin_media import VariantMediaInline

        return [PriceInline, VariantMediaInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # variants are added on their product's page

    def save_model(self, request: HttpRequest, obj: Variant, form: Any, change: bool) -> None:
        services.variant_save(
            product=obj.product,
            variant=obj,
            sku=obj.sku,
            options=obj.options,
            attributes=obj.attributes,
            gtin=obj.gtin,
            weight_grams=obj.weight_grams,
            cost_price=obj.cost_price,
            position=obj.position,
            user=request.user,
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Price:
            super().save_formset(request, form, formset, change)
            return
        _formset_changes_note(formset)
        for inline_form in formset.deleted_forms:
            if inline_form.instance.pk:
                services.price_delete(price_id=inline_form.instance.pk, user=request.user)
        for inline_form in formset.forms:
            if (
                inline_form in formset.deleted_forms
                or not inline_form.has_changed()
                or not inline_form.cleaned_data
            ):
                continue
            data = inline_form.cleaned_data
            if inline_form.instance.pk and (
                inline_form.instance.starts_at or inline_form.instance.ends_at
            ):
                services.price_delete(price_id=inline_form.instance.pk, user=request.user)
            services.price_set(
                variant_id=form.instance.pk,
                channel_code=data["channel"].code,
                amount=data["amount"],
                compare_at_amount=data.get("compare_at_amount"),
                currency=data.get("currency") or None,
                starts_at=data.get("starts_at"),
                ends_at=data.get("ends_at"),
                user=request.user,
            )


# --- imports -----------------------------------------------------------------------------------


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Upload a file (the job runs in the background on the imports queue) and follow it."""

    list_display = [
        "id",
        "format",
        "original_name",
        "status",
        "progress",
        "created_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "format"]
    list_select_related = ["created_by"]
    readonly_fields = [
        "format",
        "original_name",
        "status",
        "progress",
        "summary_table",
        "error_table",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
    ]
    fields = tuple(readonly_fields)  # type: ignore[assignment]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="progress")
    def progress(self, obj: ImportJob) -> str:
        done, total = import_job_progress(obj)
        percent = (
            int(done * 100 / total)
            if total
            else (100 if obj.status == ImportJob.Status.SUCCEEDED else 0)
        )
        return format_html(
            '<progress max="100" value="{}"></progress> {}% ({} / {} rows)',
            percent,
            percent,
            done,
            total,
        )

    @admin.display(description="summary")
    def summary_table(self, obj: ImportJob) -> str:
        items = [(k.replace("_", " "), v) for k, v in obj.summary.items() if k != "options"]
        return format_html_join("", "<div>{}: <strong>{}</strong></div>", items) if items else "-"

    @admin.display(description="errors (the file was not imported)")
    def error_table(self, obj: ImportJob) -> str:
        if not obj.errors:
            return "-"
        return format_html(
            "<table><tr><th>row</th><th>column</th><th>problem</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((e.get("row"), e.get("column"), e.get("message")) for e in obj.errors),
            ),
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        job = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if job is not None and job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
            extra["title"] = f"Import #{job.pk}: {job.get_status_display()}… (this page refreshes)"
            response = super().change_view(request, object_id, form_url, extra)
            response["Refresh"] = "2"
            return response
        return super().change_view(request, object_id, form_url, extra)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "upload/",
                self.admin_site.admin_view(self.upload_view),
                name="catalog_importjob_upload",
            ),
            *super().get_urls(),
        ]

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return self.upload_view(request)

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            job = import_job_create(
                fmt=form.cleaned_data["format"],
                uploaded=form.cleaned_data["file"],
                user=request.user,
                options={
                    "price_channel": form.cleaned_data["price_channel"],
                    "stock_location": form.cleaned_data["stock_location"],
                },
            )
            self.message_user(
                request, f"Import #{job.pk} queued; this page shows its progress.", messages.SUCCESS
            )
            return HttpResponseRedirect(reverse("admin:catalog_importjob_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import products",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/catalog/importjob/upload.html", context)
