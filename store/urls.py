from django.contrib.auth import views as auth_views
from django.urls import path

from store import views, views_giftcards, views_returns, views_till, views_work

app_name = "store"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.StoreLogin.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="store:login"), name="logout"),
    path("products/<int:pk>/", views.product, name="product"),
    path("holds/", views.hold_create, name="hold-create"),
    path("holds/release/", views.hold_release, name="hold-release"),
    path("count/", views.count, name="count"),
    path("transfers/", views_work.transfers, name="transfers"),
    path("pickups/", views.pickups, name="pickups"),
    path("customers/", views.till, name="till"),
    path("till/", views_till.till_sale, name="till-sale"),
    path("receipts/<str:number>/", views_till.receipt, name="receipt"),
    path("gift-cards/", views_giftcards.gift_cards, name="gift-cards"),
    path("gift-cards/issue/", views_giftcards.gift_card_issue, name="gift-card-issue"),
    path("returns/", views.returns, name="returns"),
    path("aisle/", views.endless_aisle, name="aisle"),
    path("returns/rma/<str:rma>/", views_returns.rma_receive, name="rma-receive"),
    path("returns/<str:number>/", views.return_order, name="return-order"),
    path("returns/<str:number>/exchange/", views_returns.exchange, name="exchange"),
    path("pickups/<int:pk>/", views.pickup_action, name="pickup-action"),
    path("holds/all/", views_work.holds, name="holds"),
    path("holds/<int:pk>/release/", views_work.hold_release, name="hold-release-one"),
    path("shipments/", views_work.shipments, name="shipments"),
    path("shipments/<int:pk>/", views_work.shipment_action, name="shipment-action"),
]
