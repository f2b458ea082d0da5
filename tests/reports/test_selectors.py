"""Figures read from rollup rows built by hand: every expected number is computed in the test."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from django.utils import timezone

from core.models import Channel
from reports import selectors as s
from reports.filters import ReportFilterError, ReportFilters
from tests.reports import rollup_rows as rr

pytestmark = pytest.mark.django_db

FEB28, MAR1, MAR2, MAR8 = date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 8)


def flt(start: date = MAR2, end: date = MAR8, **kwargs) -> ReportFilters:
    return ReportFilters(start=start, end=end, **kwargs)


@pytest.fixture
def w():
    web, app = rr.channel("web"), rr.channel("app", kind=Channel.Kind.APP)
    till = rr.channel("till", kind=Channel.Kind.POS)
    ams, wh = rr.location("ams"), rr.location("wh", kind="warehouse")
    tree = rr.category_tree()
    shirt = rr.variant("Shirt", category=tree.shirts)
    hat = rr.variant("Hat", category=tree.apparel)
    shoe = rr.variant("Shoe", category=tree.shoes)
    # Monday 2 March: two currencies on the webshop, a return and refund at the store
    rr.sales(MAR2, web, wh, shirt, units_sold=2, gross="50", discount="5", tax="8.68")
    rr.sales(MAR2, web, wh, shoe, units_sold=1, gross="80", tax="13.88")
    rr.sales(MAR2, web, wh, shirt, currency="GBP", units_sold=1, gross="20", tax="3.33")
    rr.sales(
        MAR2, app, ams, hat, units_sold=3, gross="30", discount="3", tax="5",
        refunded="10", units_returned=1,
    )  # fmt: skip
    rr.sales(MAR8, web, wh, shirt, units_sold=1, gross="25")  # Sunday: same ISO week
    rr.sales(MAR1, web, wh, shoe, units_sold=1, gross="80")  # Sunday: the week before
    rr.sales(FEB28, web, wh, shoe, units_sold=1, gross="80")  # the month before
    rr.orders(MAR2, web, wh, orders=2)
    rr.orders(MAR2, web, wh, currency="GBP", orders=1)
    rr.orders(MAR2, app, ams, orders=1)
    rr.orders(MAR8, web, wh, orders=1)
    rr.orders(MAR1, web, wh, orders=1)
    rr.orders(FEB28, web, wh, orders=0, orders_cancelled=1)
    return SimpleNamespace(**locals())


def rows_without(table, *keys):
    return [{k: v for k, v in row.items() if k not in keys} for row in table.rows]


# -- sales --------------------------------------------------------------------------------------


def test_sales_report_by_day_channel_store_and_currency(w):
    table = s.sales_report(flt())
    assert [c.key for c in table.columns][:4] == ["period", "channel", "store", "currency"]
    assert table.rows == [
        {
            "period": MAR2, "channel": "app", "store": "ams", "currency": "EUR", "orders": 1,
            "units": 3, "gross": D("30.00"), "discount": D("3.00"), "tax": D("5.00"),
            "refunded": D("10.00"), "net": D("17.00"), "aov": D("17.00"),
        },
        {
            "period": MAR2, "channel": "web", "store": "wh", "currency": "EUR", "orders": 2,
            "units": 3, "gross": D("130.00"), "discount": D("5.00"), "tax": D("22.56"),
            "refunded": D("0.00"), "net": D("125.00"), "aov": D("62.50"),
        },
        {
            "period": MAR2, "channel": "web", "store": "wh", "currency": "GBP", "orders": 1,
            "units": 1, "gross": D("20.00"), "discount": D("0.00"), "tax": D("3.33"),
            "refunded": D("0.00"), "net": D("20.00"), "aov": D("20.00"),
        },
        {
            "period": MAR8, "channel": "web", "store": "wh", "currency": "EUR", "orders": 1,
            "units": 1, "gross": D("25.00"), "discount": D("0.00"), "tax": D("0.00"),
            "refunded": D("0.00"), "net": D("25.00"), "aov": D("25.00"),
        },
    ]  # fmt: skip


def test_weeks_start_on_monday(w):
    table = s.sales_report(flt(FEB28, MAR8, group_by="week", channel_ids=(w.web.pk,)))
    got = [(r["period"], r["currency"], r["units"], r["gross"], r["orders"]) for r in table.rows]
    assert got == [
        (date(2026, 2, 23), "EUR", 2, D("160.00"), 1),  # Sat 28 Feb + Sun 1 Mar
        (MAR2, "EUR", 4, D("155.00"), 3),  # Mon 2 + Sun 8 March
        (MAR2, "GBP", 1, D("20.00"), 1),
    ]


def test_months(w):
    table = s.sales_report(flt(FEB28, MAR8, group_by="month", channel_ids=(w.web.pk,)))
    got = [(r["period"], r["currency"], r["units"], r["net"], r["orders"]) for r in table.rows]
    assert got == [
        (date(2026, 2, 1), "EUR", 1, D("80.00"), 0),  # the order of 28 Feb was cancelled
        (MAR1, "EUR", 5, D("230.00"), 4),
        (MAR1, "GBP", 1, D("20.00"), 1),
    ]
    assert table.rows[0]["aov"] is None


def test_category_takes_its_descendants_and_drops_orders(w):
    apparel = s.sales_report(flt(category_id=w.tree.apparel.pk, group_by="month"))
    got = [(r["channel"], r["currency"], r["units"], r["net"]) for r in apparel.rows]
    assert got == [
        ("app", "EUR", 3, D("17.00")),  # the hat
        ("web", "EUR", 3, D("70.00")),  # the shirts (a child category); not the shoe
        ("web", "GBP", 1, D("20.00")),
    ]
    assert {r["orders"] for r in apparel.rows} == {None}
    assert {r["aov"] for r in apparel.rows} == {None}
    shirts = s.sales_report(flt(category_id=w.tree.shirts.pk, group_by="month"))
    assert [(r["channel"], r["units"]) for r in shirts.rows] == [("web", 3), ("web", 1)]


def test_store_and_channel_filters(w):
    table = s.sales_report(flt(location_ids=(w.ams.pk,)))
    assert [(r["channel"], r["store"]) for r in table.rows] == [("app", "ams")]
    table = s.sales_report(flt(channel_ids=(w.app.pk,)))
    assert [(r["channel"], r["store"]) for r in table.rows] == [("app", "ams")]
    assert s.sales_report(flt(channel_ids=())).rows == []


def test_sales_by_channel_never_sums_currencies(w):
    table = s.sales_by_channel(flt())
    assert table.rows == [
        {"channel": "app", "currency": "EUR", "orders": 1, "units": 3, "net": D("17.00")},
        {"channel": "web", "currency": "EUR", "orders": 3, "units": 4, "net": D("150.00")},
        {"channel": "web", "currency": "GBP", "orders": 1, "units": 1, "net": D("20.00")},
    ]
    series = s.sales_by_channel_series(flt())
    assert series == {
        "labels": ["app", "web"],
        "series": [
            {"label": "EUR", "currency": "EUR", "data": [D("17.00"), D("150.00")]},
            {"label": "GBP", "currency": "GBP", "data": [D("0.00"), D("20.00")]},
        ],
    }


def test_store_sales(w):
    table = s.store_sales(flt(), location_ids=[w.ams.pk])
    assert table.rows == [
        {"store": "ams", "currency": "EUR", "orders": 1, "units": 3, "net": D("17.00")}
    ]
    # the caller's stores stay within the filter's
    assert s.store_sales(flt(location_ids=(w.wh.pk,)), location_ids=[w.ams.pk]).rows == []


def test_time_series_fills_every_period(w):
    data = s.time_series(flt(MAR1, MAR8, group_by="week"), measure="net")
    assert data["labels"] == ["2026-02-23", "2026-03-02"]
    assert data["series"] == [
        {"label": "app (EUR)", "currency": "EUR", "data": [D("0.00"), D("17.00")]},
        {"label": "web (EUR)", "currency": "EUR", "data": [D("80.00"), D("150.00")]},
        {"label": "web (GBP)", "currency": "GBP", "data": [D("0.00"), D("20.00")]},
    ]
    daily = s.time_series(flt(MAR2, date(2026, 3, 4)), measure="orders")
    assert daily["labels"] == ["2026-03-02", "2026-03-03", "2026-03-04"]
    assert daily["series"][1]["data"] == [2, 0, 0]
    with pytest.raises(ReportFilterError) as caught:
        s.time_series(flt(), measure="profit")
    assert caught.value.field == "measure"


def test_top_and_bottom_sellers(w):
    top = s.top_sellers(flt(FEB28, MAR8), limit=2)
    assert [(r["product"], r["currency"], r["units"], r["net"]) for r in top.rows] == [
        ("Shoe", "EUR", 3, D("240.00")),
        ("Shirt", "EUR", 3, D("70.00")),
    ]
    bottom = s.top_sellers(flt(FEB28, MAR8), limit=2, bottom=True)
    assert [(r["product"], r["currency"], r["units"]) for r in bottom.rows] == [
        ("Shirt", "GBP", 1),
        ("Hat", "EUR", 3),
    ]
    assert top.rows[0]["product_id"] == w.shoe.product_id


def test_top_sellers_agree_whichever_rollups_the_range_reads(w):
    # the world's sales all fall within Feb 28 - Mar 8: a range of days (daily rows, ordered in
    # SQL), whole months (monthly rows, ordered in SQL) and a month with days at its ends (both,
    # merged in Python) must rank them the same
    days = s.top_sellers(flt(FEB28, MAR8), limit=5)
    months = s.top_sellers(flt(date(2026, 2, 1), date(2026, 3, 31)), limit=5)
    mixed = s.top_sellers(flt(date(2026, 2, 27), date(2026, 3, 31)), limit=5)
    assert len(days.rows) >= 3
    assert days.rows == months.rows == mixed.rows
    bottom = [
        s.top_sellers(flt(start, end), limit=5, bottom=True).rows
        for start, end in [(FEB28, MAR8), (date(2026, 2, 1), date(2026, 3, 31))]
    ]
    assert bottom[0] == bottom[1]


def test_top_and_bottom_from_one_read_equal_the_two_rankings(w):
    # the dashboard reads both from one grouping of the range: the same rows, whichever rollups
    for start, end in [
        (FEB28, MAR8),
        (date(2026, 2, 1), date(2026, 3, 31)),
        (date(2026, 2, 27), date(2026, 3, 31)),
    ]:
        top, bottom = s.top_and_bottom_sellers(flt(start, end), limit=2)
        assert len(top.rows) == 2
        assert top.rows == s.top_sellers(flt(start, end), limit=2).rows
        assert bottom.rows == s.top_sellers(flt(start, end), limit=2, bottom=True).rows
        assert top.rows != bottom.rows


# -- returns, margin, customers -----------------------------------------------------------------


def test_returns_by_channel_product_and_reason(w):
    rr.reason(MAR2, w.app, w.hat, "Too small", 2, location=w.ams)
    rr.reason(MAR2, w.web, w.shirt, "Too small", 1, location=w.wh)
    rr.reason(MAR8, w.web, w.shirt, "", 1, location=w.wh)
    rr.reason(FEB28, w.web, w.shirt, "Damaged", 5, location=w.ams)  # out of range
    by_channel = s.returns_report(flt(), by="channel")
    assert by_channel.rows == [
        {
            "channel": "app", "currency": "EUR", "units_sold": 3, "units_returned": 1,
            "return_rate": D("33.3"), "refunded": D("10.00"),
        },
        {
            "channel": "web", "currency": "EUR", "units_sold": 4, "units_returned": 0,
            "return_rate": D("0.0"), "refunded": D("0.00"),
        },
        {
            "channel": "web", "currency": "GBP", "units_sold": 1, "units_returned": 0,
            "return_rate": D("0.0"), "refunded": D("0.00"),
        },
    ]  # fmt: skip
    by_product = s.returns_report(flt(), by="product")
    assert [(r["product"], r["currency"], r["return_rate"]) for r in by_product.rows] == [
        ("Hat", "EUR", D("33.3")),
        ("Shirt", "EUR", D("0.0")),
        ("Shirt", "GBP", D("0.0")),
        ("Shoe", "EUR", D("0.0")),
    ]
    by_reason = s.returns_report(flt(), by="reason")
    assert by_reason.rows == [
        {"reason": "Too small", "units_returned": 3, "share": D("75.0")},
        {"reason": "(no reason given)", "units_returned": 1, "share": D("25.0")},
    ]
    # the store filter applies to the reasons too (a store manager sees their stores' only)
    at_ams = s.returns_report(flt(location_ids=(w.ams.pk,)), by="reason")
    assert at_ams.rows == [{"reason": "Too small", "units_returned": 2, "share": D("100.0")}]
    at_wh = s.returns_report(flt(location_ids=(w.wh.pk,)), by="reason")
    assert sorted((r["reason"], r["units_returned"]) for r in at_wh.rows) == [
        ("(no reason given)", 1),
        ("Too small", 1),
    ]
    with pytest.raises(ReportFilterError) as caught:
        s.returns_report(flt(), by="store")
    assert caught.value.field == "by"


def test_returns_taken_in_store_leave_out_the_tills(w):
    rr.sales(MAR2, w.till, w.ams, w.shirt, units_returned=4, refunded="40")  # a POS return
    rr.sales(MAR2, w.web, w.ams, w.shirt, units_returned=2, refunded="50")
    rr.sales(MAR2, w.web, w.ams, w.shoe, currency="GBP", units_returned=1, refunded="9.99")
    rr.sales(MAR8, w.web, w.wh, w.shoe, units_returned=7, refunded="70")  # not a store
    rr.sales(MAR8, w.web, w.ams, w.hat, refunded="15")  # a refund without a return: not one
    table = s.returns_taken_in_store(flt(), location_ids=None)
    assert table.rows == [
        {"store": "ams", "currency": "EUR", "units_returned": 3, "refunded": D("60.00")},
        {"store": "ams", "currency": "GBP", "units_returned": 1, "refunded": D("9.99")},
    ]  # app's hat (1, 10.00) + the webshop's shirts (2, 50.00); GBP apart
    assert s.returns_taken_in_store(flt(), location_ids=[w.wh.pk]).rows == []


def test_margin_in_the_base_currency_only(w, settings):
    settings.BASE_CURRENCY = "EUR"
    day = date(2026, 3, 3)
    rr.sales(day, w.web, w.wh, w.hat, units_sold=4, revenue="100", cost="60", units_costed=4)
    rr.sales(day, w.app, w.wh, w.hat, units_sold=4, revenue="80", cost="15", units_costed=1)
    rr.sales(day, w.web, w.wh, w.shoe, units_sold=2, revenue="50")  # no cost known
    rr.sales(day, w.web, w.wh, w.shoe, currency="GBP", units_sold=9, revenue="900", cost="1")
    table = s.margin_report(flt(), by="product")
    assert table.rows == [
        {
            "product_id": w.hat.product_id, "product": "Hat", "currency": "EUR",
            "units_sold": 8 + 3, "units_costed": 5, "revenue": D("180.00"), "cost": D("75.00"),
            # costed revenue: 100 + 80 * 1/4 = 120; margin 120 - 75 = 45; 45 / 120 = 37.5 %
            "margin": D("45.00"), "margin_pct": D("37.5"),
        },
        {
            "product_id": w.shoe.product_id, "product": "Shoe", "currency": "EUR",
            "units_sold": 2 + 1, "units_costed": 0, "revenue": D("50.00"), "cost": D("0.00"),
            "margin": D("0.00"), "margin_pct": None,
        },
        {
            "product_id": w.shirt.product_id, "product": "Shirt", "currency": "EUR",
            "units_sold": 3, "units_costed": 0, "revenue": D("0.00"), "cost": D("0.00"),
            "margin": D("0.00"), "margin_pct": None,
        },
    ]  # fmt: skip
    by_channel = s.margin_report(flt(), by="channel")
    assert [(r["channel"], r["margin"]) for r in by_channel.rows] == [
        ("web", D("40.00")),
        ("app", D("5.00")),
    ]


def test_customers(w):
    rr.fact(1, first=rr.at(MAR2), last=rr.at(MAR8), channels=["web"], lifetime_value="100")
    rr.fact(2, first=rr.at(FEB28), last=rr.at(MAR2), channels=["app", "web"], lifetime_value="300")
    # ordered before and after the range, not in it: not a customer of the range
    rr.fact(3, first=rr.at(FEB28), last=rr.at(date(2026, 3, 10)), channels=["web"],
            lifetime_value="999", orders=2)  # fmt: skip
    rr.fact(
        4, first=rr.at(MAR2), last=rr.at(MAR2), channels=["web"], lifetime_value="20",
        currency="GBP",
    )  # fmt: skip
    rr.fact(4, first=rr.at(FEB28), last=rr.at(FEB28), channels=["web"], lifetime_value="50")
    rr.customer_orders(MAR2, w.web, w.wh, 1)
    rr.customer_orders(MAR8, w.web, w.wh, 1)
    rr.customer_orders(FEB28, w.web, w.wh, 2)
    rr.customer_orders(MAR2, w.app, w.ams, 2)
    rr.customer_orders(FEB28, w.web, w.wh, 3)
    rr.customer_orders(date(2026, 3, 10), w.web, w.wh, 3)
    rr.customer_orders(MAR2, w.web, w.wh, 4, currency="GBP")  # 4 bought in EUR only before
    rr.customer_orders(FEB28, w.web, w.wh, 4)
    rr.orders(MAR8, w.app, w.ams, orders=3, new_customer_orders=1, guest_orders=2)
    table = s.customers_report(flt())
    assert table.note == ""
    eur, gbp = table.rows
    assert eur == {
        "currency": "EUR", "customers": 2, "new_customers": 1, "returning_customers": 1,
        "multichannel_customers": 1, "multichannel_share": D("50.0"),
        "average_lifetime_value": D("200.00"), "orders": 4 + 3, "new_customer_orders": 1,
        "returning_customer_orders": 0, "guest_orders": 2,
    }  # fmt: skip
    assert (gbp["customers"], gbp["new_customers"], gbp["average_lifetime_value"]) == (
        1,
        1,
        D("20.00"),
    )
    assert gbp["orders"] == 1
    # a store manager of Amsterdam sees Amsterdam's customers only: customer 2 (returning)
    (ams,) = s.customers_report(flt(location_ids=(w.ams.pk,))).rows
    assert (ams["currency"], ams["customers"], ams["new_customers"]) == ("EUR", 1, 0)
    assert (ams["multichannel_share"], ams["average_lifetime_value"]) == (D("100.0"), D("300.00"))
    assert ams["orders"] == 1 + 3
    # the channel filter: customer 1 on the webshop (new); customer 2 bought on the app
    web = s.customers_report(flt(channel_ids=(w.web.pk,))).rows[0]
    assert (web["currency"], web["customers"], web["new_customers"]) == ("EUR", 1, 1)
    assert web["average_lifetime_value"] == D("100.00")
    # customers are not per category: the filter does not apply, and the table says so
    by_category = s.customers_report(flt(category_id=w.tree.shoes.pk))
    assert by_category.rows == table.rows
    assert "category" in by_category.note


# -- fulfilment ---------------------------------------------------------------------------------


def _timings(w):
    minute = timedelta(minutes=1)
    placed = rr.at(MAR2)
    rr.timing(w.web, w.ams, placed_at=placed, ready_after=30 * minute)  # waiting
    rr.timing(w.web, w.ams, placed_at=placed, ready_after=60 * minute, cancelled_after=100 * minute)
    rr.timing(w.web, w.ams, placed_at=placed, ready_after=90 * minute, done_after=120 * minute)
    rr.timing(w.app, w.ams, placed_at=placed, ready_after=120 * minute, done_after=240 * minute)
    rr.timing(w.web, w.ams, placed_at=rr.at(FEB28), ready_after=5 * minute)  # older, waiting
    rr.timing(
        w.web, w.wh, placed_at=placed, method="ship", ready_after=600 * minute,
        done_after=2000 * minute,
    )  # fmt: skip


def test_fulfilment_percentiles_per_store_and_method(w):
    _timings(w)
    table = s.fulfilment_report(flt())
    assert table.rows == [
        {
            "store": "ams", "method": "pickup", "fulfilments": 4,
            # ready 30, 60, 90, 120: p50 = 75, p90 at rank 2.7 = 90 + 0.7 * 30 = 111
            "ready_p50": D("75.0"), "ready_p90": D("111.0"),
            # done 120, 240: p50 = 180, p90 = 120 + 0.9 * 120 = 228
            "done_p50": D("180.0"), "done_p90": D("228.0"), "uncollected": 1,
        },
        {
            "store": "wh", "method": "ship", "fulfilments": 1, "ready_p50": D("600.0"),
            "ready_p90": D("600.0"), "done_p50": D("2000.0"), "done_p90": D("2000.0"),
            "uncollected": 0,
        },
    ]  # fmt: skip


def test_pickup_times_and_uncollected(w):
    _timings(w)
    table = s.pickup_times(flt(), location_ids=[w.ams.pk, w.wh.pk])
    assert table.rows == [
        {"store": "ams", "pickups": 4, "ready_p50": D("75.0"), "ready_p90": D("111.0")}
    ]
    assert s.pickup_times(flt(channel_ids=(w.app.pk,))).rows[0]["ready_p50"] == D("120.0")
    assert s.uncollected_pickups() == 2  # whenever placed
    assert s.uncollected_pickups(location_ids=[w.wh.pk]) == 0


# -- stock --------------------------------------------------------------------------------------


def test_out_of_stock_rate_counts_unexpired_holds(w):
    shirt = rr.stock(w.shirt, w.ams, on_hand=5)
    rr.hold(shirt, 5)  # all of it reserved
    rr.stock(w.hat, w.ams, on_hand=0)
    shoe = rr.stock(w.shoe, w.ams, on_hand=10)
    rr.hold(shoe, 10, expires_in=timedelta(minutes=-1))  # expired: counts for nothing
    rr.stock(w.shirt, w.wh, on_hand=4)
    table = s.out_of_stock_rate()
    assert table.rows == [
        {"store": "ams", "variants": 3, "out_of_stock": 2, "out_of_stock_rate": D("66.7")},
        {"store": "wh", "variants": 1, "out_of_stock": 0, "out_of_stock_rate": D("0.0")},
    ]
    assert [r["store"] for r in s.out_of_stock_rate(location_ids=[w.wh.pk]).rows] == ["wh"]


def test_aged_stock_reads_the_latest_snapshots(w):
    today = timezone.localdate()
    for variant, loc, on_hand in ((w.shirt, w.ams, 5), (w.shoe, w.ams, 10), (w.shirt, w.wh, 4)):
        rr.stock(variant, loc, on_hand=on_hand)
    old = today - timedelta(days=200)
    rr.snapshot(old, w.shirt, w.ams, on_hand=5, received=5, last_received_on=old)
    rr.snapshot(today - timedelta(days=100), w.shoe, w.ams, on_hand=4, last_received_on=old)
    recent = today - timedelta(days=10)
    rr.snapshot(recent, w.shoe, w.ams, on_hand=10, received=6, last_received_on=recent)
    rr.snapshot(today - timedelta(days=1), w.shirt, w.wh, on_hand=4)  # never received
    table = s.aged_stock(days=90)
    assert table.rows == [
        {"store": "ams", "on_hand": 15, "aged_units": 5, "aged_share": D("33.3")},
        {"store": "wh", "on_hand": 4, "aged_units": 4, "aged_share": D("100.0")},
    ]
    assert s.aged_stock(days=300).rows[0]["aged_units"] == 0


def test_aged_stock_counts_a_receipt_exactly_90_days_ago_as_aged(w):
    today = timezone.localdate()
    rr.stock(w.shirt, w.ams, on_hand=3)
    rr.stock(w.hat, w.ams, on_hand=2)
    day_90, day_89 = today - timedelta(days=90), today - timedelta(days=89)
    rr.snapshot(day_90, w.shirt, w.ams, on_hand=3, received=3, last_received_on=day_90)
    rr.snapshot(day_89, w.hat, w.ams, on_hand=2, received=2, last_received_on=day_89)
    assert s.aged_stock(days=90).rows == [
        {"store": "ams", "on_hand": 5, "aged_units": 3, "aged_share": D("60.0")}
    ]
    assert s.stock_report(flt(today - timedelta(days=6), today)).rows[0]["aged_units"] == 3


def test_sell_through_per_product_and_location(w):
    for variant, loc, on_hand in ((w.shirt, w.wh, 50), (w.shirt, w.ams, 0), (w.hat, w.ams, 0)):
        rr.stock(variant, loc, on_hand=on_hand)
    rr.snapshot(date(2026, 2, 20), w.shirt, w.wh, on_hand=10)  # on hand before the start
    rr.snapshot(date(2026, 3, 5), w.shirt, w.wh, on_hand=6)  # at the end
    rr.snapshot(date(2026, 3, 10), w.shirt, w.wh, on_hand=50)  # after the end: ignored
    table = s.sell_through_report(flt(), by="product")
    shirt = next(r for r in table.rows if r["product"] == "Shirt")
    # sold 2 + 1 (GBP) + 1 = 4 units; 6 left: 4 / 10 = 40 %; average on hand (10 + 6) / 2 = 8
    assert shirt == {
        "product_id": w.shirt.product_id, "product": "Shirt", "units_sold": 4,
        "on_hand_end": 6, "sell_through": D("40.0"), "turnover": D("0.50"),
        "cover_days": D("10.5"),  # 6 / (4 / 7 days)
    }  # fmt: skip
    hat = next(r for r in table.rows if r["product"] == "Hat")
    assert (hat["units_sold"], hat["on_hand_end"], hat["sell_through"], hat["cover_days"]) == (
        3,
        0,
        D("100.0"),
        D("0.0"),
    )
    by_location = s.sell_through_report(flt(), by="location")
    assert [(r["store"], r["units_sold"], r["on_hand_end"]) for r in by_location.rows] == [
        ("wh", 5, 6),
        ("ams", 3, 0),
    ]
    by_category = s.sell_through_report(flt(category_id=w.tree.apparel.pk), by="category")
    assert [(r["category"], r["units_sold"]) for r in by_category.rows] == [
        ("Apparel > Shirts", 4),
        ("Apparel", 3),
    ]


def test_stock_cover_and_stock_report(w):
    rr.stock(w.shirt, w.wh, on_hand=14)
    rr.stock(w.shoe, w.wh, on_hand=0)
    rr.stock(w.hat, w.ams, on_hand=6)
    cover = s.stock_cover(flt())
    # wh sold 5 units in 7 days: 5/7 = 0.71 a day; 14 / (5/7) = 19.6 days
    assert cover.rows == [
        {"store": "ams", "on_hand": 6, "units_sold": 3, "daily_units": D("0.43"),
         "cover_days": D("14.0")},
        {"store": "wh", "on_hand": 14, "units_sold": 5, "daily_units": D("0.71"),
         "cover_days": D("19.6")},
    ]  # fmt: skip
    assert [r["store"] for r in s.stock_cover(flt(), location_ids=[w.ams.pk]).rows] == ["ams"]
    report = s.stock_report(flt())
    assert report.rows[1] == {
        "store": "wh", "variants": 2, "on_hand": 14, "out_of_stock_rate": D("50.0"),
        "aged_units": 0, "units_sold": 5, "cover_days": D("19.6"),
    }  # fmt: skip


# -- bounds -------------------------------------------------------------------------------------


def _more(w):
    """Many more rows of every kind: the query counts must not grow with them."""
    for n in range(12):
        variant = rr.variant(f"Extra {n}", category=w.tree.shirts)
        loc = rr.location(f"store-{n}")
        rr.sales(MAR2, w.web, loc, variant, units_sold=1, gross="10")
        rr.orders(MAR2, w.web, loc, orders=1)
        level = rr.stock(variant, loc, on_hand=n)
        rr.hold(level, 1)
        rr.snapshot(MAR2, variant, loc, on_hand=n, last_received_on=MAR2)
        rr.timing(w.web, loc, placed_at=rr.at(MAR2), ready_after=timedelta(minutes=n + 1))
        rr.reason(MAR2, w.web, variant, f"reason {n}", 1, location=loc)
        rr.customer_orders(MAR2, w.web, loc, 1000 + n)
        rr.fact(1000 + n, first=rr.at(MAR2), last=rr.at(MAR2), channels=["web"],
                lifetime_value="10")  # fmt: skip


@pytest.mark.parametrize(
    ("call", "most"),
    [
        (lambda f: s.sales_report(f), 2),
        (lambda f: s.sales_by_channel(f), 2),
        (lambda f: s.sales_by_channel_series(f), 2),
        (lambda f: s.store_sales(f, location_ids=None), 2),
        (lambda f: s.time_series(f), 2),
        (lambda f: s.top_sellers(f), 1),
        (lambda f: s.sell_through_report(f, by="category"), 2),
        (lambda f: s.returns_report(f), 1),
        (lambda f: s.returns_report(f, by="reason"), 1),
        (lambda f: s.returns_taken_in_store(f, location_ids=None), 1),
        (lambda f: s.customers_report(f), 2),
        (lambda f: s.margin_report(f, by="category"), 1),
        (lambda f: s.fulfilment_report(f), 2),
        (lambda f: s.pickup_times(f), 2),
        (lambda f: s.stock_cover(f), 2),
        (lambda f: s.stock_report(f), 5),
        (lambda f: s.out_of_stock_rate(), 2),
        (lambda f: s.aged_stock(), 1),
        (lambda f: s.uncollected_pickups(), 1),
    ],
)
def test_query_counts_do_not_grow_with_the_data(w, django_assert_max_num_queries, call, most):
    _more(w)
    f = flt(category_id=None)
    with django_assert_max_num_queries(most):
        first = call(f)
    assert first  # the figures exist
    with django_assert_max_num_queries(most):
        call(flt(category_id=w.tree.apparel.pk, location_ids=(w.wh.pk, w.ams.pk)))
