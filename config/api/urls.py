from django.urls import path

from config.api.views import MeView

urlpatterns = [path("me/", MeView.as_view(), name="me")]
