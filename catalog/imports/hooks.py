"""What an import hands to other apps after it commits (catalog imports nothing above it).

The inventory side registers a stock hook at start-up (``config.apps``) that applies the file's
``Variant Inventory Qty`` as absolute counts at a location; the media side fetches pending images.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

StockHook = Callable[[Mapping[str, int], str, str], int]
"""(quantities by SKU, location code or "", reference) -> rows applied."""

_stock_hooks: list[StockHook] = []


def stock_hook_register(hook: StockHook) -> None:
    if hook not in _stock_hooks:
        _stock_hooks.append(hook)


def stock_hooks() -> list[StockHook]:
    return list(_stock_hooks)
