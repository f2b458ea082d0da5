from django.urls import path

from channels.api import catalog_views

urlpatterns = [
    path("products/", catalog_views.ProductListView.as_view(), name="product-list"),
    path("products/<int:pk>/", catalog_views.ProductDetailView.as_view(), name="product-detail"),
    path("variants/", catalog_views.VariantLookupView.as_view(), name="variant-list"),
]
