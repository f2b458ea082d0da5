"""Login protection (django-axes) glue: which address a login comes from, and the lockout page.

Settings live in ``config/settings/base.py`` (``AXES_*``, ``LOGIN_PROXY_COUNT``); operations are
described in ``docs/operations.md``.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse


def _ip(value: str) -> str | None:
    value = value.strip().split("%", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The address a login comes from (``AXES_CLIENT_IP_CALLABLE``).

    ``REMOTE_ADDR`` by default. Behind ``LOGIN_PROXY_COUNT`` reverse proxies that each append the
    address they received the request from to ``X-Forwarded-For``, the client is that many
    entries from the right: entries further left are whatever the client sent, and are never
    believed. A header shorter than the proxy count (a request that bypassed a proxy) falls back
    to ``REMOTE_ADDR``."""
    remote = _ip(str(request.META.get("REMOTE_ADDR") or ""))
    count = int(getattr(settings, "LOGIN_PROXY_COUNT", 0) or 0)
    if count <= 0:
        return remote
    hops = [hop for hop in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if hop]
    if len(hops) < count:
        return remote
    return _ip(hops[-count]) or remote


class _LockedOutAdminForm(AdminAuthenticationForm):
    """An empty admin login form whose only error is the lockout (the admin template shows
    ``non_field_errors``); unbound, so it never authenticates."""

    def __init__(self, request: HttpRequest, *, lockout: str) -> None:
        super().__init__(request)
        self.lockout = lockout

    def non_field_errors(self) -> Any:
        return self.error_class([self.lockout], error_class="nonfield")


def lockout_message() -> str:
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    return (
        "Too many failed login attempts for this account or from this address. "
        f"Try again in {minutes} minutes."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """The login page again, saying why it refuses (``AXES_LOCKOUT_CALLABLE``), with status
    ``AXES_HTTP_RESPONSE_CODE`` (429). The form is unbound: nothing is checked again."""
    status = settings.AXES_HTTP_RESPONSE_CODE
    message = lockout_message()
    next_url = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    if request.path == reverse("store:login"):
        context = {"form": AuthenticationForm(request), "next": next_url, "locked_out": message}
        return render(request, "store/login.html", context, status=status)
    if request.path == reverse("admin:login"):
        form = _LockedOutAdminForm(request, lockout=message)
        context = {
            **admin.site.each_context(request),
            "title": "Log in",
            "app_path": request.get_full_path(),
            "form": form,
            REDIRECT_FIELD_NAME: next_url,
        }
        return render(request, "admin/login.html", context, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
