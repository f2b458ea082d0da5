"""Writing feed files from stored items: Google RSS 2.0 with the ``g:`` namespace, Google TSV and
Meta CSV. Writers take an iterator of item fields and a text stream, so a file of any size is
written in constant memory."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, TextIO
from xml.sax.saxutils import escape

from channels.feeds.spec import GOOGLE_COLUMNS, META_COLUMNS

GOOGLE_NAMESPACE = "http://base.google.com/ns/1.0"


def _one_line(value: Any) -> str:
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    return " ".join(str(value).split())


def write_google_xml(
    items: Iterable[dict[str, Any]], out: TextIO, *, title: str, link: str, description: str
) -> int:
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(f'<rss version="2.0" xmlns:g="{GOOGLE_NAMESPACE}">\n<channel>\n')
    out.write(f"<title>{escape(title)}</title>\n<link>{escape(link)}</link>\n")
    out.write(f"<description>{escape(description)}</description>\n")
    count = 0
    for fields in items:
        out.write("<item>\n")
        for name in GOOGLE_COLUMNS:
            value = fields.get(name)
            if value in (None, "", []):
                continue
            for one in value if isinstance(value, list) else [value]:
                out.write(f"<g:{name}>{escape(str(one))}</g:{name}>\n")
        out.write("</item>\n")
        count += 1
    out.write("</channel>\n</rss>\n")
    return count


def write_google_tsv(items: Iterable[dict[str, Any]], out: TextIO) -> int:
    """Google's tab-delimited format: a header of attribute names, one product per line, no tabs
    or line breaks inside values; repeated values (additional images) comma-separated."""
    out.write("\t".join(GOOGLE_COLUMNS) + "\n")
    count = 0
    for fields in items:
        row = (_one_line(fields.get(name, "")).replace("\t", " ") for name in GOOGLE_COLUMNS)
        out.write("\t".join(row) + "\n")
        count += 1
    return count


def write_meta_csv(items: Iterable[dict[str, Any]], out: TextIO) -> int:
    """Meta's CSV data feed: a header of field names, RFC 4180 quoting, comma-separated lists."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(META_COLUMNS)
    count = 0
    for fields in items:
        writer.writerow([_one_line(fields.get(name, "")) for name in META_COLUMNS])
        count += 1
    return count
