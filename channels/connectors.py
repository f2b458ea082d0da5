"""Sending pushes over HTTP: Standard Webhooks signatures and the classification of answers.

A push is one POST with a JSON body, signed with the headers of the Standard Webhooks
specification: ``webhook-id`` (the same for every retry of the same content, so a receiver can
drop duplicates), ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` with the secret's bytes after ``whsec_``).

Every push goes to public addresses only (``core.net``): the URL is checked again before the
request and the connection is made to the addresses just checked, so a host that has since been
pointed at a private address (DNS rebinding) is refused without a request, as a ``refused``
result that fails the delivery instead of retrying it forever.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from django.utils import timezone

from core import net

_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def secret_bytes(secret: str) -> bytes:
    """The key of a ``whsec_`` secret (base64 after the prefix); any other string as UTF-8."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_"))
    return secret.encode()


def signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_verify(
    *, secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300
) -> bool:
    """True when ``headers`` carry a valid, recent Standard Webhooks signature of ``body``."""
    lowered = {key.lower(): value for key, value in headers.items()}
    message_id = lowered.get("webhook-id", "")
    raw_timestamp = lowered.get("webhook-timestamp", "")
    # ASCII digits only, at most 12 (year 33658): ``int()`` also takes signs, underscores and
    # other scripts' digits, and a huge number overflows the float arithmetic below.
    if not _TIMESTAMP.fullmatch(raw_timestamp):
        return False
    timestamp = int(raw_timestamp)
    if not message_id or abs(time.time() - timestamp) > tolerance:
        return False
    expected = signature(secret=secret, message_id=message_id, timestamp=timestamp, body=body)
    offered = lowered.get("webhook-signature", "").split()
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


@dataclass(frozen=True)
class PushResult:
    """What became of one request. ``outcome``: ``ok``, ``retry`` (timeout, 5xx, 429, network)
    or ``refused`` (another 4xx: the channel will not accept this content as it is)."""

    outcome: str
    status_code: int | None
    message: str
    retry_after: float | None
    duration_ms: int


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - timezone.now()).total_seconds(), 0.0)


def _message(body: bytes) -> str:
    """The channel's own explanation: ``detail``/``message``/``error`` of a JSON body, else text."""
    text = body[:2000].decode(errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict):
        for key in ("detail", "message", "error", "title"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return text


def push(*, url: str, secret: str, message_id: str, payload: Any, timeout: float) -> PushResult:
    """POST ``payload`` as JSON to ``url``, signed; never raises for network trouble."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "OmniHub-Sync/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
    }
    if secret:
        headers["webhook-signature"] = signature(
            secret=secret, message_id=message_id, timestamp=timestamp, body=body
        )
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        net.url_public_check(url)
        with net.urlopen_public(request, timeout=timeout) as response:
            response.read()
            return PushResult("ok", response.status, "", None, elapsed())
    except net.UrlNotAllowed as refused:
        # a name that does not resolve may be a passing DNS failure; a private address is not
        outcome = "retry" if refused.reason == "unresolvable" else "refused"
        return PushResult(outcome, None, f"not sent: {refused.message}", None, elapsed())
    except urllib.error.HTTPError as error:
        status = error.code
        message = _message(error.read() or b"") or error.reason or f"HTTP {status}"
        retry_after = _retry_after(error.headers.get("Retry-After"))
        retryable = status >= 500 or status in (408, 409, 425, 429)
        return PushResult(
            "retry" if retryable else "refused", status, str(message), retry_after, elapsed()
        )
    except TimeoutError:
        return PushResult("retry", None, f"timed out after {timeout:g} s", None, elapsed())
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return PushResult("retry", None, f"network error: {reason}", None, elapsed())
