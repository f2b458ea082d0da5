"""Inventory domain errors, with the stable codes partners and the admin see."""

from __future__ import annotations

from core.errors import DomainError


class InventoryError(DomainError):
    code = "inventory_error"
    status = 400


class InsufficientStock(InventoryError):
    """Not enough available units; ``extra["shortages"]`` lists every short line."""

    code = "insufficient_stock"
    status = 409
    title = "Not enough stock"


class InvalidQuantity(InventoryError):
    code = "invalid_quantity"
    status = 400
    title = "Invalid quantity"


class HoldNotActive(InventoryError):
    code = "hold_not_active"
    status = 409
    title = "The hold is no longer active"


class InvalidTransferState(InventoryError):
    code = "invalid_transfer_state"
    status = 409
    title = "The transfer cannot do this in its current state"


class TransferSameLocation(InventoryError):
    """A transfer (or a store's transfer request) from a location to itself."""

    code = "transfer_same_location"
    status = 400
    title = "A transfer needs two different locations"


class MovementIdempotencyConflict(InventoryError):
    code = "idempotency_key_reused"
    status = 422
    title = "Movement idempotency key reused"


class UnknownStockItem(InventoryError):
    code = "unknown_stock_item"
    status = 400
    title = "Unknown variant or location"


class StockFeedInvalid(InventoryError):
    """A stock feed file was refused whole; ``errors`` has {row, column, message} per bad cell."""

    code = "stock_feed_invalid"
    status = 400
    title = "Invalid stock feed"
