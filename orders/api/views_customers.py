"""A customer's order history for partners, ``GET /customers/{id}/orders/``.

It lives with the orders API (``customers`` never imports ``orders``) and is mounted under the
customers prefix by ``orders/api/urls.py``. The customer must be visible to the key (linked to
one of its channels, as for ``GET /customers/{id}/``); the orders are those of the key's
channels only, each with its returns and refunds.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.filters import SyncFilterSet
from core.api.permissions import request_principal
from core.api.problems import ApiError
from core.scopes import Scope
from customers import selectors as customer_selectors
from orders import selectors
from orders.api.serializers import OrderWithReturnsOutputSerializer
from orders.models import Order


class CustomerOrderFilterSet(SyncFilterSet):
    class Meta:
        model = Order
        fields = ["status", "updated_since"]


class CustomerOrderListView(generics.ListAPIView):
    """Every order of one customer on your channels (web, app, marketplace, the stores' tills),
    newest first, with the returns made of it anywhere."""

    read_scope = Scope.ORDERS_READ
    serializer_class = OrderWithReturnsOutputSerializer
    filterset_class = CustomerOrderFilterSet
    cursor_ordering = ("-placed_at", "-id")

    def get_queryset(self) -> QuerySet[Order]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Order.objects.none()
        channel_codes = request_principal(self.request).channel_codes
        customer_id = int(self.kwargs["customer_id"])
        if (
            customer_selectors.customer_get(customer_id=customer_id, channel_codes=channel_codes)
            is None
        ):
            raise ApiError(status_code=404, code="not_found", detail=f"No customer {customer_id}.")
        return selectors.customer_orders(customer_id=customer_id, channel_codes=channel_codes)

    @extend_schema(
        operation_id="customers_orders_list",
        summary="A customer's orders across your channels",
        description="The customer's orders on every channel of your key, newest first, each "
        "with its `returns` (lines, disposition, refunds and the payment each refund went "
        "back to). Needs `orders:read`. 404 `not_found` for a customer that is not linked to "
        "one of your channels, exactly as `GET /customers/{id}/`. `GET /orders/?customer=` "
        "gives the same orders without their returns, in sync order.",
        responses={
            200: OrderWithReturnsOutputSerializer(many=True),
            404: OpenApiResponse(description="No such customer, or not one of your channels'."),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
