"""Middleware that runs only where it does something.

The back office and the store page need sessions, CSRF, messages, htmx and the request-bound
history user; a partner's API call needs none of them. Wrapping Django's and the libraries'
middleware (rather than forking them) lets ``MIDDLEWARE`` keep its order while an API request
skips the work:

* under ``/api/`` htmx (``request.htmx``) and django-simple-history's request binding never run:
  no API view renders htmx fragments, and API writes record who made them through the services'
  ``Actor``, not through the request;
* under ``/api/`` with ``Authorization: Api-Key ...`` the session, CSRF, authentication and
  messages middleware do not run either: the key is the credential, DRF's views are CSRF-exempt,
  and nothing reads a session. A staff member's browser session on the API (no ``Api-Key``
  header) still gets all of them, so ``StaffSessionAuthentication`` and its CSRF check work as
  before.

Each wrapper is a subclass of the middleware it wraps (so Django's admin checks still find the
session, auth and messages middleware) that decides per request with a string comparison or two.

``AuditContextMiddleware`` is of another kind: it opens the audit context (``core.audit``) of
every request, so the audit entries written by services say through which surface and from which
address the action came, and who was signed in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware
from django_htmx.middleware import HtmxMiddleware
from simple_history.middleware import HistoryRequestMiddleware

from config.login_protection import client_ip
from core.audit import audit_context, surface_for_path

API_PREFIX = "/api/"
_API_KEY_SCHEME = "api-key "


def is_api_path(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def carries_api_key(request: HttpRequest) -> bool:
    """An ``/api/`` request that authenticates with ``Authorization: Api-Key <key>``."""
    if not request.path_info.startswith(API_PREFIX):
        return False
    header = request.META.get("HTTP_AUTHORIZATION", "")
    return header[:8].lower() == _API_KEY_SCHEME


class _Skipped:
    """Mixed in before a middleware class: a request that ``skips`` goes straight to the next
    layer; any other runs the wrapped middleware. Synchronous (under ASGI Django adapts around
    it)."""

    async_capable = False
    get_response: Callable[[HttpRequest], Any]

    def skips(self, request: HttpRequest) -> bool:
        return carries_api_key(request)

    def __call__(self, request: HttpRequest) -> Any:
        if self.skips(request):
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]


class SessionUnlessApiKey(_Skipped, SessionMiddleware):
    pass


class CsrfUnlessApiKey(_Skipped, CsrfViewMiddleware):
    def process_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # The check itself happens here, which Django calls apart from __call__.
        if self.skips(request):
            return None
        return super().process_view(request, *args, **kwargs)


class AuthenticationUnlessApiKey(_Skipped, AuthenticationMiddleware):
    pass


class MessagesUnlessApiKey(_Skipped, MessageMiddleware):
    pass


class HtmxExceptApi(_Skipped, HtmxMiddleware):
    def skips(self, request: HttpRequest) -> bool:
        return is_api_path(request)


def HistoryExceptApi(get_response: Callable[[HttpRequest], Any]) -> Callable[..., Any]:
    """django-simple-history's request binding (a function middleware), except under ``/api/``."""
    inner = HistoryRequestMiddleware(get_response)

    def middleware(request: HttpRequest) -> Any:
        if is_api_path(request):
            return get_response(request)
        return inner(request)

    return middleware


class AuditContextMiddleware:
    """Open the audit context of the request: surface from the path (``/api/`` with a key is
    ``api``, with a staff session ``api_session``), the client address from ``REMOTE_ADDR`` (the
    server or proxy in front must put the client's address there) and the request, from which
    ``audit_record`` reads the signed-in user or the API principal when a service records an
    action."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        surface = surface_for_path(request.path_info, api_key=carries_api_key(request))
        with audit_context(surface, remote_ip=client_ip(request), request=request):
            return self.get_response(request)
