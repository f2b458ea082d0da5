"""The store page's permissions, one per kind of action (``inventory.models.STORE_PERMISSIONS``).

Every store page view declares the ones it needs (``store.access.store_view``); ``config.roles``
grants them to the store roles. Plain strings, so the roles table can import them anywhere.
"""

from __future__ import annotations

VIEW_STOCK = "inventory.store_view_stock"  # find stock, the product grid, incoming transfers
HOLD = "inventory.store_hold"  # put aside for a walk-in customer, release any hold here
COUNT = "inventory.store_count"  # count a shelf (a count movement)
RECEIVE_TRANSFERS = "inventory.store_receive_transfers"  # receive, and ask for, transfers
HAND_OVER = "inventory.store_hand_over"  # click & collect: pick, ready, missing, hand over
RETURN_REFUND = "inventory.store_return_refund"  # find orders, receive returns, refund
REDEEM = "inventory.store_redeem"  # find a customer at the till, redeem points
SELL = "inventory.store_sell"  # the till, receipts, endless aisle orders
SHIP = "inventory.store_ship"  # ship from store: pick, pack, ship, missing

ALL = (
    VIEW_STOCK,
    HOLD,
    COUNT,
    RECEIVE_TRANSFERS,
    HAND_OVER,
    RETURN_REFUND,
    REDEEM,
    SELL,
    SHIP,
)
