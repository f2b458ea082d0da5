"""Serializers of the media write API (``catalog.api.media_views``).

A media is answered in the shape the channel read API gives its ``media`` items (``id``, ``kind``,
``url``, ``alt_text``, ``variant_id``, ``width``, ``height``, ``renditions`` and the object named
like the kind), plus what an editor needs: ``position``, ``status`` (a URL image is ``pending``
until fetched) and ``error`` (why a fetch failed). What a file must be is checked by the media
services (``catalog.media``), not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.files.storage import default_storage
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.api.product_serializers import KnownFieldsSerializer
from catalog.models import ProductMedia

URL_KINDS = ["image", "video"]
# the kinds in the order of ``ProductMedia.Kind`` (one enum in the schema with the read API's)
UPLOAD_KINDS = ["image", "video", "spin", "document"]


class MediaUrlInputSerializer(KnownFieldsSerializer):
    """``application/json``: a video that plays at a URL, or an image to fetch from one."""

    kind = serializers.ChoiceField(
        choices=URL_KINDS,
        help_text="`video`: a URL on an allowed host (YouTube, Vimeo...), ready at once; "
        "`image`: fetched and checked in the background (`status` `pending`, then `ready` or "
        "`failed` with `error`).",
    )
    url = serializers.URLField(max_length=1000)
    alt_text = serializers.CharField(max_length=255, required=False, allow_blank=True)
    variant = serializers.CharField(
        max_length=64,
        required=False,
        help_text="The SKU of the product's variant this media shows; leave out for the product.",
    )


class MediaUploadInputSerializer(KnownFieldsSerializer):
    """``multipart/form-data``: a file (an image, an MP4/WebM video, a PDF document) or, for a
    360° view, its frames (several ``frames`` parts, in turning order)."""

    kind = serializers.ChoiceField(choices=UPLOAD_KINDS)
    file = serializers.FileField(
        required=False,
        allow_empty_file=True,  # an empty file is refused by the service, with its code
        help_text="The image (JPEG, PNG, WEBP, GIF), video (MP4, WebM) or PDF; not for `spin`.",
    )
    frames = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        required=False,
        help_text="A 360° view's frames (images), in turning order; only for `spin`.",
    )
    alt_text = serializers.CharField(max_length=255, required=False, allow_blank=True)
    variant = serializers.CharField(
        max_length=64,
        required=False,
        help_text="The SKU of the product's variant this media shows; leave out for the product.",
    )

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "getlist"):  # a QueryDict: several ``frames`` parts make the list
            plain = {key: data.get(key) for key in data}
            if "frames" in data:
                plain["frames"] = data.getlist("frames")
            data = plain
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] == "spin":
            if "file" in attrs:
                raise serializers.ValidationError(
                    {"file": "A 360° view takes its `frames`, not a `file`."}, code="invalid"
                )
            if not attrs.get("frames"):
                raise serializers.ValidationError(
                    {"frames": "Send the view's frames."}, code="required"
                )
        else:
            if "frames" in attrs:
                raise serializers.ValidationError(
                    {"frames": "Frames are for a 360° view (`kind` `spin`)."}, code="invalid"
                )
            if "file" not in attrs:
                raise serializers.ValidationError({"file": "Send the file."}, code="required")
        return attrs


class WrittenMediaVideoSerializer(serializers.Serializer):
    provider = serializers.CharField(
        help_text="Where a video URL plays (`youtube`, `vimeo`, or the host); empty for a file."
    )
    embed_url = serializers.CharField(help_text="The player URL for an iframe; may be empty.")
    content_type = serializers.CharField(help_text="`video/mp4` or `video/webm` for a file.")
    size_bytes = serializers.IntegerField(allow_null=True)


class WrittenMediaFrameSerializer(serializers.Serializer):
    url = serializers.CharField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    renditions = serializers.DictField(child=serializers.CharField())


class WrittenMediaSpinSerializer(serializers.Serializer):
    frame_count = serializers.IntegerField()
    frames = WrittenMediaFrameSerializer(many=True, help_text="In turning order.")


class WrittenMediaDocumentSerializer(serializers.Serializer):
    content_type = serializers.CharField(help_text="`application/pdf`.")
    page_count = serializers.IntegerField(allow_null=True)
    size_bytes = serializers.IntegerField(allow_null=True)


def _absolute(context: Mapping[str, Any], path: str | None) -> str | None:
    if not path:
        return None
    request = context.get("request")
    url = default_storage.url(path)
    return str(request.build_absolute_uri(url)) if request is not None else str(url)


class MediaOutputSerializer(serializers.Serializer):
    """One media as ``catalog.snapshots.media_item_snapshot`` describes it, with its editing
    state. ``url`` is the image, the video (file or provider page), the PDF, or a 360° view's
    first frame; null while a URL image is not fetched yet."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=UPLOAD_KINDS)
    url = serializers.SerializerMethodField()
    alt_text = serializers.CharField(help_text="Alt text of a picture; title of a document.")
    variant_id = serializers.IntegerField(allow_null=True)
    width = serializers.SerializerMethodField()
    height = serializers.SerializerMethodField()
    renditions = serializers.SerializerMethodField()
    video = serializers.SerializerMethodField()
    spin = serializers.SerializerMethodField()
    document = serializers.SerializerMethodField()
    position = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ProductMedia.Status.choices)
    error = serializers.CharField(help_text="Why a URL image could not be fetched; else empty.")

    def _picture(self, item: dict[str, Any]) -> dict[str, Any]:
        if item["kind"] == "spin":
            return dict((item.get("frames") or [{}])[0])
        return item

    def _renditions(self, picture: dict[str, Any]) -> dict[str, str]:
        found = picture.get("renditions") or {}
        return {name: str(_absolute(self.context, path)) for name, path in found.items()}

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_url(self, item: dict[str, Any]) -> str | None:
        if item["kind"] == "video" and not item.get("path"):
            return str(item.get("url") or "") or None
        return _absolute(self.context, self._picture(item).get("path"))

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_width(self, item: dict[str, Any]) -> int | None:
        return self._picture(item).get("width")

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_height(self, item: dict[str, Any]) -> int | None:
        return self._picture(item).get("height")

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_renditions(self, item: dict[str, Any]) -> dict[str, str]:
        return self._renditions(self._picture(item))

    @extend_schema_field(WrittenMediaVideoSerializer(allow_null=True))
    def get_video(self, item: dict[str, Any]) -> dict[str, Any] | None:
        if item["kind"] != "video":
            return None
        return {
            "provider": item.get("provider") or "",
            "embed_url": item.get("embed_url") or "",
            "content_type": item.get("content_type") or "",
            "size_bytes": item.get("size_bytes"),
        }

    @extend_schema_field(WrittenMediaSpinSerializer(allow_null=True))
    def get_spin(self, item: dict[str, Any]) -> dict[str, Any] | None:
        if item["kind"] != "spin":
            return None
        frames = [
            {
                "url": _absolute(self.context, frame.get("path")),
                "width": frame.get("width"),
                "height": frame.get("height"),
                "renditions": self._renditions(frame),
            }
            for frame in item.get("frames") or []
        ]
        return {"frame_count": len(frames), "frames": frames}

    @extend_schema_field(WrittenMediaDocumentSerializer(allow_null=True))
    def get_document(self, item: dict[str, Any]) -> dict[str, Any] | None:
        if item["kind"] != "document":
            return None
        return {
            "content_type": item.get("content_type") or "",
            "page_count": item.get("page_count"),
            "size_bytes": item.get("size_bytes"),
        }
