"""Order and return API bodies: nested input and output serializers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from core.api.schema import NOT_BLANK_PATTERN
from orders.models import (
    Fulfillment,
    FulfillmentMethod,
    Order,
    OrderTaxLine,
    Payment,
    TimelineEvent,
)


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
        max_length=64,
        required=False,
        default="",
        help_text="Store code: the pickup store (`pickup`), or the store whose till sold the "
        "goods (`carry_out`).",
    )
    address = AddressSerializer(required=False)

    # What ``validate`` enforces, in the schema: a store for pickup and till sales, an address
    # for shipping.
    openapi_request_rules = {
        "anyOf": [
            {"properties": {"method": {"enum": ["ship"]}}, "required": ["address"]},
            {
                "properties": {
                    "method": {"enum": ["pickup", "carry_out"]},
                    "location": {"pattern": NOT_BLANK_PATTERN},
                },
                "required": ["location"],
            },
        ]
    }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["method"] == FulfillmentMethod.PICKUP and not attrs["location"]:
            raise serializers.ValidationError({"location": "A pickup order needs a store."})
        if attrs["method"] == FulfillmentMethod.CARRY_OUT and not attrs["location"]:
            raise serializers.ValidationError({"location": "A till sale names its store."})
        if attrs["method"] == FulfillmentMethod.SHIP and not attrs.get("address"):
            raise serializers.ValidationError({"address": "A ship order needs an address."})
        return attrs


GIFT_CARD_CODE_PATTERN = r"^[A-Za-z0-9]{4}(-?[A-Za-z0-9]{4}){3}$"


class GiftCardTenderSerializer(serializers.Serializer[Any]):
    """A gift card paying part of an order or a till sale."""

    code = serializers.RegexField(
        GIFT_CARD_CODE_PATTERN,
        help_text="The card's code, `XXXX-XXXX-XXXX-XXXX` (case and dashes do not matter).",
    )
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal("9999999999.99"),
        help_text="What the card pays (409 `gift_card_insufficient` above its balance).",
    )


COUPON_CODE_PATTERN = r"^\s*[A-Za-z0-9][A-Za-z0-9_-]{2,63}\s*$"
SHIPPING_METHOD_PATTERN = r"^[-a-zA-Z0-9_]{1,40}$"


def coupons_field(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.RegexField(COUPON_CODE_PATTERN, max_length=70),
        required=False,
        default=list,
        max_length=10,
        help_text=help_text,
    )


# A shipping method prices a ship order, and then the API takes no shipping_total.
SHIP_METHOD_RULE = {
    "properties": {"fulfillment": {"properties": {"method": {"enum": ["ship"]}}}},
    "not": {"required": ["shipping_total"]},
}


def shipping_method_validate(
    serializer: serializers.Serializer[Any], attrs: dict[str, Any]
) -> dict[str, Any]:
    if not attrs.get("shipping_method"):
        return attrs
    if attrs["fulfillment"]["method"] != FulfillmentMethod.SHIP:
        raise serializers.ValidationError(
            {"shipping_method": "A shipping method prices a ship order only."}
        )
    if "shipping_total" in getattr(serializer, "initial_data", {}):
        raise serializers.ValidationError(
            {"shipping_total": "The shipping method prices the shipping: leave this out."}
        )
    return attrs


COUPON_ERRORS = (
    "400 `coupon_unknown`, `coupon_expired`, `coupon_not_started`, `coupon_wrong_channel`, "
    "`coupon_customer_limit`, `coupon_not_applicable`; 409 `coupon_exhausted`"
)


class GiftCardOutputSerializer(serializers.Serializer[Any]):
    last4 = serializers.CharField(help_text="The code's last four characters.")
    balance = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="0 once the card has expired."
    )
    currency = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    status = serializers.ChoiceField(choices=["active", "disabled", "expired"])


class PaymentInputSerializer(serializers.Serializer[Any]):
    """Money taken at the till for a `carry_out` sale."""

    tender = serializers.ChoiceField(
        choices=[c for c in Payment.Tender.choices if c[0] != Payment.Tender.GIFT_CARD],
        help_text="Gift cards are tendered in `gift_cards`, with their code.",
    )
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text="What was tendered; cash above the total is change given back.",
    )
    reference = serializers.CharField(
        max_length=100,
        required=False,
        default="",
        help_text="The card terminal's or payment provider's reference.",
    )


class OrderInputSerializer(serializers.Serializer[Any]):
    channel = serializers.CharField(max_length=32)
    external_id = serializers.CharField(max_length=100, required=False, default="")
    hold = serializers.RegexField(
        r"^[A-Za-z0-9._:-]{1,100}$",
        required=False,
        default="",
        help_text="The `reference` of your stock hold (`POST /api/v1/stock/holds/`): its units "
        "are committed first, at the hold's locations, and the hold is used up (409 "
        "`hold_not_active` once expired or released, 404 `hold_not_found` for a hold you did "
        "not make, 409 `hold_location_mismatch` for a pickup at another store).",
    )
    customer = CustomerInputSerializer(required=False)
    lines = OrderLineInputSerializer(many=True, allow_empty=False, min_length=1, max_length=200)  # type: ignore[call-arg]
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
        max_value=10_000_000,
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
    payments = PaymentInputSerializer(
        many=True,
        required=False,
        default=list,
        max_length=20,  # type: ignore[call-arg]
        help_text="`carry_out` only: the tenders that paid the sale, together at least its "
        "total (400 `payment_short`; empty only when points paid it all); only cash may "
        "exceed it (the change).",
    )
    gift_cards = GiftCardTenderSerializer(
        many=True,
        required=False,
        default=list,
        max_length=10,  # type: ignore[call-arg]
        help_text="Gift cards paying part of the order (any method, the till included), each "
        "at most its balance and together at most the total; spent in the order's "
        "transaction, one `gift_card` payment each. 404 `gift_card_unknown`, 409 "
        "`gift_card_insufficient`, `gift_card_expired`, `gift_card_disabled`, "
        "`gift_card_currency`: nothing is placed.",
    )
    coupons = coupons_field(
        "Coupon codes (case does not matter), priced with the channel's running promotions "
        f"and redeemed in the order's transaction: {COUPON_ERRORS} (nothing is placed)."
    )
    shipping_method = serializers.RegexField(
        SHIPPING_METHOD_PATTERN,
        required=False,
        default="",
        help_text="`ship` only: the channel's shipping method whose rate for the address and "
        "the parcel is the shipping charge (then leave `shipping_total` out), and whose "
        "delivery promise sets each parcel's `promised_at`. 404 `shipping_method_unknown`, "
        "422 `shipping_zone_unserved`, 422 `shipping_rate_missing`, 400 `invalid_address`. "
        "Without it, `shipping_total` is your own charge.",
    )

    # What ``validate`` enforces, in the schema: payments come with a till sale only, and a
    # till sale uses no hold; a shipping method comes with a ship order, without shipping_total.
    openapi_request_rules = {
        "allOf": [
            {
                "anyOf": [
                    {
                        "properties": {
                            "fulfillment": {"properties": {"method": {"enum": ["carry_out"]}}}
                        },
                        "not": {"required": ["hold"]},
                    },
                    {
                        "properties": {
                            "fulfillment": {"properties": {"method": {"enum": ["ship", "pickup"]}}},
                            "payments": {"maxItems": 0},
                        }
                    },
                ]
            },
            {"anyOf": [{"not": {"required": ["shipping_method"]}}, SHIP_METHOD_RULE]},
        ]
    }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        carry_out = attrs["fulfillment"]["method"] == FulfillmentMethod.CARRY_OUT
        if not carry_out and attrs["payments"]:
            raise serializers.ValidationError(
                {"payments": "Payments are recorded with carry_out sales only."}
            )
        if carry_out and attrs.get("hold"):
            raise serializers.ValidationError(
                {"hold": "A till sale takes the goods off the shelf; it uses no hold."}
            )
        return shipping_method_validate(self, attrs)


class TaxLineOutputSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(
        choices=OrderTaxLine.Kind.choices, help_text="Goods, or the shipping charge's part."
    )
    country = serializers.CharField(help_text="The country whose rate applied.")
    rate = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="Percent.")
    net = serializers.DecimalField(max_digits=12, decimal_places=2)
    tax = serializers.DecimalField(max_digits=12, decimal_places=2)
    gross = serializers.DecimalField(max_digits=12, decimal_places=2)


class AppliedPromotionOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    coupon = serializers.CharField(help_text="The code that gave it; empty for an automatic one.")
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Taken off the lines."
    )
    shipping_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Taken off the shipping."
    )


class PaymentOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    tender = serializers.ChoiceField(choices=Payment.Tender.choices)
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="What was taken: `amount_captured`."
    )
    provider = serializers.CharField(help_text="The payment provider's code; `manual`: offline.")
    status = serializers.ChoiceField(choices=Payment.Status.choices)
    amount_authorised = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="What the provider authorised; null when taken at once (a till's tender).",
    )
    amount_captured = serializers.DecimalField(max_digits=12, decimal_places=2)
    amount_refunded = serializers.DecimalField(max_digits=12, decimal_places=2)
    provider_reference = serializers.CharField()
    location = serializers.CharField(
        source="location.code",
        allow_null=True,
        default=None,
        help_text="The store whose till took it; null for an online payment.",
    )
    created_at = serializers.DateTimeField()


class OrderLineOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    title = serializers.CharField()
    options = serializers.DictField(child=serializers.CharField())
    quantity = serializers.IntegerField()
    quantity_cancelled = serializers.IntegerField()
    quantity_refunded = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_total = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="`unit_price` x `quantity`."
    )
    discount_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="Promotions, coupons and order-level discounts taken off the line.",
    )
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="Percent.")
    tax_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="The tax in the discounted line."
    )


class FulfillmentLineOutputSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField(source="order_line.sku")
    quantity = serializers.IntegerField()


class FulfillmentOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    location = serializers.CharField(source="location.code")
    method = serializers.CharField()
    status = serializers.ChoiceField(
        choices=Fulfillment.Status.choices,
        help_text="A parcel goes allocated -> picking -> packed -> shipped -> delivered "
        "(picking and packed may be skipped); a pickup picking -> ready_for_pickup -> picked_up.",
    )
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
    discount_total = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Everything taken off the goods."
    )
    shipping_total = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="The shipping charged, after `shipping_discount`.",
    )
    shipping_discount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="What a free-shipping promotion took off."
    )
    shipping_method = serializers.CharField(help_text="The method that priced the shipping.")
    tax_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    prices_include_tax = serializers.BooleanField(
        help_text="Whether the prices shown include the tax (else it is added on top)."
    )
    tax_country = serializers.CharField(help_text="The country whose rates taxed the order.")
    total = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="What the customer pays, tax included."
    )
    coupons = serializers.ListField(
        child=serializers.CharField(), source="coupon_codes", help_text="The codes redeemed."
    )
    promotions = AppliedPromotionOutputSerializer(many=True)
    tax_lines = TaxLineOutputSerializer(many=True, help_text="The tax per rate.")
    payment_status = serializers.CharField()
    amount_captured = serializers.DecimalField(max_digits=12, decimal_places=2)
    amount_refunded = serializers.DecimalField(max_digits=12, decimal_places=2)
    placed_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    lines = OrderLineOutputSerializer(many=True)
    fulfillments = FulfillmentOutputSerializer(many=True)
    timeline = TimelineOutputSerializer(many=True)
    payments = PaymentOutputSerializer(many=True)


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
    lines = ReturnLineInputSerializer(many=True, allow_empty=False, min_length=1, max_length=200)  # type: ignore[call-arg]


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
    coupons = coupons_field(
        f"Coupon codes, checked on the cart's lines: {COUPON_ERRORS} (no cart is created)."
    )


class CartPatchInputSerializer(serializers.Serializer[Any]):
    customer_email = serializers.EmailField(required=False)
    customer = serializers.CharField(
        max_length=254,
        required=False,
        help_text="The signed-in customer: their id, or their email (resolved like an order's "
        "customer). Ties the cart to them and merges their other open carts into this one.",
    )
    coupons = serializers.ListField(
        child=serializers.RegexField(COUPON_CODE_PATTERN, max_length=70),
        required=False,
        max_length=10,
        help_text="Replaces the cart's coupon codes (`[]` removes them), each checked on the "
        f"cart: {COUPON_ERRORS} (the cart is left unchanged).",
    )

    def validate_customer(self, value: str) -> str:
        value = value.strip()
        if value.isdigit():
            return value
        return str(serializers.EmailField().run_validation(value))

    openapi_request_rules = {
        "minProperties": 1,
        "allOf": [
            {
                "properties": {
                    "customer": {"anyOf": [{"pattern": "^\\s*[0-9]+\\s*$"}, {"format": "email"}]}
                }
            }
        ],
    }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not {"customer_email", "customer", "coupons"} & set(attrs):
            raise serializers.ValidationError(
                {"customer": "Give customer (id or email), customer_email or coupons."}
            )
        return attrs


class CartFulfillmentInputSerializer(FulfillmentInputSerializer):
    method = serializers.ChoiceField(
        choices=[FulfillmentMethod.SHIP, FulfillmentMethod.PICKUP],
        help_text="`ship` (with `address`) or `pickup` (with `location`).",
    )


class CartHoldInputSerializer(serializers.Serializer[Any]):
    fulfillment = CartFulfillmentInputSerializer()
    ttl_seconds = serializers.IntegerField(
        min_value=60, max_value=1800, default=600, help_text="How long the units are held."
    )


class CartCheckoutInputSerializer(serializers.Serializer[Any]):
    """``POST /api/v1/orders/`` without ``channel`` and ``lines``: the cart gives them."""

    customer = CustomerInputSerializer(
        required=False,
        help_text="Defaults to the customer the cart is tied to (or the cart's email).",
    )
    fulfillment = CartFulfillmentInputSerializer()
    shipping_total = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        default=Decimal("0"),
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
    gift_cards = GiftCardTenderSerializer(
        many=True,
        required=False,
        default=list,
        max_length=10,  # type: ignore[call-arg]
        help_text="Gift cards paying part of the order, as in `POST /orders/`.",
    )
    shipping_method = serializers.RegexField(
        SHIPPING_METHOD_PATTERN,
        required=False,
        default="",
        help_text="`ship` only: the method whose rate is the shipping charge, as in "
        "`POST /orders/` (then leave `shipping_total` out).",
    )

    openapi_request_rules = {
        "anyOf": [{"not": {"required": ["shipping_method"]}}, SHIP_METHOD_RULE]
    }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return shipping_method_validate(self, attrs)


class CartPricingQuerySerializer(serializers.Serializer[Any]):
    """What ``GET /carts/{token}/`` may price the cart for."""

    country = serializers.RegexField(
        r"^[A-Z]{2}$",
        required=False,
        default="",
        help_text="ISO 3166-1 alpha-2: the tax country, and where the shipping goes.",
    )
    postal_code = serializers.RegexField(
        r"^[A-Za-z0-9 -]{1,12}$", required=False, default="", help_text="Of the address."
    )
    shipping_method = serializers.RegexField(
        SHIPPING_METHOD_PATTERN,
        required=False,
        default="",
        help_text="Price this method's shipping (with `country`).",
    )


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
    line_total = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, help_text="`unit_price` x `quantity`."
    )
    discount = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, help_text="Promotions taken off."
    )
    total = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, help_text="`line_total` - `discount`."
    )
    tax_rate = serializers.DecimalField(
        max_digits=5, decimal_places=2, allow_null=True, help_text="Percent."
    )
    tax = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, help_text="The tax in the line."
    )
    sellable = serializers.BooleanField()
    reason = serializers.CharField()


class CartCouponRefusedSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    error = serializers.CharField(help_text="The coupon's error code, e.g. `coupon_expired`.")
    detail = serializers.CharField()


class CartOutputSerializer(serializers.Serializer[Any]):
    token = serializers.CharField(source="cart.token")
    channel = serializers.CharField(source="cart.channel.code")
    status = serializers.CharField(source="cart.status")
    customer_id = serializers.IntegerField(source="cart.customer_id", allow_null=True)
    customer_email = serializers.CharField(source="cart.customer_email")
    currency = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="The shipping charge after promotions; null unless `shipping_method` and "
        "`country` were asked for.",
    )
    shipping_discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    shipping_method = serializers.CharField()
    tax_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="What the customer pays, tax included."
    )
    prices_include_tax = serializers.BooleanField()
    tax_country = serializers.CharField()
    coupons = serializers.ListField(
        child=serializers.CharField(), help_text="The cart's coupons that apply."
    )
    coupons_refused = CartCouponRefusedSerializer(
        many=True, help_text="Coupons kept on the cart that no longer apply, left out."
    )
    promotions = AppliedPromotionOutputSerializer(many=True)
    lines = CartLineOutputSerializer(many=True)
    hold_expires_at = serializers.DateTimeField(
        source="cart.hold_expires_at",
        allow_null=True,
        help_text="Until when the cart's units are held (`POST .../hold/`).",
    )
    order = serializers.CharField(
        source="cart.order.number",
        allow_null=True,
        default=None,
        help_text="The order number once the cart is checked out.",
    )
    updated_at = serializers.DateTimeField(source="cart.updated_at")


class FulfillmentActionInputSerializer(serializers.Serializer[Any]):
    """What an action needs: ``ship`` a carrier and tracking number, ``hand_over`` the pickup
    code, ``missing`` the SKU and how many, ``cancel`` optionally a reason."""

    carrier = serializers.CharField(max_length=60, required=False, default="")
    tracking_number = serializers.CharField(max_length=100, required=False, default="")
    code = serializers.CharField(max_length=12, required=False, default="")
    sku = serializers.CharField(max_length=64, required=False, default="")
    quantity = serializers.IntegerField(min_value=1, max_value=10_000, required=False)
    reason = serializers.CharField(max_length=200, required=False, default="")


class ReturnReceiveLineSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(
        min_value=1,
        max_value=2_147_483_647,
        help_text="The return line's id (see GET /returns/{rma}/).",
    )
    disposition = serializers.ChoiceField(choices=["restock", "damaged"])


class ReturnReceiveInputSerializer(serializers.Serializer[Any]):
    lines = ReturnReceiveLineSerializer(many=True, allow_empty=False, min_length=1, max_length=200)  # type: ignore[call-arg]


class RefundLineInputSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class RefundInputSerializer(serializers.Serializer[Any]):
    lines = RefundLineInputSerializer(many=True, required=False, default=list, max_length=200)  # type: ignore[call-arg]
    shipping_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        default=Decimal("0"),
    )
    rma = serializers.CharField(max_length=32, required=False, default="")
    reason = serializers.CharField(max_length=200, required=False, default="")


# --- exchanges and the customer's history --------------------------------------------------------


class RefundPaymentOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    tender = serializers.CharField(help_text="`cash`, `card` or `other`.")


class RefundWithPaymentOutputSerializer(RefundOutputSerializer):
    payment = RefundPaymentOutputSerializer(
        allow_null=True, help_text="The original payment the money went back to."
    )


class ReturnHistoryOutputSerializer(ReturnOutputSerializer):
    refunds = RefundWithPaymentOutputSerializer(many=True)


class OrderWithReturnsOutputSerializer(OrderOutputSerializer):
    """An order in a customer's history: the order body plus its returns and their refunds."""

    returns = ReturnHistoryOutputSerializer(many=True)


class ExchangeFulfillmentInputSerializer(serializers.Serializer[Any]):
    method = serializers.ChoiceField(
        choices=[FulfillmentMethod.CARRY_OUT, FulfillmentMethod.PICKUP, FulfillmentMethod.SHIP],
        help_text="`carry_out`: taken from the store's shelf now; `pickup`: collected later at "
        "`location`; `ship`: sent to `address` (default: the original order's address).",
    )
    location = serializers.CharField(
        max_length=64,
        required=False,
        default="",
        help_text="The store for `carry_out` and `pickup` (default: where it is handed in).",
    )
    address = AddressSerializer(required=False)


class ExchangeInputSerializer(serializers.Serializer[Any]):
    return_sku = serializers.CharField(max_length=64, help_text="The SKU coming back.")
    new_sku = serializers.CharField(max_length=64, help_text="The SKU the customer takes instead.")
    quantity = serializers.IntegerField(min_value=1, max_value=10_000, default=1)
    location = serializers.CharField(
        max_length=64, help_text="Where the returned units are handed in (any active location)."
    )
    fulfillment = ExchangeFulfillmentInputSerializer()
    disposition = serializers.ChoiceField(
        choices=["restock", "damaged"],
        required=False,
        default="",
        help_text="Set when the returned units are handed in now: received at once with this "
        "disposition. Omit to receive the RMA later, anywhere.",
    )
    reason = serializers.CharField(max_length=300, required=False, default="exchange")


class ExchangeOutputSerializer(serializers.Serializer[Any]):
    """The two halves of an exchange: ``return`` (the RMA of the original order) and ``order``
    (the new order, discounted by the returned units' price)."""

    order = OrderOutputSerializer(help_text="The new order.")


# ``return`` is a keyword, so the field is declared here rather than in the class body.
ExchangeOutputSerializer._declared_fields["return"] = ReturnOutputSerializer(  # type: ignore[attr-defined]
    help_text="The return half (RMA) on the original order."
)
