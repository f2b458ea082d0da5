"""Back-office pieces for product media, plugged into the product and variant admins.

``ProductMediaInline`` lists a product's media in order with a thumbnail and what each is (size,
frame count, page count); a new row picks its kind: an image (upload or URL), a video (an MP4/WebM
upload or a URL on an allowed host), a 360° view (its frames, several files at once, ordered by
file name) or a PDF document. Existing rows get their alt text, variant and position edited, and
deleting removes the files too. Every write goes through ``catalog.media`` (validation, EXIF
stripping, review workflow), never through ``Model.save``: the inline's formset overrides
``save``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Prefetch, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html

from catalog import media as media_services
from catalog.exceptions import ImageInvalid
from catalog.media_files import video_link, video_url_hosts
from catalog.models import ProductMedia, SpinFrame, Variant

THUMBNAIL_PIXELS = 80
Kind = ProductMedia.Kind


def _first_frame(media: ProductMedia) -> SpinFrame | None:
    """A 360° view's first frame, from the prefetched frames when the inline loaded them."""
    if media.kind != Kind.SPIN or not media.pk:
        return None
    frames = list(media.frames.all())  # prefetched by the inline: no query per row
    return frames[0] if frames else None


def thumbnail_url(media: ProductMedia) -> str:
    """The smallest picture of ``media``: its thumb rendition, else the image (a 360° view's
    first frame's), else ''."""
    frame = _first_frame(media)
    source: ProductMedia | SpinFrame = frame if frame is not None else media
    path = (source.renditions or {}).get("thumb")
    if path:
        return str(source.image.storage.url(path))
    if source.image:
        return str(source.image.url)
    return ""


def _megabytes(size: int | None) -> str:
    if not size:
        return ""
    return f"{size / (1024 * 1024):.1f} MB" if size >= 100 * 1024 else f"{size / 1024:.0f} KB"


def media_summary(media: ProductMedia) -> str:
    """What a media is, for people: '1200 x 800 px', '360° view, 36 frames', 'PDF, 4 pages,
    1.2 MB' or 'MP4 video, 3.4 MB' / 'YouTube video', with a link to the file or the video."""
    if not media.pk:
        return ""
    if media.kind == Kind.SPIN:
        return f"360° view, {len(media.frames.all())} frames"
    if media.kind == Kind.DOCUMENT:
        pages = f"{media.page_count} page{'s' if media.page_count != 1 else ''}"
        text = ", ".join(p for p in ("PDF", pages, _megabytes(media.size_bytes)) if p)
        return format_html('<a href="{}" target="_blank">{}</a>', media.file.url, text)
    if media.kind == Kind.VIDEO:
        if media.file:
            kind = media.content_type.removeprefix("video/").upper() or "Video"
            text = f"{kind} video, {_megabytes(media.size_bytes)}"
            return format_html('<a href="{}" target="_blank">{}</a>', media.file.url, text)
        provider = {"youtube": "YouTube", "vimeo": "Vimeo"}.get(media.provider, media.provider)
        link = video_link(media.source_url)
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{} video</a>',
            link.embed_url or media.source_url,
            provider,
        )
    if media.width and media.height:
        return f"{media.width} x {media.height} px"
    return ""


def thumbnail_html(media: ProductMedia) -> str:
    """An ``<img>`` of the smallest picture, a badge for a video or a document, or the media's
    status when there is no file yet (pending fetch, failed fetch)."""
    if media.kind in (Kind.VIDEO, Kind.DOCUMENT):
        return format_html(
            '<span class="media-kind media-{}">{}</span>',
            media.kind,
            "▶ Video" if media.kind == Kind.VIDEO else "PDF",
        )
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


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (a 360° view's frames); cleans to a list, maybe empty."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(one, initial) for one in files]


class ProductMediaInlineForm(forms.ModelForm):
    """One media row. A new row says its kind and takes a file, a URL or (a 360° view) frames;
    they are checked with the same rules as the services (so a bad file is a form error, not a
    server error). Existing rows keep their kind, file and URL."""

    # a plain file field: the media services, not Django's ImageField, decide what a file is
    image = forms.FileField(
        required=False,
        label="File",
        help_text="Image: JPEG, PNG, WEBP or GIF. Video: MP4 or WebM. Document: PDF.",
    )
    frames = MultipleFileField(
        required=False,
        label="360° frames",
        help_text="Every frame at once, named in turning order (frame-01.jpg, frame-02.jpg...).",
    )
    source_url = forms.URLField(
        required=False,
        max_length=1000,
        assume_scheme="https",
        label="URL",
        help_text="Or an http(s) URL: an image to fetch, or a video (YouTube, Vimeo...).",
    )

    class Meta:
        model = ProductMedia
        fields = ["kind", "image", "frames", "source_url", "alt_text", "variant", "position"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["position"].required = False
        self.fields["kind"].required = False
        if self.instance.pk:
            for name in ("kind", "image", "frames", "source_url"):
                self.fields[name].disabled = True
        else:
            self.fields["position"].initial = None  # blank: after the others

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk or not self.has_changed() or data.get("DELETE"):
            return data
        kind = data.get("kind") or Kind.IMAGE
        data["kind"] = kind
        upload, url = data.get("image"), (data.get("source_url") or "").strip()
        frames = media_services.spin_files_ordered(data.get("frames") or [])
        data["frames"] = frames
        if kind == Kind.SPIN:
            if upload or url:
                raise forms.ValidationError("A 360° view takes its frames only, no file or URL.")
            self._check("frames", media_services.spin_frames_check, frames)
            return data
        if frames:
            raise forms.ValidationError("Frames are for a 360° view: choose that kind.")
        if upload and url:
            raise forms.ValidationError("Give a file or a URL, not both.")
        if kind == Kind.DOCUMENT:
            if url or not upload:
                raise forms.ValidationError("Choose the PDF file of the document.")
            self._check("image", media_services.document_upload_check, upload)
        elif not upload and not url:
            what = "a video file" if kind == Kind.VIDEO else "an image file"
            raise forms.ValidationError(f"Choose {what} or give its URL.")
        elif kind == Kind.VIDEO:
            if upload:
                self._check("image", media_services.video_upload_check, upload)
            else:
                self._check("source_url", media_services.media_files.video_url_check, url)
        elif upload:
            self._check(
                "image", lambda f: media_services.image_clean(media_services.read_upload(f)), upload
            )
        else:
            self._check("source_url", media_services.url_clean, url)
        return data

    def _check(self, field: str, check: Any, value: Any) -> None:
        try:
            check(value)
        except ImageInvalid as exc:
            self.add_error(field, exc.message)

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
            created = _media_create(data, common)
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


def _media_create(data: dict[str, Any], common: dict[str, Any]) -> ProductMedia:
    """Create one new row's media through the service of its kind."""
    kind = data.get("kind") or Kind.IMAGE
    if kind == Kind.SPIN:
        return media_services.media_create_spin(files=data["frames"], **common)
    if kind == Kind.DOCUMENT:
        return media_services.media_create_document(file=data["image"], **common)
    if kind == Kind.VIDEO:
        if data.get("image"):
            return media_services.media_create_video_upload(file=data["image"], **common)
        return media_services.media_create_video_url(url=data["source_url"], **common)
    if data.get("image"):
        return media_services.media_create_from_upload(file=data["image"], **common)
    return media_services.media_create_from_url(url=data["source_url"], **common)


class ProductMediaInline(admin.TabularInline):
    """A product's media in display order: thumbnail, what it is, kind, file, frames or URL, alt
    text, variant, position, and the fetch status with its error (read-only)."""

    model = ProductMedia
    form = ProductMediaInlineForm
    formset = ProductMediaFormSet
    template = "admin/catalog/productmedia/tabular.html"
    extra = 0
    ordering = ["position", "id"]
    fields = [
        "thumbnail",
        "summary",
        "kind",
        "image",
        "frames",
        "source_url",
        "alt_text",
        "variant",
        "position",
        "status",
        "error",
    ]
    readonly_fields = ["thumbnail", "summary", "status", "error"]
    verbose_name = "media"
    verbose_name_plural = (
        "media: images, videos, 360° views and PDF documents (the first image is the main image)"
    )

    @property
    def video_hosts(self) -> list[str]:
        """The hosts video URLs may come from (the template's help line)."""
        return video_url_hosts()

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProductMedia]:
        frames = Prefetch("frames", queryset=SpinFrame.objects.order_by("position"))
        return super().get_queryset(request).prefetch_related(frames)

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.user = request.user  # type: ignore[attr-defined]  # a class per request
        return formset

    @admin.display(description="")
    def thumbnail(self, obj: ProductMedia) -> str:
        return thumbnail_html(obj) if obj.pk else ""

    @admin.display(description="what it is")
    def summary(self, obj: ProductMedia) -> str:
        return media_summary(obj)


class VariantMediaInline(admin.TabularInline):
    """The images shown for one variant (read-only: images are managed on the product)."""

    model = ProductMedia
    fk_name = "variant"
    extra = 0
    can_delete = False
    ordering = ["position", "id"]
    fields = ["thumbnail", "kind", "alt_text", "position", "status"]
    readonly_fields = ["thumbnail", "kind", "alt_text", "position", "status"]
    verbose_name = "media"
    verbose_name_plural = "media of this variant (edit them on the product)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProductMedia]:
        frames = Prefetch("frames", queryset=SpinFrame.objects.order_by("position"))
        return super().get_queryset(request).prefetch_related(frames)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="")
    def thumbnail(self, obj: ProductMedia) -> str:
        return thumbnail_html(obj)
