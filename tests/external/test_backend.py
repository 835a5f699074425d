"""``patternkg serve --backend URL``: the embedded front over Oxigraph server and Virtuoso.

Each engine gets the seed library published by ``patternkg publish``; the same queries
are asked of ``serve --store`` (embedded) and ``serve --backend`` and the answers compared."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from engines import Engine, Relay
from serving import Served, serve

from patternkg.converter.namespaces import DEFAULT_BASE_IRI
from patternkg.converter.publish import publish

PKG = "https://w3id.org/patternkg/ontology#"
PATTERN = DEFAULT_BASE_IRI + "pattern/distributed-organizing"

QUERIES = [
    f"SELECT ?p ?o WHERE {{ <{PATTERN}> ?p ?o }} ORDER BY ?p ?o",
    f"PREFIX pkg: <{PKG}> SELECT ?x (COUNT(*) AS ?n) WHERE {{ ?x a pkg:Pattern ; ?p ?o }} GROUP BY ?x",
    f"ASK {{ <{PATTERN}> ?p ?o }}",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    'SELECT ?s WHERE { ?s ?p ?o FILTER(CONTAINS(LCASE(STR(?o)), "distributed")) } ORDER BY ?s',
]


@pytest.fixture(scope="module")
def embedded(seed_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = serve(tmp_path_factory.mktemp("embedded"), "--store", str(seed_store))
    yield served
    served.stop()


@pytest.fixture(scope="module", params=["oxigraph", "virtuoso"])
def published(request: pytest.FixtureRequest, seed_store: Path) -> Engine:
    """An engine with the seed library published as the current release (default base IRI)."""
    engine: Engine = request.getfixturevalue("oxigraph_server" if request.param == "oxigraph" else "virtuoso")
    publish(to=engine.gsp, store=seed_store, release=f"seed-{uuid.uuid4().hex[:8]}", keep=1)
    return engine


@pytest.fixture(scope="module")
def fronted(published: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = serve(tmp_path_factory.mktemp("fronted"), "--backend", published.query, "--timeout", "20")
    yield served
    served.stop()


def results(served: Served, query: str, accept: str = "application/sparql-results+json") -> object:
    r = served.get("/sparql", params={"query": query}, headers={"Accept": accept})
    assert r.status_code == 200, r.text
    if accept.endswith("json"):
        data = r.json()
        if "boolean" in data:
            return data["boolean"]
        return sorted(json.dumps(b, sort_keys=True) for b in data["results"]["bindings"])
    return r


def graph(body: bytes, fmt: ox.RdfFormat = ox.RdfFormat.TURTLE) -> set[ox.Triple]:
    return {q.triple for q in ox.parse(body, format=fmt)}


@pytest.mark.parametrize("query", QUERIES)
def test_same_answers_as_embedded(fronted: Served, embedded: Served, query: str) -> None:
    assert results(fronted, query) == results(embedded, query)


def test_formats_and_documents(fronted: Served, embedded: Served) -> None:
    for accept in ("text/csv", "text/tab-separated-values", "application/sparql-results+xml"):
        query = QUERIES[0]
        a, b = results(fronted, query, accept), results(embedded, query, accept)
        assert a.headers["Content-Type"] == b.headers["Content-Type"]  # type: ignore[union-attr]
        assert a.content == b.content  # type: ignore[union-attr]
    construct = f"CONSTRUCT {{ <{PATTERN}> ?p ?o }} WHERE {{ <{PATTERN}> ?p ?o }}"
    for accept, fmt in (("text/turtle", ox.RdfFormat.TURTLE), ("application/n-triples", ox.RdfFormat.N_TRIPLES)):
        a = fronted.get("/sparql", params={"query": construct}, headers={"Accept": accept})
        b = embedded.get("/sparql", params={"query": construct}, headers={"Accept": accept})
        assert a.status_code == b.status_code == 200
        assert graph(a.content, fmt) == graph(b.content, fmt) != set()
    a = fronted.get("/pattern/distributed-organizing", headers={"Accept": "text/turtle"})
    b = embedded.get("/pattern/distributed-organizing", headers={"Accept": "text/turtle"})
    assert a.status_code == 200 and graph(a.content) == graph(b.content)
    assert fronted.get("/pattern/no-such-pattern").status_code == 404
    a = fronted.get("/api/queries/stats").json()
    b = embedded.get("/api/queries/stats").json()
    assert a["rows"] == b["rows"] and a["total"] == b["total"]
    a = fronted.get("/dumps/library.nq", headers={"Accept-Encoding": "identity"})
    b = embedded.get("/dumps/library.nq", headers={"Accept-Encoding": "identity"})
    assert graph(a.content, ox.RdfFormat.N_QUADS) == graph(b.content, ox.RdfFormat.N_QUADS)
    health = fronted.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_guard_refuses_before_the_engine(published: Engine, tmp_path: Path) -> None:
    relay = Relay(published.base)
    served = serve(tmp_path, "--backend", relay.url + published.query[len(published.base):])
    try:
        before = len(relay.seen)
        update = served.get("/sparql", params={"query": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"})
        service = served.get("/sparql", params={"query": "SELECT * { SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }"})
        drop = served.get("/update", params={"update": "DROP ALL"})
        assert (update.status_code, service.status_code, drop.status_code) == (403, 400, 403)
        assert len(relay.seen) == before, relay.seen[before:]  # nothing reached the engine
    finally:
        served.stop()
        relay.close()


def test_row_cap_and_timeout_enforced_here(published: Engine, tmp_path: Path) -> None:
    # once both servers are up, the engine answers slowly (and has no limits of its own for these queries)
    slow_now = {"on": False}
    relay = Relay(published.base,
                  fault=lambda method, path, n: (0, 30.0) if "slow" in path and slow_now["on"] else None)
    path = published.query[len(published.base):]
    served = serve(tmp_path, "--backend", relay.url + path, "--max-rows", "5", "--timeout", "1.5")
    slow = None
    try:
        slow = serve(tmp_path, "--backend", relay.url + path + "?slow=1", "--timeout", "1.5")
        slow_now["on"] = True
        capped = served.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
        assert capped.status_code == 422 and capped.json()["error"] == "rows"
        triples = served.get("/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o }"})
        assert triples.status_code == 422
        small = served.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 5"})
        assert small.status_code == 200 and len(small.json()["results"]["bindings"]) == 5
        started = time.monotonic()
        late = slow.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
        elapsed = time.monotonic() - started
        assert late.status_code == 503 and late.json()["error"] == "timeout"
        assert elapsed < 10  # the engine would have taken 30 s
    finally:
        served.stop()
        if slow is not None:
            slow.stop()
        relay.close()


def test_unreachable_engine_is_a_clear_error(tmp_path: Path) -> None:
    from engines import free_port

    from patternkg.server.app import pool_settings
    from patternkg.server.backend import BackendError, RemoteBackend
    from patternkg.server.config import ServerConfig

    url = f"http://127.0.0.1:{free_port()}/sparql"
    backend = RemoteBackend(pool_settings(ServerConfig(store=tmp_path)), url=url)
    with pytest.raises(BackendError) as caught:
        backend.query("ASK {}", "JSON", "TURTLE")
    assert url in caught.value.message and caught.value.kind == "backend"


def test_virtuoso_that_cuts_answers_is_refused(tmp_path: Path, seed_store: Path) -> None:
    from engines import ISQL, VIRTUOSO, start_virtuoso

    if not VIRTUOSO or not ISQL:
        pytest.skip("virtuoso-t / isql-vt not installed (Debian package virtuoso-opensource)")
    import subprocess
    import sys

    engine = start_virtuoso(tmp_path / "v", max_rows=50, buffers=2000)
    try:
        publish(to=engine.gsp, store=seed_store, release="cut")
        done = subprocess.run([sys.executable, "-m", "patternkg", "serve", "--backend", engine.query,
                               "--max-rows", "100", "--get", "/health"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 1 and "ResultSetMaxRows" in done.stderr, done.stderr
        ok = subprocess.run([sys.executable, "-m", "patternkg", "serve", "--backend", engine.query,
                             "--max-rows", "40", "--get", "/health"], capture_output=True, text=True, timeout=120)
        assert ok.returncode == 0, ok.stderr
    finally:
        engine.stop()
