from __future__ import annotations

from rest_framework import serializers

from catalog.models import Category


class CategoryOutputSerializer(serializers.ModelSerializer):
    parent_id = serializers.SerializerMethodField()

    class Meta:
        model = Category
        fields = ["id", "name", "full_name", "google_id", "depth", "parent_id", "updated_at"]

    def get_parent_id(self, category: Category) -> int | None:
        parents: dict[str, int] = self.context.get("parents", {})
        return parents.get(category.path[: -Category.steplen]) if category.depth > 1 else None
