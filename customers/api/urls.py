from django.urls import path

from customers.api import views

urlpatterns = [
    path("customers/", views.CustomerListView.as_view(), name="customer-list"),
    path(
        "customers/<int:customer_id>/", views.CustomerDetailView.as_view(), name="customer-detail"
    ),
    path(
        "customers/<int:customer_id>/consents/",
        views.CustomerConsentView.as_view(),
        name="customer-consents",
    ),
    path(
        "customers/<int:customer_id>/loyalty/",
        views.CustomerLoyaltyView.as_view(),
        name="customer-loyalty",
    ),
    path(
        "customers/<int:customer_id>/loyalty/redeem/",
        views.CustomerLoyaltyRedeemView.as_view(),
        name="customer-loyalty-redeem",
    ),
]
