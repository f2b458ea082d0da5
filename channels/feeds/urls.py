from __future__ import annotations

from django.urls import path

from channels.feeds.views import feed_file

app_name = "feeds"

urlpatterns = [
    path("<slug:code>/feed.<str:fmt>", feed_file, name="file"),
]
