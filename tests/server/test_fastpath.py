"""The WSGI fast path for ``GET /sparql?query=`` answers exactly as the Flask route does.

A POST of the same query (form-encoded) always goes through Flask; both must give the
same status, content type and body, for answers and for every kind of error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests
from pkserver_helpers import BASE, DATA, MAX_ROWS, PKG, Server, start_server, stop_server

QUERIES = [
    (f"PREFIX pkg: <{PKG}> SELECT ?s WHERE {{ ?s a pkg:Pattern }} ORDER BY ?s", None),
    (f"PREFIX pkg: <{PKG}> SELECT ?s WHERE {{ ?s a pkg:Pattern }} ORDER BY ?s", "text/csv"),
    (f"ASK {{ <{BASE}pattern/alpha> <{PKG}enables> <{BASE}pattern/beta> }}", "application/sparql-results+xml"),
    (f"PREFIX pkg: <{PKG}> CONSTRUCT {{ ?a pkg:enables ?b }} WHERE {{ ?a pkg:enables ?b }} ORDER BY ?a", "application/n-triples"),
    ("SELECT * WHERE { ?s ?p }", None),  # syntax error: 400 with the parser's message
    ("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }", None),  # over the row cap: 422
    ("SELECT * WHERE { ?s ?p ?o } LIMIT 3", "image/png"),  # 406 (answered by Flask on both paths)
    ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", None),  # 400, refused before running
]


@pytest.mark.parametrize(("query", "accept"), QUERIES)
def test_get_fast_path_equals_flask_route(server: Server, query: str, accept: str | None) -> None:
    headers = {"Accept": accept} if accept else {}
    fast = requests.get(server.sparql, params={"query": query}, headers=headers, timeout=30)
    flask = requests.post(server.sparql, data={"query": query}, headers=headers, timeout=30)
    assert fast.status_code == flask.status_code
    assert fast.headers["Content-Type"] == flask.headers["Content-Type"]
    assert fast.headers.get("Access-Control-Allow-Origin") == flask.headers.get("Access-Control-Allow-Origin") == "*"
    if fast.status_code == 200:
        assert fast.content == flask.content
        assert fast.headers["Vary"] == flask.headers["Vary"] == "Accept"
    else:
        assert fast.json() == flask.json()


def test_fast_path_row_cap_and_limit(server: Server) -> None:
    r = requests.get(server.sparql, params={"query": f"SELECT * WHERE {{ ?a ?b ?c . ?d ?e ?f }} LIMIT {MAX_ROWS}"})
    assert r.status_code == 200 and len(r.json()["results"]["bindings"]) == MAX_ROWS


@pytest.fixture(scope="module")
def default_graph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, int]]:
    """A store with everything in the default graph and no named graph (as patternkg builds)."""
    tmp = tmp_path_factory.mktemp("default-graph")
    store = ox.Store(str(tmp / "store"))
    triples = {q.triple for q in ox.parse(path=str(DATA), format=ox.RdfFormat.TRIG)}
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    store.flush()
    del store
    srv = start_server(Path(tmp / "store"), tmp)
    yield srv, len(triples)
    stop_server(srv)


def test_store_without_named_graphs(default_graph_server: tuple[Server, int]) -> None:
    server, count = default_graph_server
    assert int(server.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"]["value"]) == count
    assert server.select("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 1") == []
    assert requests.get(server.sparql, params={"query": f"ASK {{ ?s <{PKG}enables> ?o }}"}).json()["boolean"] is True
