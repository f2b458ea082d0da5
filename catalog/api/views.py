from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors
from catalog.api.serializers import CategoryOutputSerializer
from catalog.models import Category
from core.api.filters import SyncFilterSet
from core.scopes import Scope


class CategoryFilterSet(SyncFilterSet):
    class Meta:
        model = Category
        fields = ["updated_since", "google_id", "depth"]


class CategoryListView(generics.ListAPIView):
    """The category tree, flattened depth-first; ``parent_id`` rebuilds the tree and
    ``google_id`` is Google's product category id."""

    serializer_class = CategoryOutputSerializer
    filterset_class = CategoryFilterSet
    read_scope = Scope.CATALOG_READ
    cursor_ordering = ("updated_at", "id")

    def get_queryset(self) -> QuerySet[Category]:
        return selectors.category_list()

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        context["parents"] = getattr(self, "_parents", {})
        return context

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        if page is not None:
            paths = {c.path[: -Category.steplen] for c in page if c.depth > 1}
            self._parents = dict(Category.objects.filter(path__in=paths).values_list("path", "id"))
        return page

    @extend_schema(operation_id="categories_list", summary="The category tree")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
