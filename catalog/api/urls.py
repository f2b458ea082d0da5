from django.urls import include, path

from catalog.api import media_views, prices_views, product_views, views

urlpatterns = [
    path("categories/", views.CategoryListView.as_view(), name="category-list"),
    path("prices/", prices_views.PriceBulkView.as_view(), name="price-bulk"),
    path(
        "prices/<slug:channel_code>/<str:sku>/",
        prices_views.PriceDetailView.as_view(),
        name="price-detail",
    ),
    path(
        "catalog/products/",
        product_views.CatalogProductCreateView.as_view(),
        name="catalog-product-create",
    ),
    path(
        "catalog/products/<slug:handle>/",
        product_views.CatalogProductDetailView.as_view(),
        name="catalog-product-detail",
    ),
    path(
        "catalog/products/<slug:handle>/variants/",
        product_views.CatalogVariantCreateView.as_view(),
        name="catalog-variant-create",
    ),
    path("catalog/products/<slug:handle>/media/", include(media_views.urlpatterns)),
    path(
        "catalog/variants/<str:sku>/",
        product_views.CatalogVariantDetailView.as_view(),
        name="catalog-variant-detail",
    ),
]
