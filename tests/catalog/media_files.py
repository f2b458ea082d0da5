"""Real files of each media kind for the media tests: PDFs written by pypdf (encrypted ones too),
MP4 and WebM files with the container structure players read (an ``ftyp``/``moov``/``mdat`` ISO
media file; an EBML header of DocType ``webm`` and a Segment), and what the storage holds."""

from __future__ import annotations

import io
import struct

from django.core.files.storage import default_storage
from pypdf import PdfWriter


def stored_files(folder: str = "products") -> list[str]:
    try:
        dirs, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return []
    found = [f"{folder}/{name}" for name in files]
    for name in dirs:
        found += stored_files(f"{folder}/{name}")
    return sorted(found)


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def mp4_bytes(brand: bytes = b"isom", payload: int = 2000) -> bytes:
    """An ISO base media file as encoders write it: ftyp (brand, compatible brands), moov with a
    movie header, mdat with the media data."""
    ftyp = box(b"ftyp", brand + struct.pack(">I", 0x200) + brand + b"mp41")
    mvhd = box(b"mvhd", bytes(4) + struct.pack(">IIII", 0, 0, 1000, 5000) + bytes(80))
    return ftyp + box(b"moov", mvhd) + box(b"mdat", b"\x00\x01" * (payload // 2))


def _ebml(element_id: bytes, body: bytes) -> bytes:
    assert len(body) < 127
    return element_id + bytes([0x80 | len(body)]) + body


def webm_bytes(doctype: bytes = b"webm") -> bytes:
    """An EBML header (version 1, DocType ``doctype``) and a Segment holding an Info element."""
    header = _ebml(
        b"\x1a\x45\xdf\xa3",
        _ebml(b"\x42\x86", b"\x01") + _ebml(b"\x42\x82", doctype) + _ebml(b"\x42\x87", b"\x04"),
    )
    info = _ebml(b"\x15\x49\xa9\x66", _ebml(b"\x2a\xd7\xb1", b"\x0f\x42\x40"))
    return header + _ebml(b"\x18\x53\x80\x67", info) + bytes(600)


def pdf_bytes(pages: int = 3, password: str = "") -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
