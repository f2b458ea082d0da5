"""The permissions a partner API key can be granted (``docs/api.md``), and what a staff session
gets instead: the scopes its Django permissions add up to (``docs/security.md``)."""

from __future__ import annotations

from collections.abc import Callable

from django.db import models


class Scope(models.TextChoices):
    CATALOG_READ = "catalog:read", "Read the catalog"
    CATALOG_WRITE = "catalog:write", "Write prices, products and variants"
    STOCK_READ = "stock:read", "Read stock and availability"
    STOCK_WRITE = "stock:write", "Write stock levels and movements"
    STOCK_ALL_LOCATIONS = (
        "stock:all_locations",
        "Read and write stock at every location, not only the key's channels' (ERP/WMS)",
    )
    ORDERS_READ = "orders:read", "Read orders"
    ORDERS_WRITE = "orders:write", "Place and cancel orders"
    CUSTOMERS_READ = "customers:read", "Read customers"
    CUSTOMERS_WRITE = "customers:write", "Write customers, consents and loyalty"
    RETURNS_WRITE = "returns:write", "Create and receive returns, refund"
    WEBHOOKS_MANAGE = "webhooks:manage", "Manage webhook subscriptions"
    REPORTS_READ = "reports:read", "Read sales, stock, returns and fulfilment figures"


ALL_SCOPES: frozenset[str] = frozenset(Scope.values)

STAFF_SCOPE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Scope.CATALOG_READ: ("catalog.view_product",),
    Scope.CATALOG_WRITE: ("catalog.change_price",),
    Scope.STOCK_READ: ("inventory.view_stocklevel",),
    Scope.STOCK_WRITE: ("inventory.change_stocklevel", "inventory.add_stockmovement"),
    # Inventory managers adjust stock anywhere in the admin, so they do on the API too.
    Scope.STOCK_ALL_LOCATIONS: ("inventory.change_stocklevel",),
    Scope.ORDERS_READ: ("orders.view_order",),
    Scope.ORDERS_WRITE: ("orders.change_order",),
    Scope.CUSTOMERS_READ: ("customers.view_customer",),
    Scope.CUSTOMERS_WRITE: ("customers.change_customer",),
    Scope.RETURNS_WRITE: ("orders.add_return", "orders.change_return", "orders.add_refund"),
    Scope.WEBHOOKS_MANAGE: ("channels.change_webhooksubscription",),
    Scope.REPORTS_READ: ("reports.view_reports",),
}
"""The Django permissions a staff session needs for each scope: *all* of those listed.

A staff member's browser session on ``/api/v1/`` gets exactly the scopes whose permissions their
role (their groups and own permissions) grants, so the API allows them what the admin allows
them; a superuser gets every scope. Every scope must be listed (``staff_scopes`` refuses a table
with a gap), so a new scope cannot silently be given to every staff member or to none."""


def staff_scopes(
    *, is_superuser: bool, has_perms: Callable[[tuple[str, ...]], bool]
) -> frozenset[str]:
    """The scopes of a staff member: every scope for a superuser, else those whose permissions
    ``has_perms`` (the user's ``has_perms``) grants."""
    missing = ALL_SCOPES - STAFF_SCOPE_PERMISSIONS.keys()
    if missing:
        raise LookupError(f"STAFF_SCOPE_PERMISSIONS lacks {sorted(missing)}")
    if is_superuser:
        return ALL_SCOPES
    return frozenset(
        str(scope) for scope, perms in STAFF_SCOPE_PERMISSIONS.items() if has_perms(perms)
    )
