"""Orders domain errors, with the stable codes partners and the admin see."""

from __future__ import annotations

from core.errors import DomainError


class OrdersError(DomainError):
    code = "orders_error"
    status = 400


class OrderInvalid(OrdersError):
    """The request cannot become an order; ``errors`` lists every bad field or line."""

    code = "order_invalid"
    status = 400
    title = "Invalid order"


class PickupUnavailable(OrdersError):
    """The pickup store lacks a line and no transfer can bring it; ``shortages`` per line."""

    code = "pickup_unavailable"
    status = 409
    title = "Not available for pickup at this store"


class InvalidTransition(OrdersError):
    code = "invalid_transition"
    status = 409
    title = "Not allowed in the current state"


class PickupCodeInvalid(OrdersError):
    code = "pickup_code_invalid"
    status = 403
    title = "Wrong pickup code"


class ReturnInvalid(OrdersError):
    code = "return_invalid"
    status = 400
    title = "Invalid return"


class ExchangeInvalid(OrdersError):
    """An exchange asks for a SKU the order's channel does not sell (``unknown_sku``), a bad
    quantity or disposition; ``errors`` lists every bad field."""

    code = "exchange_invalid"
    status = 400
    title = "Invalid exchange"


class RefundExceedsPaid(OrdersError):
    code = "refund_exceeds_paid"
    status = 409
    title = "More than was paid or already refunded"


class RefundInvalid(OrdersError):
    code = "refund_invalid"
    status = 400
    title = "Invalid refund"


class CartInvalid(OrdersError):
    code = "cart_invalid"
    status = 400
    title = "Invalid cart"


class PaymentShort(OrdersError):
    """A till sale's payments do not cover its total; ``extra`` has ``total`` and ``paid``."""

    code = "payment_short"
    status = 400
    title = "The payments do not cover the total"


class CustomerNotFound(OrdersError):
    """A sale names a customer (id or loyalty card) that does not exist."""

    code = "customer_not_found"
    status = 400
    title = "No such customer"


class HoldNotFound(OrdersError):
    """The order names a hold the caller never made (another partner's hold is not visible)."""

    code = "hold_not_found"
    status = 404
    title = "No such hold"


class HoldLocationMismatch(OrdersError):
    """The hold keeps units at a location the order cannot be served from (a pickup order whose
    hold is at another store, or a ship order whose hold is where the channel does not ship)."""

    code = "hold_location_mismatch"
    status = 409
    title = "The hold is at another location"


class CartEmpty(CartInvalid):
    code = "cart_empty"
    status = 400
    title = "The cart is empty"


class CartConverted(CartInvalid):
    """The cart already became an order; ``extra["order"]`` is its number."""

    code = "cart_converted"
    status = 409
    title = "The cart was already checked out"


class CartCustomerConflict(CartInvalid):
    """The cart already belongs to another customer."""

    code = "cart_customer_conflict"
    status = 409
    title = "The cart belongs to another customer"


class GiftCardUnknown(OrdersError):
    """No gift card has this code (or it was mistyped)."""

    code = "gift_card_unknown"
    status = 404
    title = "No such gift card"


class GiftCardExpired(OrdersError):
    code = "gift_card_expired"
    status = 409
    title = "The gift card has expired"


class GiftCardInsufficient(OrdersError):
    """The card's balance is less than the amount asked; ``extra`` has ``balance``."""

    code = "gift_card_insufficient"
    status = 409
    title = "The gift card's balance is too low"


class GiftCardCurrency(OrdersError):
    """The card is in another currency than the order (or the amount asked)."""

    code = "gift_card_currency"
    status = 409
    title = "The gift card is in another currency"


class GiftCardDisabled(OrdersError):
    code = "gift_card_disabled"
    status = 409
    title = "The gift card is disabled"


class GiftCardInvalid(OrdersError):
    """A gift card request that makes no sense: a non-positive amount, a refund above what the
    order spent from the card, an expiry in the past; ``errors`` names the field."""

    code = "gift_card_invalid"
    status = 400
    title = "Invalid gift card request"


# --- promotions and coupons (orders.promotions, orders.services.promotions) ---


class CouponError(OrdersError):
    """A coupon code cannot be used; ``extra["coupon"]`` is the code as typed."""

    code = "coupon_error"
    status = 400
    title = "The coupon cannot be used"


class CouponUnknown(CouponError):
    code = "coupon_unknown"
    status = 400
    title = "No such coupon"


class CouponExpired(CouponError):
    """The coupon or its promotion ended (or was switched off)."""

    code = "coupon_expired"
    status = 400
    title = "The coupon has expired"


class CouponNotStarted(CouponError):
    code = "coupon_not_started"
    status = 400
    title = "The coupon is not valid yet"


class CouponExhausted(CouponError):
    """The code, or its promotion over all its codes, reached its limit of uses."""

    code = "coupon_exhausted"
    status = 409
    title = "The coupon has been used up"


class CouponWrongChannel(CouponError):
    code = "coupon_wrong_channel"
    status = 400
    title = "The coupon is not valid on this channel"


class CouponCustomerLimit(CouponError):
    """This customer used the code as often as allowed (or is unknown and the code has a
    per-customer limit)."""

    code = "coupon_customer_limit"
    status = 409
    title = "The coupon was already used by this customer"


class CouponNotApplicable(CouponError):
    """The code is valid but gives nothing here: the customer is outside the promotion's scope,
    no line is targeted, the threshold is not reached, or another promotion excludes it."""

    code = "coupon_not_applicable"
    status = 400
    title = "The coupon does not apply to this cart"


class PromotionInvalid(OrdersError):
    """A promotion or coupon request that makes no sense (a bad prefix, quantity or code);
    ``errors`` names the field."""

    code = "promotion_invalid"
    status = 400
    title = "Invalid promotion or coupon request"


class ShippingAddressInvalid(OrdersError):
    """The delivery address cannot be read: a country that is not two capitals, a postcode in
    another shape than the country's, a postcode without a country; ``errors`` per field."""

    code = "invalid_address"
    status = 400
    title = "Invalid delivery address"


class ShippingZoneUnserved(OrdersError):
    """No zone of the shipping method (or of any method the channel offers) serves the address."""

    code = "shipping_zone_unserved"
    status = 422
    title = "No shipping to this address"


class ShippingMethodUnknown(OrdersError):
    """No active shipping method with this code on the channel in the currency asked."""

    code = "shipping_method_unknown"
    status = 404
    title = "No such shipping method"


class ShippingRateMissing(OrdersError):
    """The method serves the address but none of its rate tiers covers the parcel (too heavy, or
    worth more than its last tier)."""

    code = "shipping_rate_missing"
    status = 422
    title = "The shipping method cannot carry this parcel"


class RefundExceedsCaptured(RefundExceedsPaid):
    """The refund would give back more than the order's payments captured so far (money only
    authorised, for goods not yet shipped, cannot be refunded). ``extra``: ``captured`` and
    ``refunded``."""

    code = "refund_exceeds_captured"
    status = 409
    title = "More than was captured"


class PaymentProviderUnknown(OrdersError):
    """No payment provider is registered under this code (``orders.payments``)."""

    code = "payment_provider_unknown"
    status = 404
    title = "No such payment provider"


class PaymentProviderFailed(OrdersError):
    """The payment provider refused or failed an operation (capture, refund); nothing was
    recorded and the change that needed it (shipping a parcel, a refund) did not happen."""

    code = "payment_provider_failed"
    status = 502
    title = "The payment provider failed"


class PaymentEventInvalid(OrdersError):
    """A provider callback that cannot apply: unknown order or payment, an amount above what
    was authorised or captured; ``errors`` per field. Nothing was written."""

    code = "payment_event_invalid"
    status = 422
    title = "Invalid payment event"
