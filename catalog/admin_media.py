"""Back-office pieces for product media, plugged into the product and variant admins.

``ProductMediaInline`` lists a product's images in order with a thumbnail; new images are uploaded
or given by URL, existing ones get their alt text, variant and position edited, and deleting removes
the files too. Every write goes through ``catalog.media`` (validation, EXIF stripping, review
workflow), never through ``Model.save``: the inline's formset overrides ``save``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html

from catalog import media as media_services
from catalog.exceptions import ImageInvalid
from catalog.models import ProductMedia, Variant

THUMBNAIL_PIXELS = 80


def thumbnail_url(media: ProductMedia) -> str:
    """The smallest picture of ``media``: its thumb rendition, else the image, else ''."""
    path = (media.renditions or {}).get("thumb")
    if path:
        return str(media.image.storage.url(path))
    if media.image:
        return str(media.image.url)
    return ""


def thumbnail_html(media: ProductMedia) -> str:
    """An ``<img>`` of the smallest picture, or the media's status when there is no file yet
    (pending fetch, failed fetch)."""
    url = thumbnail_url(media)
    if not url:
        return format_html(
            '<span class="media-status media-{}">{}</span>',
            media.status,
            media.get_status_display(),
        )
    return format_html(
        '<img src="{}" alt="{}" loading="lazy" '
        'style="max-width:{}px;max-height:{}px;object-fit:contain;border-radius:4px">',
        url,
        media.alt_text,
        THUMBNAIL_PIXELS,
        THUMBNAIL_PIXELS,
    )


class ProductMediaInlineForm(forms.ModelForm):
    """One image row. A new row takes a file or a URL; the file is checked with the same rules as
    the service (so a bad image is a form error, not a server error). Existing rows keep their
    file and URL."""

    # a plain file field: the media service, not Django's ImageField, decides what is an image
    image = forms.FileField(required=False, help_text="JPEG, PNG, WEBP or GIF.")
    source_url = forms.URLField(
        required=False,
        max_length=1000,
        assume_scheme="https",
        label="URL",
        help_text="Or an http(s) URL to fetch the image from.",
    )

    class Meta:
        model = ProductMedia
        fields = ["image", "source_url", "alt_text", "variant", "position"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["position"].required = False
        if self.instance.pk:
            self.fields["image"].disabled = True
            self.fields["source_url"].disabled = True
        else:
            self.fields["position"].initial = None  # blank: after the others

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk or not self.has_changed() or data.get("DELETE"):
            return data
        upload, url = data.get("image"), (data.get("source_url") or "").strip()
        if upload and url:
            raise forms.ValidationError("Give a file or a URL, not both.")
        if not upload and not url:
            raise forms.ValidationError("Choose an image file or give its URL.")
        try:
            if upload:
                media_services.image_clean(media_services.read_upload(upload))
            else:
                media_services.url_clean(url)
        except ImageInvalid as exc:
            self.add_error("image" if upload else "source_url", exc.message)
        return data

    def _post_clean(self) -> None:
        # The instance is written by the media services; skip ModelForm's model validation (it
        # would read the uploaded file with Django's ImageField rules before ours).
        pass


class ProductMediaFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """Saves through the media services; ``user`` is the admin user (set by the inline)."""

    user: Any = None

    def add_fields(self, form: Any, index: int | None) -> None:
        super().add_fields(form, index)
        variant = form.fields.get("variant")
        if isinstance(variant, forms.ModelChoiceField):
            # one query for the whole formset instead of one per row
            variant.queryset = Variant.objects.filter(product_id=self.instance.pk)
            variant.choices = self._variant_choices()

    def _variant_choices(self) -> list[tuple[Any, str]]:
        if not hasattr(self, "_variant_choice_cache"):
            self._variant_choice_cache: list[tuple[Any, str]] = [("", "---------")] + [
                (pk, sku)
                for pk, sku in Variant.objects.filter(product_id=self.instance.pk)
                .order_by("position", "id")
                .values_list("id", "sku")
            ]
        return self._variant_choice_cache

    def save(self, commit: bool = True) -> list[ProductMedia]:
        product_id = self.instance.pk
        user = self.user
        self.new_objects: list[ProductMedia] = []
        self.changed_objects: list[tuple[ProductMedia, list[str]]] = []
        self.deleted_objects: list[ProductMedia] = []
        wanted_positions: dict[int, int] = {}
        for form in self.initial_forms:
            media = form.instance
            if form in self.deleted_forms:
                media_services.media_delete(media_id=media.pk, user=user)
                self.deleted_objects.append(media)
                continue
            if not form.has_changed():
                continue
            data = form.cleaned_data
            variant = data.get("variant")
            media_services.media_update(
                media_id=media.pk,
                alt_text=data.get("alt_text") or "",
                variant_id=variant.pk if variant is not None else None,
                user=user,
            )
            if "position" in form.changed_data and data.get("position") is not None:
                wanted_positions[media.pk] = data["position"]
            self.changed_objects.append((media, form.changed_data))
        for form in self.extra_forms:
            if not form.has_changed() or form in self.deleted_forms:
                continue
            data = form.cleaned_data
            variant = data.get("variant")
            common: dict[str, Any] = {
                "product_id": product_id,
                "alt_text": data.get("alt_text") or "",
                "variant_id": variant.pk if variant is not None else None,
                "position": data.get("position"),
                "user": user,
            }
            if data.get("image"):
                created = media_services.media_create_from_upload(file=data["image"], **common)
            else:
                created = media_services.media_create_from_url(url=data["source_url"], **common)
            self.new_objects.append(created)
        if wanted_positions:
            current = list(
                ProductMedia.objects.filter(product_id=product_id)
                .order_by("position", "id")
                .values_list("id", "position")
            )
            order = sorted(
                current,
                key=lambda row: (
                    wanted_positions.get(row[0], row[1]),
                    row[0] not in wanted_positions,
                ),
            )
            media_services.media_reorder(
                product_id=product_id, media_ids_in_order=[pk for pk, _ in order], user=user
            )
        return [*self.new_objects, *(media for media, _ in self.changed_objects)]


class ProductMediaInline(admin.TabularInline):
    """A product's images in display order: thumbnail, file or URL, alt text, variant, position,
    and the fetch status with its error (read-only)."""

    model = ProductMedia
    form = ProductMediaInlineForm
    formset = ProductMediaFormSet
    extra = 0
    ordering = ["position", "id"]
    fields = [
        "thumbnail",
        "image",
        "source_url",
        "alt_text",
        "variant",
        "position",
        "status",
        "error",
    ]
    readonly_fields = ["thumbnail", "status", "error"]
    verbose_name = "image"
    verbose_name_plural = "images (first one is the main image)"

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.user = request.user  # type: ignore[attr-defined]  # a class per request
        return formset

    @admin.display(description="")
    def thumbnail(self, obj: ProductMedia) -> str:
        return thumbnail_html(obj) if obj.pk else ""


class VariantMediaInline(admin.TabularInline):
    """The images shown for one variant (read-only: images are managed on the product)."""

    model = ProductMedia
    fk_name = "variant"
    extra = 0
    can_delete = False
    ordering = ["position", "id"]
    fields = ["thumbnail", "alt_text", "position", "status"]
    readonly_fields = ["thumbnail", "alt_text", "position", "status"]
    verbose_name = "image"
    verbose_name_plural = "images of this variant (edit them on the product)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="")
    def thumbnail(self, obj: ProductMedia) -> str:
        return thumbnail_html(obj)
