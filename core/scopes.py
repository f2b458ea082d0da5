"""The permissions a partner API key can be granted (``shared/API.md``)."""

from __future__ import annotations

from django.db import models


class Scope(models.TextChoices):
    CATALOG_READ = "catalog:read", "Read the catalog"
    STOCK_READ = "stock:read", "Read stock and availability"
    STOCK_WRITE = "stock:write", "Write stock levels and movements"
    ORDERS_READ = "orders:read", "Read orders"
    ORDERS_WRITE = "orders:write", "Place and cancel orders"
    CUSTOMERS_READ = "customers:read", "Read customers"
    CUSTOMERS_WRITE = "customers:write", "Write customers, consents and loyalty"
    RETURNS_WRITE = "returns:write", "Create and receive returns, refund"
    WEBHOOKS_MANAGE = "webhooks:manage", "Manage webhook subscriptions"


ALL_SCOPES: frozenset[str] = frozenset(Scope.values)
