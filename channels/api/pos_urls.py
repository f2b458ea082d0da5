from django.urls import path

from channels.api import pos_views

urlpatterns = [
    path("<slug:channel_code>/changes/", pos_views.PosChangesView.as_view(), name="pos-changes"),
    path("<slug:channel_code>/acks/", pos_views.PosAckView.as_view(), name="pos-acks"),
]
