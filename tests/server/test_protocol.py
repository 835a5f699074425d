"""SPARQL 1.1 Protocol over real HTTP: query forms, methods, formats, datasets and errors."""

from __future__ import annotations

import csv
import io
import json

import pyoxigraph as ox
import pytest
import requests
from pkserver_helpers import BASE, CURATED, GARDEN, META, PKG, Server

SELECT = f"PREFIX pkg: <{PKG}> SELECT ?s ?label WHERE {{ ?s a pkg:Pattern ; <http://www.w3.org/2004/02/skos/core#prefLabel> ?label }} ORDER BY ?s"
ASK = f"ASK {{ <{BASE}pattern/alpha> <{PKG}enables> <{BASE}pattern/beta> }}"
CONSTRUCT = f"PREFIX pkg: <{PKG}> CONSTRUCT {{ ?a pkg:enables ?b }} WHERE {{ ?a pkg:enables ?b }}"
EXPECTED_ENABLES = {("alpha", "beta"), ("beta", "delta"), ("epsilon", "alpha")}


def slugs_of(triples) -> set[tuple[str, str]]:
    return {(t.subject.value.rsplit("/", 1)[1], t.object.value.rsplit("/", 1)[1]) for t in triples}


def test_get_select_default_is_sparql_json(server: Server) -> None:
    r = requests.get(server.sparql, params={"query": SELECT})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/sparql-results+json")
    rows = r.json()["results"]["bindings"]
    assert [b["label"]["value"] for b in rows] == [
        "Alpha Pattern", "Beta Pattern", "Delta Pattern", "Epsilon Pattern", "Gamma Pattern"
    ]
    assert r.json()["head"]["vars"] == ["s", "label"]


@pytest.mark.parametrize(
    ("accept", "content_type", "fmt"),
    [
        ("application/sparql-results+json", "application/sparql-results+json", ox.QueryResultsFormat.JSON),
        ("application/sparql-results+xml", "application/sparql-results+xml", ox.QueryResultsFormat.XML),
        ("text/csv", "text/csv", ox.QueryResultsFormat.CSV),
        ("text/tab-separated-values", "text/tab-separated-values", ox.QueryResultsFormat.TSV),
    ],
)
def test_select_formats(server: Server, accept: str, content_type: str, fmt: ox.QueryResultsFormat) -> None:
    r = requests.get(server.sparql, params={"query": SELECT}, headers={"Accept": accept})
    assert r.status_code == 200
    assert r.headers["Content-Type"].split(";")[0] == content_type
    if fmt == ox.QueryResultsFormat.CSV:  # lossy: pyoxigraph does not parse it
        labels = sorted(row["label"] for row in csv.DictReader(io.StringIO(r.text)))
    else:
        solutions = list(ox.parse_query_results(r.content, format=fmt))
        labels = sorted(str(s["label"].value) for s in solutions)
    assert labels == ["Alpha Pattern", "Beta Pattern", "Delta Pattern", "Epsilon Pattern", "Gamma Pattern"]


@pytest.mark.parametrize(
    ("accept", "check"),
    [
        ("application/sparql-results+json", lambda body: json.loads(body)["boolean"] is True),
        ("application/sparql-results+xml", lambda body: b"<boolean>true</boolean>" in body),
        ("text/csv", lambda body: body.strip() == b"true"),
        ("text/tab-separated-values", lambda body: body.strip() == b"true"),
    ],
)
def test_ask_formats(server: Server, accept: str, check) -> None:
    r = requests.get(server.sparql, params={"query": ASK}, headers={"Accept": accept})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith(accept)
    assert check(r.content)
    r = requests.get(server.sparql, params={"query": "ASK { <urn:x:nothing> ?p ?o }"})
    assert r.json()["boolean"] is False


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("application/n-quads", ox.RdfFormat.N_QUADS),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
    ],
)
def test_construct_formats(server: Server, accept: str, fmt: ox.RdfFormat) -> None:
    r = requests.get(server.sparql, params={"query": CONSTRUCT}, headers={"Accept": accept})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].split(";")[0] == accept
    triples = [q.triple for q in ox.parse(r.content, format=fmt)]
    assert slugs_of(triples) == EXPECTED_ENABLES


def test_construct_turtle_uses_project_prefixes(server: Server) -> None:
    r = requests.get(server.sparql, params={"query": CONSTRUCT})
    assert r.headers["Content-Type"].startswith("text/turtle")
    assert b"@prefix pkg: <https://w3id.org/patternkg/ontology#>" in r.content
    assert b"pkg:enables" in r.content


def test_construct_jsonld_is_compacted_with_project_context(server: Server) -> None:
    from pyld import jsonld

    r = requests.get(server.sparql, params={"query": CONSTRUCT}, headers={"Accept": "application/ld+json"})
    doc = r.json()
    assert doc["@context"]["pkg"] == PKG
    expanded = jsonld.expand(doc)
    pairs = {
        (node["@id"].rsplit("/", 1)[1], target["@id"].rsplit("/", 1)[1])
        for node in expanded
        for target in node.get(PKG + "enables", [])
    }
    assert pairs == EXPECTED_ENABLES
    assert "pattern:alpha" in r.text or "https://w3id.org/patternkg/library/pattern/alpha" not in r.text


def test_describe(server: Server) -> None:
    r = requests.get(server.sparql, params={"query": f"DESCRIBE <{BASE}pattern/delta>"},
                     headers={"Accept": "application/n-triples"})
    assert r.status_code == 200
    triples = [q.triple for q in ox.parse(r.content, format=ox.RdfFormat.N_TRIPLES)]
    assert any(t.predicate.value == PKG + "slug" and t.object.value == "delta" for t in triples)


def test_post_form_and_post_direct(server: Server) -> None:
    r1 = requests.post(server.sparql, data={"query": SELECT})
    r2 = requests.post(server.sparql, data=SELECT.encode(), headers={"Content-Type": "application/sparql-query"})
    r3 = requests.post(server.sparql, data=SELECT.encode(),
                       headers={"Content-Type": "application/sparql-query; charset=utf-8"})
    assert r1.status_code == r2.status_code == r3.status_code == 200
    assert r1.json() == r2.json() == r3.json()
    assert len(r1.json()["results"]["bindings"]) == 5


def test_chunked_post_and_head(server: Server) -> None:
    def chunks():
        yield SELECT[:10].encode()
        yield SELECT[10:].encode()

    r = requests.post(server.sparql, data=chunks(), headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 200 and len(r.json()["results"]["bindings"]) == 5
    get = requests.get(server.sparql, params={"query": SELECT})
    head = requests.head(server.sparql, params={"query": SELECT})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Type"] == get.headers["Content-Type"]
    assert requests.head(server.sparql).status_code == 200  # the service description


COUNT_ENABLES = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?a <{PKG}enables> ?b }}"
COUNT_INFERRED = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?a <{PKG}inferredLink> ?b }}"


def count(server: Server, query: str, **params) -> int:
    return int(server.select(query, **params)[0]["n"]["value"])


def test_default_graph_is_union_of_all_graphs(server: Server) -> None:
    assert count(server, COUNT_ENABLES) == 3
    assert count(server, COUNT_INFERRED) == 2


def test_default_graph_uri_and_named_graph_uri(server: Server) -> None:
    assert count(server, COUNT_INFERRED, **{"default-graph-uri": CURATED}) == 0
    assert count(server, COUNT_INFERRED, **{"default-graph-uri": GARDEN}) == 2
    r = requests.get(server.sparql, params=[("query", COUNT_INFERRED), ("default-graph-uri", CURATED),
                                            ("default-graph-uri", GARDEN)])
    assert int(r.json()["results"]["bindings"][0]["n"]["value"]) == 2
    graphs = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    only = server.select(graphs, **{"named-graph-uri": META})
    assert [b["g"]["value"] for b in only] == [META]
    every = server.select(graphs)
    assert {b["g"]["value"] for b in every} == {CURATED, GARDEN, META}
    # form POST carries the dataset in the body
    r = requests.post(server.sparql, data={"query": COUNT_INFERRED, "default-graph-uri": CURATED})
    assert int(r.json()["results"]["bindings"][0]["n"]["value"]) == 0
    r = requests.get(server.sparql, params={"query": COUNT_INFERRED, "default-graph-uri": "not an iri"})
    assert r.status_code == 400 and r.json()["error"] == "bad-request"


def test_accept_q_values(server: Server) -> None:
    r = requests.get(server.sparql, params={"query": SELECT},
                     headers={"Accept": "text/csv;q=0.5, application/sparql-results+xml;q=0.9, */*;q=0.1"})
    assert r.headers["Content-Type"].startswith("application/sparql-results+xml")
    r = requests.get(server.sparql, params={"query": SELECT}, headers={"Accept": "text/*;q=0.3, text/csv;q=0"})
    assert r.headers["Content-Type"].startswith("text/tab-separated-values")
    rows = list(csv.reader(io.StringIO(requests.get(server.sparql, params={"query": SELECT},
                                                    headers={"Accept": "text/csv"}).text)))
    assert rows[0] == ["s", "label"] and len(rows) == 6
    r = requests.get(server.sparql, params={"query": CONSTRUCT}, headers={"Accept": "*/*"})
    assert r.headers["Content-Type"].startswith("text/turtle")


def test_not_acceptable(server: Server) -> None:
    r = requests.get(server.sparql, params={"query": SELECT}, headers={"Accept": "image/png"})
    assert r.status_code == 406
    assert r.json()["error"] == "not-acceptable" and "application/sparql-results+json" in r.json()["message"]
    r = requests.get(server.sparql, params={"query": CONSTRUCT}, headers={"Accept": "text/csv"})
    assert r.status_code == 406


def test_syntax_error_gets_400_with_parser_message(server: Server) -> None:
    r = requests.get(server.sparql, params={"query": "SELECT * WHERE { ?s ?p }"})
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "syntax" and "error at 1:" in body["message"] and body["status"] == 400


def test_other_request_errors(server: Server) -> None:
    r = requests.post(server.sparql, data=b"x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json()["error"] == "unsupported-media-type"
    r = requests.get(server.sparql, params=[("query", "ASK {}"), ("query", "ASK {}")])
    assert r.status_code == 400
    r = requests.post(server.sparql, data={"nothing": "here"})
    assert r.status_code == 400
    r = requests.get(server.sparql, params={"query": "   "})
    assert r.status_code == 400
    r = requests.get(server.url + "/no/such/page")
    assert r.status_code == 404 and r.json()["status"] == 404


def test_service_description(server: Server) -> None:
    r = requests.get(server.sparql)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/turtle")
    triples = [q.triple for q in ox.parse(r.content, format=ox.RdfFormat.TURTLE)]
    sd = "http://www.w3.org/ns/sparql-service-description#"
    assert ox.Triple(ox.NamedNode(server.sparql + "#service"), ox.NamedNode(sd + "endpoint"),
                     ox.NamedNode(server.sparql)) in triples
    names = {t.object.value for t in triples if t.predicate.value == sd + "name"}
    assert names == {CURATED, GARDEN, META}
    assert any(t.object.value == sd + "UnionDefaultGraph" for t in triples)
    assert b"union" in r.content
    r = requests.get(server.sparql, headers={"Accept": "application/ld+json"})
    assert r.status_code == 200 and sd + "endpoint" in r.text


def test_cors(server: Server) -> None:
    r = requests.get(server.sparql, params={"query": ASK}, headers={"Origin": "https://tool.example"})
    assert r.headers["Access-Control-Allow-Origin"] in ("*", "https://tool.example")
    r = requests.options(server.sparql, headers={
        "Origin": "https://tool.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type"})
    assert r.status_code == 200
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert "content-type" in r.headers["Access-Control-Allow-Headers"].lower()
