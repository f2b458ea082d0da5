"""Tax foundation: the seeded EU VAT rates, worked examples of the arithmetic (shipping split,
rounding, refunds), bad input, the countries a channel sells to, product types' tax class, and
the admin screens."""

from __future__ import annotations

import importlib
from decimal import Decimal
from typing import Any, cast

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.test import Client

from catalog.models import ProductType
from core.countries import CountryInvalid
from core.models import Channel, ChannelCountry, TaxClass, TaxRate
from core.selectors import channel_countries, tax_rates_for
from core.services import channel_countries_set, tax_rates_seed
from core.tax import (
    EU_VAT_RATES,
    TAX_CLASSES,
    LineTax,
    TaxableLine,
    TaxInputInvalid,
    shipping_split,
    tax_compute,
    tax_line,
    tax_refund,
    tax_refund_amount,
)
from tests.factories import ChannelFactory

D = Decimal


def channel_new(**fields: Any) -> Channel:
    return cast(Channel, ChannelFactory(**fields))


def seeded() -> dict[str, dict[str, tuple[str, Decimal]]]:
    table: dict[str, dict[str, tuple[str, Decimal]]] = {}
    for rate in TaxRate.objects.select_related("tax_class"):
        table.setdefault(rate.country, {})[rate.tax_class.code] = (rate.name, rate.rate)
    return table


# --- the seeded rates ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_migration_seeds_the_current_eu_vat_rates() -> None:
    assert sorted(TaxClass.objects.values_list("code", flat=True)) == sorted(
        code for code, _ in TAX_CLASSES
    )
    assert seeded() == EU_VAT_RATES
    distinct = {
        country: sorted({rate for _, rate in rates.values()}, reverse=True)
        for country, rates in seeded().items()
    }
    assert distinct == {
        "NL": [D("21"), D("9"), D("0")],
        "BE": [D("21"), D("12"), D("6"), D("0")],
        "DE": [D("19"), D("7"), D("0")],
        "FR": [D("20"), D("10"), D("5.5"), D("2.1"), D("0")],
    }


def test_the_migrations_frozen_copy_equals_the_codes_table() -> None:
    migration = importlib.import_module("core.migrations.0008_tax_seed_eu_vat")
    frozen = {
        country: {code: (name, D(rate)) for code, name, rate in rates}
        for country, rates in migration.RATES.items()
    }
    assert frozen == EU_VAT_RATES
    assert list(TAX_CLASSES) == migration.CLASSES


@pytest.mark.django_db
def test_a_country_with_fewer_rates_maps_the_classes_it_lacks_to_its_reduced_rate() -> None:
    table = seeded()
    assert table["NL"]["intermediate"] == ("reduced", D("9.00"))
    assert table["NL"]["super_reduced"] == ("reduced", D("9.00"))
    assert table["DE"]["intermediate"] == ("reduced", D("7.00"))
    assert table["BE"]["super_reduced"] == ("reduced", D("6.00"))
    assert table["FR"]["super_reduced"] == ("super_reduced", D("2.10"))


@pytest.mark.django_db
def test_seeding_again_after_a_flush_restores_the_rates_and_keeps_existing_ones() -> None:
    TaxRate.objects.filter(country="FR").delete()
    TaxRate.objects.filter(country="NL", tax_class__code="standard").update(rate=D("20.00"))

    assert tax_rates_seed() == 5

    assert seeded()["FR"] == EU_VAT_RATES["FR"]
    assert seeded()["NL"]["standard"] == ("standard", D("20.00"))
    assert tax_rates_seed() == 0


@pytest.mark.django_db
def test_tax_rates_for_answers_every_class_of_a_country_in_one_query(
    django_assert_num_queries: Any,
) -> None:
    ids = dict(TaxClass.objects.values_list("code", "pk"))

    with django_assert_num_queries(1):
        rates = tax_rates_for(country="BE", tax_class_ids=[ids["standard"], ids["intermediate"]])
        shown = {class_id: (rate.tax_class.code, rate.rate) for class_id, rate in rates.items()}

    assert shown == {
        ids["standard"]: ("standard", D("21.00")),
        ids["intermediate"]: ("intermediate", D("12.00")),
    }
    assert tax_rates_for(country="US", tax_class_ids=[ids["standard"]]) == {}
    assert tax_rates_for(country="NL", tax_class_ids=[]) == {}


# --- the arithmetic -----------------------------------------------------------------------------


def test_an_inclusive_line_keeps_its_price_and_rounds_the_tax_half_up() -> None:
    # 12.10 at 21 %: 12.10 x 21 / 121 = 2.10 exactly; 9.99 at 9 %: 0.82486... -> 0.82
    assert tax_line(key="a", amount=D("12.10"), rate=D("21"), prices_include_tax=True) == LineTax(
        key="a", net=D("10.00"), tax=D("2.10"), gross=D("12.10"), rate=D("21")
    )
    line = tax_line(key="b", amount=D("9.99"), rate=D("9"), prices_include_tax=True)
    assert (line.net, line.tax, line.gross) == (D("9.17"), D("0.82"), D("9.99"))


def test_an_exclusive_line_adds_the_tax_rounded_half_up() -> None:
    # 0.50 at 1 % is 0.005: half-up gives 0.01 (banker's rounding would give 0.00).
    line = tax_line(key="a", amount=D("0.50"), rate=D("1"), prices_include_tax=False)
    assert (line.net, line.tax, line.gross) == (D("0.50"), D("0.01"), D("0.51"))
    line = tax_line(key="b", amount=D("100.00"), rate=D("19"), prices_include_tax=False)
    assert (line.net, line.tax, line.gross) == (D("100.00"), D("19.00"), D("119.00"))


def test_shipping_is_taxed_at_the_rate_of_the_goods_split_by_their_value() -> None:
    # Goods worth 80.00 at 21 % and 20.00 at 9 %: a 5.00 shipping charge is 4.00 at 21 % and
    # 1.00 at 9 %.
    lines = [
        TaxableLine(key="shirt", amount=D("50.00"), rate=D("21")),
        TaxableLine(key="book", amount=D("20.00"), rate=D("9")),
        TaxableLine(key="socks", amount=D("30.00"), rate=D("21")),
    ]

    result = tax_compute(lines=lines, shipping=D("5.00"), prices_include_tax=True)

    assert [(part.key, part.rate, part.gross, part.tax) for part in result.shipping] == [
        ("shipping@21", D("21"), D("4.00"), D("0.69")),  # 4.00 x 21 / 121 = 0.694
        ("shipping@9", D("9"), D("1.00"), D("0.08")),  # 1.00 x 9 / 109 = 0.083
    ]
    # shirt 8.68, socks 5.21, book 1.65
    assert [line.tax for line in result.lines] == [D("8.68"), D("1.65"), D("5.21")]
    assert result.by_rate[D("21")].tax == D("8.68") + D("5.21") + D("0.69")
    assert result.by_rate[D("9")].tax == D("1.65") + D("0.08")
    assert list(result.by_rate) == [D("21"), D("9")]
    assert result.total_gross == D("105.00")
    assert result.total_tax == D("16.31")
    assert result.total_net == D("88.69")


def test_a_shipping_cent_that_cannot_be_split_evenly_goes_to_the_largest_remainder() -> None:
    lines = [
        TaxableLine(key="a", amount=D("10.00"), rate=D("0")),
        TaxableLine(key="b", amount=D("10.00"), rate=D("9")),
        TaxableLine(key="c", amount=D("10.00"), rate=D("21")),
    ]
    # Three equal thirds of 1.00: the tie goes to the highest rate.
    assert shipping_split(shipping=D("1.00"), lines=lines) == [
        (D("21"), D("0.34")),
        (D("9"), D("0.33")),
        (D("0"), D("0.33")),
    ]
    lines[0] = TaxableLine(key="a", amount=D("10.01"), rate=D("0"))
    # Now the zero-rated goods weigh most: 0.33344..., the largest remainder.
    assert shipping_split(shipping=D("1.00"), lines=lines) == [
        (D("21"), D("0.33")),
        (D("9"), D("0.33")),
        (D("0"), D("0.34")),
    ]


def test_exclusive_prices_tax_shipping_the_same_way() -> None:
    lines = [
        TaxableLine(key="a", amount=D("75.00"), rate=D("19")),
        TaxableLine(key="b", amount=D("25.00"), rate=D("7")),
    ]
    result = tax_compute(lines=lines, shipping=D("4.00"), prices_include_tax=False)
    assert [(part.rate, part.net, part.tax, part.gross) for part in result.shipping] == [
        (D("19"), D("3.00"), D("0.57"), D("3.57")),
        (D("7"), D("1.00"), D("0.07"), D("1.07")),
    ]
    assert result.total_net == D("104.00")
    assert result.total_tax == D("14.25") + D("1.75") + D("0.57") + D("0.07")


def test_shipping_without_goods_of_value_takes_the_fallback_rate_or_is_refused() -> None:
    free = [TaxableLine(key="gift", amount=D("0.00"), rate=D("9"))]

    result = tax_compute(
        lines=free, shipping=D("4.95"), prices_include_tax=True, fallback_rate=D("21")
    )
    assert [(part.rate, part.gross, part.tax) for part in result.shipping] == [
        (D("21"), D("4.95"), D("0.86"))
    ]
    assert tax_compute(lines=[], shipping=D("0.00"), prices_include_tax=True).shipping == ()
    with pytest.raises(TaxInputInvalid) as refused:
        tax_compute(lines=free, shipping=D("4.95"), prices_include_tax=True)
    assert refused.value.code == "invalid_tax_input"
    assert "fallback_rate" in refused.value.message


@pytest.mark.parametrize(
    ("amount", "rate", "words"),
    [
        (D("-1.00"), D("21"), "negative"),
        (D("1.005"), D("21"), "whole cents"),
        (D("NaN"), D("21"), "finite"),
        (D("1.00"), D("100.01"), "from 0 to 100"),
        (D("1.00"), D("-1"), "from 0 to 100"),
    ],
)
def test_bad_amounts_and_rates_are_refused(amount: Decimal, rate: Decimal, words: str) -> None:
    with pytest.raises(TaxInputInvalid, match=words):
        tax_compute(
            lines=[TaxableLine(key="a", amount=amount, rate=rate)],
            shipping=D("0.00"),
            prices_include_tax=True,
        )


def test_duplicate_line_keys_are_refused() -> None:
    line = TaxableLine(key="a", amount=D("1.00"), rate=D("21"))
    with pytest.raises(TaxInputInvalid, match="unique"):
        tax_compute(lines=[line, line], prices_include_tax=True)


def test_refunds_by_quantity_take_the_tax_back_pro_rata_and_the_last_takes_the_rest() -> None:
    charged = LineTax(key="a", net=D("2.00"), tax=D("1.00"), gross=D("3.00"), rate=D("50"))

    parts = [
        tax_refund(charged=charged, quantity_charged=3, quantity_refunded_before=n, quantity=1)
        for n in range(3)
    ]

    assert [part.tax for part in parts] == [D("0.33"), D("0.34"), D("0.33")]
    assert [part.gross for part in parts] == [D("1.00"), D("1.00"), D("1.00")]
    assert sum(part.tax for part in parts) == charged.tax


def test_a_refund_of_more_than_was_charged_is_refused() -> None:
    charged = tax_line(key="a", amount=D("30.00"), rate=D("21"), prices_include_tax=True)
    with pytest.raises(TaxInputInvalid, match="more than was charged"):
        tax_refund(charged=charged, quantity_charged=3, quantity_refunded_before=2, quantity=2)
    with pytest.raises(TaxInputInvalid, match="at least one unit"):
        tax_refund(charged=charged, quantity_charged=3, quantity_refunded_before=0, quantity=0)
    with pytest.raises(TaxInputInvalid, match="more than was charged"):
        tax_refund_amount(charged=charged, refunded_before=D("20.00"), amount=D("10.01"))
    refund = tax_refund_amount(charged=charged, refunded_before=D("20.00"), amount=D("10.00"))
    assert refund.gross == D("10.00")


# --- channels' countries and prices --------------------------------------------------------------


@pytest.mark.django_db
def test_a_channel_sells_to_its_countries_in_order_the_first_being_the_default() -> None:
    channel = channel_new()
    assert channel.prices_include_tax is True
    assert channel.default_country is None

    channel_countries_set(channel=channel, countries=["BE", "NL", "DE"])

    assert channel_countries(channel) == ["BE", "NL", "DE"]
    assert channel_countries(channel.pk) == ["BE", "NL", "DE"]
    assert Channel.objects.get(pk=channel.pk).default_country == "BE"

    channel_countries_set(channel=channel, countries=["NL"])
    assert channel_countries(channel) == ["NL"]


@pytest.mark.django_db
@pytest.mark.parametrize("countries", [["NL", "XX"], ["nl"], ["NL", "NL"], ["NLD"]])
def test_unknown_or_repeated_countries_are_refused_and_change_nothing(
    countries: list[str],
) -> None:
    channel = channel_new()
    channel_countries_set(channel=channel, countries=["DE"])

    with pytest.raises(CountryInvalid) as refused:
        channel_countries_set(channel=channel, countries=countries)

    assert refused.value.code == "invalid_country"
    assert channel_countries(channel) == ["DE"]


@pytest.mark.django_db
def test_a_channel_names_a_country_once() -> None:
    channel = channel_new()
    ChannelCountry.objects.create(channel=channel, country="NL")
    with pytest.raises(IntegrityError), transaction.atomic():
        ChannelCountry.objects.create(channel=channel, country="NL", position=1)


# --- product types' tax class -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_product_type_is_standard_rated_unless_it_says_otherwise() -> None:
    plain = ProductType.objects.create(code="shirts", name="Shirts")
    books = ProductType.objects.create(
        code="books", name="Books", tax_class=TaxClass.objects.get(code="reduced")
    )

    assert plain.tax_class.code == "standard"
    assert books.tax_class.code == "reduced"
    with pytest.raises(ProtectedError):
        TaxClass.objects.get(code="reduced").delete()


@pytest.mark.django_db
def test_the_standard_class_is_recreated_when_a_flushed_database_lacks_it() -> None:
    TaxRate.objects.all().delete()
    TaxClass.objects.all().delete()

    product_type = ProductType.objects.create(code="shirts", name="Shirts")

    assert product_type.tax_class.code == "standard"


# --- rate validation and the admin -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field"),
    [({"rate": D("100.01")}, "rate"), ({"rate": D("-1")}, "rate"), ({"country": "XX"}, "country")],
)
def test_a_rate_outside_0_to_100_or_an_unknown_country_is_invalid(
    fields: dict[str, Any], field: str
) -> None:
    values = {
        "country": "LU",
        "tax_class": TaxClass.objects.get(code="standard"),
        "name": "standard",
        "rate": D("17"),
    } | fields
    with pytest.raises(ValidationError) as invalid:
        TaxRate(**values).full_clean()
    assert list(invalid.value.message_dict) == [field]


@pytest.mark.django_db
def test_the_database_refuses_a_rate_above_100() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        TaxRate.objects.create(
            country="LU",
            tax_class=TaxClass.objects.get(code="standard"),
            name="standard",
            rate=D("101"),
        )


@pytest.mark.django_db
def test_the_admin_lists_rates_by_country_and_refuses_bad_ones(admin_client: Client) -> None:
    standard = TaxClass.objects.get(code="standard")
    listing = admin_client.get("/admin/core/taxrate/?country__exact=FR")
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list.values_list("rate", flat=True)) == [
        D("20.00"),
        D("10.00"),
        D("5.50"),
        D("2.10"),
        D("0.00"),
    ]

    for bad, field, message in [
        ({"rate": "101"}, "rate", "less than or equal to 100"),
        ({"rate": "-2"}, "rate", "greater than or equal to 0"),
        ({"country": "XX"}, "country", "not an ISO 3166-1 alpha-2 country code"),
    ]:
        data = {"country": "LU", "tax_class": standard.pk, "name": "standard", "rate": "17"}
        page = admin_client.post("/admin/core/taxrate/add/", data | bad)
        assert page.status_code == 200
        assert message in " ".join(page.context["adminform"].form.errors[field])
    assert not TaxRate.objects.filter(country="LU").exists()

    added = admin_client.post(
        "/admin/core/taxrate/add/",
        {"country": "lu", "tax_class": standard.pk, "name": "standard", "rate": "17"},
    )
    assert added.status_code == 302
    assert TaxRate.objects.get(country="LU").rate == D("17.00")
    assert admin_client.get("/admin/core/taxclass/").status_code == 200


@pytest.mark.django_db
def test_the_channel_admin_edits_the_countries_sold_to(admin_client: Client) -> None:
    channel = channel_new(code="web", name="Web", kind="webshop", currency="EUR")
    url = f"/admin/core/channel/{channel.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert [formset.formset.prefix for formset in page.context["inline_admin_formsets"]] == [
        "countries"
    ]

    def post(countries: list[str], *, include_tax: bool) -> Any:
        data = {
            "code": "web",
            "name": "Web",
            "kind": "webshop",
            "currency": "EUR",
            "locale": "nl-NL",
            "stock_buffer_kind": "none",
            "stock_buffer_value": "0",
            "rate_limit_per_second": "10",
            "batch_size": "100",
            "is_active": "on",
            "countries-TOTAL_FORMS": str(len(countries)),
            "countries-INITIAL_FORMS": "0",
            "countries-MIN_NUM_FORMS": "0",
            "countries-MAX_NUM_FORMS": "1000",
        }
        if include_tax:
            data["prices_include_tax"] = "on"
        for i, country in enumerate(countries):
            data[f"countries-{i}-country"] = country
            data[f"countries-{i}-position"] = str(i)
        return admin_client.post(url, data)

    refused = post(["NL", "XX"], include_tax=False)
    assert refused.status_code == 200
    assert "not an ISO 3166-1 alpha-2 country code" in str(
        refused.context["inline_admin_formsets"][0].formset.errors
    )
    assert channel_countries(channel) == []
    assert Channel.objects.get(pk=channel.pk).prices_include_tax is True

    saved = post(["be", "NL"], include_tax=False)
    assert saved.status_code == 302
    assert channel_countries(channel) == ["BE", "NL"]
    assert Channel.objects.get(pk=channel.pk).prices_include_tax is False


@pytest.mark.django_db
def test_the_product_type_admin_shows_the_tax_class(admin_client: Client) -> None:
    ProductType.objects.create(code="books", name="Books")
    page = admin_client.get("/admin/catalog/producttype/")
    assert page.status_code == 200
    assert b"Standard rate" in page.content


# --- demo ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_channels_sell_to_the_netherlands_and_the_google_feed_to_be_and_de_too() -> None:
    from demo.seed import seed_channels

    seed_channels()

    assert channel_countries(Channel.objects.get(code="webshop")) == ["NL"]
    assert channel_countries(Channel.objects.get(code="google")) == ["NL", "BE", "DE"]
