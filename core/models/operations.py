"""Permissions for operations surfaces that have no table of their own."""

from __future__ import annotations

from django.db import models


class Metrics(models.Model):
    """No table: carries ``core.view_metrics``, the permission a staff session needs to read
    ``/metrics`` (a scraper uses the ``METRICS_TOKEN`` bearer token instead)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_metrics", "Can read the Prometheus metrics (/metrics)")]
        verbose_name = "metrics"
        verbose_name_plural = "metrics"

    def __str__(self) -> str:
        return "metrics"
