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
