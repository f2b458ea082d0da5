"""``GET /channels/{code}/feed.{xml,tsv,csv}``: the stored feed file, with ETag and Last-Modified
(a conditional request that matches gets 304 and no body). Public like the storefront it
describes: a feed lists what the channel already shows to everyone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase
from django.utils.http import http_date, quote_etag
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import condition, require_safe

from channels.feeds.services import CONTENT_TYPES, feed_for_request, feed_open
from channels.models import Feed


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
@condition(etag_func=_etag, last_modified_func=_last_modified)
def feed_file(request: HttpRequest, code: str, fmt: str) -> HttpResponseBase:
    try:
        # the file may have been swapped by a render since the row was read: feed_open serves
        # the file that replaced it, and the headers below describe that file
        feed, handle = feed_open(_feed(request, code, fmt))
    except (Feed.DoesNotExist, FileNotFoundError):
        raise Http404(f"No {fmt} feed for channel '{code}'.") from None
    response: Any = FileResponse(handle, content_type=CONTENT_TYPES[feed.format])
    response["ETag"] = quote_etag(feed.etag)
    if feed.generated_at is not None:
        response["Last-Modified"] = http_date(feed.generated_at.timestamp())
    response["Content-Disposition"] = f'inline; filename="{code}.{fmt}"'
    response["Cache-Control"] = "public, max-age=60"
    response["X-Feed-Items"] = str(feed.item_count)
    return response
