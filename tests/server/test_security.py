"""Hardening over real HTTP: no SERVICE (no outgoing connection at all), read-only,
a real timeout that does not block other clients, size limits, row cap."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from pkserver_helpers import MAX_REQUEST, MAX_ROWS, PKG, TIMEOUT, Server, child_pids, start_server, stop_server


class Listener:
    """A loopback TCP listener that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.thread.join()
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


def service_queries(port: int) -> list[str]:
    url = f"http://127.0.0.1:{port}/sparql"
    return [
        f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"select * where {{ service <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SeRvIcE\n\t<{url}>{{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ # a comment\n  SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?s ?p ?o . SERVICE#comment\n<{url}> {{ ?x ?y ?z }} }}",
        f"PREFIX ex: <http://127.0.0.1:{port}/> SELECT * WHERE {{ SERVICEex:sparql {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?s ?p ?o.SERVICE<{url}>{{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ BIND(1 AS ?o) ?s ?p 1SERVICE<{url}>{{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ VALUES ?e {{ <{url}> }} SERVICE ?e {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ FILTER EXISTS {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }}",
        "SELECT * WHERE { \\u0053ERVICE <" + url + "> { ?s ?p ?o } }",
    ]


def test_service_is_refused_and_nothing_is_fetched(server: Server, listener: Listener) -> None:
    queries = service_queries(listener.port)
    for query in queries:
        for send in (
            lambda q: requests.get(server.sparql, params={"query": q}),
            lambda q: requests.post(server.sparql, data={"query": q}),
            lambda q: requests.post(server.sparql, data=q.encode(),
                                    headers={"Content-Type": "application/sparql-query"}),
        ):
            r = send(query)
            assert r.status_code == 400, query
            assert r.json()["error"] == "service-refused", query
    time.sleep(0.3)
    assert listener.connections == 0
    # the listener does count connections (the check above can fail)
    socket.create_connection(("127.0.0.1", listener.port)).close()
    time.sleep(0.5)
    assert listener.connections == 1


def test_service_word_in_literals_iris_and_names_is_fine(server: Server) -> None:
    queries = [
        'SELECT * WHERE { ?s ?p "SERVICE <http://127.0.0.1:9/> { }" }',
        "SELECT * WHERE { ?s ?p '''service\n''' }",
        "SELECT * WHERE { <http://example.org/SERVICE> ?p ?o }",
        "SELECT ?service WHERE { ?service ?p ?o } LIMIT 1",
        "PREFIX schema: <https://schema.org/> SELECT * WHERE { ?s schema:serviceType ?o }",
        "SELECT * WHERE { ?s ?p ?o } # SERVICE <http://127.0.0.1:9/>",
    ]
    for q in queries:
        r = requests.get(server.sparql, params={"query": q})
        assert r.status_code == 200, (q, r.text)
    r = requests.get(server.sparql, params={
        "query": 'SELECT ?s WHERE { ?s <http://www.w3.org/2004/02/skos/core#definition> ?d FILTER(CONTAINS(?d, "SERVICE")) }'})
    assert [b["s"]["value"].rsplit("/", 1)[1] for b in r.json()["results"]["bindings"]] == ["alpha"]


def triple_count(server: Server) -> int:
    rows = server.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
    return int(rows[0]["n"]["value"])


def test_updates_are_refused_and_change_nothing(server: Server) -> None:
    before = triple_count(server)
    insert = "INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> <urn:c> } }"
    delete = "DELETE WHERE { GRAPH ?g { ?s ?p ?o } }"
    drop = "DROP ALL"
    attempts = []
    for update in (insert, delete, drop, "CLEAR DEFAULT", "LOAD <http://127.0.0.1:9/x.ttl>"):
        attempts += [
            requests.post(server.url + "/update", data={"update": update}),
            requests.post(server.url + "/update", data=update.encode(),
                          headers={"Content-Type": "application/sparql-update"}),
            requests.get(server.url + "/update", params={"update": update}),
            requests.post(server.sparql, data={"update": update}),
            requests.post(server.sparql, data=update.encode(), headers={"Content-Type": "application/sparql-update"}),
            requests.get(server.sparql, params={"update": update}),
            requests.get(server.sparql, params={"query": update}),
            requests.post(server.sparql, data={"query": "PREFIX x: <urn:x:>\n" + update}),
        ]
    for r in attempts:
        assert r.status_code == 403, r.text
        assert r.json()["error"] == "read-only"
    assert triple_count(server) == before
    assert triple_count(server) == 47


def test_timeout_stops_the_query_and_others_are_served(server: Server) -> None:
    cross = (
        "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . ?q ?r ?t }"
    )
    workers_before = child_pids(server.process.pid)
    with ThreadPoolExecutor(2) as pool:
        start = time.monotonic()
        slow = pool.submit(requests.get, server.sparql, params={"query": cross}, timeout=60)
        time.sleep(0.3)
        quick_start = time.monotonic()
        quick = requests.get(server.sparql, params={"query": f"ASK {{ ?s <{PKG}enables> ?o }}"}, timeout=60)
        quick_elapsed = time.monotonic() - quick_start
        r = slow.result()
        elapsed = time.monotonic() - start
    assert quick.status_code == 200 and quick.json()["boolean"] is True
    assert quick_elapsed < 1.0
    assert r.status_code == 503
    assert r.json()["error"] == "timeout" and "stopped" in r.json()["message"]
    assert TIMEOUT <= elapsed < TIMEOUT + 3
    # the killed worker was replaced: the server keeps answering, with the same number of workers
    for _ in range(10):
        assert requests.get(server.sparql, params={"query": "ASK {}"}).status_code == 200
    deadline = time.monotonic() + 10
    while len(child_pids(server.process.pid)) != len(workers_before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(child_pids(server.process.pid)) == len(workers_before)
    assert child_pids(server.process.pid) != workers_before


def test_oversized_requests(server: Server) -> None:
    big = "SELECT * WHERE { ?s ?p ?o } #" + "x" * (MAX_REQUEST + 10)
    r = requests.post(server.sparql, data={"query": big})
    assert r.status_code == 413 and r.json()["error"] == "request-too-large"
    r = requests.post(server.sparql, data=big.encode(), headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 413
    r = requests.post(server.url + "/update", data=big.encode(), headers={"Content-Type": "application/sparql-update"})
    assert r.status_code == 413
    r = requests.get(server.sparql, params={"query": "ASK {} #" + "x" * 20000})
    assert r.status_code == 414 and r.json()["error"] == "uri-too-long"
    r = requests.get(server.url + "/pattern/" + "x" * 9000)
    assert r.status_code == 414
    assert requests.get(server.sparql, params={"query": "ASK {} #" + "x" * 7000}).status_code == 200
    ok = "SELECT * WHERE { ?s ?p ?o } #" + "x" * (MAX_REQUEST // 2)
    assert requests.post(server.sparql, data={"query": ok}).status_code == 200


def test_row_cap_is_an_error_never_a_truncated_result(server: Server) -> None:
    many = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"  # 47 * 47 = 2209 rows > MAX_ROWS
    for accept in ("application/sparql-results+json", "text/csv", "application/sparql-results+xml"):
        r = requests.get(server.sparql, params={"query": many}, headers={"Accept": accept})
        assert r.status_code == 422 and r.json()["error"] == "rows", accept
    r = requests.get(server.sparql, params={"query": "CONSTRUCT { ?a ?b ?f } WHERE { ?a ?b ?c . ?d ?e ?f }"})
    assert r.status_code == 422
    r = requests.get(server.sparql, params={"query": f"SELECT * WHERE {{ ?a ?b ?c . ?d ?e ?f }} LIMIT {MAX_ROWS}"})
    assert r.status_code == 200 and len(r.json()["results"]["bindings"]) == MAX_ROWS


# The memory-cap test runs on a server of its own whose time limit is far beyond what the
# query needs, so on a busy machine it can only end by the memory cap, never by the timeout.
MEMORY_CAP_MB = 1024  # an idle worker holds about 0.5 GiB of address space (store, arenas, stacks)
GENEROUS_TIMEOUT = 120.0


def _get_from(server: Server, source: str, query: str) -> tuple[int, bytes]:
    """GET a SPARQL query from the loopback address *source*: (status, body)."""
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(source, 0))
    try:
        conn.request("GET", "/sparql?" + urlencode({"query": query}),
                     headers={"Accept": "application/sparql-results+json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _memory_hog() -> str:
    """A query whose answer is one 16**8-character string (4 GiB): each BIND concatenates
    16 copies of the previous one, so it allocates quickly (memcpy, no sorting or joins)."""
    binds = ['BIND("xxxxxxxxxxxxxxxx" AS ?v0)']
    for i in range(1, 8):
        binds.append(f"BIND(CONCAT({', '.join([f'?v{i - 1}'] * 16)}) AS ?v{i})")
    return f"SELECT (STRLEN(?v7) AS ?n) WHERE {{ {' '.join(binds)} }}"


@pytest.fixture(scope="module")
def capped_server(store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(
        store_path, tmp_path_factory.mktemp("capped"),
        timeout=GENEROUS_TIMEOUT, workers=2, memory_limit_mb=MEMORY_CAP_MB,
    )
    yield srv
    stop_server(srv)


def test_memory_cap(capped_server: Server) -> None:
    server = capped_server
    ask = f"ASK {{ ?s <{PKG}enables> ?o }}"
    # the cap leaves room for ordinary queries
    assert server.select("SELECT * WHERE { ?s ?p ?o } LIMIT 5")
    assert len(server.select(
        'SELECT (STRLEN(?v2) AS ?n) WHERE { BIND("xxxxxxxxxxxxxxxx" AS ?v0) '
        "BIND(CONCAT(?v0, ?v0, ?v0, ?v0, ?v0, ?v0, ?v0, ?v0, ?v0, ?v0, ?v0, ?v0, ?v0, ?v0, ?v0, ?v0) AS ?v1) "
        "BIND(CONCAT(?v1, ?v1, ?v1, ?v1, ?v1, ?v1, ?v1, ?v1, ?v1, ?v1, ?v1, ?v1, ?v1, ?v1, ?v1, ?v1) AS ?v2) }"
    )) == 1
    workers_before = child_pids(server.process.pid)
    assert len(workers_before) >= 2
    with ThreadPoolExecutor(1) as pool:
        start = time.monotonic()
        hog = pool.submit(requests.get, server.sparql, params={"query": _memory_hog()}, timeout=GENEROUS_TIMEOUT + 30)
        # another client (another loopback address: one address may hold only part of
        # the pool) is served while the hog runs (and after it died)
        quick_status, quick_body = _get_from(server, "127.0.0.2", ask)
        r = hog.result()
        elapsed = time.monotonic() - start
    assert quick_status == 200 and json.loads(quick_body)["boolean"] is True
    # a clean error status and JSON message, not a (truncated) 200 and not the timeout
    assert r.status_code == 503, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["error"] in ("memory", "worker-crashed"), body
    assert "memory" in body["message"]
    assert elapsed < GENEROUS_TIMEOUT
    # the worker was replaced (same number of workers, not the same set) and everyone is served
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = child_pids(server.process.pid)
        if len(now) == len(workers_before) and now != workers_before:
            break
        time.sleep(0.1)
    now = child_pids(server.process.pid)
    assert len(now) == len(workers_before) and now != workers_before
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: requests.get(server.sparql, params={"query": ask}, timeout=30), range(8)))
    assert all(a.status_code == 200 and a.json()["boolean"] is True for a in answers)
