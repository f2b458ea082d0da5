from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Sum

from inventory.models import StockLevel, StockMovement


def assert_ledger_invariants() -> None:
    """Every level equals the sum of its movements and no counter is negative."""
    for level in StockLevel.objects.all():
        sums = StockMovement.objects.filter(stock=level).aggregate(
            on_hand=Sum("on_hand_delta"), damaged=Sum("damaged_delta")
        )
        assert level.on_hand == (sums["on_hand"] or 0), level
        assert level.damaged == (sums["damaged"] or 0), level
        assert min(level.on_hand, level.committed, level.incoming, level.damaged) >= 0
        assert level.committed <= level.on_hand


@pytest.fixture
def invariants() -> Any:
    return assert_ledger_invariants
