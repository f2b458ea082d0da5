"""Filters shared by every list that partners mirror."""

from __future__ import annotations

import django_filters


class SyncFilterSet(django_filters.FilterSet):
    """Adds ``updated_since=<ISO-8601 timestamp>``: rows changed at or after that instant.

    Pair it with ``cursor_ordering = ("updated_at", "id")`` so a partner can page through every
    change since its last sync and resume from the last ``updated_at`` it saw.
    """

    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="ISO-8601 timestamp; only rows updated at or after it.",
    )
