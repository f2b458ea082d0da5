"""Which language a channel shows, and reading content in one language.

Content is written per language (``catalog/translation.py``: a ``<field>_<language>`` column
beside each translated field; the original column holds English, the project default). A
channel sells in its default locale's language (``Channel.locale``, ``nl-NL`` -> ``nl``) and in
the languages named per country it sells to (``ChannelCountry.languages``: ``NL`` in ``nl``,
``BE`` in ``nl, fr``). Locale codes are normalised by one function,
``core.models.channels.locale_language``, re-exported here.

A read in a language follows the **fallback chain**: the requested language, then the channel's
default language, then English (``fallback_chain``); the first non-empty value wins. Nothing
here reads the thread's active language (``translation.get_language()``): callers name the
language, so an API answer, a feed or a page never depends on which language a request or a
task happened to activate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings

from catalog.exceptions import LocaleUnsupported
from core.models import Channel, ChannelCountry
from core.models.channels import (
    LOCALE_MAX_LENGTH,
    LOCALE_PATTERN,
    content_languages,
    language_supported,
    locale_language,
)

__all__ = [
    "DEFAULT_LANGUAGE",
    "channel_country_languages",
    "channel_languages",
    "content_languages",
    "fallback_chain",
    "language_supported",
    "locale_language",
    "locale_resolve",
    "locale_supported",
    "snapshot_localize",
    "snapshot_translations",
    "translated",
    "translated_value",
    "translation_column",
    "translation_columns",
]

DEFAULT_LANGUAGE: str = settings.MODELTRANSLATION_DEFAULT_LANGUAGE  # "en"
# the languages held in translation columns only (English is also the original column)
OTHER_LANGUAGES: tuple[str, ...] = tuple(
    code for code, _ in settings.LANGUAGES if code != DEFAULT_LANGUAGE
)


def _channel_row(channel: Channel | int | str) -> Channel:
    if isinstance(channel, Channel):
        return channel
    if isinstance(channel, int):
        return Channel.objects.get(pk=channel)
    return Channel.objects.get(code=channel)


def channel_country_languages(channel: Channel | int | str) -> list[tuple[str, list[str]]]:
    """``[(country, [language, ...]), ...]`` in the channel's country order (the default country
    first): the languages the channel sells in there, that country's default first. A country
    that names none sells in the channel's own language. One query (none for a channel with
    prefetched ``countries``)."""
    row = _channel_row(channel)
    countries: Iterable[ChannelCountry]
    prefetched = getattr(row, "_prefetched_objects_cache", {})
    if "countries" in prefetched:
        countries = row.countries.all()
    else:
        countries = ChannelCountry.objects.filter(channel_id=row.pk).order_by("position", "id")
    return [(c.country, c.language_list or [row.language]) for c in countries]


def channel_languages(channel: Channel | int | str) -> list[str]:
    """Every language the channel sells in: its default locale's language first, then the
    countries' languages in country order, without repeats."""
    row = _channel_row(channel)
    languages = [row.language]
    for _country, names in channel_country_languages(row):
        languages.extend(lang for lang in names if lang not in languages)
    return languages


def locale_supported(channel: Channel | int | str, locale: str) -> bool:
    """Whether the channel sells in ``locale``'s language (``nl-BE`` and ``nl`` alike)."""
    return locale_language(locale) in channel_languages(channel)


def fallback_chain(language: str | None, channel_language: str | None = None) -> list[str]:
    """The languages a read tries, in order: ``language``, the channel's default language, then
    English, without repeats and without languages content is not written in."""
    chain: list[str] = []
    for candidate in (language, channel_language, DEFAULT_LANGUAGE):
        if candidate and language_supported(candidate) and candidate not in chain:
            chain.append(candidate)
    return chain


def locale_resolve(channel: Channel | int | str, locale: str | None) -> list[str]:
    """The fallback chain for a read of ``channel``'s content in ``locale`` (None: the channel's
    default). A locale the channel does not sell in, or anything but a locale code
    (``LOCALE_PATTERN``, at most ``LOCALE_MAX_LENGTH`` characters), raises ``LocaleUnsupported``
    (``unsupported_locale``) naming the languages it does sell in."""
    row = _channel_row(channel)
    if locale is None:
        return fallback_chain(row.language, row.language)
    if len(locale) > LOCALE_MAX_LENGTH or not re.fullmatch(LOCALE_PATTERN, locale):
        raise LocaleUnsupported(
            f"{locale[:LOCALE_MAX_LENGTH]!r} is not a locale code such as nl or nl-BE.",
            errors=[
                {
                    "field": "locale",
                    "code": "unsupported_locale",
                    "message": "A language code, optionally with a region: nl, nl-BE.",
                }
            ],
            extra={"locales": channel_languages(row)},
        )
    language = locale_language(locale)
    if language == row.language:  # no need to read the countries
        return fallback_chain(language, row.language)
    languages = channel_languages(row)
    if language not in languages:
        raise LocaleUnsupported(
            f"Channel {row.code} does not sell in {locale!r}; it sells in {', '.join(languages)}.",
            errors=[
                {
                    "field": "locale",
                    "code": "unsupported_locale",
                    "message": f"One of: {', '.join(languages)}.",
                }
            ],
            extra={"locales": languages},
        )
    return fallback_chain(language, row.language)


def translation_column(field: str, language: str) -> str:
    """The column of ``field`` in ``language`` (``name``, ``nl`` -> ``name_nl``)."""
    return f"{field}_{language}"


def translation_columns(fields: Sequence[str], languages: Sequence[str] | None = None) -> list[str]:
    """The columns of ``fields`` in ``languages`` (every content language when None), for
    ``values()``/``only()`` of a read in several languages."""
    return [
        translation_column(field, language)
        for field in fields
        for language in (languages if languages is not None else content_languages())
    ]


def _meaningful(value: Any) -> bool:
    return value is not None and value != ""


def translated_value(row: Mapping[str, Any], field: str, chain: Sequence[str]) -> Any:
    """``field`` of a ``values()`` row in the first language of ``chain`` that has it, else the
    original column (English) when the row has it, else ""."""
    for language in chain:
        value = row.get(translation_column(field, language))
        if _meaningful(value):
            return value
    original = row.get(field)
    return original if original is not None else ""


def translated(obj: Any, field: str, chain: Sequence[str] | str) -> Any:
    """``field`` of a model instance in the first language of ``chain`` (a chain or one
    language) that has a value, else its original column (English), else ""."""
    languages = [chain] if isinstance(chain, str) else list(chain)
    for language in languages:
        value = getattr(obj, translation_column(field, language), None)
        if _meaningful(value):
            return value
    original = obj.__dict__.get(field)  # the column as loaded, not modeltranslation's descriptor
    return original if original is not None else ""


# --- the approved snapshot in other languages -----------------------------------------------------


def snapshot_translations(
    *,
    product: Any,
    content_rows: Iterable[Mapping[str, Any]],
    option_rows: Iterable[Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """The customer-visible text of a product in each language but English, for its approved
    snapshot: ``{language: {"name", "description", "category", "channel_content": {channel:
    {"title", "description"}}, "option_labels": {attribute: {option: label}}}}``, with only
    the texts written in that language (English stays in the snapshot's own keys).
    ``content_rows``/``option_rows`` are ``values()`` rows with the translation columns."""
    category = getattr(product, "category", None)
    content_rows = list(content_rows)
    option_rows = list(option_rows)
    result: dict[str, dict[str, Any]] = {}
    for language in OTHER_LANGUAGES:
        texts: dict[str, Any] = {}
        for field in ("name", "description"):
            value = getattr(product, translation_column(field, language), None)
            if _meaningful(value):
                texts[field] = value
        if category is not None:
            value = getattr(category, translation_column("name", language), None)
            if _meaningful(value):
                texts["category"] = value
        content: dict[str, dict[str, str]] = {}
        for row in content_rows:
            entry = {
                field: row[translation_column(field, language)]
                for field in ("title", "description")
                if _meaningful(row.get(translation_column(field, language)))
            }
            if entry:
                content[row["channel__code"]] = entry
        if content:
            texts["channel_content"] = content
        labels: dict[str, dict[str, str]] = {}
        for row in option_rows:
            label = row.get(translation_column("label", language))
            if _meaningful(label):
                labels.setdefault(row["attribute__code"], {})[row["code"]] = str(label)
        if labels:
            texts["option_labels"] = labels
        if texts:
            result[language] = texts
    return result


def snapshot_localize(snapshot: Mapping[str, Any], chain: Sequence[str]) -> dict[str, Any]:
    """A copy of an approved snapshot with its texts in the first language of ``chain`` that has
    each (English: the snapshot's own). Snapshots approved before translations existed have
    none: they read in English whatever the chain."""
    translations: Mapping[str, Any] = snapshot.get("translations") or {}
    languages = [lang for lang in chain if lang == DEFAULT_LANGUAGE or lang in translations]
    if languages in ([], [DEFAULT_LANGUAGE]):
        return dict(snapshot)

    def pick(path: Sequence[str], english: Any) -> Any:
        for language in languages:
            if language == DEFAULT_LANGUAGE:
                return english
            node: Any = translations[language]
            for key in path:
                node = node.get(key) if isinstance(node, Mapping) else None
            if _meaningful(node):
                return node
        return english

    local = dict(snapshot)
    local["name"] = pick(["name"], snapshot["name"])
    local["description"] = pick(["description"], snapshot["description"])
    if snapshot.get("category"):
        category = dict(snapshot["category"])
        category["name"] = pick(["category"], category["name"])
        local["category"] = category
    local["channel_content"] = {
        code: {
            field: pick(["channel_content", code, field], text.get(field, ""))
            for field in ("title", "description")
        }
        for code, text in (snapshot.get("channel_content") or {}).items()
    }
    local["option_labels"] = {
        attribute: {
            option: pick(["option_labels", attribute, option], label)
            for option, label in options.items()
        }
        for attribute, options in (snapshot.get("option_labels") or {}).items()
    }
    return local
