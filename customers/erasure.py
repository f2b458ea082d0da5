"""GDPR erasure: the person's values and how every copy of them is scrubbed.

``customer_erase`` (``customers.services``) builds an :class:`ErasureSubject` before it touches
anything: the customer's name, every identifier (phones in all their notations) and the values
that other apps registered through ``customer_erase_hook_register(..., values=...)`` (an order's
email as typed, its shipping address, ...). The erase hooks then scrub their own tables with it,
inside the erasure transaction.

Scrubbing replaces each occurrence of a value (as a whole token, case-insensitively, also in
its JSON-escaped form) with :data:`PLACEHOLDER`; a text that *is* one of the values becomes
empty. JSON is walked (keys and values), so the record
stays valid JSON of the same shape. Rows of other people are never rewritten: the person's own
rows are found by their foreign keys, shared tables (idempotency records, outbox events, the
admin's log) by a search for the person's distinctive values (:attr:`ErasureSubject.needles`).

This module also scrubs the platform's shared tables (``core``: idempotency response bodies,
outbox event payloads; Django's admin ``LogEntry``): ``customers`` is the lowest app allowed to
import both ``core`` and itself, so the hook for them lives here (:func:`shared_copies_erase`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.db import models
from django.db.models import Q

PLACEHOLDER = "[erased]"
MIN_LENGTH = 3  # shorter values (initials, "NL") would scrub unrelated text
MIN_DIGITS_NEEDLE = 6  # a short number (an external id "4711") finds too many unrelated rows


def phone_forms(phone: str, *, default_region: str = "NL") -> set[str]:
    """The notations a phone number is stored in: as given, E.164 with and without ``+``,
    international and national format, and national digits (``+31612345678``,
    ``31612345678``, ``+31 6 12345678``, ``06 12345678``, ``0612345678``)."""
    forms = {phone.strip()}
    try:
        parsed = phonenumbers.parse(phone, default_region or None)
    except phonenumbers.NumberParseException:
        return {form for form in forms if form}
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    forms |= {
        e164,
        e164.lstrip("+"),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        national,
        "".join(ch for ch in national if ch.isdigit()),
    }
    return {form for form in forms if form}


def _escaped(value: str) -> str:
    """How ``value`` appears inside JSON text written with ``ensure_ascii`` (SQLite JSON
    columns, the admin's change messages)."""
    return json.dumps(value)[1:-1]


def _token(form: str) -> str:
    """A pattern for ``form`` as a whole token: a value that starts (ends) with a letter or digit
    does not match after (before) another one, so erasing "Anna" leaves "Annabel" and "4711"
    leaves "47110" alone."""
    before = r"(?<!\w)" if re.match(r"\w", form[0]) else ""
    after = r"(?!\w)" if re.match(r"\w", form[-1]) else ""
    return f"{before}{re.escape(form)}{after}"


@dataclass
class ErasureSubject:
    """The person being erased: their customer id(s) and every value that identifies them.

    ``values`` are scrubbed wherever they occur in a row being scrubbed; ``needles`` (the
    distinctive ones: email, phone, identifiers, name, street) find the rows of shared tables
    that hold a copy. A city or postal code alone finds nothing, but is scrubbed next to them.
    """

    customer_id: int
    customer_ids: set[int] = field(default_factory=set)  # with those merged into it
    values: set[str] = field(default_factory=set)
    needles: set[str] = field(default_factory=set)
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def add(self, *values: str, needle: bool = True) -> None:
        """Add values (blank and too short ones are ignored); ``needle=False`` for values that
        only identify together with others (city, postal code)."""
        for value in values:
            value = (value or "").strip()
            if len(value) < MIN_LENGTH:
                continue
            self.values.add(value)
            if needle and not (value.isdigit() and len(value) < MIN_DIGITS_NEEDLE):
                self.needles.add(value)
        self._pattern = None

    def add_phone(self, phone: str) -> None:
        self.add(*phone_forms(phone))

    @property
    def pattern(self) -> re.Pattern[str]:
        if self._pattern is None:
            forms = {form for value in self.values for form in (value, _escaped(value))}
            # the longest first, so "Jane Doe" is replaced whole before "Jane"
            alternatives = sorted(forms, key=lambda form: (-len(form), form))
            self._pattern = re.compile(
                "|".join(_token(form) for form in alternatives) or r"(?!x)x", re.IGNORECASE
            )
        return self._pattern

    def needle_forms(self) -> list[str]:
        """The needles as they may be stored: plain and JSON-escaped."""
        return sorted({form for value in self.needles for form in (value, _escaped(value))})

    # --- scrubbing --------------------------------------------------------------------------

    def text_scrub(self, text: str) -> str:
        """``text`` with every value replaced; a text that is nothing but values becomes ""."""
        if not text or not self.values:
            return text
        scrubbed = self.pattern.sub(PLACEHOLDER, text)
        if scrubbed == text:
            return text
        if not scrubbed.replace(PLACEHOLDER, "").strip(" ,;:"):
            return ""
        return scrubbed

    def json_scrub(self, data: Any) -> Any:
        """A copy of JSON data with every string (key or value) scrubbed."""
        if isinstance(data, str):
            return self.text_scrub(data)
        if isinstance(data, list):
            return [self.json_scrub(item) for item in data]
        if isinstance(data, dict):
            return {self.text_scrub(str(k)): self.json_scrub(v) for k, v in data.items()}
        return data

    def matches(self, data: Any) -> bool:
        return self.json_scrub(data) != data

    def needles_q(self, *fields: str) -> Q:
        """Rows whose ``fields`` (text or JSON) contain a needle, case-insensitively."""
        condition = Q(pk__in=[])
        for name in fields:
            for form in self.needle_forms():
                condition |= Q(**{f"{name}__icontains": form})
        return condition


def _scrubbable(
    model: type[models.Model], names: Iterable[str] | None
) -> list[models.Field[Any, Any]]:
    fields: list[models.Field[Any, Any]] = [
        f
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField | models.JSONField)
        and not f.primary_key
        and not f.unique
        and not f.choices
    ]
    if names is not None:
        wanted = set(names)
        fields = [f for f in fields if f.name in wanted]
    return fields


def queryset_scrub(
    queryset: models.QuerySet[Any], subject: ErasureSubject, *, fields: Iterable[str] | None = None
) -> int:
    """Scrub the text and JSON ``fields`` (default: every one that is not unique, a choice or the
    key) of the rows of ``queryset``; one UPDATE per changed row. Returns the rows changed."""
    model = queryset.model
    scrubbable = _scrubbable(model, fields)
    if not scrubbable or not subject.values:
        return 0
    names = [f.name for f in scrubbable]
    changed_rows = 0
    for row in queryset.order_by("pk").values("pk", *names):
        changes: dict[str, Any] = {}
        for f in scrubbable:
            value = row[f.name]
            if value is None:
                continue
            if isinstance(f, models.JSONField):
                new = subject.json_scrub(value)
            else:
                new = subject.text_scrub(value)
            if new != value:
                changes[f.name] = new
        if changes:
            model._base_manager.filter(pk=row["pk"]).update(**changes)
            changed_rows += 1
    return changed_rows


def shared_copies_erase(subject: ErasureSubject) -> dict[str, int]:
    """Scrub the platform's shared tables that may hold a copy of the person's values: stored
    idempotent responses (the key and fingerprint stay, so a retry is still recognised and
    replays the scrubbed body), outbox event payloads, and the admin's log (``object_repr``,
    ``change_message``). Rows are found by a search for the needles: one scan per table."""
    from django.contrib.admin.models import LogEntry

    from core.models import ChangeEvent, IdempotencyRecord

    if not subject.needles:
        return {}
    counts: dict[str, int] = {}
    for model, fields in (
        (IdempotencyRecord, ("response_body", "response_headers", "path")),
        (ChangeEvent, ("payload",)),
        (LogEntry, ("object_repr", "change_message")),
    ):
        found = model._base_manager.filter(subject.needles_q(*fields))
        counts[model._meta.label] = queryset_scrub(found, subject, fields=fields)
    return counts
