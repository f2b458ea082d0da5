"""The dashboard on the admin home page: each role sees its own sections with the figures the
rollups hold, an operator sees only the channel-operations pages, a user without
``reports.view_reports`` sees the plain list of apps, and the page answers in a bounded number of
queries."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db.models import F, Sum
from django.test import Client
from django.utils import timezone

from catalog.models import Product, ProductCompleteness
from channels.models import Delivery
from core.models import ChangeEvent, Channel
from inventory.models import Location, StaffMember, StockLevel, Transfer
from orders.models import Order, Refund, Return
from reports import dashboard
from reports.models import DailySales
from tests.factories import UserFactory
from tests.reports import rollup_rows as rr

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-demo-password"
SECTION = re.compile(r'data-section="([a-z_]+)"')


@dataclass
class World:
    today: Any
    web: Channel
    uk: Channel
    pos: Channel
    ams: Location
    utr: Location
    warehouse: Location


def _order(channel: Channel, n: int) -> Order:
    return Order.objects.create(
        number=f"DASH-{n}",
        channel=channel,
        fulfillment_method="ship",
        currency=channel.currency,
        placed_at=timezone.now(),
    )


@pytest.fixture
def world() -> World:
    today = timezone.localdate()
    web = rr.channel("web")
    uk = rr.channel("uk", currency="GBP")
    pos = rr.channel("pos-ams", kind=Channel.Kind.POS)
    ams, utr = rr.location("ams"), rr.location("utr")
    warehouse = rr.location("wh", kind=Location.Kind.WAREHOUSE)
    shirt, shoe, hat = rr.variant("Shirt"), rr.variant("Shoe"), rr.variant("Hat")
    day = today - timedelta(days=3)
    rr.sales(day, web, ams, shirt, units_sold=3, gross="60.00", discount="5.00")
    rr.sales(today, web, warehouse, shirt, units_sold=2, gross="40.00", refunded="10.00")
    rr.sales(day, uk, warehouse, shoe, currency="GBP", units_sold=2, gross="80.00")
    rr.sales(day, pos, ams, hat, units_sold=1, gross="20.00")
    # an online return taken in at Utrecht, and a sale long ago (outside every range)
    rr.sales(day, web, utr, shoe, units_returned=1, refunded="25.00")
    rr.sales(today - timedelta(days=200), web, ams, hat, units_sold=9, gross="900.00")
    # stock: the shoe is sold out at Amsterdam
    rr.stock(shirt, ams, on_hand=10)
    rr.stock(shoe, ams, on_hand=0)
    rr.stock(shirt, warehouse, on_hand=30)
    # click & collect at Amsterdam: ready after 30 and 90 minutes; one still waiting
    placed = rr.at(day)
    rr.timing(web, ams, placed_at=placed, ready_after=timedelta(minutes=30))
    rr.timing(web, ams, placed_at=placed, ready_after=timedelta(minutes=90))
    rr.timing(
        web, ams, placed_at=placed, ready_after=timedelta(minutes=60), done_after=timedelta(hours=3)
    )
    # catalog: one product in review; completeness on web
    Product.objects.filter(pk=shirt.product_id).update(status=Product.Status.IN_REVIEW)
    ProductCompleteness.objects.create(product_id=shirt.product_id, channel=web, percent=80)
    ProductCompleteness.objects.create(product_id=shoe.product_id, channel=web, percent=100)
    ProductCompleteness.objects.create(product_id=hat.product_id, channel=web, percent=50)
    # inventory: one transfer in transit, one received
    Transfer.objects.create(source=warehouse, destination=ams, status=Transfer.Status.SHIPPED)
    Transfer.objects.create(source=warehouse, destination=utr, status=Transfer.Status.RECEIVED)
    # customer service: two authorised returns, one received and refunded, two received waiting
    for n, status in enumerate(["authorized", "authorized", "received", "received", "received"]):
        order = _order(web, n)
        ret = Return.objects.create(
            rma=f"RMA-{n}", order=order, status=status, location=ams, received_at=timezone.now()
        )
        if n == 2:
            Refund.objects.create(order=order, return_request=ret, key="r", amount=Decimal("5"))
    # channel operations: web has a dead delivery and a pending one 30 minutes old
    Delivery.objects.create(
        channel=web, stream="product", topic="product.updated", aggregate="product",
        aggregate_id="1", event_id=1, sequence=1, state=Delivery.State.DEAD,
    )  # fmt: skip
    pending = Delivery.objects.create(
        channel=web, stream="stock", topic="stock.changed", aggregate="variant",
        aggregate_id="2", event_id=2, sequence=1,
    )  # fmt: skip
    Delivery.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    return World(today, web, uk, pos, ams, utr, warehouse)


def _user(username: str, *roles: str, stores: tuple[Location, ...] = ()) -> Client:
    user: Any = UserFactory(username=username, password=PASSWORD, is_staff=True)
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    for store in stores:
        StaffMember.objects.create(user=user, location=store)
    client = Client()
    client.force_login(user)
    return client


def _home(client: Client, query: str = "") -> tuple[str, list[str]]:
    response = client.get(f"/admin/{query}")
    assert response.status_code == 200
    html = response.content.decode()
    return html, SECTION.findall(html)


def _chart(html: str, chart_id: str) -> dict[str, Any]:
    found = re.search(
        rf'<script id="{chart_id}" type="application/json">(.*?)</script>', html, re.S
    )
    assert found, f"no data for {chart_id}"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def _count(html: str, count_id: str) -> str:
    found = re.search(rf'id="{count_id}".*?data-count="([^"]*)"', html, re.S)
    assert found, f"no count {count_id}"
    return found.group(1)


# --- who sees what --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "sections"),
    [
        ("Merchandiser", ["sales", "catalog"]),
        ("Catalog approver", ["catalog"]),
        ("Inventory manager", ["stock"]),
        ("Store manager", ["stores"]),
        ("Customer service", ["service"]),
        ("Operator", ["channel_ops"]),
    ],
)
def test_each_role_sees_its_own_sections_and_no_other(world, role, sections):
    _, shown = _home(_user("someone", role, stores=(world.ams,)))
    assert shown == sections


def test_a_user_with_several_roles_sees_each_and_a_superuser_sees_all(world, admin_client):
    _, shown = _home(_user("both", "Customer service", "Inventory manager"))
    assert shown == ["stock", "service"]
    _, shown = _home(admin_client)
    assert shown == ["sales", "catalog", "stock", "stores", "service", "channel_ops"]


def test_a_user_without_the_reports_permission_sees_the_plain_app_list(world):
    html, shown = _home(_user("sam", "Store associate", stores=(world.ams,)))
    assert shown == []
    assert 'id="dashboard"' not in html
    assert 'data-chart="' not in html
    assert 'id="content-main"' in html  # Django's list of apps is still there


def test_the_operator_has_the_channel_operations_pages_and_nothing_else(world):
    client = _user("otto", "Operator")
    response = client.get("/admin/")
    models = {
        f"{app['app_label']}.{model['object_name']}"
        for app in response.context["app_list"]
        for model in app["models"]
    }
    assert models == {
        "core.Channel",
        "core.ChangeEvent",
        "channels.Delivery",
        "channels.Listing",
        "channels.FeedItem",
        "channels.StoreAcknowledgement",
        "channels.WebhookSubscription",
    }
    assert client.get("/admin/reports/sales/").status_code == 403  # the dashboard, no reports
    deliveries = client.get("/admin/channels/delivery/?state__exact=dead")
    assert deliveries.status_code == 200
    assert 'value="retry"' in deliveries.content.decode()  # the retry action comes with viewing
    for refused in ("/admin/catalog/product/", "/admin/orders/order/", "/admin/auth/user/"):
        assert client.get(refused).status_code == 403, refused
    assert client.get("/admin/channels/webhooksubscription/add/").status_code == 403


# --- the figures equal the rollups ----------------------------------------------------------------


def _net_by_channel(start: Any, end: Any) -> dict[tuple[str, str], Decimal]:
    rows = (
        DailySales.objects.filter(day__range=(start, end))
        .values("channel__code", "currency")
        .annotate(net=Sum(F("gross") - F("discount") - F("refunded")))
    )
    return {(row["channel__code"], row["currency"]): row["net"] for row in rows}


def test_sales_by_channel_has_one_dataset_per_currency_equal_to_the_rollups(world, admin_client):
    html, _ = _home(admin_client)
    data = _chart(html, "chart-sales-by-channel")
    expected = _net_by_channel(world.today - timedelta(days=29), world.today)
    drawn = {
        (label, dataset["currency"]): Decimal(str(value))
        for dataset in data["datasets"]
        for label, value in zip(data["labels"], dataset["data"], strict=True)
        if (label, dataset["currency"]) in expected
    }
    assert drawn == expected
    assert expected[("web", "EUR")] == Decimal("60.00")  # 55 net of discount + 30 - 25 returned
    assert sorted(dataset["currency"] for dataset in data["datasets"]) == ["EUR", "GBP"]
    # the GBP shoe is never added to the EUR figures
    assert drawn[("uk", "GBP")] == Decimal("80.00")
    assert "80.00 GBP" in html  # money with its currency in the top sellers


def test_the_range_switcher_changes_the_figures(world, admin_client):
    shirt = rr.variant("Old shirt")
    rr.sales(world.today - timedelta(days=40), world.web, world.ams, shirt, gross="100.00")

    def web_eur(query: str) -> float:
        html, _ = _home(admin_client, query)
        data = _chart(html, "chart-sales-by-channel")
        eur = next(ds for ds in data["datasets"] if ds["currency"] == "EUR")
        return float(dict(zip(data["labels"], eur["data"], strict=True))["web"])

    assert web_eur("") == 60.0  # the last 30 days
    assert web_eur("?days=90") == 160.0
    assert web_eur("?days=7") == 60.0
    assert web_eur("?days=1000") == 60.0  # not a choice: the default
    html, _ = _home(admin_client, "?days=90")
    assert 'data-days="90" aria-current="true"' in html


def test_catalog_figures_waiting_for_approval_and_completeness_gaps(world):
    html, _ = _home(_user("mara", "Merchandiser"))
    assert _count(html, "count-waiting-approval") == "1"
    assert "/admin/catalog/product/?status__exact=in_review" in html
    gaps = _chart(html, "chart-completeness-gaps")
    assert gaps["labels"] == ["web"]
    assert gaps["datasets"][0]["data"] == [2]  # 80 % and 50 %, not the complete shoe
    assert "/admin/catalog/product/?complete=no%3Aweb" in html


def test_stock_figures_equal_the_levels_and_transfers(world):
    html, _ = _home(_user("iris", "Inventory manager"))
    rates = _chart(html, "chart-out-of-stock")
    drawn = dict(zip(rates["labels"], rates["datasets"][0]["data"], strict=True))
    assert drawn == {"ams": 50.0, "wh": 0.0}  # the shoe of 2 stocked variants at Amsterdam
    assert _count(html, "count-in-transit") == "1"
    # the levels were written without ledger movements: the two with stock differ from theirs
    assert StockLevel.objects.count() == 3
    assert _count(html, "count-drift") == "2"
    assert "/admin/inventory/stocklevel/?state=drift" in html


def test_ledger_drift_uses_the_last_check_when_the_ledger_is_large(world, monkeypatch):
    from django.core.cache import cache

    monkeypatch.setattr(dashboard, "DRIFT_LIVE_MAX_LEVELS", 1)
    assert dashboard.ledger_drift()["levels"] is None  # no check ran yet: unknown, not 0
    cache.set(dashboard.DRIFT_CACHE_KEY, {"levels": 4, "at": 1_700_000_000.0})
    drift = dashboard.ledger_drift()
    assert drift["levels"] == 4 and drift["live"] is False


def test_store_manager_sees_the_figures_of_their_stores_only(world):
    html, _ = _home(_user("stan", "Store manager", stores=(world.utr,)))
    assert _count(html, "count-uncollected") == "0"  # the Amsterdam pickups are not theirs
    assert "Online returns taken in store" in html
    returns = re.search(r'id="table-store-returns".*?</table>', html, re.S)
    assert returns and "25.00 EUR" in returns.group(0)
    sales = _chart(html, "chart-store-sales")
    day = (world.today - timedelta(days=3)).isoformat()
    # net of returns: Utrecht only gave money back; Amsterdam's till sales are not theirs
    assert [ds["label"] for ds in sales["datasets"]] == ["web (EUR)"]
    assert dict(zip(sales["labels"], sales["datasets"][0]["data"], strict=True))[day] == -25.0

    html, _ = _home(_user("anna", "Store manager", stores=(world.ams,)))
    assert _count(html, "count-uncollected") == "2"
    pickup = _chart(html, "chart-pickup-times")
    assert pickup["labels"] == ["ams"]
    assert [ds["label"] for ds in pickup["datasets"]] == ["p50", "p90"]
    assert pickup["datasets"][0]["data"] == [60.0]  # 30, 60, 90 minutes
    sales = _chart(html, "chart-store-sales")
    day = (world.today - timedelta(days=3)).isoformat()
    by_series = {
        ds["label"]: dict(zip(sales["labels"], ds["data"], strict=True)) for ds in sales["datasets"]
    }
    assert by_series["web (EUR)"][day] == 55.0
    assert by_series["pos-ams (EUR)"][day] == 20.0
    assert len(sales["labels"]) == 30


def test_a_store_manager_without_a_store_is_told_so(world):
    html, _ = _home(_user("nobody", "Store manager"))
    assert 'id="stores-none"' in html


def test_customer_service_counts_open_returns_and_refunds_waiting(world):
    html, _ = _home(_user("cora", "Customer service"))
    assert _count(html, "count-open-returns") == "2"
    assert _count(html, "count-refunds-waiting") == "2"
    assert "/admin/orders/return/?status__exact=authorized" in html


def test_operator_sees_sync_lag_and_dead_deliveries_per_channel(world):
    ChangeEvent.objects.create(topic="product.updated", aggregate="product", aggregate_id="9",
                               sequence=1)  # fmt: skip
    html, _ = _home(_user("otto", "Operator"))
    assert _count(html, "count-dead-deliveries") == "1"
    assert _count(html, "count-outbox-pending") == "1"
    lag = _chart(html, "chart-sync-lag")
    minutes = dict(zip(lag["labels"], lag["datasets"][0]["data"], strict=True))
    assert 29.9 <= minutes["web"] <= 31
    assert minutes["uk"] == 0.0
    assert "/admin/channels/delivery/?state__exact=dead&amp;channel__id__exact=" in html


# --- bounded --------------------------------------------------------------------------------------


def test_the_whole_dashboard_answers_in_a_bounded_number_of_queries(
    world, admin_client, django_assert_max_num_queries
):
    admin_client.get("/admin/")  # warm the session and the content types
    with django_assert_max_num_queries(45):
        admin_client.get("/admin/")
    # more rows do not mean more queries
    for n in range(20):
        variant = rr.variant(f"Extra {n}")
        rr.sales(world.today, world.web, world.ams, variant, units_sold=1, gross="1.00")
        rr.stock(variant, world.utr, on_hand=n)
    with django_assert_max_num_queries(45):
        admin_client.get("/admin/")


def test_figures_grouped_per_currency_are_never_summed(world):
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in DailySales.objects.values("currency", "gross"):
        totals[row["currency"]] += row["gross"]
    html, _ = _home(_user("mara", "Merchandiser"))
    mixed = totals["EUR"] + totals["GBP"]
    assert f"{mixed:.2f}" not in html
