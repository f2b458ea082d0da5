from django.urls import path

from inventory.api import views

urlpatterns = [
    path("locations/", views.LocationListView.as_view(), name="location-list"),
    path(
        "stock/movements/",
        views.StockMovementBatchView.as_view(),
        name="stock-movement-batch",
    ),
    path("stock/holds/", views.StockHoldCreateView.as_view(), name="stock-hold-create"),
    path(
        "stock/holds/<str:reference>/",
        views.StockHoldReleaseView.as_view(),
        name="stock-hold-release",
    ),
    path(
        "stock/<slug:location_code>/<str:sku>/",
        views.StockDetailView.as_view(),
        name="stock-detail",
    ),
]
