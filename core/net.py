"""Outbound HTTP to URLs that partners and staff enter: public addresses only.

A webhook subscription or a channel push endpoint is a URL someone typed; the worker posts to it.
Without a check it could aim the worker at the cloud metadata service (169.254.169.254), at
localhost or at the private network. ``url_public_check`` is the one check, used where such a URL
is accepted (API, admin, services) and again before every delivery; ``urlopen_public`` opens
connections only to the addresses it has just vetted, so a host that resolves to a public address
for the check and a private one for the connection (DNS rebinding), or a redirect to a private
host, is refused too.

``OUTBOUND_ALLOW_PRIVATE_URLS`` (environment, default off) lets private addresses through, for
on-premise receivers and local development. Only ``http`` and ``https`` are ever allowed.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request
from typing import Any, Final
from urllib.parse import urlsplit

from django.conf import settings

from core.errors import DomainError

SCHEMES: Final = ("http", "https")


class UrlNotAllowed(DomainError):
    """The URL is not http(s), does not resolve, or reaches a non-public address. ``errors[0]``
    names the field and says which (``invalid_scheme``, ``unresolvable``, ``not_public``)."""

    code = "url_not_allowed"
    status = 400
    title = "The URL is not allowed"

    @property
    def reason(self) -> str:
        return str(self.errors[0]["code"]) if self.errors else ""


def private_allowed() -> bool:
    return bool(getattr(settings, "OUTBOUND_ALLOW_PRIVATE_URLS", False))


def host_resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (TCP). Raises ``OSError`` when it does not resolve.
    Tests replace this function: they never resolve or reach real hosts."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_connect(address: tuple[str, int], timeout: Any, source_address: Any) -> socket.socket:
    """Open the TCP connection to a vetted address (replaced in tests, like ``host_resolve``)."""
    return socket.create_connection(address, timeout, source_address)


def address_public(address: str) -> bool:
    """True for a globally routable unicast address: not loopback, private (10/8, 172.16/12,
    192.168/16, fc00::/7), link-local (169.254/16, fe80::/10), shared (100.64/10), unspecified,
    multicast, reserved or documentation. IPv4 inside IPv6 (``::ffff:a.b.c.d``, 6to4) is judged
    by its IPv4 address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            ip = embedded
    return bool(
        ip.is_global
        and not ip.is_multicast
        and not ip.is_reserved
        and not ip.is_unspecified
        and not ip.is_loopback
        and not ip.is_link_local
    )


def _refused(field: str, reason: str, message: str) -> UrlNotAllowed:
    return UrlNotAllowed(message, errors=[{"field": field, "code": reason, "message": message}])


def host_public_addresses(host: str, port: int, *, field: str = "url") -> list[str]:
    """The addresses to connect to for ``host``: all of them must be public (one private answer
    is enough to refuse: the client may pick it). With private addresses allowed, ``[host]``."""
    if private_allowed():
        return [host]
    try:
        literal = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [host.strip("[]")]
    else:
        try:
            addresses = host_resolve(host, port)
        except (OSError, UnicodeError):
            addresses = []
        if not addresses:
            raise _refused(
                field, "unresolvable", f"{host} does not resolve to any address; check the URL."
            )
    private = [address for address in addresses if not address_public(address)]
    if private:
        raise _refused(
            field,
            "not_public",
            f"{host} resolves to a non-public address ({', '.join(private)}); "
            "only public addresses are allowed.",
        )
    return addresses


def url_public_check(url: str, *, field: str = "url") -> None:
    """Raise ``UrlNotAllowed`` (400, naming ``field``) unless ``url`` is http(s) and its host
    resolves to public addresses only (or ``OUTBOUND_ALLOW_PRIVATE_URLS`` is on)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refused(field, "invalid", "Enter a valid URL.") from None
    if parts.scheme.lower() not in SCHEMES:
        raise _refused(field, "invalid_scheme", "Only http and https URLs are allowed.")
    if not parts.hostname:
        raise _refused(field, "invalid", "Enter a URL with a host name.")
    default_port = 443 if parts.scheme.lower() == "https" else 80
    host_public_addresses(parts.hostname, port or default_port, field=field)


def _connection_public(
    address: tuple[str, int], timeout: Any, source_address: Any = None
) -> socket.socket:
    """``socket.create_connection`` for http.client (which always passes the timeout) that
    connects only to vetted addresses, trying them in turn."""
    host, port = address
    last: OSError | None = None
    for candidate in host_public_addresses(host, port):
        try:
            return address_connect((candidate, port), timeout, source_address)
        except OSError as error:
            last = error
    assert last is not None
    raise last


class _PublicHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connection_public


class _PublicHTTPSConnection(http.client.HTTPSConnection):
    """TLS still verifies the certificate against the host name; only the TCP target is pinned."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connection_public


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_PublicHTTPSConnection, req, context=self._context)  # type: ignore[attr-defined]


def urlopen_public(request: urllib.request.Request, *, timeout: float) -> Any:
    """``urllib.request.urlopen`` whose every connection (redirects included) goes only to public
    addresses, checked at connection time. Raises ``UrlNotAllowed`` before connecting otherwise."""
    opener = urllib.request.build_opener(_PublicHTTPHandler, _PublicHTTPSHandler)
    return opener.open(request, timeout=timeout)
