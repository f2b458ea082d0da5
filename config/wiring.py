"""Hooks between apps that the layer contract keeps apart, registered once at start-up.

``catalog`` may not import ``inventory``; an import's inventory quantities reach the stock ledger,
and the product page reaches the prices-and-stock grid, through the hooks registered here
(``config`` sits above every domain app).
"""

from __future__ import annotations

from collections.abc import Mapping


def import_stock_apply(quantities: Mapping[str, int], location_code: str, reference: str) -> int:
    """Apply imported inventory quantities as absolute counts (ledger ``count`` movements for the
    differences) at ``location_code``, or at the preferred warehouse when none is given.
    Returns how many levels changed; a file without any location to count at applies nothing."""
    from catalog import selectors as catalog_selectors
    from inventory import selectors as stock_selectors

    if location_code:
        location_id = stock_selectors.location_ids_by_code(codes=[location_code]).get(location_code)
    else:
        warehouse = (
            stock_selectors.location_list()
            .filter(kind="warehouse")
            .order_by("sourcing_priority", "code")
            .first()
        )
        location_id = warehouse.id if warehouse else None
    if location_id is None:
        return 0
    from inventory.stock_feed import FeedRow, stock_counts_apply

    variant_ids = catalog_selectors.variant_ids_by_sku(skus=quantities)
    rows = [
        FeedRow(
            row=0,
            variant_id=variant_ids[sku],
            location_id=location_id,
            on_hand=on_hand,
            reason="product import",
            reference=reference[:255],
        )
        for sku, on_hand in quantities.items()
    ]
    return stock_counts_apply(rows=rows).levels_changed


def hooks_register() -> None:
    from catalog.imports.hooks import stock_hook_register

    stock_hook_register(import_stock_apply)

    # the product page's prices-and-stock grid writes stock, so it lives in inventory
    from catalog.admin_variants import variant_grid_register
    from inventory.admin_grid import variant_grid_view

    variant_grid_register(variant_grid_view)
