"""Top-level URLs: admin, partner API, API schema and docs, health."""

from __future__ import annotations

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.api.problems import problem_response
from config.health import healthz

admin.site.site_header = "OmniHub back office"
admin.site.site_title = "OmniHub"
admin.site.index_title = "Products, stock, orders, channels and customers"

api_v1 = [
    path("", include("config.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("inventory.api.urls")),
    path("", include("channels.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("healthz", healthz, name="healthz"),
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
]


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return problem_response(request, status_code=404, detail="No such API resource.")
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return problem_response(
            request,
            status_code=500,
            detail="An unexpected error occurred. It has been logged; quote the X-Request-ID "
            "header when reporting it.",
        )
    return defaults.server_error(request)
