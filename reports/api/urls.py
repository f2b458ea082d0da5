"""The partner reporting API: ``/api/v1/reports/...`` (scope ``reports:read``)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
