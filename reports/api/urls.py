"""The partner reporting API: ``/api/v1/reports/...`` (scope ``reports:read``)."""

from __future__ import annotations

from django.urls import URLPattern, path

from reports.api import views

urlpatterns: list[URLPattern] = [
    path("reports/sales/", views.SalesReportView.as_view(), name="reports-sales"),
    path("reports/stock/", views.StockReportView.as_view(), name="reports-stock"),
    path("reports/returns/", views.ReturnsReportView.as_view(), name="reports-returns"),
    path("reports/fulfilment/", views.FulfilmentReportView.as_view(), name="reports-fulfilment"),
]
