from django.urls import path

from storefront.api import money_views, views

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="product-list"),
    path("products/<int:pk>/", views.ProductDetailView.as_view(), name="product-detail"),
    path("variants/", views.VariantLookupView.as_view(), name="variant-list"),
    path("availability/", views.AvailabilityView.as_view(), name="availability"),
    path("channels/", views.ChannelListView.as_view(), name="channel-list"),
    path(
        "shipping-methods/",
        money_views.ShippingMethodListView.as_view(),
        name="shipping-method-list",
    ),
    path("promotions/", money_views.PromotionListView.as_view(), name="promotion-list"),
    path("tax-rates/", money_views.TaxRateListView.as_view(), name="tax-rate-list"),
]
