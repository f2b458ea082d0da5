"""``Idempotency-Key`` on POSTs that create something.

The first request with a key runs and its response is stored; a retry with the same key and the
same body replays that response (with ``Idempotent-Replayed: true``) without running again; the
same key with another body is refused with 422 ``idempotency_key_reused``; a retry that arrives
while the first is still running gets 409 ``idempotency_request_in_progress``. A request that ends
in an error stores nothing, so it can be retried with the same key. Keys are kept for
``API_IDEMPOTENCY_KEY_TTL_HOURS`` and then purged by a periodic task.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.permissions import request_principal
from core.api.problems import ApiError
from core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_REPLAYED_RESPONSE_HEADERS = ("Location",)


def request_fingerprint(*, method: str, path: str, data: Any) -> str:
    """What makes two requests "the same": method, path and the parsed body, key order aside."""
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method}\n{path}\n{body}".encode()).hexdigest()


def idempotency_record_begin(
    *, owner: str, key: str, method: str, path: str, fingerprint: str
) -> tuple[IdempotencyRecord, bool]:
    """Claim ``key`` for ``owner``; return the record and whether this call created it.

    The unique constraint on (owner, key) decides between concurrent first attempts.
    """
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                owner=owner, key=key, method=method, path=path, fingerprint=fingerprint
            )
        return record, True
    except IntegrityError:
        return IdempotencyRecord.objects.get(owner=owner, key=key), False


def idempotency_record_complete(*, record: IdempotencyRecord, response: Response) -> None:
    record.state = IdempotencyRecord.State.COMPLETED
    record.status_code = response.status_code
    record.response_body = response.data
    record.response_headers = {
        name: response[name] for name in _REPLAYED_RESPONSE_HEADERS if response.has_header(name)
    }
    record.save(update_fields=["state", "status_code", "response_body", "response_headers"])


def idempotency_record_abandon(*, record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).delete()


def idempotency_records_purge(*, older_than: timedelta | None = None) -> int:
    """Delete records older than the TTL; returns how many were deleted."""
    ttl = older_than or timedelta(hours=settings.API_IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - ttl).delete()
    return deleted


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate a view's ``post`` (or ``create``) to honour ``Idempotency-Key``."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        key = key.strip()
        if not 1 <= len(key) <= 255:
            raise ApiError(
                status_code=400,
                code="invalid_idempotency_key",
                detail="Idempotency-Key must be 1 to 255 characters.",
                errors=[{"field": HEADER, "code": "invalid", "message": "1 to 255 characters"}],
            )
        fingerprint = request_fingerprint(
            method=request.method or "POST", path=request.path, data=request.data
        )
        record, created = idempotency_record_begin(
            owner=request_principal(request).ident,
            key=key,
            method=request.method or "POST",
            path=request.path,
            fingerprint=fingerprint,
        )
        if not created:
            return _replay(record, fingerprint)
        try:
            response = handler(view, request, *args, **kwargs)
        except BaseException:
            idempotency_record_abandon(record=record)
            raise
        if response.status_code >= 400:
            idempotency_record_abandon(record=record)
        else:
            idempotency_record_complete(record=record, response=response)
        return response

    return wrapper


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise ApiError(
            status_code=422,
            code="idempotency_key_reused",
            detail="This Idempotency-Key was already used with a different request.",
        )
    if record.state != IdempotencyRecord.State.COMPLETED:
        raise ApiError(
            status_code=409,
            code="idempotency_request_in_progress",
            detail="A request with this Idempotency-Key is still being processed; retry shortly.",
            headers={"Retry-After": "1"},
        )
    headers = {**record.response_headers, REPLAYED_HEADER: "true"}
    return Response(record.response_body, status=record.status_code, headers=headers)
