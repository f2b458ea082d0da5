"""Filters shared by every list that partners mirror."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
import django_filters.fields
from django import forms
from django.db import models
from django_filters.fields import IsoDateTimeField
from django_filters.filterset import FILTER_FOR_DBFIELD_DEFAULTS
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
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


class PresentIntegerField(forms.IntegerField):
    """A whole number, when the parameter is given: ``0.5``, ``1e3`` or an empty value are
    refused instead of matching nothing or meaning "no filter"."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise forms.ValidationError("An empty value is not a number.", code="blank")
        return super().to_python(value)


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(django_filters.NumberFilter):
    field_class = PresentIntegerField


class PresentBooleanField(forms.Field):
    """``true`` or ``false``, exactly: anything else is refused instead of being read as "no
    filter" (django-filter's default), which would hand a partner every row."""

    def to_python(self, value: Any) -> bool | None:
        if value is None:
            return None
        if value in ("true", "false"):
            return value == "true"
        raise forms.ValidationError("Use true or false.", code="invalid")


@extend_schema_field(OpenApiTypes.BOOL)
class BooleanFilter(django_filters.BooleanFilter):
    field_class = PresentBooleanField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class PresentChoiceField(django_filters.fields.ChoiceField):
    """One of the choices, when the parameter is given: an empty value is refused instead of
    meaning "no filter"."""

    def clean(self, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise forms.ValidationError("An empty value is not one of the choices.", code="blank")
        return super().clean(value)


class ChoiceFilter(django_filters.ChoiceFilter):
    field_class = PresentChoiceField


_STRICT_DEFAULTS = {
    **FILTER_FOR_DBFIELD_DEFAULTS,
    **{
        field: {"filter_class": IntegerFilter}
        for field in (
            models.AutoField,
            models.BigAutoField,
            models.SmallIntegerField,
            models.IntegerField,
            models.BigIntegerField,
            models.PositiveIntegerField,
            models.PositiveSmallIntegerField,
            models.PositiveBigIntegerField,
        )
    },
    models.BooleanField: {"filter_class": BooleanFilter},
}


class SyncFilterSet(django_filters.FilterSet):
    """Adds ``updated_since=<ISO-8601 timestamp>``: rows changed at or after that instant.

    Pair it with ``cursor_ordering = ("updated_at", "id")`` so a partner can page through every
    change since its last sync and resume from the last ``updated_at`` it saw.

    Filters generated from model fields are strict: integers are whole numbers and booleans are
    ``true`` or ``false``, as the schema says; anything else is a 400, never silently ignored.
    """

    FILTER_DEFAULTS = _STRICT_DEFAULTS

    @classmethod
    def filter_for_lookup(cls, field: Any, lookup_type: str) -> tuple[Any, dict[str, Any]]:
        filter_class, params = super().filter_for_lookup(field, lookup_type)
        if filter_class is django_filters.ChoiceFilter:
            filter_class = ChoiceFilter
        return filter_class, params

    updated_since = UtcIsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="ISO-8601 timestamp; only rows updated at or after it.",
    )
