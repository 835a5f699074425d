"""Where the server says it is, and who the client is: never taken from what a client claims.

Every absolute URL the server writes (``/``, ``/void``, the service description,
``/dumps/``, relative IRIs in queries, the HTML pages) is built by Flask from the
WSGI environ: ``wsgi.url_scheme``, ``HTTP_HOST`` and ``SCRIPT_NAME``. A client
controls ``Host``, so :class:`PublicUrl` rewrites those three before the app
sees them, by one rule:

1. ``--public-url URL`` given: the scheme, host (and port) and path of URL, always;
2. else, with ``--trust-proxy``: what the reverse proxy says, from the last element
   of ``Forwarded`` (RFC 7239: ``proto``, ``host``, ``for``) or else from
   ``X-Forwarded-Proto``/``-Host``/``-Port``/``-Prefix``/``-For`` (the last value of
   each: the one the nearest proxy wrote);
3. else the address the connection came in on (the bind address; with a wildcard
   bind, the local address of the connection), never the ``Host`` header.

The client address (``REMOTE_ADDR``), which the per-client cap of :mod:`.fairness`
counts by, comes from the proxy's ``for`` only with ``--trust-proxy``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

__all__ = ["PublicUrl", "check_public_url", "forwarded_client"]

_FORWARDED_PAIR = re.compile(r'\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)=("(?:[^"\\]|\\.)*"|[^;,\s]*)\s*')


def check_public_url(url: str) -> str:
    """*url* normalised (no trailing slash), or ValueError naming what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--public-url must be an absolute http(s) URL such as https://example.org/kg, not {url!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"--public-url must not have a query or fragment: {url!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _forwarded(value: str) -> dict[str, str]:
    """The parameters of the last element of a ``Forwarded`` header (the nearest proxy's)."""
    last = value.split(",")[-1]
    params: dict[str, str] = {}
    for part in last.split(";"):
        m = _FORWARDED_PAIR.fullmatch(part)
        if m:
            raw = m.group(2)
            params[m.group(1).lower()] = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw
    return params


def _last(value: str | None) -> str | None:
    if not value:
        return None
    item = value.split(",")[-1].strip()
    return item or None


def forwarded_client(forwarded: str | None, x_forwarded_for: str | None) -> str | None:
    """The client address a proxy names: ``for=`` of the last ``Forwarded`` element, else the
    last ``X-Forwarded-For`` value, without a port; None when it names none."""
    client = _forwarded(forwarded).get("for") if forwarded else _last(x_forwarded_for)
    if not client:
        return None
    if client.startswith("["):  # [v6]:port
        client = client[1:].split("]")[0]
    elif client.count(":") == 1:  # v4:port
        client = client.split(":")[0]
    return client or None


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


class PublicUrl:
    """WSGI middleware: see the module docstring. ``gate`` (optional) learns each request's client."""

    def __init__(self, wsgi_app: Any, *, public_url: str | None = None, trust_proxy: bool = False,
                 gate: Any = None) -> None:
        self.wsgi_app = wsgi_app
        self.trust_proxy = trust_proxy
        self.gate = gate
        self.fixed: tuple[str, str, str] | None = None
        if public_url:
            parts = urlsplit(check_public_url(public_url))
            self.fixed = (parts.scheme, parts.netloc, parts.path)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.fixed is not None:
            scheme, host, prefix = self.fixed
            environ["wsgi.url_scheme"] = scheme
            environ["HTTP_HOST"] = host
            environ["SCRIPT_NAME"] = prefix
            if self.trust_proxy:
                self._client_from_proxy(environ)
        elif self.trust_proxy:
            self._from_proxy(environ)
        else:
            port = environ.get("SERVER_PORT", "")
            scheme = environ.get("wsgi.url_scheme", "http")
            default = (scheme == "http" and port == "80") or (scheme == "https" and port == "443")
            host = _host(environ.get("SERVER_NAME", "localhost"))
            environ["HTTP_HOST"] = host if default or not port else f"{host}:{port}"
        if self.gate is not None:
            self.gate.bind(environ.get("REMOTE_ADDR"))
        return self.wsgi_app(environ, start_response)

    def _client_from_proxy(self, environ: dict[str, Any]) -> None:
        client = forwarded_client(environ.get("HTTP_FORWARDED"), environ.get("HTTP_X_FORWARDED_FOR"))
        if client:
            environ["REMOTE_ADDR"] = client

    def _from_proxy(self, environ: dict[str, Any]) -> None:
        forwarded = environ.get("HTTP_FORWARDED")
        if forwarded:
            params = _forwarded(forwarded)
            scheme, host, prefix = params.get("proto"), params.get("host"), None
        else:
            scheme = _last(environ.get("HTTP_X_FORWARDED_PROTO"))
            host = _last(environ.get("HTTP_X_FORWARDED_HOST"))
            port = _last(environ.get("HTTP_X_FORWARDED_PORT"))
            if host and port and ":" not in host.rsplit("]", 1)[-1]:
                host = f"{host}:{port}"
            prefix = _last(environ.get("HTTP_X_FORWARDED_PREFIX"))
        if scheme in ("http", "https"):
            environ["wsgi.url_scheme"] = scheme
        if host:
            environ["HTTP_HOST"] = host
        if prefix:
            environ["SCRIPT_NAME"] = "/" + prefix.strip("/")
        self._client_from_proxy(environ)
