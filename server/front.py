"""The HTTP front: what stands between a client's connection and the Flask app.

granian runs this ASGI application; it wraps the WSGI app (Flask plus the fast
path) so that a slow or hostile client costs a connection, never an app thread or
a query worker. Contract of :class:`HttpFront`:

- the request body is read in full, asynchronously, before the app is called: it
  must arrive within ``body_timeout`` seconds (else ``408 request-timeout`` and the
  connection is closed) and be at most ``max_body`` bytes (else ``413``, without
  reading it when ``Content-Length`` says so). A client sending one byte a second
  holds no thread and no worker;
- the app runs on a pool of ``threads`` threads (more than there are query workers,
  so requests that need no worker are answered while every worker is busy);
- the response is sent in pieces of 64 KiB, each of which the client must accept
  within ``send_timeout`` seconds, else the connection is dropped. granian's
  ASGI ``send`` waits while the client does not read (a few pieces are buffered),
  so a client that does not read holds at most its one answer;
- answers held in memory for clients (and request bodies) count against
  ``max_buffered`` bytes in total: an answer larger than 64 KiB that would go past
  it is replaced by ``503 busy`` with ``Retry-After``, so clients that ask for
  large results and never read them cannot grow the server without limit. Files
  (dumps) are streamed from disk and are not counted;
- when more than three quarters of ``max_connections`` connections have been
  active within the keep-alive timeout, answers carry ``Connection: close``, so
  idle keep-alive connections give their place back at once;
- one client address has at most ``per_client_connections`` requests in progress at
  once (:class:`~.connlimit.ClientSlots`; the address a trusted proxy names with
  ``trust_proxy``); one more gets ``429 too-many-connections`` with ``Retry-After``
  and ``Connection: close``. Without ``trust_proxy``, :meth:`HttpFront.start_warden`
  also bounds its open connections, idle ones too (:class:`~.connlimit.ConnectionWarden`).

Everything else (headers, idle connections) is bounded by granian: the request
head must arrive within the keep-alive timeout, which also closes idle keep-alive
connections, and at most ``max_connections`` connections are served at a time.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .connlimit import ClientSlots, ConnectionWarden, normal_address
from .publicurl import forwarded_client

__all__ = ["HttpFront", "HttpLimits"]

PIECE = 64 * 1024
"""Bytes per ASGI send; also the largest answer that never counts against ``max_buffered``."""


@dataclass(frozen=True)
class HttpLimits:
    body_timeout: float = 10.0
    send_timeout: float = 10.0
    max_body: int = 1 << 20
    max_buffered: int = 256 << 20
    max_connections: int = 4096
    keep_alive_timeout: float = 5.0
    threads: int = 18
    per_client_connections: int = 64
    trust_proxy: bool = False
    port: int = 0
    """The port served (0: learnt from the first request)."""


class _TooLarge(Exception):
    pass


class HttpFront:
    """An ASGI application serving *wsgi_app* within *limits* (see the module docstring)."""

    def __init__(self, wsgi_app: Any, limits: HttpLimits) -> None:
        self.app = wsgi_app
        self.limits = limits
        self.executor = ThreadPoolExecutor(limits.threads, thread_name_prefix="patternkg-app")
        self._lock = threading.Lock()
        self.buffered = 0
        self.refused_buffer = 0
        """Answers replaced by 503 because ``max_buffered`` was reached (for the record)."""
        self.dropped_slow = 0
        """Connections dropped because the client did not read within ``send_timeout``."""
        self._recent: dict[Any, float] = {}
        self._pruned = 0.0
        self.port = limits.port
        self.slots = ClientSlots(limits.per_client_connections)
        self.warden: ConnectionWarden | None = None
        state = getattr(wsgi_app, "extensions", {}).get("patternkg")
        if state is not None:
            state.front = self  # for /health

    def stats(self) -> dict[str, int]:
        """Figures for ``/health``."""
        return {
            "buffered_bytes": self.buffered,
            "recent_connections": len(self._recent),
            "max_connections": self.limits.max_connections,
            "refused_over_buffer": self.refused_buffer,
            "dropped_slow_clients": self.dropped_slow,
            "max_connections_per_client": self.slots.limit,
            "refused_over_client_connections": self.slots.refused,
            "closed_over_client_connections": self.warden.closed if self.warden is not None else 0,
        }

    def start_warden(self, *, interval: float = 0.5) -> None:
        """Bound each address's open connections too (not behind a trusted proxy: there every
        connection is the proxy's). Called once in the server process."""
        if self.limits.trust_proxy or self.warden is not None:
            return
        self.warden = ConnectionWarden(limit=self.limits.per_client_connections, port=lambda: self.port,
                                       slots=self.slots, interval=interval)
        self.warden.start()

    # -- the budget of bytes held in memory -------------------------------------------

    def _reserve(self, size: int, *, force: bool = False) -> bool:
        with self._lock:
            if not force and self.buffered + size > self.limits.max_buffered:
                return False
            self.buffered += size
            return True

    def _release(self, size: int) -> None:
        with self._lock:
            self.buffered -= size

    # -- connections ------------------------------------------------------------------

    def _crowded(self, client: Any) -> bool:
        """Note *client* (host, port: one connection) as active; True when connections are near the limit."""
        now = time.monotonic()
        recent = self._recent
        recent[client] = now
        if now - self._pruned > 1.0:
            horizon = now - self.limits.keep_alive_timeout
            for key in [k for k, seen in recent.items() if seen < horizon]:
                del recent[key]
            self._pruned = now
        return len(recent) * 4 > self.limits.max_connections * 3

    # -- ASGI -------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    self.executor.shutdown(wait=False)
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    def _client(self, scope: dict[str, Any]) -> tuple[str, tuple[str, int] | None]:
        """The client address a request counts against, and its connection (peer host, port)."""
        peer = scope.get("client")
        connection = (normal_address(str(peer[0])), int(peer[1])) if peer else None
        if self.limits.trust_proxy:
            headers = dict(scope["headers"])
            named = forwarded_client(headers.get(b"forwarded", b"").decode("latin-1") or None,
                                     headers.get(b"x-forwarded-for", b"").decode("latin-1") or None)
            if named:
                return normal_address(named), connection
        return (connection[0] if connection else ""), connection

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not self.port:
            server = scope.get("server")
            self.port = int(server[1]) if server and server[1] else 0
        client, connection = self._client(scope)
        if not self.slots.enter(client, connection):
            if self.warden is not None:
                self.warden.poke()
            limit = self.slots.limit
            return await _error(send, 429, "too-many-connections",
                                f"this address already has {limit} request{'s' if limit > 1 else ''} in progress, "
                                "as many as one client may", close=True, retry_after=1)
        try:
            await self._serve(scope, receive, send)
        finally:
            self.slots.leave(client, connection)

    async def _serve(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        limits = self.limits
        length = None
        for key, value in scope["headers"]:
            if key == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return await _error(send, 400, "bad-request", "Content-Length is not a number", close=True)
        if length is not None and length > limits.max_body:
            return await _error(send, 413, "request-too-large",
                                f"the request body is larger than {limits.max_body} bytes", close=True)
        reserved = length or 0
        if reserved and not self._reserve(reserved):
            return await _error(send, 503, "busy", "the server holds too much data for other clients; try again",
                                close=True, retry_after=1)
        try:
            try:
                body = await asyncio.wait_for(_read_body(receive, limits.max_body), limits.body_timeout)
            except asyncio.TimeoutError:
                return await _error(send, 408, "request-timeout",
                                    f"the request body did not arrive within {limits.body_timeout:g} s", close=True)
            except _TooLarge:
                return await _error(send, 413, "request-too-large",
                                    f"the request body is larger than {limits.max_body} bytes", close=True)
            environ = _environ(scope, body)
            loop = asyncio.get_running_loop()
            status, headers, chunks, rest = await loop.run_in_executor(self.executor, self._call, environ)
        finally:
            if reserved:
                self._release(reserved)
        await self._respond(scope, send, status, headers, chunks, rest)

    def _call(self, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], list[bytes], Any]:
        """Run the WSGI app (on an app thread); the answer's head, its first pieces, and what is left to stream."""
        head: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            head[:] = [status, headers]
            return lambda data: None

        result = self.app(environ, start_response)
        if isinstance(result, list):
            chunks, rest = result, None
        else:
            chunks, rest, size = [], None, 0
            iterator = iter(result)
            for chunk in iterator:
                chunks.append(chunk)
                size += len(chunk)
                if size >= PIECE * 4:  # large and not yet complete: stream the rest from the thread pool
                    rest = (iterator, result)
                    break
            else:
                _close(result)
        status = int(head[0][:3])
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in head[1]]
        return status, headers, chunks, rest

    async def _respond(self, scope: dict[str, Any], send: Any, status: int, headers: list[tuple[bytes, bytes]],
                       chunks: list[bytes], rest: Any) -> None:
        size = sum(len(c) for c in chunks)
        counted = size if size > PIECE and rest is None else 0
        if counted and not self._reserve(counted):
            self.refused_buffer += 1
            return await _error(send, 503, "busy", "too many answers are waiting for clients to read them; "
                                "try again shortly", retry_after=2)
        try:
            if self._crowded(scope.get("client")):
                headers.append((b"connection", b"close"))
            if rest is None and size <= PIECE:  # one small piece: granian buffers it without waiting
                try:
                    await send({"type": "http.response.start", "status": status, "headers": headers})
                    await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": False})
                except Exception:  # noqa: BLE001 - the client went away
                    pass
                return
            timeout = self.limits.send_timeout
            loop = asyncio.get_running_loop()
            try:
                await _send(send, {"type": "http.response.start", "status": status, "headers": headers}, timeout)
                for chunk in chunks:
                    view = memoryview(chunk)
                    for start in range(0, len(view), PIECE):
                        await _send(send, {"type": "http.response.body", "body": bytes(view[start:start + PIECE]),
                                           "more_body": True}, timeout)
                if rest is not None:
                    iterator = rest[0]
                    while True:
                        chunk = await loop.run_in_executor(self.executor, next, iterator, None)
                        if chunk is None:
                            break
                        await _send(send, {"type": "http.response.body", "body": chunk, "more_body": True}, timeout)
                await _send(send, {"type": "http.response.body", "body": b"", "more_body": False}, timeout)
            except asyncio.TimeoutError:
                self.dropped_slow += 1  # returning without finishing the body drops the connection
            except Exception:  # noqa: BLE001 - the client went away (granian raises its own errors then)
                pass
        finally:
            if rest is not None:
                await asyncio.get_running_loop().run_in_executor(self.executor, _close, rest[1])
            if counted:
                self._release(counted)


async def _send(send: Any, message: dict[str, Any], timeout: float) -> None:
    await asyncio.wait_for(send(message), timeout)


async def _read_body(receive: Any, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise asyncio.TimeoutError
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def _close(iterable: Any) -> None:
    close = getattr(iterable, "close", None)
    if close is not None:
        close()


async def _error(send: Any, status: int, error: str, message: str, *, close: bool = False,
                 retry_after: int | None = None) -> None:
    body = json.dumps({"error": error, "message": message, "status": status}).encode() + b"\n"
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    if close:
        headers.append((b"connection", b"close"))
    try:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
    except Exception:  # noqa: BLE001 - the client has gone: nothing to tell it
        pass


def _environ(scope: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The WSGI environ of an ASGI HTTP scope (PEP 3333; strings are latin-1 code points of the bytes)."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]) if server[1] is not None else "80",
        "SERVER_PROTOCOL": "HTTP/" + scope.get("http_version", "1.1"),
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    for key, value in scope["headers"]:
        name = key.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        if name == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = text
            continue
        if name == "CONTENT_LENGTH":
            continue  # the body as read
        if name == "TRANSFER_ENCODING":
            continue  # the body is complete: the app sees a plain body of CONTENT_LENGTH bytes
        name = "HTTP_" + name
        environ[name] = environ[name] + "," + text if name in environ else text
    return environ
