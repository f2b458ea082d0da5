"""Top-level URLs: admin, partner API, API schema and docs, store page, feeds, health, metrics."""

from __future__ import annotations

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from channels.inbound import channel_order_receive
from config.metrics import metrics_view
from core.health import healthz

admin.site.site_header = "OmniHub back office"
admin.site.site_title = "OmniHub"
admin.site.index_title = "Products, stock, orders, channels and customers"
# The home page shows the dashboard of the user's roles above the list of apps (reports.dashboard).
admin.site.index_template = "reports/admin_index.html"

# Admin pages of models that moved into core (their app label changed); bookmarks keep working.
MOVED_ADMIN_PAGES = {
    "channels/channel": "core/channel",
    "api/partner": "core/partner",
    "api/partnerapikey": "core/partnerapikey",
    "api/idempotencyrecord": "core/idempotencyrecord",
    "outbox/changeevent": "core/changeevent",
    "api": "core",
    "outbox": "core",
}


def admin_moved(request: HttpRequest, old: str, rest: str = "") -> HttpResponsePermanentRedirect:
    """301 from an admin page's address before the move to its address now, query included."""
    query = request.META.get("QUERY_STRING", "")
    target = f"/admin/{MOVED_ADMIN_PAGES[old]}/{rest}" + (f"?{query}" if query else "")
    return HttpResponsePermanentRedirect(target)


api_v1 = [
    path("", include("core.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("inventory.api.urls")),
    path("", include("customers.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("channels.api.urls")),
    path("", include("storefront.api.urls")),
    path("", include("reports.api.urls")),
]

urlpatterns = [
    re_path(
        r"^admin/(?P<old>channels/channel|api/partnerapikey|api/partner|api/idempotencyrecord"
        r"|outbox/changeevent|api|outbox)/(?P<rest>.*)$",
        admin_moved,
    ),
    path("admin/reports/", include("reports.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("store/", include("store.urls")),
    path("channels/<slug:code>/orders/", channel_order_receive, name="channel-orders-inbound"),
    path("payments/<str:provider>/webhook/", include("channels.payment_webhook")),
    path("channels/", include("channels.feeds.urls")),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
]
