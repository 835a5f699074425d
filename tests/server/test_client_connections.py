"""Connections per client address (``--max-connections-per-client``, server/connlimit.py),
against the real server over loopback: every 127.x.y.z address is another client.
Each test opens a bounded number of connections and closes them."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pkserver_helpers import Server, start_server, stop_server


@pytest.fixture
def own(store_path: Path, tmp_path: Path) -> Iterator[callable]:
    started: list[Server] = []

    def start(*args: str) -> Server:
        srv = start_server(store_path, tmp_path, *args, workers=2, timeout=4.0)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        stop_server(srv)


def port_of(server: Server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def connect(server: Server, source: str) -> socket.socket:
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(20)
    s.connect(("127.0.0.1", port_of(server)))
    return s


def closed_by_server(s: socket.socket, wait: float) -> bool:
    """True when the server closes *s* within *wait* seconds (the client sent nothing more)."""
    s.settimeout(wait)
    try:
        return s.recv(100) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def cheap(server: Server, source: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port_of(server), timeout=10, source_address=(source, 0))
    conn.request("GET", "/sparql?query=ASK%7B%3Fs%20%3Fp%20%3Fo%7D")
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def read_head(s: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(1000)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n\r\n", 1)[0]


def read_all(s: socket.socket) -> bytes:
    """Everything until the server closes the connection."""
    data = b""
    while chunk := s.recv(1000):
        data += chunk
    return data


SLOW_HEAD = (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
             b"Content-Length: 100\r\n")


def test_one_address_cannot_take_every_connection(own) -> None:
    """16 idle connections from one address take all --max-connections 16 (granian would keep
    them for the 30 s keep-alive timeout and every new client would wait that long): the
    server closes all but 4 of them, and another address is served at once."""
    server = own("--max-connections", "16", "--max-connections-per-client", "4", "--keep-alive-timeout", "30")
    hogs = [connect(server, "127.0.0.3") for _ in range(16)]
    try:
        time.sleep(1.5)  # the warden looks every 0.5 s
        assert cheap(server, "127.0.0.4").status == 200
        closed = sum(closed_by_server(s, 0.2) for s in hogs)
        assert closed == 12, closed  # exactly the ones over 4
        http_stats = requests.get(server.url + "/health", timeout=10).json()["http"]
        assert http_stats["max_connections_per_client"] == 4
        assert http_stats["closed_over_client_connections"] == 12, http_stats
    finally:
        for s in hogs:
            s.close()


def test_connections_kept_alive_after_a_request_count_too(own) -> None:
    server = own("--max-connections-per-client", "4", "--keep-alive-timeout", "30")
    kept = [connect(server, "127.0.0.5") for _ in range(6)]
    try:
        for s in kept:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            head = read_head(s)
            assert head.startswith(b"HTTP/1.1 200") and b"connection: close" not in head.lower()
        time.sleep(1.5)
        assert sum(closed_by_server(s, 0.2) for s in kept) == 2
        assert requests.get(server.url + "/health", timeout=10).json()["http"]["closed_over_client_connections"] == 2
    finally:
        for s in kept:
            s.close()


def test_requests_in_progress_over_the_limit_are_refused_or_closed(own) -> None:
    """Three requests in progress from one address (bodies trickling in) hold its share; a
    fourth connection from it gets 429 too-many-connections with Retry-After, or is closed
    before it could ask; another address is served."""
    server = own("--max-connections-per-client", "3", "--body-timeout", "20")
    slow = [connect(server, "127.0.0.6") for _ in range(3)]
    try:
        for s in slow:
            s.sendall(SLOW_HEAD + b"\r\n" + b"A")
        time.sleep(0.3)
        extra = connect(server, "127.0.0.6")
        slow.append(extra)
        try:
            extra.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            head = read_head(extra)
        except OSError:
            head = b""
        if head:  # the front saw the request before the warden closed the connection
            assert head.startswith(b"HTTP/1.1 429"), head
            assert b"retry-after: 1" in head.lower() and b"connection: close" in head.lower(), head
        assert cheap(server, "127.0.0.7").status == 200
        assert not any(closed_by_server(s, 0.1) for s in slow[:3])  # the busy ones are kept
    finally:
        for s in slow:
            s.close()


def test_behind_a_trusted_proxy_the_named_address_counts(own) -> None:
    """With --trust-proxy every connection is the proxy's: none is closed for its number, and
    the limit applies to requests in progress per address the proxy names."""
    server = own("--trust-proxy", "--max-connections-per-client", "2", "--body-timeout", "20")
    held = []
    try:
        for _ in range(2):
            s = connect(server, "127.0.0.8")
            s.sendall(SLOW_HEAD + b"X-Forwarded-For: 192.0.2.7\r\n\r\nA")
            held.append(s)
        time.sleep(0.3)
        over = connect(server, "127.0.0.8")
        held.append(over)
        over.sendall(SLOW_HEAD + b"X-Forwarded-For: 192.0.2.7\r\n\r\nA")
        answer = read_all(over)
        assert answer.startswith(b"HTTP/1.1 429"), answer
        assert b"retry-after: 1" in answer.lower() and b'"error": "too-many-connections"' in answer, answer
        other = requests.get(server.url + "/health", headers={"X-Forwarded-For": "192.0.2.8"}, timeout=10)
        assert other.status_code == 200
        for _ in range(4):  # more connections from the proxy's own address than the limit, idle
            held.append(connect(server, "127.0.0.8"))
        time.sleep(1.5)
        assert not any(closed_by_server(s, 0.1) for s in held[:2] + held[3:])
        assert requests.get(server.url + "/health", timeout=10).json()["http"]["refused_over_client_connections"] == 1
    finally:
        for s in held:
            s.close()
