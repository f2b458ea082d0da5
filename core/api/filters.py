"""Filters shared by every list that partners mirror."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField
from rest_framework.exceptions import ValidationError


class PresentIsoDateTimeField(IsoDateTimeField):
    """An ISO-8601 timestamp that, when the parameter is given, must be one: ``updated_since=``
    with nothing after it is refused instead of being read as "no filter" (a partner whose sync
    state lost its timestamp would otherwise download everything, silently)."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise forms.ValidationError(
                "An empty value is not a timestamp; leave the parameter out to list everything.",
                code="blank",
            )
        return super().to_python(value)


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO-8601 timestamp filter that compares in UTC.

    Any valid offset is accepted (``+05:30``, but also an odd ``-18:13``) and converted to UTC
    before it reaches the database, which would refuse offsets beyond its own range. An empty
    value is refused (:class:`PresentIsoDateTimeField`).
    """

    field_class = PresentIsoDateTimeField

    def filter(self, qs: Any, value: dt.datetime | None) -> Any:
        if value is not None and value.tzinfo is not None:
            try:
                value = value.astimezone(dt.UTC)
            except OverflowError as exc:
                raise ValidationError(
                    {self.field_name: ["The timestamp is out of range."]}, code="out_of_range"
                ) from exc
        return super().filter(qs, value)


class SyncFilterSet(django_filters.FilterSet):
    """Adds ``updated_since=<ISO-8601 timestamp>``: rows changed at or after that instant.

    Pair it with ``cursor_ordering = ("updated_at", "id")`` so a partner can page through every
    change since its last sync and resume from the last ``updated_at`` it saw.
    """

    updated_since = UtcIsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="ISO-8601 timestamp; only rows updated at or after it.",
    )
