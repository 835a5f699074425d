"""Real clients (SPARQLWrapper, rdflib's SPARQLStore) and many parallel clients."""

from __future__ import annotations

import http.client
import json
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import requests
from pkserver_helpers import BASE, PKG, Server
from rdflib import Graph, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, TURTLE, SPARQLWrapper


def test_sparqlwrapper(server: Server) -> None:
    client = SPARQLWrapper(server.sparql)
    client.setReturnFormat(JSON)
    client.setQuery(f"SELECT ?b WHERE {{ <{BASE}pattern/alpha> <{PKG}enables> ?b }}")
    result = client.query().convert()
    assert [b["b"]["value"] for b in result["results"]["bindings"]] == [BASE + "pattern/beta"]
    client.setQuery(f"ASK {{ <{BASE}pattern/beta> <{PKG}requires> <{BASE}pattern/gamma> }}")
    assert client.query().convert()["boolean"] is True
    client.setMethod("POST")
    client.setQuery(f"CONSTRUCT {{ ?a <{PKG}requires> ?b }} WHERE {{ ?a <{PKG}requires> ?b }}")
    client.setReturnFormat(TURTLE)
    graph = Graph().parse(data=client.query().convert(), format="turtle")
    assert len(graph) == 3


def test_rdflib_sparqlstore(server: Server) -> None:
    store = SPARQLStore(server.sparql)
    graph = Graph(store=store)
    rows = list(graph.query(
        f"SELECT ?p (COUNT(?x) AS ?n) WHERE {{ ?p <{PKG}requires> ?x }} GROUP BY ?p ORDER BY ?p"))
    assert [(str(r.p).rsplit("/", 1)[1], int(r.n)) for r in rows] == [("alpha", 1), ("beta", 1), ("gamma", 1)]
    triples = list(graph.triples((URIRef(BASE + "pattern/delta"), URIRef(PKG + "slug"), None)))
    assert [str(t[2]) for t in triples] == ["delta"]
    assert bool(graph.query(f"ASK {{ ?s <{PKG}inferredLink> <{BASE}pattern/beta> }}").askAnswer)


def test_many_parallel_clients_get_their_own_answers(server: Server) -> None:
    """64 clients, 32 at a time, each from its own loopback address (127.0.1.x) and on its own
    keep-alive connection, ask five times for one pattern's label: every answer is 200 and
    the client's own. (From one address they would be one client, whose share of the workers
    and of the waiting places the fairness gate caps: 429 beyond, tests/server/test_hostile_clients.py.)"""
    slugs = ["alpha", "beta", "gamma", "delta", "epsilon"]
    labels = {s: s.capitalize() + " Pattern" for s in slugs}
    host, port = server.url.removeprefix("http://").split(":")

    def one(i: int) -> tuple[str, str, int]:
        slug = slugs[i % len(slugs)]
        conn = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(f"127.0.1.{i + 1}", 0))
        query = f"SELECT ?l WHERE {{ <{BASE}pattern/{slug}> <http://www.w3.org/2004/02/skos/core#prefLabel> ?l }}"
        out = []
        for _ in range(5):
            conn.request("GET", "/sparql?" + urlencode({"query": query}),
                         headers={"Accept": "application/sparql-results+json"})
            r = conn.getresponse()
            body = json.loads(r.read())
            assert r.status == 200, body
            out.append((r.status, body["results"]["bindings"][0]["l"]["value"]))
        conn.close()
        assert all(o == out[0] for o in out)
        return slug, out[0][1], out[0][0]

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(one, range(64)))
    assert len(results) == 64
    for slug, label, status in results:
        assert status == 200 and label == labels[slug]
