from django.urls import path

from storefront.api import views

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="product-list"),
    path("products/<int:pk>/", views.ProductDetailView.as_view(), name="product-detail"),
    path("variants/", views.VariantLookupView.as_view(), name="variant-list"),
    path("availability/", views.AvailabilityView.as_view(), name="availability"),
    path("channels/", views.ChannelListView.as_view(), name="channel-list"),
]
