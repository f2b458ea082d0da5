from django.contrib.auth import views as auth_views
from django.urls import path

from store import views

app_name = "store"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.StoreLogin.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="store:login"), name="logout"),
    path("products/<int:pk>/", views.product, name="product"),
    path("holds/", views.hold_create, name="hold-create"),
    path("holds/release/", views.hold_release, name="hold-release"),
    path("count/", views.count, name="count"),
    path("transfers/", views.transfers, name="transfers"),
    path("pickups/", views.pickups, name="pickups"),
    path("customers/", views.till, name="till"),
    path("returns/", views.returns, name="returns"),
    path("aisle/", views.endless_aisle, name="aisle"),
    path("returns/<str:number>/", views.return_order, name="return-order"),
    path("pickups/<int:pk>/", views.pickup_action, name="pickup-action"),
]
