"""The report pages in the back office: ``/admin/reports/...``."""

from __future__ import annotations

from django.urls import URLPattern, path

from reports import views

app_name = "reports"
urlpatterns: list[URLPattern] = [
    path("", views.report_index, name="index"),
    *(path(f"{slug}/", views.report_view, {"slug": slug}, name=slug) for slug in views.PAGES),
]
