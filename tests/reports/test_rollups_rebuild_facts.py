"""The rebuild reads the orders' facts by id range and sums them (in SQL on PostgreSQL): the
facts it stores and the rows it writes are those the incremental update computes and applies."""

from __future__ import annotations

from typing import Any

import pytest

from orders.models import Order
from reports import facts as F
from reports.models import OrderContribution
from reports.rollups import TABLES, rollups_rebuild, rollups_update
from tests.reports.history import History, history_build
from tests.shop import Shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(shop: Shop) -> History:
    return history_build(shop, step=rollups_update)


def _contributions() -> dict[int, Any]:
    return dict(OrderContribution.objects.values_list("order_id", "facts"))


def _daily_tables() -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """The rows of each daily table (``TABLES``: sales, orders, reasons, customers), key ->
    figures, ids left out."""
    out = {}
    for table, (model, key_columns, figures) in TABLES.items():
        size = len(key_columns)
        out[table] = {
            tuple(row[:size]): tuple(row[size:])
            for row in model._default_manager.values_list(*key_columns, *figures)
        }
    return out


def test_facts_of_an_id_range_are_the_facts_of_those_orders(history: History) -> None:
    ids = list(Order.objects.order_by("id").values_list("id", flat=True))
    assert len(ids) >= 10
    first = F.first_orders(None)

    whole = F.order_facts_between(ids[0], ids[-1], first=first)
    middle = F.order_facts_between(ids[2], ids[-3], first=first)

    assert whole == F.order_facts(ids)
    assert middle == F.order_facts(ids[2:-2])
    # the facts are what the update stored, returns, refunds and customers included
    assert whole == _contributions()
    assert any(facts["reasons"] for facts in whole.values())
    assert any(facts["customers"] for facts in whole.values())
    assert F.order_facts_between(ids[-1] + 1, ids[-1] + 100, first=first) == {}


def _nonzero(tables: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]) -> dict[str, Any]:
    return {
        table: {key: figures for key, figures in rows.items() if any(figures)}
        for table, rows in tables.items()
    }


def test_rebuild_stores_the_facts_the_update_stored(history: History) -> None:
    updated = _contributions()
    tables = _daily_tables()
    # the update leaves rows whose figures came back to zero (a cancelled order, a merge)
    assert _nonzero(tables) != tables
    assert all(_nonzero(tables).values())

    result = rollups_rebuild()

    assert result.orders == len(updated)
    assert _contributions() == updated
    # the same rows, less those that sum to zero
    assert _daily_tables() == _nonzero(tables)
