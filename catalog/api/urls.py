from django.urls import path

from catalog.api import prices_views, views

urlpatterns = [
    path("categories/", views.CategoryListView.as_view(), name="category-list"),
    path("prices/", prices_views.PriceBulkView.as_view(), name="price-bulk"),
    path(
        "prices/<slug:channel_code>/<str:sku>/",
        prices_views.PriceDetailView.as_view(),
        name="price-detail",
    ),
]
