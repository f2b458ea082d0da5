"""Top-level URLs: admin, partner API, API schema and docs, health."""

from __future__ import annotations

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from channels.inbound import channel_order_receive
from config.health import healthz

admin.site.site_header = "OmniHub back office"
admin.site.site_title = "OmniHub"
admin.site.index_title = "Products, stock, orders, channels and customers"

api_v1 = [
    path("", include("core.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("inventory.api.urls")),
    path("", include("customers.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("channels.api.urls")),
    path("", include("storefront.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("store/", include("store.urls")),
    path("channels/<slug:code>/orders/", channel_order_receive, name="channel-orders-inbound"),
    path("channels/", include("channels.feeds.urls")),
    path("healthz", healthz, name="healthz"),
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
]
