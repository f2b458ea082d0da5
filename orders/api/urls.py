from django.urls import path

from orders.api import views, views_customers

urlpatterns = [
    path("carts/", views.CartCreateView.as_view(), name="cart-create"),
    path("carts/<str:token>/", views.CartDetailView.as_view(), name="cart-detail"),
    path("carts/<str:token>/lines/", views.CartLineView.as_view(), name="cart-lines"),
    path("carts/<str:token>/hold/", views.CartHoldView.as_view(), name="cart-hold"),
    path("carts/<str:token>/checkout/", views.CartCheckoutView.as_view(), name="cart-checkout"),
    path(
        "customers/<int:customer_id>/cart/",
        views.CustomerCartView.as_view(),
        name="customer-cart",
    ),
    path("orders/", views.OrderListCreateView.as_view(), name="order-list"),
    path("orders/<str:number>/", views.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<str:number>/cancel/", views.OrderCancelView.as_view(), name="order-cancel"),
    path(
        "orders/<str:number>/fulfillments/<int:fulfillment_id>/<str:action>/",
        views.FulfillmentActionView.as_view(),
        name="fulfillment-action",
    ),
    path("orders/<str:number>/refunds/", views.RefundCreateView.as_view(), name="refund-create"),
    path(
        "orders/<str:number>/exchanges/",
        views.ExchangeCreateView.as_view(),
        name="exchange-create",
    ),
    path(
        "customers/<int:customer_id>/orders/",
        views_customers.CustomerOrderListView.as_view(),
        name="customer-orders",
    ),
    path("gift-cards/<str:code>/", views.GiftCardDetailView.as_view(), name="gift-card-detail"),
    path("returns/", views.ReturnCreateView.as_view(), name="return-create"),
    path("returns/<str:rma>/receive/", views.ReturnReceiveView.as_view(), name="return-receive"),
    path("returns/<str:rma>/", views.ReturnDetailView.as_view(), name="return-detail"),
]
