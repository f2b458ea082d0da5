"""Reads of the catalog, with their joins applied."""

from __future__ import annotations

from django.db.models import QuerySet

from catalog.models import Category


def category_list() -> QuerySet[Category]:
    """Every category in tree order (depth-first, as the tree is displayed)."""
    return Category.objects.order_by("path")


def category_by_google_id(google_id: int) -> Category | None:
    return Category.objects.filter(google_id=google_id).first()
