"""A store of two libraries (``build --library``) served by the real server over real HTTP: the
default graph is every library, FROM/GRAPH and the protocol's graphs ask one, prepared queries
take ``library``, both base IRIs dereference with their exactMatch/closeMatch links, the VoID
describes the whole and each library, dumps keep the graphs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests
from pkserver_helpers import Server, start_server, stop_server

from patternkg.converter.libraries import LibrarySpec, build_libraries, links_graph
from patternkg.converter.namespaces import DEFAULT_BASE_IRI

PKG = "https://w3id.org/patternkg/ontology#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
VOID = "http://rdfs.org/ns/void#"
LINKS = links_graph(DEFAULT_BASE_IRI).value


@pytest.fixture(scope="module")
def libs(two_libraries):
    return two_libraries


@pytest.fixture(scope="module")
def server(libs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("libraries-server")
    report = build_libraries(store=tmp / "store", base_iri=DEFAULT_BASE_IRI, libraries=[
        LibrarySpec("a", (libs.a,), libs.base_a), LibrarySpec("b", (libs.b,), libs.base_b)])
    assert report.ok
    srv = start_server(tmp / "store", tmp)
    yield srv
    stop_server(srv)


def _count(server: Server, where: str, **params: str) -> int:
    rows = server.select(f"PREFIX pkg: <{PKG}> PREFIX skos: <{SKOS}> SELECT (COUNT(*) AS ?n) {where}", **params)
    return int(rows[0]["n"]["value"])


def test_the_default_graph_is_every_library(server: Server) -> None:
    assert _count(server, "WHERE { ?p a pkg:Pattern }") == 12
    assert _count(server, "WHERE { ?a skos:exactMatch ?b }") == 4
    assert _count(server, "WHERE { ?a skos:closeMatch ?b }") == 6


def test_sparql_from_graph_and_protocol_graphs_ask_one_library(server: Server, libs) -> None:
    a, b = f"<{libs.base_a}dataset>", f"<{libs.base_b}dataset>"
    assert _count(server, f"FROM {a} WHERE {{ ?p a pkg:Pattern }}") == 6
    assert _count(server, f"FROM {b} WHERE {{ ?p a pkg:Pattern FILTER(STRSTARTS(STR(?p), \"{libs.base_b}\")) }}") == 6
    assert _count(server, f"FROM {a} WHERE {{ ?p a pkg:Pattern FILTER(STRSTARTS(STR(?p), \"{libs.base_b}\")) }}") == 0
    assert _count(server, f"FROM <{LINKS}> WHERE {{ ?x skos:exactMatch ?y }}") == 4
    assert _count(server, f"FROM {a} WHERE {{ ?x skos:exactMatch ?y }}") == 0
    assert _count(server, f"FROM NAMED {b} WHERE {{ GRAPH ?g {{ ?p a pkg:Pattern }} }}") == 6
    assert _count(server, f"WHERE {{ GRAPH {b} {{ ?p a pkg:Pattern }} }}") == 6
    assert _count(server, "WHERE { ?p a pkg:Pattern }", **{"default-graph-uri": f"{libs.base_a}dataset"}) == 6
    # POST (through Flask, not the fast path) reads FROM too
    r = requests.post(server.sparql, data={"query": f"SELECT (COUNT(*) AS ?n) FROM {b} WHERE {{ ?p a <{PKG}Pattern> }}"},
                      headers={"Accept": "application/sparql-results+json"}, timeout=30)
    assert r.status_code == 200 and r.json()["results"]["bindings"][0]["n"]["value"] == "6"


def _stats_patterns(server: Server, **params: str) -> int:
    r = requests.get(server.url + "/api/queries/stats", params=params, timeout=30)
    assert r.status_code == 200, r.text
    return next(row["count"] for row in r.json()["rows"] if row["facet"] == "type" and row["value"] == PKG + "Pattern")


def test_prepared_queries_with_and_without_library(server: Server, libs) -> None:
    assert _stats_patterns(server) == 12
    assert _stats_patterns(server, library="a") == 6
    assert _stats_patterns(server, library=f"{libs.base_b}dataset") == 6

    def enablers(**params: str) -> requests.Response:
        return requests.get(server.url + "/api/queries/enablers", params=params, timeout=30)

    # without library, a slug names the first library's pattern; the query runs on every library
    rows = enablers(target="shared-one").json()["rows"]
    assert [r["enabler"] for r in rows] == [libs.base_a + "pattern/only-in-a"]
    answer = enablers(target="new-name", library="b").json()
    assert [r["enabler"] for r in answer["rows"]] == [libs.base_b + "pattern/only-in-b"]
    assert answer["parameters"]["library"] == f"<{libs.base_b}dataset>"
    assert enablers(target="shared-one", library="b").json()["rows"] == []
    missing = enablers(target="new-name", library="a")
    assert missing.status_code == 404
    bad = enablers(target="shared-one", library="c")
    assert bad.status_code == 400 and bad.json()["parameter"] == "library"
    spec = requests.get(server.url + "/api/openapi.json", timeout=30).json()
    names = [p["name"] for p in spec["paths"]["/api/queries/enablers"]["get"]["parameters"]]
    assert "library" in names


def test_search_with_library_runs_on_that_library(server: Server, libs) -> None:
    everywhere = requests.get(server.url + "/api/queries/search", params={"text": "only"}, timeout=30).json()
    assert {r["pattern"] for r in everywhere["rows"]} == {libs.base_a + "pattern/only-in-a",
                                                          libs.base_b + "pattern/only-in-b"}
    one = requests.get(server.url + "/api/queries/search", params={"text": "only", "library": "b"}, timeout=30).json()
    assert [r["pattern"] for r in one["rows"]] == [libs.base_b + "pattern/only-in-b"]


def _turtle(server: Server, path: str, status: int = 200) -> set[ox.Triple]:
    r = requests.get(server.url + path, headers={"Accept": "text/turtle"}, timeout=30)
    assert r.status_code == status, (path, r.text)
    return {q.triple for q in ox.parse(r.content, format=ox.RdfFormat.TURTLE)}


def _path(iri: str) -> str:
    return "/" + iri.split("/", 3)[3]


def test_both_base_iris_dereference_with_their_links(server: Server, libs) -> None:
    def n(iri: str) -> ox.NamedNode:
        return ox.NamedNode(iri)

    a_old, b_new = libs.base_a + "pattern/old-name", libs.base_b + "pattern/new-name"
    a_doc = _turtle(server, _path(a_old))
    assert ox.Triple(n(a_old), n(SKOS + "exactMatch"), n(b_new)) in a_doc
    assert ox.Triple(n(b_new), n("http://purl.org/dc/terms/title"), ox.Literal("New Name")) in a_doc  # its label
    b_doc = _turtle(server, _path(b_new))
    assert ox.Triple(n(b_new), n(SKOS + "exactMatch"), n(a_old)) in b_doc
    assert ox.Triple(n(b_new), n(PKG + "slug"), ox.Literal("new-name")) in b_doc
    same = libs.base_b + "pattern/same-slug"
    assert ox.Triple(n(same), n(SKOS + "closeMatch"), n(libs.base_a + "pattern/same-slug")) in _turtle(
        server, _path(same))
    # the short path answers for the first library that has the pattern
    assert any(t.subject == n(libs.base_b + "pattern/only-in-b") for t in _turtle(server, "/pattern/only-in-b"))
    assert any(t.subject == n(libs.base_a + "pattern/shared-one") for t in _turtle(server, "/pattern/shared-one"))
    # a library does not answer for another's pattern
    assert requests.get(server.url + _path(libs.base_a + "pattern/only-in-b"), timeout=30).status_code == 404
    page = requests.get(server.url + _path(b_new), headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 200 and a_old in page.text


def test_void_describes_the_whole_and_each_library(server: Server, libs) -> None:
    whole = _turtle(server, "/void")
    ds = ox.NamedNode(DEFAULT_BASE_IRI + "dataset")
    subsets = {t.object.value for t in whole if t.subject == ds and t.predicate.value == VOID + "subset"}
    assert subsets == {libs.base_a + "dataset", libs.base_b + "dataset", LINKS}
    for base in (libs.base_a, libs.base_b):  # each library's description, in /void and at its own IRI
        own = _turtle(server, _path(base + "dataset"))
        for doc in (whole, own):
            counts = {t.object.value for t in doc
                      if t.subject == ox.NamedNode(base + "dataset") and t.predicate.value == PKG + "patternCount"}
            assert counts == {"6"}
        page = requests.get(server.url + _path(base + "dataset"), headers={"Accept": "text/html"}, timeout=30)
        assert page.status_code == 200 and base + "dataset" in page.text


def test_dumps_keep_the_graphs(server: Server, libs) -> None:
    r = requests.get(server.url + "/dumps/library.nq", timeout=60)
    assert r.status_code == 200
    graphs = {q.graph_name for q in ox.parse(r.content, format=ox.RdfFormat.N_QUADS)}
    assert graphs == {ox.DefaultGraph(), ox.NamedNode(libs.base_a + "dataset"), ox.NamedNode(libs.base_b + "dataset"),
                      ox.NamedNode(LINKS)}
    triples = requests.get(server.url + "/dumps/library.nt", timeout=60)
    assert {q.triple for q in ox.parse(triples.content, format=ox.RdfFormat.N_TRIPLES)} == {
        q.triple for q in ox.parse(r.content, format=ox.RdfFormat.N_QUADS)}


def test_a_single_library_store_takes_no_library_parameter(seed_server: Server) -> None:
    r = requests.get(seed_server.url + "/api/queries/stats", params={"library": "a"}, timeout=30)
    assert r.status_code == 400 and "unknown parameter 'library'" in r.json()["message"]


def test_the_query_command_takes_library_too(server: Server, libs) -> None:
    import json

    from click.testing import CliRunner

    from patternkg.cli import main

    def stats(*extra: str) -> int:
        run = CliRunner().invoke(main, ["query", "stats", "--store", str(server.store), "--format", "json", *extra])
        assert run.exit_code == 0, run.output
        rows = json.loads(run.stdout)["rows"]
        return next(r["count"] for r in rows if r["facet"] == "type" and r["value"] == PKG + "Pattern")

    assert stats() == 12
    assert stats("--param", "library=a") == 6
    run = CliRunner().invoke(main, ["query", "enablers", "--store", str(server.store), "--format", "json",
                                    "--param", "target=new-name", "--param", "library=b"])
    assert [r["enabler"] for r in json.loads(run.stdout)["rows"]] == [libs.base_b + "pattern/only-in-b"]


@pytest.mark.parametrize("query, dataset", [
    ("SELECT * FROM <http://g> WHERE { ?s ?p ?o }", True),
    ("select * from named <http://g> { graph ?g { ?s ?p ?o } }", True),
    ("PREFIX from: <http://x/> SELECT ?from WHERE { ?from from:p \"FROM\" } # FROM", False),
    ("SELECT * WHERE { GRAPH <http://g> { ?s ?p ?o } }", False),
])
def test_the_guard_tells_queries_that_name_their_dataset(query: str, dataset: bool) -> None:
    from patternkg.server.guard import inspect_query

    assert inspect_query(query).dataset is dataset
