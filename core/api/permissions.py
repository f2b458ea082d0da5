"""Scope checks: a view declares which scope each HTTP method needs."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, permissions
from rest_framework.request import Request

from core.api.principal import ApiPrincipal

_READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def request_principal(request: Request) -> ApiPrincipal:
    principal = request.auth
    if not isinstance(principal, ApiPrincipal):
        raise exceptions.NotAuthenticated()
    return principal


class HasScope(permissions.BasePermission):
    """Allow an authenticated caller whose key carries the scope the view asks for.

    Views set ``read_scope`` (GET/HEAD/OPTIONS) and ``write_scope`` (anything else), or
    ``required_scopes = {"POST": "orders:write", ...}`` for finer control. A view that declares
    nothing only requires authentication.
    """

    message = "This API key lacks the scope this request needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, ApiPrincipal):
            raise exceptions.NotAuthenticated()
        scope = required_scope(view, request.method or "GET")
        if scope is None or principal.has_scope(scope):
            return True
        raise exceptions.PermissionDenied(
            detail=f"This API key lacks the '{scope}' scope.", code="missing_scope"
        )


def required_scope(view: Any, method: str) -> str | None:
    explicit: dict[str, str] = getattr(view, "required_scopes", {}) or {}
    if method in explicit:
        return explicit[method]
    if method in _READ_METHODS:
        return explicit.get("GET") or getattr(view, "read_scope", None)
    return getattr(view, "write_scope", None)
