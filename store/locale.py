"""The language of the store page.

A store sells through the store channel (``STORE_CHANNEL_CODE``, the channel of its till prices).
The page shows product names, descriptions and option labels in that channel's language for the
store's country: the country's own first language when the channel names languages for it
(``ChannelCountry.languages``: a BE store of a channel selling in ``nl, fr`` there reads Dutch),
else the channel's language (``Channel.locale``). A text missing in that language falls back to
the channel's language, then English (``catalog.locales.fallback_chain``).
"""

from __future__ import annotations

from typing import Any

from catalog.locales import (
    DEFAULT_LANGUAGE,
    channel_country_languages,
    fallback_chain,
    translated,
)
from inventory import selectors as stock
from inventory.models import Location


def store_languages(store: Location, *, channel_code: str) -> list[str]:
    """The fallback chain of ``store``'s page (``["nl", "en"]``); English when the store channel
    does not exist. One query at most (the channel comes from the shared channel cache)."""
    channel = stock.channel_get(code=channel_code, visible_codes=None)
    if channel is None:
        return [DEFAULT_LANGUAGE]
    language = channel.language
    country = (store.country or "").upper()
    for sold_to, languages in channel_country_languages(channel):
        if sold_to.upper() == country and languages:
            language = languages[0]
            break
    return fallback_chain(language, channel.language)


def product_texts(product: Any, languages: list[str]) -> dict[str, str]:
    """The product's ``name`` and ``description`` in the first language of ``languages`` that
    has each (English: the original columns)."""
    return {
        "name": str(translated(product, "name", languages)),
        "description": str(translated(product, "description", languages)),
    }
