"""Shared model mixins."""

from __future__ import annotations

from django.db import models


class Timestamped(models.Model):
    """When the row was created and last saved."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class SyncTimestamped(Timestamped):
    """Timestamped, for rows partners mirror with ``updated_since``: ``updated_at`` is indexed."""

    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True
