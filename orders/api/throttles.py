"""The brute-force limit on gift card lookups (``GET /api/v1/gift-cards/{code}/``).

Only misses count: a caller (API key, staff user, else IP) may look up a code that does not exist
``GIFT_CARD_MISS_RATE`` times (default ``10/hour``); after that every lookup is refused with 429
``rate_limited`` (and ``Retry-After``) until the oldest miss leaves the window. Found cards do not
count, so a till checking real cards all day is never slowed down. The window lives in the default
cache (Redis in production), so the limit holds across processes.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from core.api.principal import ApiPrincipal

logger = logging.getLogger("omnihub.api.throttling")


class GiftCardMissThrottle(SimpleRateThrottle):
    scope = "gift_card_miss"
    num_requests: int
    duration: int

    def get_rate(self) -> str:
        return str(getattr(settings, "GIFT_CARD_MISS_RATE", "10/hour"))

    def get_cache_key(self, request: Request, view: Any) -> str:
        principal = request.auth
        ident = principal.ident if isinstance(principal, ApiPrincipal) else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def _history(self, request: Request, view: Any) -> list[float]:
        self.key = self.get_cache_key(request, view)
        self.now = self.timer()
        history = [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]
        self.history = history
        return history

    def allow_request(self, request: Request, view: Any) -> bool:
        """Refuse once the caller's misses fill the window; a lookup itself records nothing."""
        try:
            if len(self._history(request, view)) >= self.num_requests:
                return self.throttle_failure()
        except Exception:
            logger.warning("rate-limit cache unreachable; request not throttled", exc_info=True)
        return True

    def miss_record(self, request: Request, view: Any) -> None:
        """Count a lookup of a code that does not exist."""
        try:
            history = self._history(request, view)
            history.insert(0, self.now)
            self.cache.set(self.key, history, self.duration)
        except Exception:
            logger.warning("rate-limit cache unreachable; miss not counted", exc_info=True)
