"""``GET /channels/{code}/feed.{xml,tsv,csv}``: the stored feed file, with ETag and Last-Modified
(a conditional request that matches gets 304 and no body). Public like the storefront it
describes: a feed lists what the channel already shows to everyone.

The plain URL serves the channel's default country and language; ``?country=BE&language=fr``
serves another country and language the channel sells in (``channels.feeds.locales``), and one it
does not is ``400`` problem+json (``unsupported_country``, ``unsupported_locale``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase
from django.utils.http import http_date, quote_etag
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import condition, require_safe

from channels.feeds.locales import (
    FeedLocale,
    FeedLocaleUnsupported,
    feed_locale_resolve,
    feed_locales,
)
from channels.feeds.services import (
    CONTENT_TYPES,
    FeedFile,
    feed_channel_get,
    feed_for_request,
    feed_locale_for_request,
    feed_locale_open,
    feed_open,
)
from channels.models import Feed
from core.api.problems import problem_json
from core.models import Channel


def _feed(request: HttpRequest, code: str, fmt: str) -> Feed:
    cached = getattr(request, "_omnihub_feed", None)
    if cached is None:
        cached = feed_for_request(code=code, fmt=fmt)
        if cached is None or not cached.path:
            raise Http404(f"No {fmt} feed for channel '{code}'.")
        request._omnihub_feed = cached  # type: ignore[attr-defined]
    return cached


def _etag(request: HttpRequest, code: str, fmt: str) -> str:
    return _feed(request, code, fmt).etag


def _last_modified(request: HttpRequest, code: str, fmt: str) -> datetime | None:
    return _feed(request, code, fmt).generated_at


@csrf_exempt  # read-only: a POST is answered 405 rather than a CSRF 403
@require_safe
def feed_file(request: HttpRequest, code: str, fmt: str) -> HttpResponseBase:
    country = request.GET.get("country", "")
    language = request.GET.get("language", "")
    if not country.strip() and not language.strip():
        return _plain_file(request, code, fmt)
    channel = feed_channel_get(code=code, fmt=fmt)
    if channel is None:
        raise Http404(f"No {fmt} feed for channel '{code}'.")
    try:
        locale = feed_locale_resolve(channel, country=country, language=language)
    except FeedLocaleUnsupported as refused:
        return problem_json(
            refused.status,
            refused.code,
            refused.message,
            errors=refused.errors,
            extra=refused.extra,
            title=refused.title,
        )
    if locale == feed_locales(channel)[0]:  # the plain file, the same content
        return _plain_file(request, code, fmt)
    request._omnihub_feed_locale = (channel, locale)  # type: ignore[attr-defined]
    return _locale_file(request, code, fmt)


def _locale(request: HttpRequest, code: str, fmt: str) -> tuple[Channel, FeedLocale, FeedFile]:
    cached = getattr(request, "_omnihub_feed_file", None)
    channel, locale = request._omnihub_feed_locale  # type: ignore[attr-defined]
    if cached is None:
        cached = feed_locale_for_request(channel=channel, locale=locale, fmt=fmt)
        if cached is None:
            raise Http404(f"No {fmt} feed for channel '{code}'.")
        request._omnihub_feed_file = cached  # type: ignore[attr-defined]
    return channel, locale, cached


def _locale_etag(request: HttpRequest, code: str, fmt: str) -> str:
    return _locale(request, code, fmt)[2].etag


def _locale_last_modified(request: HttpRequest, code: str, fmt: str) -> datetime | None:
    return _locale(request, code, fmt)[2].generated_at


@condition(etag_func=_locale_etag, last_modified_func=_locale_last_modified)
def _locale_file(request: HttpRequest, code: str, fmt: str) -> HttpResponseBase:
    channel, locale, file = _locale(request, code, fmt)
    try:
        file, handle = feed_locale_open(file, channel=channel, locale=locale)
    except FileNotFoundError:
        raise Http404(f"No {fmt} feed for channel '{code}'.") from None
    name = f"{code}-{locale.country.lower()}-{locale.language}.{fmt}"
    return _file_response(
        handle,
        fmt=file.format,
        etag=file.etag,
        generated_at=file.generated_at,
        name=name,
        items=file.item_count,
    )


def _file_response(
    handle: Any, *, fmt: str, etag: str, generated_at: datetime | None, name: str, items: int
) -> HttpResponseBase:
    response: Any = FileResponse(handle, content_type=CONTENT_TYPES[fmt])
    response["ETag"] = quote_etag(etag)
    if generated_at is not None:
        response["Last-Modified"] = http_date(generated_at.timestamp())
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "public, max-age=60"
    response["X-Feed-Items"] = str(items)
    return response


@condition(etag_func=_etag, last_modified_func=_last_modified)
def _plain_file(request: HttpRequest, code: str, fmt: str) -> HttpResponseBase:
    try:
        # the file may have been swapped by a render since the row was read: feed_open serves
        # the file that replaced it, and the headers below describe that file
        feed, handle = feed_open(_feed(request, code, fmt))
    except (Feed.DoesNotExist, FileNotFoundError):
        raise Http404(f"No {fmt} feed for channel '{code}'.") from None
    return _file_response(
        handle,
        fmt=feed.format,
        etag=feed.etag,
        generated_at=feed.generated_at,
        name=f"{code}.{fmt}",
        items=feed.item_count,
    )
