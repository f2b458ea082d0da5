"""Order and return API bodies: nested input and output serializers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from orders.models import FulfillmentMethod, Order, TimelineEvent


class OrderLineInputSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class CustomerInputSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(required=False, default="")
    phone = serializers.CharField(max_length=32, required=False, default="")
    name = serializers.CharField(max_length=200, required=False, default="")
    loyalty_card = serializers.CharField(max_length=64, required=False, default="")


class AddressSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, required=False, default="")
    line1 = serializers.CharField(max_length=200, required=False, default="")
    line2 = serializers.CharField(max_length=200, required=False, default="")
    postal_code = serializers.CharField(max_length=20, required=False, default="")
    city = serializers.CharField(max_length=100, required=False, default="")
    country = serializers.RegexField(r"^[A-Z]{2}$", help_text="ISO 3166-1 alpha-2.")
    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False)
    longitude = serializers.FloatField(min_value=-180, max_value=180, required=False)


class FulfillmentInputSerializer(serializers.Serializer[Any]):
    method = serializers.ChoiceField(choices=FulfillmentMethod.choices)
    location = serializers.CharField(
        max_length=64, required=False, default="", help_text="Pickup store code."
    )
    address = AddressSerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["method"] == FulfillmentMethod.PICKUP and not attrs["location"]:
            raise serializers.ValidationError({"location": "A pickup order needs a store."})
        if attrs["method"] == FulfillmentMethod.SHIP and not attrs.get("address"):
            raise serializers.ValidationError({"address": "A ship order needs an address."})
        return attrs


class OrderInputSerializer(serializers.Serializer[Any]):
    channel = serializers.CharField(max_length=32)
    external_id = serializers.CharField(max_length=100, required=False, default="")
    customer = CustomerInputSerializer(required=False)
    lines = OrderLineInputSerializer(many=True, allow_empty=False, max_length=200)  # type: ignore[call-arg]
    fulfillment = FulfillmentInputSerializer()
    shipping_total = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        default=Decimal("0"),
    )
    loyalty_points = serializers.IntegerField(
        min_value=0,
        required=False,
        default=0,
        help_text="Points the customer spends as a discount (409 `insufficient_points`).",
    )
    payment_status = serializers.ChoiceField(
        choices=[
            Order.PaymentStatus.PENDING,
            Order.PaymentStatus.AUTHORIZED,
            Order.PaymentStatus.CAPTURED,
        ],
        required=False,
        default=Order.PaymentStatus.AUTHORIZED,
    )


class OrderLineOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    title = serializers.CharField()
    options = serializers.DictField(child=serializers.CharField())
    quantity = serializers.IntegerField()
    quantity_cancelled = serializers.IntegerField()
    quantity_refunded = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)


class FulfillmentLineOutputSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField(source="order_line.sku")
    quantity = serializers.IntegerField()


class FulfillmentOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    location = serializers.CharField(source="location.code")
    method = serializers.CharField()
    status = serializers.CharField()
    promised_at = serializers.DateTimeField(allow_null=True)
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    pickup_code_set = serializers.SerializerMethodField()
    hold_until = serializers.DateTimeField(allow_null=True)
    lines = FulfillmentLineOutputSerializer(many=True)

    def get_pickup_code_set(self, obj: Any) -> bool:
        return bool(obj.pickup_code_hash)


class TimelineOutputSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=TimelineEvent.Kind.choices)
    message = serializers.CharField()
    fulfillment_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class OrderOutputSerializer(serializers.Serializer[Any]):
    number = serializers.CharField()
    channel = serializers.CharField(source="channel.code")
    external_id = serializers.CharField()
    status = serializers.CharField()
    fulfillment_method = serializers.CharField()
    customer_id = serializers.IntegerField(allow_null=True)
    customer_email = serializers.CharField()
    currency = serializers.CharField()
    loyalty_points_redeemed = serializers.IntegerField()
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    payment_status = serializers.CharField()
    amount_captured = serializers.DecimalField(max_digits=12, decimal_places=2)
    amount_refunded = serializers.DecimalField(max_digits=12, decimal_places=2)
    placed_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    lines = OrderLineOutputSerializer(many=True)
    fulfillments = FulfillmentOutputSerializer(many=True)
    timeline = TimelineOutputSerializer(many=True)


class OrderCancelInputSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=300, required=False, default="")


class ReturnLineInputSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)
    reason = serializers.CharField(max_length=300, required=False, default="")


class ReturnInputSerializer(serializers.Serializer[Any]):
    order = serializers.CharField(max_length=20, help_text="Order number.")
    location = serializers.CharField(max_length=64, help_text="Where it is returned.")
    reason = serializers.CharField(max_length=300, required=False, default="")
    lines = ReturnLineInputSerializer(many=True, allow_empty=False, max_length=200)  # type: ignore[call-arg]


class ReturnLineOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    sku = serializers.CharField(source="order_line.sku")
    quantity = serializers.IntegerField()
    reason = serializers.CharField()
    disposition = serializers.CharField()


class RefundOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    created_at = serializers.DateTimeField()


class ReturnOutputSerializer(serializers.Serializer[Any]):
    rma = serializers.CharField()
    order = serializers.CharField(source="order.number")
    status = serializers.CharField()
    reason = serializers.CharField()
    location = serializers.CharField(source="location.code")
    received_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    lines = ReturnLineOutputSerializer(many=True)
    refunds = RefundOutputSerializer(many=True)


class CartCreateInputSerializer(serializers.Serializer[Any]):
    channel = serializers.CharField(max_length=32)
    customer_email = serializers.EmailField(required=False, default="")
    lines = OrderLineInputSerializer(many=True, required=False, default=list)


class CartPatchInputSerializer(serializers.Serializer[Any]):
    customer_email = serializers.EmailField()


class CartLineInputSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(
        min_value=0, max_value=10_000, help_text="The line's new quantity; 0 removes it."
    )


class CartLineOutputSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    title = serializers.CharField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    sellable = serializers.BooleanField()
    reason = serializers.CharField()


class CartOutputSerializer(serializers.Serializer[Any]):
    token = serializers.CharField(source="cart.token")
    channel = serializers.CharField(source="cart.channel.code")
    status = serializers.CharField(source="cart.status")
    customer_email = serializers.CharField(source="cart.customer_email")
    currency = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    lines = CartLineOutputSerializer(many=True)
    updated_at = serializers.DateTimeField(source="cart.updated_at")


class FulfillmentActionInputSerializer(serializers.Serializer[Any]):
    """What an action needs: ``ship`` a carrier and tracking number, ``hand_over`` the pickup
    code, ``missing`` the SKU and how many, ``cancel`` optionally a reason."""

    carrier = serializers.CharField(max_length=60, required=False, default="")
    tracking_number = serializers.CharField(max_length=100, required=False, default="")
    code = serializers.CharField(max_length=12, required=False, default="")
    sku = serializers.CharField(max_length=64, required=False, default="")
    quantity = serializers.IntegerField(min_value=1, required=False)
    reason = serializers.CharField(max_length=200, required=False, default="")


class ReturnReceiveLineSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The return line's id (see GET /returns/{rma}/).")
    disposition = serializers.ChoiceField(choices=["restock", "damaged"])


class ReturnReceiveInputSerializer(serializers.Serializer[Any]):
    lines = ReturnReceiveLineSerializer(many=True, allow_empty=False)


class RefundLineInputSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1)


class RefundInputSerializer(serializers.Serializer[Any]):
    lines = RefundLineInputSerializer(many=True, required=False, default=list)
    shipping_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        default=Decimal("0"),
    )
    rma = serializers.CharField(max_length=32, required=False, default="")
    reason = serializers.CharField(max_length=200, required=False, default="")
