from django.urls import path

from inventory.api import views

urlpatterns = [
    path("locations/", views.LocationListView.as_view(), name="location-list"),
    path(
        "stock/movements/",
        views.StockMovementBatchView.as_view(),
        name="stock-movement-batch",
    ),
    path(
        "stock/<slug:location_code>/<str:sku>/",
        views.StockDetailView.as_view(),
        name="stock-detail",
    ),
]
