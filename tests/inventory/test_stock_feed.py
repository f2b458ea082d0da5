"""The ERP/WMS stock feed: absolute counts from a CSV, validated whole, idempotent."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from core.models import ChangeEvent
from inventory import services
from inventory.exceptions import StockFeedInvalid
from inventory.models import StockLevel, StockMovement
from inventory.services import StockLine
from inventory.stock_feed import stock_feed_apply
from tests.factories import LocationFactory
from tests.inventory.factories import VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():  # type: ignore[no-untyped-def]
    store, warehouse = LocationFactory(code="st-1"), LocationFactory(code="wh-1", kind="warehouse")
    shoe, sock = VariantFactory(sku="SHOE-42"), VariantFactory(sku="SOCK-M")
    services.stock_receive(lines=[StockLine(shoe.pk, store.pk, 5)], reference="PO")
    return store, warehouse, shoe, sock


FEED = (
    b"sku,location,on_hand,reason,reference\n"
    b"SHOE-42,st-1,3,cycle count,WMS-77\n"
    b"SHOE-42,wh-1,40,,WMS-77\n"
    b"SOCK-M,wh-1,12,,WMS-77\n"
)


def test_counts_become_count_movements_and_a_repeat_changes_nothing(shop) -> None:  # type: ignore[no-untyped-def]
    store, _warehouse, shoe, _sock = shop
    summary = stock_feed_apply(data=FEED)
    assert (summary.rows, summary.levels_changed, summary.units_added, summary.units_removed) == (
        3,
        3,
        52,
        2,
    )
    levels = {
        (lv.variant.sku, lv.location.code): lv.on_hand
        for lv in StockLevel.objects.select_related("variant", "location")
    }
    assert levels == {("SHOE-42", "st-1"): 3, ("SHOE-42", "wh-1"): 40, ("SOCK-M", "wh-1"): 12}
    count = StockMovement.objects.get(stock__variant=shoe, stock__location=store, kind="count")
    assert (count.on_hand_delta, count.reason, count.reference, count.reference_type) == (
        -2,
        "cycle count",
        "WMS-77",
        "import",
    )
    assert count.actor_kind == "system" and count.created_at is not None
    created = StockLevel.objects.get(variant__sku="SOCK-M", location__code="wh-1")
    assert (created.committed, created.safety_stock, created.incoming, created.damaged) == (0,) * 4
    assert created.created_at is not None and created.updated_at >= created.created_at
    movements, events = StockMovement.objects.count(), ChangeEvent.objects.count()

    again = stock_feed_apply(data=FEED)

    assert (again.levels_changed, again.unchanged) == (0, 3)
    assert (StockMovement.objects.count(), ChangeEvent.objects.count()) == (movements, events)


def test_a_bad_file_is_refused_whole_with_row_and_column(shop) -> None:  # type: ignore[no-untyped-def]
    bad = (
        b"sku,location,on_hand\n"
        b"SHOE-42,st-1,4\n"
        b"NOPE,st-1,1\n"
        b"SOCK-M,nowhere,1\n"
        b"SOCK-M,st-1,many\n"
        b"SOCK-M,wh-1,-1\n"
        b"SHOE-42,st-1,6\n"
    )
    with pytest.raises(StockFeedInvalid) as refused:
        stock_feed_apply(data=bad)
    assert refused.value.errors == [
        {"row": 3, "column": "sku", "message": "There is no variant 'NOPE'."},
        {"row": 4, "column": "location", "message": "There is no location 'nowhere'."},
        {"row": 5, "column": "on_hand", "message": "'many' is not a whole number."},
        {"row": 6, "column": "on_hand", "message": "A count cannot be negative."},
        {"row": 7, "column": "sku", "message": "SHOE-42 at st-1 is already counted on row 2."},
    ]
    assert StockLevel.objects.get().on_hand == 5
    with pytest.raises(StockFeedInvalid) as no_header:
        stock_feed_apply(data=b"sku;location;qty\n")
    assert {e["column"] for e in no_header.value.errors} == {"sku", "location", "on_hand"}


def test_a_count_below_committed_units_is_refused(shop) -> None:  # type: ignore[no-untyped-def]
    store, _warehouse, shoe, _sock = shop
    services.stock_commit(lines=[StockLine(shoe.pk, store.pk, 4)], reference="order-1")
    with pytest.raises(StockFeedInvalid) as refused:
        stock_feed_apply(data=b"sku,location,on_hand\nSOCK-M,st-1,2\nSHOE-42,st-1,3\n")
    assert refused.value.errors == [
        {"row": 3, "column": "on_hand", "message": "3 is below the 4 units committed to orders."}
    ]
    assert not StockLevel.objects.filter(variant__sku="SOCK-M").exclude(on_hand=0).exists()


def test_the_command(shop, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "feed.csv"
    path.write_bytes(FEED)
    call_command("import_stock", str(path))
    assert "3 rows: 3 levels changed" in capsys.readouterr().out
    path.write_bytes(b"sku,location,on_hand\nNOPE,st-1,1\n")
    with pytest.raises(CommandError, match="1 error"):
        call_command("import_stock", str(path))
