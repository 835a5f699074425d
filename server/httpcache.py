"""HTTP caching of the read-only API and the SPARQL endpoint: ETag, Cache-Control, 304, result cache.

A generation of the store never changes (a rebuild makes a new one), so an answer is a
function of the generation and the request. :class:`HttpCache` (WSGI middleware around the
app, so around the ``GET /sparql`` fast path too) gives every response under ``/sparql`` and
``/api/``:

- ``ETag: "<generation>-<digest>"``, the digest over what selects the representation: the
  method class (GET/HEAD alike), path, query string, ``Accept``, ``Origin`` (CORS headers
  depend on it), for a request that accepts HTML the ``audience`` cookie (a page in that
  audience's words, server/audience.py; such pages say ``Vary: Cookie``) and, for a POST, its
  content type and body;
- ``Cache-Control: public, max-age=<max_age>`` (errors that may not recur -- 429, 5xx --
  get ``no-store`` and no ETag instead);
- ``304 Not Modified`` when ``If-None-Match`` names the ETag, answered before anything runs;
- a repeated request answered from an in-process least-recently-used cache of successful
  responses, bounded in bytes (``max_bytes``; one response at most an eighth of it), keyed
  by the ETag, so an entry of an older generation is never served (and the cache is emptied
  when the generation changes). A request with ``Cache-Control: no-cache`` (or ``Pragma:
  no-cache``) is run again, whatever the cache holds.

Other paths (pages, dumps with their own ETag, ``/health``) pass through unchanged.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["HttpCache", "ResultCache"]

CACHED_PATHS = ("/sparql", "/api/")
#: statuses whose answer may differ on the next try (never cached, never given an ETag)
TRANSIENT = frozenset({408, 425, 429, 500, 502, 503, 504})
#: the cookie of the audience lens (server/audience.py): HTML answers depend on it
AUDIENCE_COOKIE = "audience"


class ResultCache:
    """A thread-safe LRU of ``key -> (status, headers, body)`` bounded by the bytes of the bodies."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.max_entry = max_bytes // 8
        self.size = 0
        self._data: OrderedDict[str, tuple[str, list[tuple[str, str]], bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[str, list[tuple[str, str]], bytes] | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                self._data.move_to_end(key)
            return entry

    def put(self, key: str, entry: tuple[str, list[tuple[str, str]], bytes]) -> None:
        cost = len(entry[2]) + 256
        if cost > self.max_entry:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.size -= len(old[2]) + 256
            self._data[key] = entry
            self.size += cost
            while self.size > self.max_bytes and self._data:
                _, dropped = self._data.popitem(last=False)
                self.size -= len(dropped[2]) + 256

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.size = 0

    def __len__(self) -> int:
        return len(self._data)


def _cookie(environ: dict[str, Any], name: str) -> str:
    """The value of cookie *name* in the request ('' when it has none)."""
    for part in environ.get("HTTP_COOKIE", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def _matches(header: str, etag: str) -> bool:
    """Whether an If-None-Match header names *etag* (weak comparison, as RFC 9110 asks for GET)."""
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


class HttpCache:
    """WSGI middleware: see the module docstring. *generation* returns the id of the generation
    served now; *max_body* is the largest POST body read to key it (larger ones pass through)."""

    def __init__(self, wsgi_app: Any, *, generation: Callable[[], str], max_age: int = 60,
                 max_bytes: int = 64 << 20, max_body: int = 1 << 20, vary_origin: bool = False,
                 answered_by: Callable[[], str | None] = lambda: None,
                 note_answer: Callable[[str], None] = lambda generation: None) -> None:
        self.wsgi_app = wsgi_app
        self.generation = generation
        #: the generation that answered the request just run (None: not known); an answer is kept
        #: only when it is the generation its key names (a switch may happen while it runs)
        self.answered_by = answered_by
        #: told the generation of an answer served from the cache (for ``Patternkg-Generation``)
        self.note_answer = note_answer
        self.cache_control = f"public, max-age={max_age}"
        self.cache = ResultCache(max_bytes)
        self.max_body = max_body
        self.vary = "Accept, Origin" if vary_origin else "Accept"
        self._served = ""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        if method not in ("GET", "HEAD", "POST") or not path.startswith(CACHED_PATHS):
            return self.wsgi_app(environ, start_response)
        digest = hashlib.blake2b(digest_size=12)
        accept = environ.get("HTTP_ACCEPT", "")
        lens = _cookie(environ, AUDIENCE_COOKIE) if "html" in accept else ""
        for part in ("GET" if method == "HEAD" else method, path, environ.get("QUERY_STRING", ""),
                     accept, environ.get("HTTP_ORIGIN", ""), lens):
            digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
        if method == "POST":
            body = self._body(environ)
            if body is None:
                return self.wsgi_app(environ, start_response)
            digest.update(environ.get("CONTENT_TYPE", "").encode("latin-1", "replace") + b"\0" + body)
        generation = self.generation()
        if generation != self._served:
            self.cache.clear()
            self._served = generation
        etag = f'"{generation}-{digest.hexdigest()}"'
        validators = [("ETag", etag), ("Cache-Control", self.cache_control)]
        condition = environ.get("HTTP_IF_NONE_MATCH")
        if condition and method != "POST" and _matches(condition, etag):
            start_response("304 Not Modified", [*validators, ("Vary", self.vary)])
            return [b""]
        fresh = "no-cache" in environ.get("HTTP_CACHE_CONTROL", "") or "no-cache" in environ.get("HTTP_PRAGMA", "")
        cached = None if fresh else self.cache.get(etag)
        if cached is not None:
            status, headers, body = cached
            self.note_answer(generation)
            start_response(status, list(headers))
            return [b"" if method == "HEAD" else body]
        captured: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            code = int(status[:3])
            headers = [(k, v) for k, v in headers if k.lower() not in ("etag", "cache-control")]
            if code in TRANSIENT:
                headers.append(("Cache-Control", "no-store"))
            else:
                headers.extend(validators)
            captured["status"], captured["headers"] = status, list(headers)  # a copy: outer layers add to theirs
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = self.wsgi_app(environ, start)
        if method == "HEAD" or not captured.get("status", "").startswith("200"):
            return result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if self.answered_by() in (None, generation):
            self.cache.put(etag, (captured["status"], captured["headers"], body))
        return [body]

    def _body(self, environ: dict[str, Any]) -> bytes | None:
        """Read a POST body (and put it back for the app), or None when it is too large to key."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if length > self.max_body or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body
