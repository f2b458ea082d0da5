"""The dashboard in a real Chromium: each role logs in, the charts are drawn, and the values each
chart was given (``Chart.getChart(canvas).data``) equal the rollups. A screenshot per role."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db.models import F, Sum
from django.utils import timezone

from core.models import Channel
from inventory.models import Location, StaffMember
from reports.models import DailySales
from tests.browser import save_screenshot
from tests.factories import UserFactory
from tests.reports import rollup_rows as rr

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-demo-password"

# the values a chart holds, as Chart.js has them after drawing
CHART_DATA = """(id) => {
  const canvas = document.getElementById(id + "-canvas");
  const chart = window.Chart && window.Chart.getChart(canvas);
  if (!chart) return null;
  return {labels: chart.data.labels,
          datasets: chart.data.datasets.map(d => ({label: d.label, data: d.data}))};
}"""


@pytest.fixture
def figures() -> dict[str, Any]:
    today = timezone.localdate()
    web = rr.channel("web")
    uk = rr.channel("uk", currency="GBP")
    pos = rr.channel("pos-ams", kind=Channel.Kind.POS)
    ams = rr.location("ams")
    warehouse = rr.location("wh", kind=Location.Kind.WAREHOUSE)
    shirt, shoe, hat = rr.variant("Shirt"), rr.variant("Shoe"), rr.variant("Hat")
    for back in range(0, 30, 3):
        day = today - timedelta(days=back)
        rr.sales(day, web, ams, shirt, units_sold=2, gross=f"{40 + back}.00", discount="2.00")
        rr.sales(day, pos, ams, hat, units_sold=1, gross="15.00")
        rr.sales(day, uk, warehouse, shoe, currency="GBP", units_sold=1, gross="70.00")
    rr.stock(shirt, ams, on_hand=12)
    rr.stock(shoe, ams, on_hand=0)
    rr.stock(hat, warehouse, on_hand=5)
    placed = rr.at(today - timedelta(days=2))
    for minutes in (20, 40, 120):
        rr.timing(web, ams, placed_at=placed, ready_after=timedelta(minutes=minutes))
    return {"today": today, "ams": ams}


def _login(
    page: Any,
    live_server: Any,
    username: str,
    *roles: str,
    stores: Any = (),
    superuser: bool = False,
) -> None:
    user: Any = UserFactory(
        username=username, password=PASSWORD, is_staff=True, is_superuser=superuser
    )
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    for store in stores:
        StaffMember.objects.create(user=user, location=store)
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def _drawn(page: Any, chart_id: str) -> dict[str, Any]:
    page.wait_for_function(
        f"() => window.Chart && Chart.getChart(document.getElementById('{chart_id}-canvas'))"
    )
    data: dict[str, Any] = page.evaluate(CHART_DATA, chart_id)
    return data


def _net(**filters: Any) -> dict[tuple[str, str], Decimal]:
    rows = (
        DailySales.objects.filter(**filters)
        .values("channel__code", "currency")
        .annotate(net=Sum(F("gross") - F("discount") - F("refunded")))
    )
    return {(row["channel__code"], row["currency"]): row["net"] for row in rows}


def test_admin_sees_every_chart_drawn_with_the_rollup_figures(live_server, page, figures):
    _login(page, live_server, "boss", superuser=True)
    page.wait_for_selector("#dashboard")

    sales = _drawn(page, "chart-sales-by-channel")
    today = figures["today"]
    expected = _net(day__range=(today - timedelta(days=29), today))
    drawn = {
        (label, dataset["label"]): Decimal(str(value))
        for dataset in sales["datasets"]
        for label, value in zip(sales["labels"], dataset["data"], strict=True)
        if value
    }
    assert drawn == expected
    assert [dataset["label"] for dataset in sales["datasets"]] == ["EUR", "GBP"]

    stock = _drawn(page, "chart-out-of-stock")
    assert dict(zip(stock["labels"], stock["datasets"][0]["data"], strict=True)) == {
        "ams": 50.0,
        "wh": 0.0,
    }
    pickup = _drawn(page, "chart-pickup-times")
    assert pickup["labels"] == ["ams"]
    assert pickup["datasets"][0]["data"] == [40.0]  # p50 of 20, 40, 120 minutes
    store_sales = _drawn(page, "chart-store-sales")
    web = next(ds for ds in store_sales["datasets"] if ds["label"] == "web (EUR)")
    by_day = dict(zip(store_sales["labels"], web["data"], strict=True))
    assert (
        Decimal(str(by_day[today.isoformat()]))
        == _net(day=today, location__code="ams")[("web", "EUR")]
    )
    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn === 'true'")
    save_screenshot(page, "dashboard-admin")


@pytest.mark.parametrize(
    ("role", "charts", "name"),
    [
        ("Merchandiser", ["chart-sales-by-channel"], "merchandiser"),
        ("Inventory manager", ["chart-out-of-stock", "chart-stock-cover"], "inventory-manager"),
        ("Store manager", ["chart-store-sales", "chart-pickup-times"], "store-manager"),
        ("Customer service", [], "customer-service"),
        ("Operator", ["chart-sync-lag"], "operator"),
        ("Catalog approver", [], "catalog-approver"),
    ],
)
def test_each_role_sees_its_own_charts_drawn(live_server, page, figures, role, charts, name):
    _login(page, live_server, name, role, stores=(figures["ams"],))
    page.wait_for_selector("#dashboard")
    drawn_ids = page.evaluate(
        "() => [...document.querySelectorAll('canvas[data-chart]')]"
        ".filter(c => Chart.getChart(c)).map(c => c.dataset.source)"
    )
    assert sorted(drawn_ids) == sorted(charts)
    if role == "Merchandiser":
        sales = _drawn(page, "chart-sales-by-channel")
        today = figures["today"]
        expected = _net(day__range=(today - timedelta(days=29), today))
        eur = dict(zip(sales["labels"], sales["datasets"][0]["data"], strict=True))
        assert Decimal(str(eur["web"])) == expected[("web", "EUR")]
    save_screenshot(page, f"dashboard-{name}")
