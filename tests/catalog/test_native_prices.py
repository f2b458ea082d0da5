"""Prices in the native catalog file (issue 19): a ``price[<channel>]`` and a
``compare_at_price[<channel>]`` column per channel, in the channel's currency, exported and
imported. A price change takes effect at once through ``price_set`` (history, ``price.changed``);
a file without the columns leaves prices alone; a bad cell names its row and column and the whole
import changes nothing. Given/when/then."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User

from catalog import services
from catalog.exceptions import ImportFileInvalid, NotAllowed
from catalog.models import Price, Product, Variant
from catalog.resources import NATIVE_COLUMNS, catalog_native_export, catalog_native_import
from config import roles
from core.models import ChangeEvent
from tests.catalog.factories import complete_product
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

WEB = "price[webshop]"
WEB_WAS = "compare_at_price[webshop]"
USD = "price[us-store]"
USD_WAS = "compare_at_price[us-store]"


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def _csv(rows: list[dict[str, str]], columns: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in columns})
    return out.getvalue().encode("utf-8")


def _base_prices() -> dict[tuple[str, str], tuple[Decimal, Decimal | None, str]]:
    return {
        (sku, channel): (amount, compare_at, currency)
        for sku, channel, amount, compare_at, currency in Price.objects.filter(
            starts_at=None, ends_at=None
        ).values_list("variant__sku", "channel__code", "amount", "compare_at_amount", "currency")
    }


@pytest.fixture
def tee(webshop: Any) -> Product:
    """Organic Tee S and M at 19.99 EUR on the webshop; a US store in USD with no prices yet."""
    ChannelFactory(code="us-store", currency="USD")
    return complete_product(webshop)


def test_the_export_has_a_price_and_a_was_price_column_per_channel(tee: Product) -> None:
    services.price_set(
        variant_id=Variant.objects.get(sku="ORGANIC-TEE-M").pk,
        channel_code="webshop",
        amount="24.95",
        compare_at_amount="29.95",
    )
    data = catalog_native_export(fmt="csv")
    header = data.decode().splitlines()[0].split(",")
    assert header == [*NATIVE_COLUMNS, USD, USD_WAS, WEB, WEB_WAS]
    rows = _rows(data)
    assert [(r["sku"], r[WEB], r[WEB_WAS], r[USD], r[USD_WAS]) for r in rows] == [
        ("ORGANIC-TEE-S", "19.99", "", "", ""),
        ("ORGANIC-TEE-M", "24.95", "29.95", "", ""),
    ]


def test_the_price_columns_cost_two_queries_whatever_the_size(
    tee: Product, django_assert_num_queries: Any
) -> None:
    # products, variants, channels, base prices
    with django_assert_num_queries(4):
        catalog_native_export(fmt="csv")
    for n in range(5):
        product = services.product_create(handle=f"extra-{n}", name=f"Extra {n}")
        variant = services.variant_save(product=product, sku=f"EXTRA-{n}")
        services.price_set(variant_id=variant.pk, channel_code="us-store", amount="3.00")
    with django_assert_num_queries(4):
        data = catalog_native_export(fmt="csv")
    assert [r[USD] for r in _rows(data) if r["sku"].startswith("EXTRA-")] == ["3.00"] * 5


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_prices_round_trip_and_a_changed_cell_takes_effect_at_once(tee: Product, fmt: str) -> None:
    # given an exported file, imported again unchanged: no price is written
    exported = catalog_native_export(fmt=fmt)
    events = ChangeEvent.objects.filter(topic="price.changed").count()
    summary = catalog_native_import(file_bytes=exported, fmt=fmt)
    assert summary["prices_changed"] == 0
    assert ChangeEvent.objects.filter(topic="price.changed").count() == events
    # when a price, a was-price and a new channel's price are changed in the file
    rows = _rows(catalog_native_export(fmt="csv"))
    rows[0][WEB], rows[0][WEB_WAS] = "17.50", "19.99"
    rows[1][USD] = "21"
    columns = list(rows[0].keys())
    summary = catalog_native_import(file_bytes=_csv(rows, columns), fmt="csv")
    # then they are the base prices at once, in each channel's currency, with price.changed
    assert summary["prices_changed"] == 2
    assert _base_prices() == {
        ("ORGANIC-TEE-S", "webshop"): (Decimal("17.50"), Decimal("19.99"), "EUR"),
        ("ORGANIC-TEE-M", "webshop"): (Decimal("19.99"), None, "EUR"),
        ("ORGANIC-TEE-M", "us-store"): (Decimal("21.00"), None, "USD"),
    }
    assert ChangeEvent.objects.filter(topic="price.changed").count() == events + 2
    price = Price.objects.get(variant__sku="ORGANIC-TEE-S", channel__code="webshop")
    assert price.history.first().amount == Decimal("17.50")  # type: ignore[union-attr]
    # and a price alone keeps the product's workflow state (prices need no review)
    assert Product.objects.get(pk=tee.pk).status == Product.Status.DRAFT


def test_an_emptied_was_price_is_removed_and_an_empty_price_leaves_the_price_alone(
    tee: Product,
) -> None:
    variant = Variant.objects.get(sku="ORGANIC-TEE-S")
    services.price_set(
        variant_id=variant.pk, channel_code="webshop", amount="15.00", compare_at_amount="19.99"
    )
    rows = _rows(catalog_native_export(fmt="csv"))
    rows[0][WEB_WAS] = ""  # the sale ends: no was-price
    rows[1][WEB] = ""  # leave TEE-M's price as it is
    catalog_native_import(file_bytes=_csv(rows, list(rows[0].keys())), fmt="csv")
    assert _base_prices()[("ORGANIC-TEE-S", "webshop")] == (Decimal("15.00"), None, "EUR")
    assert _base_prices()[("ORGANIC-TEE-M", "webshop")] == (Decimal("19.99"), None, "EUR")


def test_a_file_without_price_columns_leaves_prices_alone(tee: Product) -> None:
    before = _base_prices()
    rows = _rows(catalog_native_export(fmt="csv"))
    rows[0]["weight_grams"] = "180"
    summary = catalog_native_import(file_bytes=_csv(rows, list(NATIVE_COLUMNS)), fmt="csv")
    assert "prices_changed" not in summary
    assert _base_prices() == before
    assert Variant.objects.get(sku="ORGANIC-TEE-S").weight_grams == 180


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        ({WEB: "cheap"}, WEB, "Enter an amount of 0 or more with at most 2 decimals"),
        ({WEB: "-1.00"}, WEB, "Enter an amount of 0 or more with at most 2 decimals"),
        ({WEB: "1.999"}, WEB, "Enter an amount of 0 or more with at most 2 decimals"),
        ({WEB: "10.00", WEB_WAS: "9.00"}, WEB_WAS, "must be above the price"),
        ({WEB: "", WEB_WAS: "30.00"}, WEB_WAS, "needs a price"),
    ],
)
def test_a_bad_price_names_its_row_and_column_and_nothing_is_written(
    tee: Product, cells: dict[str, str], column: str, message: str
) -> None:
    before = _base_prices()
    events = ChangeEvent.objects.count()
    rows = _rows(catalog_native_export(fmt="csv"))
    rows[0][WEB] = "9.99"  # a good price on row 2 is not written either
    rows[0]["weight_grams"] = "180"  # nor is a good variant change
    rows[1].update(cells)  # row 3
    with pytest.raises(ImportFileInvalid) as refused:
        catalog_native_import(file_bytes=_csv(rows, list(rows[0].keys())), fmt="csv")
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(3, column)]
    assert message in refused.value.errors[0]["message"]
    assert _base_prices() == before
    assert Variant.objects.get(sku="ORGANIC-TEE-S").weight_grams is None
    assert ChangeEvent.objects.count() == events


def test_a_price_on_a_row_without_a_variant_is_refused(webshop: Any) -> None:
    services.product_create(handle="poster", name="Poster")
    columns = [*NATIVE_COLUMNS, WEB, WEB_WAS]
    data = _csv([{"handle": "poster", "product_name": "Poster", WEB: "5.00"}], columns)
    with pytest.raises(ImportFileInvalid) as refused:
        catalog_native_import(file_bytes=data, fmt="csv")
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(2, WEB)]
    assert not Price.objects.exists()


@pytest.mark.parametrize(
    ("columns", "bad"),
    [
        ([*NATIVE_COLUMNS, "price[nowhere]"], "price[nowhere]"),
        ([*NATIVE_COLUMNS, WEB_WAS], WEB_WAS),
        ([*NATIVE_COLUMNS, "price[]"], "price[]"),
    ],
)
def test_price_columns_of_unknown_channels_or_without_a_price_are_refused(
    tee: Product, columns: list[str], bad: str
) -> None:
    with pytest.raises(ImportFileInvalid) as refused:
        catalog_native_import(file_bytes=_csv([], columns), fmt="csv")
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(1, bad)]


def test_price_columns_need_the_price_permission(tee: Product) -> None:
    # given an importer who may edit products and variants but not prices
    user = User.objects.create_user("editor", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["add_product", "change_product", "add_variant", "change_variant"]
        )
    )
    user = User.objects.get(pk=user.pk)
    rows = _rows(catalog_native_export(fmt="csv"))
    rows[0][WEB] = "1.00"
    with pytest.raises(NotAllowed):
        catalog_native_import(file_bytes=_csv(rows, list(rows[0].keys())), fmt="csv", user=user)
    assert _base_prices()[("ORGANIC-TEE-S", "webshop")][0] == Decimal("19.99")
    # a merchandiser may
    merch = User.objects.create_user("merch2", is_staff=True)
    merch.groups.add(Group.objects.get(name=roles.MERCHANDISER))
    merch = User.objects.get(pk=merch.pk)
    catalog_native_import(file_bytes=_csv(rows, list(rows[0].keys())), fmt="csv", user=merch)
    assert _base_prices()[("ORGANIC-TEE-S", "webshop")][0] == Decimal("1.00")
