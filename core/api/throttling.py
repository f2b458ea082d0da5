"""Per-key rate limits: ``429`` with ``Retry-After`` once a key exceeds its rate."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from core.api.principal import ApiPrincipal

logger = logging.getLogger("omnihub.api.throttling")


class PerKeyRateThrottle(SimpleRateThrottle):
    """A sliding-window limit per API key (per user for staff sessions, per IP otherwise).

    The window lives in the default cache, which is Redis in production, so the limit holds across
    every gunicorn process. A key's own ``rate_limit`` overrides the default rate.
    """

    scope = "per_key"

    def allow_request(self, request: Request, view: Any) -> bool:
        principal = request.auth
        if isinstance(principal, ApiPrincipal) and principal.api_key is not None:
            override = principal.api_key.rate_limit
            if override:
                self.rate = override
                self.num_requests, self.duration = self.parse_rate(override)
        try:
            return super().allow_request(request, view)
        except Exception:
            # The window lives in Redis: when it cannot be reached the request goes through
            # (unthrottled, logged) rather than failing; limits resume with Redis.
            logger.warning("rate-limit cache unreachable; request not throttled", exc_info=True)
            return True

    def get_cache_key(self, request: Request, view: Any) -> str:
        principal = request.auth
        ident = principal.ident if isinstance(principal, ApiPrincipal) else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
