"""Reads of the bottom layer's own tables that other apps build on: where a channel sells, and
which tax rate a country charges for a tax class."""

from __future__ import annotations

from collections.abc import Iterable

from core.models import Channel, ChannelCountry, TaxClass, TaxRate


def channel_countries(channel: Channel | int) -> list[str]:
    """The countries a channel sells to, default (first) first: the one list that tax
    destinations and per-country feeds use."""
    channel_id = channel if isinstance(channel, int) else channel.pk
    return list(
        ChannelCountry.objects.filter(channel_id=channel_id)
        .order_by("position", "id")
        .values_list("country", flat=True)
    )


def tax_rates_for(*, country: str, tax_class_ids: Iterable[int]) -> dict[int, TaxRate]:
    """The rate ``country`` charges for each of ``tax_class_ids``, by tax class id, in one query.
    A class the country has no rate for is absent from the result: the caller decides (refuse,
    or treat as a country it does not sell to)."""
    ids = set(tax_class_ids)
    if not ids:
        return {}
    rates = TaxRate.objects.filter(country=country, tax_class_id__in=ids).select_related(
        "tax_class"
    )
    return {rate.tax_class_id: rate for rate in rates}


def tax_rate_list(*, country: str | None = None) -> list[TaxRate]:
    """Every rate (of one country), by country then highest rate first, with its class."""
    rates = TaxRate.objects.select_related("tax_class")
    if country is not None:
        rates = rates.filter(country=country)
    return list(rates.order_by("country", "-rate", "tax_class__code"))


def tax_class_list() -> list[TaxClass]:
    return list(TaxClass.objects.order_by("code"))
