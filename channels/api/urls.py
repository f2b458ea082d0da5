from django.urls import include, path

from channels.api import views

urlpatterns = [
    path("webhooks/", views.WebhookSubscriptionListCreateView.as_view(), name="webhook-list"),
    path(
        "webhooks/<int:pk>/", views.WebhookSubscriptionDetailView.as_view(), name="webhook-detail"
    ),
    path("pos/", include("channels.api.pos_urls")),
]
