"""The client's address behind a reverse proxy, believed only when the proxy is one we trust.

Lockout and the audit log key on ``request.remote_addr``. Behind a TLS-terminating proxy that is
the proxy's address for everyone, so one attacker's failures would lock out every officer.
werkzeug's ``ProxyFix`` reads ``X-Forwarded-For``/``-Proto``/``-Host`` -- but trusts whoever sent
them. Here it is applied only when the direct peer is in ``trusted_proxies``; from any other
peer the forwarded headers are dropped, so a client cannot forge its address.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.middleware.proxy_fix import ProxyFix

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
              "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED")


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``10.0.0.5`` or ``10.0.0.0/24`` (IPv6 alike); raises ValueError on anything else."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


class TrustedProxyMiddleware:
    """WSGI middleware: ``ProxyFix(x_for=hops, x_proto=hops, x_host=hops)`` for trusted peers only."""

    def __init__(self, app: WSGIApplication, trusted: Iterable[str], hops: int = 1) -> None:
        self.app = app
        self.trusted = parse_networks(trusted)
        self._fixed = ProxyFix(app, x_for=hops, x_proto=hops, x_host=hops)

    def is_trusted(self, address: str | None) -> bool:
        try:
            peer = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(peer in network for network in self.trusted)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self.trusted and self.is_trusted(environ.get("REMOTE_ADDR")):
            return self._fixed(environ, start_response)
        if any(key in environ for key in _FORWARDED):
            log.debug("proxy: forwarded headers from untrusted peer %s ignored", environ.get("REMOTE_ADDR"))
            for key in _FORWARDED:
                environ.pop(key, None)
        return self.app(environ, start_response)


def init_app(app: Any, trusted: Iterable[str], hops: int) -> None:
    app.wsgi_app = TrustedProxyMiddleware(app.wsgi_app, trusted, hops)
