"""What a video, a video URL and a PDF document must be before the catalog stores them.

Pure checks on bytes and strings (no models, no storage), used by ``catalog.media``:

- ``video_file_check``: an MP4 (ISO base media file with an MP4 brand and a ``moov`` box, its
  top-level boxes filling the file exactly, so a truncated upload is refused) or a WebM (an EBML
  header whose DocType is ``webm``, then a Segment). The extension and the browser's content type
  are not trusted: only the bytes are read.
- ``video_url_check``: an http(s) URL on a host of ``CATALOG_VIDEO_URL_HOSTS`` (a host or any of its
  subdomains). YouTube and Vimeo URLs must name a video; their embed URL is derived. Nothing is
  fetched.
- ``pdf_check``: a PDF that pypdf parses, not encrypted, with at least one page, ending in
  ``%%EOF``; returns the page count.

Each refusal is a ``MediaInvalid`` whose message says what is wrong to the person who uploaded it.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from dataclasses import dataclass
from typing import IO, Final
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from catalog.exceptions import MediaInvalid

MP4: Final = "video/mp4"
WEBM: Final = "video/webm"
PDF: Final = "application/pdf"
EXTENSIONS: Final = {MP4: "mp4", WEBM: "webm", PDF: "pdf"}

# ISO/IEC 14496-12 brands of MP4 files (ISO base media, MP4 v1/v2, AVC, DASH, Apple M4V).
# QuickTime (``qt  ``) and 3GPP files share the box structure but are not MP4.
MP4_BRANDS: Final = frozenset(
    {
        b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9",
        b"mp41", b"mp42", b"mp71", b"avc1", b"dash", b"M4V ", b"M4VH", b"M4VP", b"mmp4", b"MSNV",
    }
)  # fmt: skip
_MAX_BOXES = 10_000
_EBML_HEADER = 0x1A45DFA3
_EBML_DOCTYPE = 0x4282
_EBML_SEGMENT = 0x18538067


def _megabytes(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size:,} bytes"
    return f"{round(size / (1024 * 1024), 1):g} MB"


def size_check(size: int, limit: int, what: str, code: str) -> None:
    """Refuse an empty file or one over ``limit`` bytes (``what``: 'video', 'document')."""
    if size <= 0:
        raise MediaInvalid(f"The {what} file is empty.", code=code)
    if size > limit:
        raise MediaInvalid(
            f"The {what} is {_megabytes(size)}; at most {_megabytes(limit)} are accepted.",
            code=code,
        )


# --- video files ---------------------------------------------------------------------------------


def _not_video(reason: str) -> MediaInvalid:
    return MediaInvalid(f"{reason} Upload an MP4 or WebM video.", code="invalid_video")


def _mp4_check(handle: IO[bytes], size: int) -> None:
    """Walk the top-level boxes: ``ftyp`` first with an MP4 brand, a ``moov`` somewhere, and the
    boxes ending exactly at the end of the file."""
    handle.seek(0)
    head = handle.read(64)
    box_size, box_type = struct.unpack(">I4s", head[:8])
    brands = {head[8:12]} | {head[i : i + 4] for i in range(16, min(box_size, len(head)), 4)}
    if not brands & MP4_BRANDS:
        major = head[8:12].decode("latin-1").strip() or "?"
        raise _not_video(f"The file is an ISO media file of brand '{major}', not an MP4 video.")
    offset, boxes, seen = 0, 0, set()
    while offset < size:
        handle.seek(offset)
        header = handle.read(16)
        if len(header) < 8:
            raise _not_video("The video is truncated (a box header is cut off).")
        box_size, box_type = struct.unpack(">I4s", header[:8])
        if box_size == 1:
            if len(header) < 16:
                raise _not_video("The video is truncated (a box header is cut off).")
            box_size = struct.unpack(">Q", header[8:16])[0]
        elif box_size == 0:  # the last box runs to the end of the file
            box_size = size - offset
        if box_size < 8 or not re.fullmatch(rb"[\x20-\x7e]{4}", box_type):
            raise _not_video("The video's structure is corrupt.")
        if offset + box_size > size:
            raise _not_video(
                f"The video is truncated: its '{box_type.decode()}' box needs "
                f"{offset + box_size - size:,} more bytes."
            )
        seen.add(box_type)
        offset += box_size
        boxes += 1
        if boxes > _MAX_BOXES:
            raise _not_video("The video has too many top-level boxes to be a real MP4.")
    if b"moov" not in seen:
        raise _not_video("The MP4 has no 'moov' box (no track information): it cannot be played.")


def _vint(data: bytes, offset: int, *, keep_marker: bool) -> tuple[int, int]:
    """An EBML variable-length integer at ``offset``: (value, length in bytes)."""
    if offset >= len(data):
        raise _not_video("The video is truncated (its header is cut off).")
    first = data[offset]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8 or offset + length > len(data):
        raise _not_video("The WebM header is corrupt.")
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[offset + 1 : offset + length]:
        value = (value << 8) | byte
    return value, length


def _webm_check(handle: IO[bytes], size: int) -> None:
    """The EBML header's DocType must be ``webm`` and a Segment must follow it."""
    handle.seek(0)
    data = handle.read(4096)
    element, length = _vint(data, 0, keep_marker=True)
    header_size, size_length = _vint(data, length, keep_marker=False)
    start = length + size_length
    end = start + header_size
    if end > len(data):
        raise _not_video("The WebM header is corrupt or the file is truncated.")
    doctype = b""
    offset = start
    while offset < end:
        element, length = _vint(data, offset, keep_marker=True)
        body_size, size_length = _vint(data, offset + length, keep_marker=False)
        body = offset + length + size_length
        if element == _EBML_DOCTYPE:
            doctype = data[body : body + body_size].rstrip(b"\x00")
        offset = body + body_size
    if doctype != b"webm":
        kind = doctype.decode("latin-1") or "unknown"
        raise _not_video(f"The file is a Matroska file of type '{kind}', not a WebM video.")
    element, _ = _vint(data, end, keep_marker=True)
    if element != _EBML_SEGMENT:
        raise _not_video("The WebM file has no Segment after its header.")
    if end >= size:
        raise _not_video("The video is truncated.")


def video_file_check(handle: IO[bytes], size: int) -> str:
    """The content type (``video/mp4`` or ``video/webm``) of the seekable file ``handle`` of
    ``size`` bytes, read by its signature and structure; raises ``MediaInvalid``
    (``invalid_video``) otherwise. Reads a few kilobytes plus 16 bytes per MP4 box."""
    handle.seek(0)
    head = handle.read(12)
    try:
        if len(head) >= 12 and head[4:8] == b"ftyp":
            _mp4_check(handle, size)
            return MP4
        if head[:4] == struct.pack(">I", _EBML_HEADER):
            _webm_check(handle, size)
            return WEBM
    except struct.error:
        raise _not_video("The video is truncated or corrupt.") from None
    finally:
        handle.seek(0)
    raise _not_video("The file is not a video.")


# --- video URLs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoLink:
    """A video URL that may be stored: where it plays and, for known providers, how to embed it."""

    url: str
    provider: str
    video_id: str = ""
    embed_url: str = ""


_YOUTUBE_HOSTS: Final = ("youtube.com", "youtu.be", "youtube-nocookie.com")
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_VIMEO_ID = re.compile(r"/(\d{4,})(?:/|$)")


def video_url_hosts() -> list[str]:
    hosts = getattr(settings, "CATALOG_VIDEO_URL_HOSTS", ["youtube.com", "youtu.be", "vimeo.com"])
    return [str(host).strip().lower().lstrip(".") for host in hosts if str(host).strip()]


def _on(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def _youtube_id(path: str, query: str, host: str) -> str:
    if _on(host, "youtu.be"):
        candidate = path.strip("/").split("/")[0]
    elif path.rstrip("/") == "/watch":
        candidate = (parse_qs(query).get("v") or [""])[0]
    else:
        match = re.match(r"^/(?:embed|shorts|live|v)/([^/?#]+)", path)
        candidate = match.group(1) if match else ""
    return candidate if _YOUTUBE_ID.match(candidate) else ""


def video_link(url: str) -> VideoLink:
    """Provider, id and embed URL of a stored video URL (already checked); never raises."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if any(_on(host, domain) for domain in _YOUTUBE_HOSTS):
        video_id = _youtube_id(parts.path, parts.query, host)
        embed = f"https://www.youtube-nocookie.com/embed/{video_id}" if video_id else ""
        return VideoLink(url=url, provider="youtube", video_id=video_id, embed_url=embed)
    if _on(host, "vimeo.com"):
        match = _VIMEO_ID.search(parts.path)
        video_id = match.group(1) if match else ""
        embed = f"https://player.vimeo.com/video/{video_id}" if video_id else ""
        return VideoLink(url=url, provider="vimeo", video_id=video_id, embed_url=embed)
    return VideoLink(url=url, provider=host.removeprefix("www."))


def video_url_check(url: str, *, max_length: int = 1000) -> VideoLink:
    """Accept ``url`` as a video link or raise ``MediaInvalid``: ``invalid_video_url`` (not an
    http(s) URL, too long, a YouTube/Vimeo URL that names no video) or ``video_host_not_allowed``
    (the host is not one of ``CATALOG_VIDEO_URL_HOSTS``). Nothing is fetched."""
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise MediaInvalid(
            f"{url[:100]!r} is not an http(s) URL.", code="invalid_video_url"
        ) from None
    if len(url) > max_length:
        raise MediaInvalid(
            f"The URL has {len(url)} characters; at most {max_length} are accepted.",
            code="invalid_video_url",
        )
    host = (urlsplit(url).hostname or "").lower()
    allowed = video_url_hosts()
    if not any(_on(host, domain) for domain in allowed):
        raise MediaInvalid(
            f"Videos are accepted from {', '.join(allowed) or 'no host'} only, not from {host}. "
            "Upload the video file instead.",
            code="video_host_not_allowed",
        )
    link = video_link(url)
    if link.provider in ("youtube", "vimeo") and not link.video_id:
        raise MediaInvalid(
            f"This {link.provider.capitalize()} URL does not name a video; give the URL of the "
            "video itself (for example https://www.youtube.com/watch?v=... or "
            "https://vimeo.com/123456789).",
            code="invalid_video_url",
        )
    return link


# --- PDF documents -------------------------------------------------------------------------------


def _not_pdf(reason: str, code: str = "invalid_document") -> MediaInvalid:
    return MediaInvalid(reason, code=code)


def pdf_check(data: bytes) -> int:
    """The number of pages of the PDF ``data``; raises ``MediaInvalid``: ``invalid_document``
    (not a PDF, truncated, broken, no pages) or ``document_encrypted`` (password protected or
    encrypted: channels and shoppers could not open it)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if not data.startswith(b"%PDF-"):
        raise _not_pdf("The file is not a PDF document (it does not start with %PDF-).")
    if b"%%EOF" not in data[-2048:]:
        raise _not_pdf("The PDF is truncated (it does not end with %%EOF).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise _not_pdf(
                    "The PDF is encrypted or password protected; upload an unprotected copy.",
                    code="document_encrypted",
                )
            pages = len(reader.pages)
            for page in reader.pages:
                page.mediabox  # noqa: B018  (reads every page object: a broken tree fails here)
    except MediaInvalid:
        raise
    except Exception as exc:  # a parser fed a broken file can raise anything: all are refusals
        reason = str(exc) if isinstance(exc, PyPdfError) else type(exc).__name__
        raise _not_pdf(f"The PDF is broken and cannot be read ({reason}).") from None
    if pages < 1:
        raise _not_pdf("The PDF has no pages.")
    return pages
