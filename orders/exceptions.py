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
