"""Writes to orders, one module per subject:

- ``placement``: :func:`order_place`, the one way in (API, admin, store page, carts, channels);
- ``sourcing``: where the units come from (pickup stores, ship strategies);
- ``fulfilment``: the fulfilment state machine (pick, pack, ship, pickups), missing items,
  expiring pickups, cancelling;
- ``returns``: returns and exchanges; ``refunds``: money given back;
- ``notifications``: customer emails, queued after commit and sent once;
- ``carts``: persistent carts, holds and checkout;
- ``sales``: :func:`sale_record`, a till's sale carried out at once (POS, ``carry_out``);
- ``records``: the order lock, numbers, the timeline, outbox events and the derived status.

Stock only changes through ``inventory.services`` with the order number as reference; the order
row is the lock that serialises changes to one order. Every service takes ``actor: Actor`` (who
did it), recorded on the timeline. Callers use this package
(``from orders import services; services.order_place(...)``); the names below are its public API.
"""

from orders.services.carts import (
    CartLineView,
    CartView,
    cart_checkout,
    cart_coupons_set,
    cart_create,
    cart_customer_set,
    cart_hold,
    cart_line_set,
    cart_update,
    cart_view,
    customer_cart_find,
)
from orders.services.fulfilment import (
    FULFILLMENT_TRANSITIONS,
    MissingOutcome,
    fulfillment_cancel,
    fulfillment_deliver,
    fulfillment_hand_over,
    fulfillment_pack,
    fulfillment_pick,
    fulfillment_ready_for_pickup,
    fulfillment_report_missing,
    fulfillment_ship,
    order_cancel,
    pickups_expire,
)
from orders.services.giftcards import (
    GiftCardBalance,
    GiftCardInput,
    IssuedGiftCard,
    giftcard_balance,
    giftcard_disable,
    giftcard_issue,
    giftcard_refund,
    giftcard_spend,
    giftcards_expire,
)
from orders.services.notifications import (
    SUBJECTS,
    notification_queue_for_order,
    notification_send,
    notification_sender_register,
    notifications_send_pending,
)
from orders.services.placement import CustomerInput, LineInput, PlaceResult, order_place
from orders.services.records import CENT, timeline_add
from orders.services.refunds import RefundLineInput, refund_create
from orders.services.returns import (
    ReturnLineInput,
    exchange_create,
    return_create,
    return_is_exchange,
    return_receive,
    return_receive_refund,
)
from orders.services.sales import PaymentInput, SaleQuote, sale_quote, sale_record
from orders.services.sourcing import Candidate, FewestParcelsStrategy, SourcingStrategy

__all__ = [
    "CENT",
    "FULFILLMENT_TRANSITIONS",
    "SUBJECTS",
    "Candidate",
    "CartLineView",
    "CartView",
    "CustomerInput",
    "FewestParcelsStrategy",
    "GiftCardBalance",
    "GiftCardInput",
    "IssuedGiftCard",
    "LineInput",
    "MissingOutcome",
    "PaymentInput",
    "PlaceResult",
    "RefundLineInput",
    "ReturnLineInput",
    "SaleQuote",
    "SourcingStrategy",
    "cart_checkout",
    "cart_coupons_set",
    "cart_create",
    "cart_customer_set",
    "cart_hold",
    "cart_line_set",
    "cart_update",
    "cart_view",
    "customer_cart_find",
    "exchange_create",
    "fulfillment_cancel",
    "fulfillment_deliver",
    "fulfillment_hand_over",
    "fulfillment_pack",
    "fulfillment_pick",
    "fulfillment_ready_for_pickup",
    "fulfillment_report_missing",
    "fulfillment_ship",
    "giftcard_balance",
    "giftcard_disable",
    "giftcard_issue",
    "giftcard_refund",
    "giftcard_spend",
    "giftcards_expire",
    "notification_queue_for_order",
    "notification_send",
    "notification_sender_register",
    "notifications_send_pending",
    "order_cancel",
    "order_place",
    "pickups_expire",
    "refund_create",
    "return_create",
    "return_is_exchange",
    "return_receive",
    "return_receive_refund",
    "sale_quote",
    "sale_record",
    "timeline_add",
]
