"""The countries and languages a feed channel's files are written for.

A feed channel sells to the countries of its *countries sold to* (``ChannelCountry``, the first
is its default) in the languages each names (``nl, fr`` for BE; none: the channel's own
language). Its plain file (``/channels/{code}/feed.xml``) is for the **default locale**: the
default country in the channel's own language (``Channel.locale``). Every other pair is a
**variant**, asked for with ``?country=BE&language=fr`` and written beside the plain file from the
same stored items (``channels.feeds.services``).
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.locales import channel_country_languages, fallback_chain, locale_language
from core.errors import DomainError
from core.models import Channel


class FeedLocaleUnsupported(DomainError):
    """A country or language the channel's feeds are not written for (``unsupported_country``,
    ``unsupported_locale``); ``extra["locales"]`` lists the pairs that are."""

    code = "unsupported_locale"
    status = 400
    title = "The channel does not sell in this country or language"


@dataclass(frozen=True)
class FeedLocale:
    country: str  # ISO 3166-1 alpha-2, upper case; "" for a channel that names no country
    language: str  # a content language ("nl")

    @property
    def key(self) -> str:
        """The key of this locale's texts in a stored item (``fields["locales"]``): ``BE:fr``."""
        return f"{self.country}:{self.language}"

    def chain(self, channel: Channel) -> list[str]:
        """The languages a text is looked up in: this one, the channel's, then English."""
        return fallback_chain(self.language, channel.language)


def feed_locales(channel: Channel) -> list[FeedLocale]:
    """Every (country, language) the channel's feeds are written for, the default first (the
    default country in the channel's language), then each country's languages in country order.
    One query (none when ``countries`` is prefetched)."""
    pairs = channel_country_languages(channel)
    default_country = pairs[0][0].upper() if pairs else ""
    locales = [FeedLocale(default_country, channel.language)]
    for country, languages in pairs:
        for language in languages:
            locale = FeedLocale(country.upper(), language)
            if locale not in locales:
                locales.append(locale)
    return locales


def feed_locale_resolve(
    channel: Channel, *, country: str | None, language: str | None
) -> FeedLocale:
    """The locale of ``?country=&language=`` (either may be absent). No country: the default
    country. No language: the channel's own language when the country is sold to in it, else
    the country's first language. ``language`` may be a locale (``fr-BE`` is ``fr``). Raises
    ``FeedLocaleUnsupported`` for a country the channel does not sell to (``unsupported_country``)
    or a language it does not sell in there (``unsupported_locale``)."""
    locales = feed_locales(channel)
    offered = [f"{locale.country}/{locale.language}" for locale in locales]
    extra = {"locales": [{"country": lo.country, "language": lo.language} for lo in locales]}
    wanted_country = (country or "").strip().upper() or locales[0].country
    in_country = [locale for locale in locales if locale.country == wanted_country]
    if not in_country:
        raise FeedLocaleUnsupported(
            f"Channel {channel.code} does not sell to {wanted_country!r}; its feeds are for "
            f"{', '.join(offered)}.",
            code="unsupported_country",
            errors=[
                {
                    "field": "country",
                    "code": "unsupported_country",
                    "message": "One of: "
                    + ", ".join(dict.fromkeys(lo.country for lo in locales if lo.country)),
                }
            ],
            extra=extra,
        )
    if language is None or not language.strip():
        own = [locale for locale in in_country if locale.language == channel.language]
        return (own or in_country)[0]
    wanted_language = locale_language(language)
    for locale in in_country:
        if locale.language == wanted_language:
            return locale
    where = [lo.country or "-" for lo in locales if lo.language == wanted_language]
    hint = f" (it does in {', '.join(where)})" if where else ""
    raise FeedLocaleUnsupported(
        f"Channel {channel.code} does not sell in {language.strip()!r} in "
        f"{wanted_country or 'its default country'}{hint}; its feeds are for {', '.join(offered)}.",
        errors=[
            {
                "field": "language",
                "code": "unsupported_locale",
                "message": "One of: " + ", ".join(lo.language for lo in in_country),
            }
        ],
        extra=extra,
    )
