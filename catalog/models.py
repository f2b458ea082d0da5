"""Product information: categories (and, with the catalog issue, products, variants, media)."""

from __future__ import annotations

from django.db import models
from treebeard.mp_tree import MP_Node


class Category(MP_Node):
    """A node of the category tree, usually imported from the Google product taxonomy.

    ``google_id`` is kept so that feeds can send ``google_product_category`` as Google's own id.
    """

    name = models.CharField(max_length=200)
    full_name = models.CharField(
        max_length=1000, help_text="The whole path, e.g. 'Apparel & Accessories > Clothing'."
    )
    google_id = models.PositiveIntegerField(unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    node_order_by = ["name"]

    class Meta:
        verbose_name_plural = "categories"
        indexes = [models.Index(fields=["full_name"]), models.Index(fields=["updated_at"])]

    def __str__(self) -> str:
        return self.full_name
