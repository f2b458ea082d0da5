"""Signed inbound orders (``POST /channels/{code}/orders/``) for tests: Standard Webhooks headers
computed here from the specification, not with the project's own signer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time


def signed_headers(
    body: bytes, *, secret: str, timestamp: int | str | None = None, message_id: str = ""
) -> dict[str, str]:
    """The ``webhook-id``/``-timestamp``/``-signature`` headers for ``body``, as Django test
    client keyword arguments. ``timestamp`` may be any text (the bad-input tests send ``nan``)."""
    message_id = message_id or f"msg_{secrets.token_hex(8)}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "HTTP_WEBHOOK_ID": message_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(timestamp),
        "HTTP_WEBHOOK_SIGNATURE": "v1," + base64.b64encode(digest).decode(),
    }
