"""Writing feed files from stored items: Google RSS 2.0 with the ``g:`` namespace, Google TSV and
Meta CSV. A writer is given one item's fields at a time (``FeedWriter.write``), so a file of any
size is written in constant memory, and one pass over a channel's items can feed every file of
the channel at once (``channels.feeds.services.feed_render``). Each item goes to the stream in
one ``write`` call: the stream hashes what it is given, and a call per attribute cost more than
the attribute."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any, Protocol, TextIO
from xml.sax.saxutils import escape

from channels.feeds.spec import GOOGLE_COLUMNS, META_COLUMNS

GOOGLE_NAMESPACE = "http://base.google.com/ns/1.0"
# each attribute's opening and closing element, made once rather than once per value
_GOOGLE_TAGS = tuple((name, f"<g:{name}>", f"</g:{name}>\n") for name in GOOGLE_COLUMNS)


class FeedWriter(Protocol):
    """A file being written: ``write`` one item's fields, then ``close`` once; ``count`` items."""

    count: int

    def write(self, fields: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def _one_line(value: Any) -> str:
    if value == "":  # most columns of most items: nothing to split
        return ""
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    return " ".join(str(value).split())


class GoogleXmlWriter:
    """Google's RSS 2.0 feed: one ``<item>`` of ``g:`` attributes per product, repeated
    attributes (additional images) as repeated elements."""

    def __init__(self, out: TextIO, *, title: str, link: str, description: str) -> None:
        self.out = out
        self.count = 0
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(f'<rss version="2.0" xmlns:g="{GOOGLE_NAMESPACE}">\n<channel>\n')
        out.write(f"<title>{escape(title)}</title>\n<link>{escape(link)}</link>\n")
        out.write(f"<description>{escape(description)}</description>\n")

    def write(self, fields: dict[str, Any]) -> None:
        parts = ["<item>\n"]
        for name, opening, closing in _GOOGLE_TAGS:
            value = fields.get(name)
            if value in (None, "", []):
                continue
            for one in value if isinstance(value, list) else (value,):
                parts += (opening, escape(str(one)), closing)
        parts.append("</item>\n")
        self.out.write("".join(parts))
        self.count += 1

    def close(self) -> None:
        self.out.write("</channel>\n</rss>\n")


class GoogleTsvWriter:
    """Google's tab-delimited format: a header of attribute names, one product per line, no tabs
    or line breaks inside values; repeated values (additional images) comma-separated."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.count = 0
        out.write("\t".join(GOOGLE_COLUMNS) + "\n")

    def write(self, fields: dict[str, Any]) -> None:
        row = (_one_line(fields.get(name, "")).replace("\t", " ") for name in GOOGLE_COLUMNS)
        self.out.write("\t".join(row) + "\n")
        self.count += 1

    def close(self) -> None:
        return None


class MetaCsvWriter:
    """Meta's CSV data feed: a header of field names, RFC 4180 quoting, comma-separated lists."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.count = 0
        self.line = io.StringIO()  # one row at a time, handed to ``out`` whole
        self.writer = csv.writer(self.line, lineterminator="\n")
        self._row(META_COLUMNS)

    def _row(self, values: Iterable[str]) -> None:
        self.line.seek(0)
        self.line.truncate()
        self.writer.writerow(values)
        self.out.write(self.line.getvalue())

    def write(self, fields: dict[str, Any]) -> None:
        self._row([_one_line(fields.get(name, "")) for name in META_COLUMNS])
        self.count += 1

    def close(self) -> None:
        return None


def _write_all(writer: FeedWriter, items: Iterable[dict[str, Any]]) -> int:
    for fields in items:
        writer.write(fields)
    writer.close()
    return writer.count


def write_google_xml(
    items: Iterable[dict[str, Any]], out: TextIO, *, title: str, link: str, description: str
) -> int:
    return _write_all(GoogleXmlWriter(out, title=title, link=link, description=description), items)


def write_google_tsv(items: Iterable[dict[str, Any]], out: TextIO) -> int:
    """Google's tab-delimited format (``GoogleTsvWriter``); returns the number of items."""
    return _write_all(GoogleTsvWriter(out), items)


def write_meta_csv(items: Iterable[dict[str, Any]], out: TextIO) -> int:
    """Meta's CSV data feed (``MetaCsvWriter``); returns the number of items."""
    return _write_all(MetaCsvWriter(out), items)
