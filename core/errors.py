"""The base of every domain error.

Domain apps raise subclasses from their ``exceptions.py`` with a stable ``code`` that partners see
(``insufficient_stock``, ...). The API turns them into problem+json with ``status``; the admin and
the store page show ``message``.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code: str = "domain_error"
    status: int = 400
    title: str = "The request cannot be carried out"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.errors = errors or []
        self.extra = extra or {}
