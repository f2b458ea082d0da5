"""Product media: images uploaded or fetched by URL, validated, cleaned, ordered, with renditions;
videos (an MP4/WebM upload or a URL on an allowed host), 360° views (ordered frames, each cleaned
like an image) and PDF documents (see ``catalog.media_files`` for what each must be).

Every image is checked with Pillow before anything is stored: it must be a real JPEG, PNG, WEBP or
GIF that decodes completely, within ``CATALOG_IMAGE_MAX_BYTES`` and ``CATALOG_IMAGE_MAX_PIXELS``
(the pixel count is checked from the header, before decoding, so a decompression bomb is refused
without being expanded). The stored file is re-encoded from the decoded pixels: EXIF, XMP, GPS and
comments are dropped, the EXIF orientation is applied to the pixels first so the photo stays
upright. Animated images keep their first frame (channels show still images).

A refused video, view or document raises ``MediaInvalid`` and leaves no row and no file: files are
checked before they are stored, and a stored file is deleted again when anything after it fails.

Media are customer-visible, so every change here calls ``product_content_changed``: an approved
product goes back to review and completeness is recomputed. Renditions are made after commit by
the ``catalog.media_renditions`` task; URL images are fetched by the ``catalog.media_fetch`` task,
and a fetch that fails marks the media failed with the reason, it never raises (an import must not
fail because one image URL is down).
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import re
import socket
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from struct import error as struct_error  # raised by some Pillow decoders on garbage
from typing import IO, Any, Final
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, default_storage
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.text import slugify
from PIL import Image, ImageOps, UnidentifiedImageError, features

from catalog import media_files
from catalog.exceptions import ImageInvalid, MediaInvalid, NotAllowed
from catalog.models import Product, ProductMedia, SpinFrame, Variant
from catalog.services import product_content_changed

# A logged-in user (permission checks apply) or None for system callers (imports, tasks, tests).
User = Any

ALLOWED_FORMATS: Final = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
# Longest side in pixels; an image smaller than a rendition is never enlarged.
RENDITION_SIZES: Final = {"thumb": 160, "medium": 600, "large": 1200}
_CHUNK = 64 * 1024


class _Unset:
    """Marks an argument that was not given (``None`` means "no variant" for ``variant_id``)."""


UNSET: Final = _Unset()


def image_max_bytes() -> int:
    return int(getattr(settings, "CATALOG_IMAGE_MAX_BYTES", 20 * 1024 * 1024))


def image_max_pixels(image_format: str = "") -> int:
    """The most pixels an upload may have: cleaning decodes and re-encodes it in a worker, whose
    memory this bounds (``bench/image_memory.py``: a process cleaning 16 Mpx of JPEG or PNG
    peaks at 230-250 MiB; WEBP's encoder is far hungrier, 4 Mpx already peak at about 236 MiB and
    6 Mpx at 296), so WEBP has its own limit."""
    if image_format == "WEBP":
        return int(getattr(settings, "CATALOG_IMAGE_MAX_PIXELS_WEBP", 4_000_000))
    return int(getattr(settings, "CATALOG_IMAGE_MAX_PIXELS", 16_000_000))


def video_max_bytes() -> int:
    return int(getattr(settings, "CATALOG_VIDEO_MAX_BYTES", 200 * 1024 * 1024))


def document_max_bytes() -> int:
    return int(getattr(settings, "CATALOG_DOCUMENT_MAX_BYTES", 20 * 1024 * 1024))


def spin_frame_limits() -> tuple[int, int]:
    """The fewest and the most frames a 360° view may have."""
    return (
        int(getattr(settings, "CATALOG_SPIN_MIN_FRAMES", 8)),
        int(getattr(settings, "CATALOG_SPIN_MAX_FRAMES", 72)),
    )


def image_fetch_timeout() -> float:
    return float(getattr(settings, "CATALOG_IMAGE_FETCH_TIMEOUT", 10))


def _megabytes(size: int) -> str:
    """A size for people: '20 MB', '1.5 MB', or '5,139 bytes' below a megabyte."""
    if size < 1024 * 1024:
        return f"{size:,} bytes"
    return f"{round(size / (1024 * 1024), 1):g} MB"


# --- validation and cleaning ---------------------------------------------------------------------


@dataclass(frozen=True)
class CleanImage:
    """An image re-encoded from its pixels, without metadata, ready to store."""

    content: bytes
    format: str
    extension: str
    width: int
    height: int


def _check_header(image: Image.Image) -> str:
    image_format = image.format or ""
    if image_format == "MPO":  # phone cameras' multi-picture JPEG: stored as a plain JPEG
        image_format = "JPEG"
    if image_format not in ALLOWED_FORMATS:
        raise ImageInvalid(
            f"{image_format or 'This'} images are not accepted: upload a JPEG, PNG, WEBP or GIF."
        )
    width, height = image.size
    limit = image_max_pixels(image_format)
    if width * height > limit:
        raise ImageInvalid(
            f"The image is {width} x {height} pixels ({width * height / 1e6:.1f} megapixels); "
            f"at most {limit / 1e6:.1f} megapixels are accepted."
        )
    return image_format


def image_clean(data: bytes) -> CleanImage:
    """Validate ``data`` as an image and re-encode it without metadata.

    Raises ``ImageInvalid`` with a message fit for the person who uploaded it: not an image, an
    unaccepted format, truncated or corrupt, too many bytes, too many pixels, a decompression bomb.
    """
    if not data:
        raise ImageInvalid("The file is empty.")
    limit = image_max_bytes()
    if len(data) > limit:
        raise ImageInvalid(
            f"The file is {_megabytes(len(data))}; at most {_megabytes(limit)} are accepted."
        )
    with warnings.catch_warnings():
        # Pillow warns (and past twice its own limit raises) on decompression bombs: refuse both.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                _check_header(probe)
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image_format = _check_header(image)
                image.load()
                icc_profile = image.info.get("icc_profile")
                transparency = image.info.get("transparency")
                # In place: a second full copy of the pixels is what made a large image cost a
                # worker several hundred megabytes (docs/benchmarks.md, "Image memory").
                ImageOps.exif_transpose(image, in_place=True)
                return _reencode(
                    image, image_format, icc_profile=icc_profile, transparency=transparency
                )
        except ImageInvalid:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageInvalid(
                "The image declares far more pixels than it can hold (a decompression bomb); "
                "it was refused."
            ) from None
        except UnidentifiedImageError:
            raise ImageInvalid(
                "The file is not an image: upload a JPEG, PNG, WEBP or GIF."
            ) from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct_error) as exc:
            raise ImageInvalid(
                f"The image is truncated or corrupt and cannot be read ({exc})."
            ) from None


def _reencode(
    image: Image.Image,
    image_format: str,
    *,
    icc_profile: bytes | None,
    transparency: Any = None,
) -> CleanImage:
    """Write the decoded pixels into a new file: only pixels and the colour profile survive.

    ``image`` is this function's to change (its first frame is written; its ``info``, the EXIF,
    XMP and comments, is dropped), so no copy of the pixels is made unless a mode must change."""
    frame = image
    options: dict[str, Any] = {}
    if icc_profile:
        options["icc_profile"] = icc_profile
    if image_format == "JPEG":
        if frame.mode not in ("RGB", "L", "CMYK"):
            frame = frame.convert("RGB")
        options.update(quality=90, optimize=True)
    elif image_format == "WEBP":
        if frame.mode not in ("RGB", "RGBA"):
            frame = frame.convert("RGBA" if "A" in frame.getbands() else "RGB")
        options.update(quality=90)
    elif image_format == "PNG":
        options.update(optimize=True)
    elif image_format == "GIF" and frame.mode not in ("P", "L"):
        frame = frame.convert("P", palette=Image.Palette.ADAPTIVE)
    if frame.mode not in ("P", "L", "RGB"):
        transparency = None
    if transparency is not None and image_format in ("PNG", "GIF"):
        options["transparency"] = transparency  # pixel data, not metadata
    frame.info = {}
    out = io.BytesIO()
    frame.save(out, format=image_format, **options)
    return CleanImage(
        content=out.getvalue(),
        format=image_format,
        extension=ALLOWED_FORMATS[image_format],
        width=frame.width,
        height=frame.height,
    )


def read_upload(file: IO[bytes] | Any) -> bytes:
    """Read an uploaded file (Django ``UploadedFile`` or any binary file object) within the byte
    limit, without reading more than one byte past it."""
    limit = image_max_bytes()
    size = getattr(file, "size", None)
    if isinstance(size, int) and size > limit:
        raise ImageInvalid(
            f"The file is {_megabytes(size)}; at most {_megabytes(limit)} are accepted."
        )
    if hasattr(file, "seek"):
        file.seek(0)
    data = file.read(limit + 1)
    if not isinstance(data, bytes):
        raise ImageInvalid("The upload could not be read as a binary file.")
    return data


# --- helpers -------------------------------------------------------------------------------------


def _require(user: User | None, perm: str, what: str) -> None:
    if user is not None and not user.has_perm(perm):
        raise NotAllowed(f"You may not {what}.")


def _product_locked(product_id: int) -> Product:
    product = Product.objects.select_for_update(of=("self",)).filter(id=product_id).first()
    if product is None:
        raise ImageInvalid(f"There is no product {product_id}.", code="unknown_product")
    return product


def _variant_of(product_id: int, variant_id: int | None) -> int | None:
    if variant_id is None:
        return None
    owner = Variant.objects.filter(id=variant_id).values_list("product_id", flat=True).first()
    if owner is None:
        raise ImageInvalid(f"There is no variant {variant_id}.", code="unknown_variant")
    if owner != product_id:
        raise ImageInvalid(
            f"Variant {variant_id} belongs to another product; an image can only be attached to "
            "a variant of its own product.",
            code="variant_not_of_product",
        )
    return variant_id


def _next_position(product_id: int) -> int:
    last = (
        ProductMedia.objects.filter(product_id=product_id)
        .order_by("-position")
        .values_list("position", flat=True)
        .first()
    )
    return 0 if last is None else last + 1


def _alt_text_clean(alt_text: str) -> str:
    alt_text = (alt_text or "").strip()
    limit = ProductMedia._meta.get_field("alt_text").max_length or 255
    if len(alt_text) > limit:
        raise ImageInvalid(
            f"The alt text has {len(alt_text)} characters; at most {limit} are accepted.",
            code="invalid_alt_text",
        )
    return alt_text


def _store(media: ProductMedia, clean: CleanImage) -> None:
    """Put the cleaned file into storage under a new unique name (not yet saved to the row)."""
    media.image.save(
        f"{uuid.uuid4().hex}.{clean.extension}", ContentFile(clean.content), save=False
    )
    media.width, media.height = clean.width, clean.height


def _files_delete(storage: Storage, names: Sequence[str | None]) -> None:
    for name in names:
        if name and storage.exists(name):
            storage.delete(name)


def _renditions_enqueue(media_id: int) -> None:
    from catalog.tasks import media_renditions

    media_renditions.delay(media_id)


def _fetch_enqueue(media_id: int) -> None:
    from catalog.tasks import media_fetch

    media_fetch.delay(media_id)


# --- services ------------------------------------------------------------------------------------


def media_create_from_upload(
    *,
    product_id: int,
    file: IO[bytes] | Any,
    alt_text: str = "",
    variant_id: int | None = None,
    position: int | None = None,
    user: User | None = None,
) -> ProductMedia:
    """Validate, clean and store an uploaded image of a product (or of one of its variants).

    The image is appended after the product's other media unless ``position`` is given. The
    decoding and re-encoding happen before the transaction; inside it the product row is locked
    (so concurrent uploads get distinct positions). A bad image raises ``ImageInvalid`` and leaves
    no row and no file. Renditions are queued after commit.
    """
    _require(user, "catalog.add_productmedia", "add product images")
    clean = image_clean(read_upload(file))
    alt = _alt_text_clean(alt_text)
    with transaction.atomic():
        _product_locked(product_id)
        variant = _variant_of(product_id, variant_id)
        media = ProductMedia(
            product_id=product_id,
            variant_id=variant,
            alt_text=alt,
            position=_next_position(product_id) if position is None else position,
            status=ProductMedia.Status.READY,
        )
        _store(media, clean)
        try:
            media.save()
            product_content_changed(product_id=product_id, fields={"media"}, user=user)
        except BaseException:
            _files_delete(media.image.storage, [media.image.name])
            raise
        transaction.on_commit(lambda: _renditions_enqueue(media.id))
    return media


def url_clean(url: str) -> str:
    url = (url or "").strip()
    limit = ProductMedia._meta.get_field("source_url").max_length or 1000
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ImageInvalid(
            f"{url[:100]!r} is not an http(s) URL.", code="invalid_image_url"
        ) from None
    if len(url) > limit:
        raise ImageInvalid(
            f"The URL has {len(url)} characters; at most {limit} are accepted.",
            code="invalid_image_url",
        )
    return url


@transaction.atomic
def media_create_from_url(
    *,
    product_id: int,
    url: str,
    alt_text: str = "",
    variant_id: int | None = None,
    position: int | None = None,
    user: User | None = None,
) -> ProductMedia:
    """Record an image to be fetched from ``url`` (pending) and queue the fetch after commit.

    Idempotent per (product, URL): a repeated call returns the existing media unchanged, so a
    re-import never duplicates images; if that earlier fetch failed it is queued again (the URL
    may work now). Locks the product row.
    """
    _require(user, "catalog.add_productmedia", "add product images")
    source_url = url_clean(url)
    alt = _alt_text_clean(alt_text)
    _product_locked(product_id)
    existing = (
        ProductMedia.objects.filter(
            product_id=product_id, source_url=source_url, kind=ProductMedia.Kind.IMAGE
        )
        .order_by("id")
        .first()
    )
    if existing is not None:
        if existing.status == ProductMedia.Status.FAILED:
            existing.status = ProductMedia.Status.PENDING
            existing.error = ""
            existing.save(update_fields=["status", "error", "updated_at"])
            transaction.on_commit(lambda: _fetch_enqueue(existing.id))
        return existing
    media = ProductMedia.objects.create(
        product_id=product_id,
        variant_id=_variant_of(product_id, variant_id),
        source_url=source_url,
        alt_text=alt,
        position=_next_position(product_id) if position is None else position,
        status=ProductMedia.Status.PENDING,
    )
    transaction.on_commit(lambda: _fetch_enqueue(media.id))
    return media


# --- videos, 360° views and documents ------------------------------------------------------------


def _product_exists(product_id: int) -> None:
    """Refuse an unknown product before any file is written (checked again, locked, later)."""
    if not Product.objects.filter(id=product_id).exists():
        raise ImageInvalid(f"There is no product {product_id}.", code="unknown_product")


def _file_name(original: str, extension: str) -> str:
    """A stored name that keeps the uploader's words (``spec-sheet-3f9a1c2e.pdf``): shoppers
    download documents and videos by it."""
    stem = slugify(str(original or "").rsplit("/", 1)[-1].rsplit(".", 1)[0])[:60]
    return f"{stem or 'file'}-{uuid.uuid4().hex[:8]}.{extension}"


def _spooled(file: IO[bytes] | Any, limit: int, what: str, code: str) -> tuple[IO[bytes], int]:
    """The upload as a seekable file and its size, refusing it (``MediaInvalid``) when empty or
    over ``limit`` bytes. An uploaded file (it knows its size) is used as it is; any other file
    object is copied into a temporary file, stopping one chunk past the limit."""
    size = getattr(file, "size", None)
    if isinstance(size, int) and hasattr(file, "seek"):
        media_files.size_check(size, limit, what, code)
        file.seek(0)
        return file, size
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    total = 0
    while chunk := file.read(_CHUNK):
        if not isinstance(chunk, bytes):
            raise MediaInvalid("The upload could not be read as a binary file.", code=code)
        total += len(chunk)
        if total > limit:
            media_files.size_check(total, limit, what, code)
        spool.write(chunk)
    media_files.size_check(total, limit, what, code)
    spool.seek(0)
    return spool, total


@contextlib.contextmanager
def _upload_opened(
    file: IO[bytes] | Any, limit: int, what: str, code: str
) -> Iterator[tuple[IO[bytes], int]]:
    """``_spooled`` for a ``with`` block: a temporary copy is closed (and gone) at its end."""
    handle, size = _spooled(file, limit, what, code)
    try:
        yield handle, size
    finally:
        if handle is not file:
            handle.close()


def _media_add(media: ProductMedia, stored: Sequence[str], user: User | None) -> ProductMedia:
    """Save a new ready media whose files (``stored``) are already in storage: lock the product,
    check the variant, place it, record the change; any failure deletes the files again."""
    storage = media.file.storage
    try:
        with transaction.atomic():
            _product_locked(media.product_id)
            media.variant_id = _variant_of(media.product_id, media.variant_id)
            if media.position is None:
                media.position = _next_position(media.product_id)
            media.status = ProductMedia.Status.READY
            media.save()
            product_content_changed(product_id=media.product_id, fields={"media"}, user=user)
    except BaseException:
        _files_delete(storage, list(stored))
        raise
    return media


def video_upload_check(file: IO[bytes] | Any) -> str:
    """The content type of an uploaded video, or ``MediaInvalid`` (size, signature, structure);
    stores nothing (forms call it to show the error next to the field)."""
    with _upload_opened(file, video_max_bytes(), "video", "invalid_video") as (handle, size):
        return media_files.video_file_check(handle, size)


def document_upload_check(file: IO[bytes] | Any) -> int:
    """The page count of an uploaded PDF, or ``MediaInvalid``; stores nothing."""
    with _upload_opened(file, document_max_bytes(), "document", "invalid_document") as opened:
        return media_files.pdf_check(opened[0].read())


def spin_frames_check(files: Sequence[IO[bytes] | Any]) -> None:
    """Check a 360° view's frames as ``media_create_spin`` will (count, each a good image);
    ``MediaInvalid`` naming the first bad frame. Stores nothing."""
    fewest, most = spin_frame_limits()
    if not fewest <= len(files) <= most:
        raise MediaInvalid(
            f"A 360° view needs {fewest} to {most} frames; {len(files)} were given.",
            code="invalid_spin",
        )
    for number, file in enumerate(files, start=1):
        _spin_frame_clean(number, file)


def _spin_frame_clean(number: int, file: IO[bytes] | Any) -> CleanImage:
    try:
        return image_clean(read_upload(file))
    except ImageInvalid as exc:
        label = getattr(file, "name", "") or f"#{number}"
        raise MediaInvalid(
            f"Frame {number} ({label}): {exc.message}", code="invalid_spin"
        ) from None


def media_create_video_upload(
    *,
    product_id: int,
    file: IO[bytes] | Any,
    alt_text: str = "",
    variant_id: int | None = None,
    position: int | None = None,
    user: User | None = None,
) -> ProductMedia:
    """Store an uploaded MP4 or WebM video of a product (or of one of its variants).

    The bytes decide (``media_files.video_file_check``), not the name or the browser's type; the
    size is at most ``CATALOG_VIDEO_MAX_BYTES``. The file is stored before the transaction (a
    large upload does not hold the product lock) and deleted again if the row cannot be saved.
    A refusal raises ``MediaInvalid`` (``invalid_video``) and leaves no row and no file."""
    _require(user, "catalog.add_productmedia", "add product media")
    alt = _alt_text_clean(alt_text)
    _product_exists(product_id)
    with _upload_opened(file, video_max_bytes(), "video", "invalid_video") as (handle, size):
        content_type = media_files.video_file_check(handle, size)
        media = ProductMedia(
            product_id=product_id,
            variant_id=variant_id,
            kind=ProductMedia.Kind.VIDEO,
            alt_text=alt,
            position=position,  # type: ignore[misc]  # None: after the others (_media_add)
            content_type=content_type,
            size_bytes=size,
        )
        name = _file_name(getattr(file, "name", ""), media_files.EXTENSIONS[content_type])
        media.file.save(name, File(handle, name=name), save=False)
    return _media_add(media, [str(media.file.name)], user)


@transaction.atomic
def media_create_video_url(
    *,
    product_id: int,
    url: str,
    alt_text: str = "",
    variant_id: int | None = None,
    position: int | None = None,
    user: User | None = None,
) -> ProductMedia:
    """Record a video that plays at ``url``, on a host of ``CATALOG_VIDEO_URL_HOSTS``; nothing
    is fetched, the media is ready at once. Idempotent per (product, URL): a repeated call
    returns the existing video unchanged. Refusals raise ``MediaInvalid``
    (``video_host_not_allowed``, ``invalid_video_url``). Locks the product row."""
    _require(user, "catalog.add_productmedia", "add product media")
    limit = ProductMedia._meta.get_field("source_url").max_length or 1000
    link = media_files.video_url_check(url, max_length=limit)
    alt = _alt_text_clean(alt_text)
    _product_locked(product_id)
    existing = (
        ProductMedia.objects.filter(
            product_id=product_id, source_url=link.url, kind=ProductMedia.Kind.VIDEO
        )
        .order_by("id")
        .first()
    )
    if existing is not None:
        return existing
    media = ProductMedia.objects.create(
        product_id=product_id,
        variant_id=_variant_of(product_id, variant_id),
        kind=ProductMedia.Kind.VIDEO,
        source_url=link.url,
        provider=link.provider,
        alt_text=alt,
        position=_next_position(product_id) if position is None else position,
        status=ProductMedia.Status.READY,
    )
    product_content_changed(product_id=product_id, fields={"media"}, user=user)
    return media


def media_create_document(
    *,
    product_id: int,
    file: IO[bytes] | Any,
    alt_text: str = "",
    variant_id: int | None = None,
    position: int | None = None,
    user: User | None = None,
) -> ProductMedia:
    """Store a PDF document (a spec sheet, a manual) of a product; ``alt_text`` is its title.

    At most ``CATALOG_DOCUMENT_MAX_BYTES``; pypdf must parse it, unencrypted, with at least one
    page (``media_files.pdf_check``); the page count is recorded. A refusal raises
    ``MediaInvalid`` (``invalid_document``, ``document_encrypted``) and leaves no row and no
    file."""
    _require(user, "catalog.add_productmedia", "add product media")
    alt = _alt_text_clean(alt_text)
    _product_exists(product_id)
    with _upload_opened(file, document_max_bytes(), "document", "invalid_document") as opened:
        data, size = opened[0].read(), opened[1]
    pages = media_files.pdf_check(data)
    media = ProductMedia(
        product_id=product_id,
        variant_id=variant_id,
        kind=ProductMedia.Kind.DOCUMENT,
        alt_text=alt,
        position=position,  # type: ignore[misc]  # None: after the others (_media_add)
        content_type=media_files.PDF,
        size_bytes=size,
        page_count=pages,
    )
    name = _file_name(getattr(file, "name", ""), "pdf")
    media.file.save(name, ContentFile(data), save=False)
    return _media_add(media, [str(media.file.name)], user)


def _natural_key(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def spin_files_ordered(files: Sequence[Any]) -> list[Any]:
    """Uploaded frames in turning order: by file name, numbers compared as numbers
    (``frame-2`` before ``frame-10``), as cameras and turntables name them."""
    return sorted(files, key=lambda file: _natural_key(str(getattr(file, "name", ""))))


def media_create_spin(
    *,
    product_id: int,
    files: Sequence[IO[bytes] | Any],
    alt_text: str = "",
    variant_id: int | None = None,
    position: int | None = None,
    user: User | None = None,
) -> ProductMedia:
    """Make a 360° view of a product from its frames, in the order given.

    Between ``CATALOG_SPIN_MIN_FRAMES`` and ``CATALOG_SPIN_MAX_FRAMES`` frames; each is checked
    and cleaned exactly like an uploaded image (``image_clean``), and a frame that is not a good
    image refuses the whole view (``MediaInvalid``, ``invalid_spin``, naming the frame) with
    nothing left behind. Cleaned frames are stored one by one before the transaction (memory
    holds one frame at a time); their renditions are made after commit."""
    _require(user, "catalog.add_productmedia", "add product media")
    alt = _alt_text_clean(alt_text)
    fewest, most = spin_frame_limits()
    if not fewest <= len(files) <= most:
        raise MediaInvalid(
            f"A 360° view needs {fewest} to {most} frames; {len(files)} were given.",
            code="invalid_spin",
        )
    _product_exists(product_id)
    storage = default_storage
    stored: list[str] = []
    frames: list[SpinFrame] = []
    try:
        for number, file in enumerate(files, start=1):
            clean = _spin_frame_clean(number, file)
            name = storage.save(
                f"products/{product_id}/spins/{uuid.uuid4().hex}.{clean.extension}",
                ContentFile(clean.content),
            )
            stored.append(name)
            frames.append(
                SpinFrame(position=number - 1, image=name, width=clean.width, height=clean.height)
            )
        media = ProductMedia(
            product_id=product_id,
            variant_id=variant_id,
            kind=ProductMedia.Kind.SPIN,
            alt_text=alt,
            position=position,  # type: ignore[misc]  # None: after the others (_media_add)
            width=frames[0].width,
            height=frames[0].height,
        )
        with transaction.atomic():
            _media_add(media, stored, user)
            for frame in frames:
                frame.media = media
            SpinFrame.objects.bulk_create(frames)
            transaction.on_commit(lambda: _renditions_enqueue(media.id))
    except BaseException:
        _files_delete(storage, stored)
        raise
    return media


class _FetchFailed(Exception):
    pass


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only (never to ftp:, file: or data: URLs)."""

    max_redirections = 5

    def redirect_request(  # type: ignore[override]
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        if urlsplit(newurl).scheme not in ("http", "https"):
            raise _FetchFailed(f"The server redirected to a non-http URL ({newurl[:100]}).")
        _public_host_check(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _public_host_check(url: str) -> None:
    """Refuse URLs whose host resolves to a loopback, private, link-local or otherwise
    non-public address (cloud metadata, the database, the admin itself), unless
    ``CATALOG_IMAGE_FETCH_ALLOW_PRIVATE`` is set (development and tests)."""
    if getattr(settings, "CATALOG_IMAGE_FETCH_ALLOW_PRIVATE", False):
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise _FetchFailed(f"Could not reach {host} ({exc}).") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise _FetchFailed(
                f"{host} resolves to a non-public address ({address}); images are fetched from "
                "public addresses only."
            )


def _opener() -> urllib.request.OpenerDirector:
    # Only the http(s) handlers: ``build_opener`` would also open file:, ftp: and data: URLs.
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        _SafeRedirects(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def image_download(url: str) -> bytes:
    """Download ``url`` within the limits: each network wait at most ``CATALOG_IMAGE_FETCH_TIMEOUT``
    seconds, the whole download at most three times that, at most ``CATALOG_IMAGE_MAX_BYTES``
    (the transfer stops as soon as it goes over). Raises ``_FetchFailed`` with a clear reason."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise _FetchFailed(f"{url[:100]!r} is not an http(s) URL.")
    timeout = image_fetch_timeout()
    limit = image_max_bytes()
    deadline = time.monotonic() + 3 * timeout
    request = urllib.request.Request(
        url, headers={"User-Agent": "OmniHub image fetcher", "Accept": "image/*"}
    )
    host = urlsplit(url).hostname or url
    _public_host_check(url)
    try:
        with _opener().open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise _FetchFailed(
                    f"The image is {_megabytes(int(declared))}; at most {_megabytes(limit)} "
                    "are accepted."
                )
            chunks: list[bytes] = []
            received = 0
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                received += len(chunk)
                if received > limit:
                    raise _FetchFailed(
                        f"The image is larger than {_megabytes(limit)}; the download was stopped."
                    )
                if time.monotonic() > deadline:
                    raise _FetchFailed(
                        f"The download from {host} took longer than {3 * timeout:g} seconds."
                    )
                chunks.append(chunk)
            return b"".join(chunks)
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            raise _FetchFailed(
                f"{host} answered HTTP {exc.code} with a redirect that is not followed "
                f"({exc.reason})."
            ) from None
        raise _FetchFailed(f"{host} answered HTTP {exc.code} ({exc.reason}).") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise _FetchFailed(f"{host} did not answer within {timeout:g} seconds.") from None
        raise _FetchFailed(f"Could not reach {host} ({reason}).") from None
    except TimeoutError:
        raise _FetchFailed(f"{host} did not answer within {timeout:g} seconds.") from None
    except (OSError, ValueError) as exc:
        raise _FetchFailed(f"Could not download from {host} ({exc}).") from None


def _fetch_failed(media_id: int, message: str) -> None:
    ProductMedia.objects.filter(id=media_id, status=ProductMedia.Status.PENDING).update(
        status=ProductMedia.Status.FAILED, error=message[:2000]
    )


def media_fetch(*, media_id: int) -> ProductMedia | None:
    """Download a pending media's ``source_url``, validate it like an upload, store it: READY.

    Never raises for a bad URL or a bad image: the media becomes FAILED with ``error`` saying why.
    The download runs outside any transaction (no lock is held while waiting on the network); the
    result is written with the row locked, and only if the media is still pending (deleted or
    already fetched media are left alone, so a duplicate task is harmless). Returns the media, or
    None when it no longer exists.
    """
    media = ProductMedia.objects.filter(id=media_id).first()
    if media is None or media.status != ProductMedia.Status.PENDING:
        return media
    try:
        clean = image_clean(image_download(media.source_url))
    except (_FetchFailed, ImageInvalid) as exc:
        _fetch_failed(media_id, str(exc))
        media.refresh_from_db()
        return media
    with transaction.atomic():
        locked = (
            ProductMedia.objects.select_for_update()
            .filter(id=media_id, status=ProductMedia.Status.PENDING)
            .first()
        )
        if locked is None:
            return ProductMedia.objects.filter(id=media_id).first()
        _store(locked, clean)
        try:
            locked.status = ProductMedia.Status.READY
            locked.error = ""
            locked.save()
            product_content_changed(product_id=locked.product_id, fields={"media"})
        except BaseException:
            _files_delete(locked.image.storage, [locked.image.name])
            raise
        transaction.on_commit(lambda: _renditions_enqueue(media_id))
    return locked


def _rendition_name(image_name: str, rendition: str, extension: str) -> str:
    folder, _, filename = image_name.rpartition("/")
    stem = filename.rsplit(".", 1)[0]
    return f"{folder}/renditions/{stem}_{rendition}.{extension}"


def _renditions_make(storage: Storage, image_name: str, recorded: dict[str, str]) -> list[str]:
    """Write the renditions of ``image_name`` missing from ``recorded`` (updated in place);
    returns the names made."""
    missing = {
        name: size
        for name, size in RENDITION_SIZES.items()
        if not (recorded.get(name) and storage.exists(recorded[name]))
    }
    if not missing:
        return []
    webp = features.check("webp")
    extension, image_format = ("webp", "WEBP") if webp else ("jpg", "JPEG")
    with storage.open(image_name, "rb") as handle, Image.open(handle) as source:
        source.load()
        alpha = webp and source.has_transparency_data
        base = source.convert("RGBA" if alpha else "RGB")
    for name, size in missing.items():
        rendition = base.copy()
        rendition.thumbnail((size, size), Image.Resampling.LANCZOS)  # never enlarges
        out = io.BytesIO()
        rendition.save(out, format=image_format, quality=82)
        path = _rendition_name(image_name, name, extension)
        if storage.exists(path):
            storage.delete(path)
        recorded[name] = storage.save(path, ContentFile(out.getvalue()))
    return list(missing)


def _spin_renditions_generate(media: ProductMedia) -> dict[str, str]:
    """The renditions of every frame of a 360° view; returns the first frame's."""
    first: dict[str, str] = {}
    storage = default_storage
    for frame in SpinFrame.objects.filter(media_id=media.id).order_by("position"):
        recorded = dict(frame.renditions or {})
        made = _renditions_make(storage, str(frame.image.name), recorded)
        if made and not SpinFrame.objects.filter(id=frame.id, image=frame.image.name).update(
            renditions=recorded
        ):
            _files_delete(storage, [recorded[name] for name in made])
            return {}
        if frame.position == 0:
            first = recorded
    return first


def media_renditions_generate(*, media_id: int) -> dict[str, str]:
    """Make the thumb/medium/large renditions of a ready image (longest side 160/600/1200 pixels,
    never enlarged), WEBP when Pillow supports it, JPEG otherwise; record them in
    ``ProductMedia.renditions`` as {name: storage path}. For a 360° view, every frame gets its
    own (``SpinFrame.renditions``) and the first frame's are returned; videos and documents have
    none.

    Idempotent: renditions already recorded and present in storage are kept; a missing one is
    (re)made. Returns the renditions (empty when the media is gone or not ready).
    """
    media = ProductMedia.objects.filter(id=media_id).first()
    if media is None or media.status != ProductMedia.Status.READY:
        return {}
    if media.kind == ProductMedia.Kind.SPIN:
        return _spin_renditions_generate(media)
    if media.kind != ProductMedia.Kind.IMAGE or not media.image:
        return {}
    storage = media.image.storage
    image_name = str(media.image.name)
    recorded = dict(media.renditions or {})
    made = _renditions_make(storage, image_name, recorded)
    if not made:
        return recorded
    updated = ProductMedia.objects.filter(id=media_id, image=image_name).update(renditions=recorded)
    if not updated:  # the media was deleted or replaced meanwhile: do not leave files behind
        _files_delete(storage, [recorded[name] for name in made])
        return {}
    return recorded


@transaction.atomic
def media_reorder(
    *, product_id: int, media_ids_in_order: Sequence[int], user: User | None = None
) -> list[ProductMedia]:
    """Order a product's media: ``media_ids_in_order`` must list each of its media exactly once.
    Positions become 0, 1, 2... Locks the product row. Returns the media in their new order."""
    _require(user, "catalog.change_productmedia", "reorder product images")
    _product_locked(product_id)
    media = {m.id: m for m in ProductMedia.objects.filter(product_id=product_id)}
    wanted = list(media_ids_in_order)
    duplicates = sorted({i for i in wanted if wanted.count(i) > 1})
    unknown = sorted(set(wanted) - set(media))
    missing = sorted(set(media) - set(wanted))
    if duplicates or unknown or missing:
        problems = []
        if duplicates:
            problems.append(f"listed more than once: {', '.join(map(str, duplicates))}")
        if unknown:
            problems.append(f"not media of this product: {', '.join(map(str, unknown))}")
        if missing:
            problems.append(f"missing: {', '.join(map(str, missing))}")
        raise ImageInvalid(
            "List every image of the product exactly once; " + "; ".join(problems) + ".",
            code="invalid_media_order",
        )
    changed = False
    for position, media_id in enumerate(wanted):
        item = media[media_id]
        if item.position != position:
            item.position = position
            item.save(update_fields=["position", "updated_at"])
            changed = True
    if changed:
        product_content_changed(product_id=product_id, fields={"media"}, user=user)
    return [media[i] for i in wanted]


@transaction.atomic
def media_update(
    *,
    media_id: int,
    alt_text: str | _Unset = UNSET,
    variant_id: int | _Unset | None = UNSET,
    user: User | None = None,
) -> ProductMedia:
    """Change an image's alt text and/or the variant it shows (``variant_id=None``: the whole
    product). Arguments not given are left as they are. Locks the media row."""
    _require(user, "catalog.change_productmedia", "edit product images")
    media = ProductMedia.objects.select_for_update().filter(id=media_id).first()
    if media is None:
        raise ImageInvalid(f"There is no image {media_id}.", code="unknown_media")
    changed = []
    if not isinstance(alt_text, _Unset):
        alt = _alt_text_clean(alt_text)
        if alt != media.alt_text:
            media.alt_text = alt
            changed.append("alt_text")
    if not isinstance(variant_id, _Unset):
        variant = _variant_of(media.product_id, variant_id)
        if variant != media.variant_id:
            media.variant_id = variant
            changed.append("variant")
    if changed:
        media.save(update_fields=[*changed, "updated_at"])
        product_content_changed(product_id=media.product_id, fields={"media"}, user=user)
    return media


@transaction.atomic
def media_delete(*, media_id: int, user: User | None = None) -> None:
    """Delete a media and, once the transaction commits, its files: the image and renditions,
    the video or document file, a 360° view's frames and theirs. Deleting a media that is
    already gone does nothing."""
    _require(user, "catalog.delete_productmedia", "delete product images")
    media = ProductMedia.objects.select_for_update().filter(id=media_id).first()
    if media is None:
        return
    storage = media.image.storage
    files = [media.image.name, *(media.renditions or {}).values()] if media.image else []
    if media.file:
        files.append(media.file.name)
    for name, renditions in SpinFrame.objects.filter(media_id=media.id).values_list(
        "image", "renditions"
    ):
        files += [name, *(renditions or {}).values()]
    product_id = media.product_id
    media.delete()
    product_content_changed(product_id=product_id, fields={"media"}, user=user)
    if files:
        transaction.on_commit(lambda: _files_delete(storage, files))
