"""Writes of the bottom layer's own tables: the countries a channel sells to, the seeded tax
rates."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from core.countries import COUNTRY_CODES, CountryInvalid
from core.models import Channel, ChannelCountry, TaxClass, TaxRate
from core.tax import EU_VAT_RATES, TAX_CLASSES


def channel_countries_set(*, channel: Channel, countries: Sequence[str]) -> list[ChannelCountry]:
    """Replace the countries ``channel`` sells to with ``countries``, in that order (the first is
    the default). An unknown code or a country named twice is refused and changes nothing."""
    unknown = [code for code in countries if code not in COUNTRY_CODES]
    if unknown:
        raise CountryInvalid(
            f"Not ISO 3166-1 alpha-2 country codes: {', '.join(map(repr, unknown))}.",
            errors=[
                {"field": "countries", "code": "invalid_country", "message": repr(code)}
                for code in unknown
            ],
        )
    if len(set(countries)) != len(countries):
        raise CountryInvalid("A country is named more than once.")
    with transaction.atomic():
        ChannelCountry.objects.filter(channel=channel).delete()
        return ChannelCountry.objects.bulk_create(
            ChannelCountry(channel=channel, country=code, position=position)
            for position, code in enumerate(countries)
        )


def tax_rates_seed() -> int:
    """Create the tax classes and the EU VAT rates of ``core.tax.EU_VAT_RATES`` that are missing
    (the migration seeds them; a test database flushed since has none). Existing rows are left
    as they are. Returns how many rates were created."""
    created = 0
    with transaction.atomic():
        classes = {}
        for code, name in TAX_CLASSES:
            classes[code], _ = TaxClass.objects.get_or_create(code=code, defaults={"name": name})
        for country, rates in EU_VAT_RATES.items():
            for class_code, (name, rate) in rates.items():
                _, made = TaxRate.objects.get_or_create(
                    country=country,
                    tax_class=classes[class_code],
                    defaults={"name": name, "rate": rate},
                )
                created += made
    return created
