"""Cells for files that people open in a spreadsheet: no formula injection.

Text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula by
Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)`` leaks data, ``=cmd|...`` runs programs).
Every export writes its cells through ``cell_safe``, which puts an apostrophe in front of such
text; spreadsheets show the text as it was and do not evaluate it. Numbers (int, float, Decimal)
are not text and are written as they are, so a genuine ``-5`` stays a number; so is text that is
a plain number (``-5``, ``+1.5``): a spreadsheet reads it as that number and runs nothing.

Text that already starts with apostrophes before a formula character (``'=x``) gets one more, so
that ``cell_unescape`` (used by the importer of our own native file) can take exactly one off and
every value survives an export and re-import unchanged.
"""

from __future__ import annotations

import re
from typing import Final, TypeVar

FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER: Final = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

T = TypeVar("T")


def _runs_as_formula(text: str) -> bool:
    """True for text that is escaped: after any leading apostrophes it starts with a formula
    character and is not a plain number."""
    rest = text.lstrip("'")
    return rest.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(rest)


def cell_safe(value: T) -> T | str:
    """``value`` as a spreadsheet cell that cannot run: risky text gets a leading apostrophe;
    anything that is not text is returned unchanged."""
    if isinstance(value, str) and _runs_as_formula(value):
        return "'" + value
    return value


def cell_unescape(text: str) -> str:
    """The inverse of ``cell_safe`` for text read back from our own export: one leading
    apostrophe is removed exactly where ``cell_safe`` added it."""
    if text.startswith("'") and _runs_as_formula(text[1:]):
        return text[1:]
    return text
