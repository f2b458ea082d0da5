"""Bulk edits in the admin: the actions on the product and variant lists (set an attribute; change
prices with a preview; schedule a price; the workflow actions beyond 1,000 products), their
intermediate pages, and the jobs' pages with progress and row results. Every write goes through
``catalog.bulk_edit``."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog import bulk_edit
from catalog.models import Attribute, BulkEditJob, BulkEditJobRow, ProductTypeAttribute
from core.errors import DomainError
from core.models import Channel

Action = BulkEditJob.Action
STEP = "_bulk_step"


class BulkPriceForm(forms.Form):
    channel = forms.ChoiceField(label="Channel (prices in its currency)")
    kind = forms.ChoiceField(
        label="Change",
        choices=[
            ("percent", "By a percentage (10 raises by 10 %, -15 lowers by 15 %)"),
            ("amount", "By an amount (2.50 or -1)"),
            ("set", "Set to an amount"),
        ],
    )
    value = forms.CharField(label="Percentage or amount", max_length=20)
    starts_at = forms.DateTimeField(
        label="From", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label="Until (empty: no end)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: Any, action: str, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "bulk")
        super().__init__(*args, **kwargs)
        self.action = action
        codes = Channel.objects.filter(is_active=True).order_by("code")
        cast(forms.ChoiceField, self.fields["channel"]).choices = [
            (code, f"{code} ({currency})")
            for code, currency in codes.values_list("code", "currency")
        ]
        if action != Action.PRICE_SCHEDULE:
            del self.fields["starts_at"], self.fields["ends_at"]
        else:
            self.fields["starts_at"].required = True

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            self.params = bulk_edit.price_params_clean(
                action=self.action,
                channel=cleaned["channel"],
                kind=cleaned["kind"],
                value=cleaned["value"],
                starts_at=cleaned.get("starts_at"),
                ends_at=cleaned.get("ends_at"),
            )
        except DomainError as refused:
            field = next((e["field"] for e in refused.errors if e["field"] in self.fields), None)
            self.add_error(field, refused.message)
        return cleaned


class BulkAttributeForm(forms.Form):
    attribute = forms.ChoiceField()
    value = forms.CharField(
        max_length=500,
        help_text="Selects: an option's code or label (several, comma separated, for multi "
        "selects); yes/no; dates as YYYY-MM-DD; numbers in the attribute's unit.",
    )

    def __init__(self, *args: Any, target: str, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "bulk")
        super().__init__(*args, **kwargs)
        self.target = target
        self.attributes = list(
            Attribute.objects.filter(
                id__in=ProductTypeAttribute.objects.filter(
                    level=target, is_variant_axis=False
                ).values("attribute_id")
            )
            .prefetch_related("options")
            .order_by("name")
        )
        cast(forms.ChoiceField, self.fields["attribute"]).choices = [
            (a.code, str(a)) for a in self.attributes
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            self.params = bulk_edit.attribute_params_clean(
                target=self.target, attribute=cleaned["attribute"], value=cleaned["value"]
            )
        except DomainError as refused:
            self.add_error("value", refused.message)
        return cleaned


def _page(
    modeladmin: Any, request: HttpRequest, *, title: str, form: forms.Form, **context: Any
) -> TemplateResponse:
    """The intermediate page: it posts back to the changelist (with its filters) the same action
    and selection, plus the step."""
    return TemplateResponse(
        request,
        "admin/catalog/bulk_edit/action.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "opts": modeladmin.model._meta,
            "form": form,
            "action": request.POST.get("action", ""),
            "select_across": request.POST.get("select_across", "0"),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "step_name": STEP,
            "post_url": request.get_full_path(),
            **context,
        },
    )


def _job_started(modeladmin: Any, request: HttpRequest, job: BulkEditJob) -> HttpResponse:
    ran = bulk_edit.bulk_edit_job_start(job=job)
    job.refresh_from_db()
    if ran:
        level = messages.SUCCESS if job.failed == 0 else messages.WARNING
        modeladmin.message_user(
            request,
            f"{job.get_action_display()}: {job.done} of {job.total} row(s) done"
            + (f", {job.failed} failed (see below)." if job.failed else "."),
            level,
        )
    else:
        modeladmin.message_user(
            request,
            f"{job.get_action_display()} of {job.total} rows runs in the background as job "
            f"#{job.pk}; this page shows its progress.",
            messages.SUCCESS,
        )
    return HttpResponseRedirect(reverse("admin:catalog_bulkeditjob_change", args=[job.pk]))


def price_action(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any], *, action: str
) -> HttpResponse | None:
    target = modeladmin.bulk_target
    step = request.POST.get(STEP, "")
    form = BulkPriceForm(request.POST if step else None, action=action)
    title = "Schedule a price" if action == Action.PRICE_SCHEDULE else "Change prices"
    ids = list(queryset.values_list("id", flat=True))
    if step in ("preview", "confirm") and form.is_valid():
        try:
            _rows_target, rows = bulk_edit.selection_rows(
                action=action, target=target, object_ids=ids
            )
            if step == "confirm":
                job = bulk_edit.bulk_edit_job_create(
                    action=action,
                    target=target,
                    object_ids=ids,
                    params=form.params,
                    user=request.user,
                )
                return _job_started(modeladmin, request, job)
        except DomainError as refused:
            modeladmin.message_user(request, refused.message, messages.ERROR)
            return None
        preview = bulk_edit.bulk_price_preview(
            action=action, variant_ids=[vid for vid, _sku in rows], params=form.params
        )
        return _page(
            modeladmin,
            request,
            title=f"{title}: preview",
            form=form,
            preview=preview,
            kind=bulk_edit.PRICE_KINDS[form.params["kind"]],
            params=form.params,
            background=preview.total > bulk_edit.inline_max(),
            inline_max=bulk_edit.inline_max(),
        )
    return _page(
        modeladmin,
        request,
        title=title,
        form=form,
        count=len(ids),
        noun="products" if target == BulkEditJob.Target.PRODUCT else "variants",
        next_step="preview",
    )


def attribute_action(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]
) -> HttpResponse | None:
    target = modeladmin.bulk_target
    step = request.POST.get(STEP, "")
    form = BulkAttributeForm(request.POST if step else None, target=target)
    ids = list(queryset.values_list("id", flat=True))
    if step and form.is_valid():
        try:
            job = bulk_edit.bulk_edit_job_create(
                action=Action.SET_ATTRIBUTE,
                target=target,
                object_ids=ids,
                params=form.params,
                user=request.user,
            )
        except DomainError as refused:
            modeladmin.message_user(request, refused.message, messages.ERROR)
            return None
        return _job_started(modeladmin, request, job)
    return _page(
        modeladmin,
        request,
        title="Set an attribute",
        form=form,
        count=len(ids),
        noun="products" if target == BulkEditJob.Target.PRODUCT else "variants",
        next_step="confirm",
        attributes=form.attributes,
    )


def governance_in_background(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any], *, action: str
) -> HttpResponse | None:
    """A workflow action on more than ``CATALOG_BULK_EDIT_INLINE_MAX`` products becomes a job
    (row by row, see ``catalog.bulk_edit``); a smaller one returns None and runs as before (all
    or nothing, in the request)."""
    ids = list(queryset.values_list("id", flat=True))
    if len(ids) <= bulk_edit.inline_max():
        return None
    try:
        params = bulk_edit.governance_params_clean(
            action=action, channel=request.POST.get("channel") or None
        )
        job = bulk_edit.bulk_edit_job_create(
            action=action,
            target=BulkEditJob.Target.PRODUCT,
            object_ids=ids,
            params=params,
            user=request.user,
        )
    except DomainError as refused:
        modeladmin.message_user(request, refused.message, messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())
    return _job_started(modeladmin, request, job)


class BulkEditActionsMixin:
    """The bulk edit actions of a product or variant admin (``bulk_target`` says which)."""

    bulk_target: str = BulkEditJob.Target.PRODUCT

    def has_price_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("catalog.change_price"))

    @admin.action(description="Set an attribute…", permissions=["change"])
    def bulk_set_attribute(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        return attribute_action(self, request, queryset)

    @admin.action(description="Change prices by %% or amount…", permissions=["price"])
    def bulk_change_prices(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        return price_action(self, request, queryset, action=Action.PRICE_CHANGE)

    @admin.action(description="Schedule a price…", permissions=["price"])
    def bulk_schedule_price(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        return price_action(self, request, queryset, action=Action.PRICE_SCHEDULE)


# --- the jobs' pages ---------------------------------------------------------------------------

_ROWS_SHOWN = 100


@admin.register(BulkEditJob)
class BulkEditJobAdmin(admin.ModelAdmin):
    """A bulk edit's progress (the page refreshes while it runs), then its failed rows with their
    reasons and its changed rows with their values before and after."""

    list_display = ["id", "action", "target", "status", "progress", "created_by", "created_at"]
    list_filter = ["status", "action"]
    list_select_related = ["created_by"]
    readonly_fields = [
        "action",
        "target",
        "what",
        "status",
        "progress",
        "error",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "failed_rows",
        "changed_rows",
    ]
    fields = tuple(readonly_fields)  # type: ignore[assignment]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="what")
    def what(self, obj: BulkEditJob) -> str:
        params = {k: v for k, v in obj.params.items() if k != "by_system"}
        if obj.action in bulk_edit.PRICE_ACTIONS and "kind" in params:
            text = f"{bulk_edit.PRICE_KINDS[params['kind']]}: {params['value']}"
            text += " %" if params["kind"] == "percent" else ""
            text += f" on {params['channel']}"
            if params.get("starts_at"):
                text += f", from {params['starts_at']} until {params.get('ends_at') or 'no end'}"
            return f"{text}. {bulk_edit.ROUNDING_RULE}"
        return ", ".join(f"{k}: {v}" for k, v in params.items()) or "-"

    @admin.display(description="progress")
    def progress(self, obj: BulkEditJob) -> str:
        return format_html(
            '<progress max="100" value="{}"></progress> {}% ({} of {} rows: {} done, {} failed)',
            obj.progress_percent,
            obj.progress_percent,
            obj.done + obj.failed,
            obj.total,
            obj.done,
            obj.failed,
        )

    def _rows_link(self, obj: BulkEditJob, status: str) -> str:
        url = reverse("admin:catalog_bulkeditjobrow_changelist")
        return format_html(
            '<p><a href="{}?job__id__exact={}&status__exact={}">every {} row</a></p>',
            url,
            obj.pk,
            status,
            status,
        )

    @admin.display(description="failed rows")
    def failed_rows(self, obj: BulkEditJob) -> str:
        rows = obj.rows.filter(status=BulkEditJobRow.Status.FAILED).order_by("id")[:_ROWS_SHOWN]
        if not rows:
            return "-"
        return format_html(
            "<table><tr><th>row</th><th>why</th></tr>{}</table>{}",
            format_html_join(
                "", "<tr><td>{}</td><td>{}</td></tr>", ((r.label, r.error) for r in rows)
            ),
            self._rows_link(obj, "failed"),
        )

    @admin.display(description="changed rows (before → after)")
    def changed_rows(self, obj: BulkEditJob) -> str:
        rows = obj.rows.filter(status=BulkEditJobRow.Status.CHANGED).order_by("id")[:_ROWS_SHOWN]
        if not rows:
            return "-"
        return format_html(
            "<table><tr><th>row</th><th>before</th><th>after</th></tr>{}</table>{}",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((r.label, _values(r.before), _values(r.after)) for r in rows),
            ),
            self._rows_link(obj, "changed"),
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
        running = job is not None and job.status in (
            BulkEditJob.Status.QUEUED,
            BulkEditJob.Status.RUNNING,
        )
        if running:
            extra["title"] = f"{job}… (this page refreshes)"
        response = super().change_view(request, object_id, form_url, extra)
        if running:
            response["Refresh"] = "2"
        return response


def _values(values: dict[str, Any] | None) -> str:
    if not values:
        return "-"
    return ", ".join(f"{k}: {'-' if v is None else v}" for k, v in values.items())


@admin.register(BulkEditJobRow)
class BulkEditJobRowAdmin(admin.ModelAdmin):
    """Every row of a job, filtered by job and outcome (the job page links here)."""

    list_display = ["label", "object_id", "job", "status", "before_values", "after_values", "error"]
    list_filter = ["status"]
    search_fields = ["label"]
    list_select_related = ["job"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def lookup_allowed(self, lookup: str, value: str, request: Any = None) -> bool:
        return lookup == "job__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description="before")
    def before_values(self, obj: BulkEditJobRow) -> str:
        return _values(obj.before)

    @admin.display(description="after")
    def after_values(self, obj: BulkEditJobRow) -> str:
        return _values(obj.after)
