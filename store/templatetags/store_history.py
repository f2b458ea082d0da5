"""``{% customer_history customer %}``: a customer's recent purchases on every channel (web,
app, marketplace, this and other stores' tills) wherever the store page shows a customer.

Load with ``{% load store_history %}``; ``limit`` (default 5) caps the orders shown. The orders
come from ``orders.selectors.customer_recent_orders`` in a fixed number of queries.
"""

from __future__ import annotations

from typing import Any

from django import template

from orders import selectors as order_selectors

register = template.Library()


@register.inclusion_tag("store/_customer_history.html", takes_context=True)
def customer_history(context: Any, customer: Any, limit: int = 5) -> dict[str, Any]:
    # ``perms`` passes on so the template offers a return only to who may take one
    perms = context.get("perms")
    if customer is None:
        return {"customer": None, "recent_orders": [], "perms": perms}
    return {
        "customer": customer,
        "recent_orders": order_selectors.customer_recent_orders(customer=customer, limit=limit),
        "perms": perms,
    }
