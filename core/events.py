"""Change event topics: stable strings, part of the API contract (webhook event types)."""

from __future__ import annotations

from django.db import models


class EventType(models.TextChoices):
    PRODUCT_UPDATED = "product.updated", "A product or its variants changed"
    PRODUCT_DELETED = "product.deleted", "A product was unpublished or archived"
    STOCK_CHANGED = "stock.changed", "Available-to-sell changed for a SKU"
    PRICE_CHANGED = "price.changed", "A channel price changed"
    ORDER_CREATED = "order.created", "An order was placed"
    ORDER_UPDATED = "order.updated", "An order's status changed"
    ORDER_CANCELLED = "order.cancelled", "An order was cancelled"
    FULFILLMENT_SHIPPED = "fulfillment.shipped", "A shipment left with tracking"
    FULFILLMENT_READY_FOR_PICKUP = "fulfillment.ready_for_pickup", "A pickup is ready"
    FULFILLMENT_PICKED_UP = "fulfillment.picked_up", "A pickup was handed over"
    RETURN_CREATED = "return.created", "A return was authorised"
    RETURN_RECEIVED = "return.received", "Returned goods were received"
    REFUND_CREATED = "refund.created", "A refund was issued"
    CUSTOMER_UPDATED = "customer.updated", "A customer changed or was merged"
