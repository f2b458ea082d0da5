"""Periodic inventory housekeeping: thin Celery tasks over services and selectors."""

from __future__ import annotations

import structlog
from celery import shared_task

from inventory import selectors, services

logger = structlog.get_logger("omnihub.inventory")


@shared_task(name="inventory.holds_expire")
def holds_expire() -> int:
    """Mark expired holds (they already stopped counting at their expiry); every minute."""
    return services.stock_holds_expire()


@shared_task(name="inventory.stock_drift_check")
def stock_drift_check(repair: bool = False) -> int:
    """Log every level whose counters differ from its ledger; repair them when asked."""
    drifts = selectors.stock_drift_list()
    for drift in drifts:
        logger.warning(
            "inventory.stock_drift",
            stock_id=drift.stock_id,
            on_hand=drift.on_hand,
            ledger_on_hand=drift.ledger_on_hand,
            damaged=drift.damaged,
            ledger_damaged=drift.ledger_damaged,
        )
    if repair and drifts:
        services.stock_drift_repair(stock_ids=[drift.stock_id for drift in drifts])
    return len(drifts)
