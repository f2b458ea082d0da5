"""ETags for optimistic concurrency.

GET responses get their ``ETag`` (an MD5 of the body) and ``If-None-Match`` handling from Django's
``ConditionalGetMiddleware``. Writes that accept ``If-Match`` compute the ETag of the resource's
current representation the same way and refuse a stale one with 412.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils.http import parse_etags, quote_etag
from rest_framework.request import Request

from core.api.problems import ApiError
from core.api.renderers import FastJSONRenderer


def etag_for(data: Any) -> str:
    """The ETag a GET of ``data`` carries (same renderer, same hash as the middleware)."""
    content = FastJSONRenderer().render(data, "application/json", {})
    return quote_etag(hashlib.md5(content, usedforsecurity=False).hexdigest())


def require_if_match(request: Request, current: Any) -> None:
    """Raise 412 when ``If-Match`` is sent and matches neither ``*`` nor the current ETag.

    Call it inside the transaction that locks the resource, so the check and the write see the
    same state.
    """
    header = request.headers.get("If-Match")
    if not header:
        return
    etags = parse_etags(header)
    if "*" in etags:
        return
    current_etag = etag_for(current)
    strong = [tag for tag in etags if not tag.startswith("W/")]
    if current_etag not in strong:
        raise ApiError(
            status_code=412,
            code="precondition_failed",
            detail="The resource has changed since you read it: fetch it again and retry.",
            headers={"ETag": current_etag},
        )
