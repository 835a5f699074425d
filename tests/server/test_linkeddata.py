"""Dereferenceable IRIs, /void, /dumps/ (ETag, gzip), /health, and the `serve` CLI."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import requests
from pkserver_helpers import BASE, PKG, Server

HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_pattern_as_turtle_jsonld_ntriples(server: Server) -> None:
    iri = BASE + "pattern/alpha"
    fragment = iri + "#rel-enables-beta"
    for path in ("/pattern/alpha", "/patternkg/library/pattern/alpha"):
        for accept, fmt in (("text/turtle", ox.RdfFormat.TURTLE), ("application/n-triples", ox.RdfFormat.N_TRIPLES),
                            ("application/ld+json", ox.RdfFormat.JSON_LD)):
            r = requests.get(server.url + path, headers={"Accept": accept})
            assert r.status_code == 200 and r.headers["Content-Type"].startswith(accept)
            triples = {q.triple for q in ox.parse(r.content, format=fmt)}
            assert ox.Triple(ox.NamedNode(iri), ox.NamedNode(PKG + "enables"), ox.NamedNode(BASE + "pattern/beta")) in triples
            assert ox.Triple(ox.NamedNode(fragment), ox.NamedNode(PKG + "weight"),
                             ox.Literal("0.8", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal"))) in triples
            # labels of linked resources
            assert ox.Triple(ox.NamedNode(BASE + "pattern/beta"), ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel"),
                             ox.Literal("Beta Pattern")) in triples
            assert ox.Triple(ox.NamedNode(BASE + "domain/governance"), ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
                             ox.Literal("Governance")) in triples
            # but not the description of other patterns
            assert not any(t.subject.value == BASE + "pattern/beta" and t.predicate.value == PKG + "requires" for t in triples)


def test_pattern_html_and_404(server: Server) -> None:
    r = requests.get(server.url + "/pattern/alpha", headers={"Accept": HTML})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "<h1>Alpha Pattern</h1>" in r.text and "Beta Pattern" in r.text
    r = requests.get(server.url + "/pattern/no-such-pattern", headers={"Accept": "text/turtle"})
    assert r.status_code == 404 and r.json()["error"] == "not-found"
    assert requests.get(server.url + "/pattern/..%2Fx").status_code == 404


def test_ontology_dereferences(server: Server) -> None:
    r = requests.get(server.url + "/patternkg/ontology", headers={"Accept": "text/turtle"})
    assert r.status_code == 200
    triples = [q.triple for q in ox.parse(r.content, format=ox.RdfFormat.TURTLE)]
    assert ox.Triple(ox.NamedNode(PKG + "Pattern"), ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                     ox.NamedNode("http://www.w3.org/2002/07/owl#Class")) in triples
    r = requests.get(server.url + "/ontology", headers={"Accept": "application/n-triples"})
    assert len([q for q in ox.parse(r.content, format=ox.RdfFormat.N_TRIPLES)]) == len(triples)


def test_void(server: Server) -> None:
    r = requests.get(server.url + "/void", headers={"Accept": "text/turtle"})
    assert r.status_code == 200
    triples = [q.triple for q in ox.parse(r.content, format=ox.RdfFormat.TURTLE)]
    endpoint = [t.object.value for t in triples if t.predicate.value == "http://rdfs.org/ns/void#sparqlEndpoint"]
    assert server.sparql in endpoint
    assert any(t.predicate.value == PKG + "patternCount" for t in triples)


def test_dumps_with_etag_and_gzip(server: Server) -> None:
    index = requests.get(server.url + "/dumps/").json()
    assert {d["name"] for d in index["dumps"]} == {"library.ttl", "library.nt", "library.nq", "library.trig", "library.jsonld"}
    r = requests.get(server.url + "/dumps/library.nq")  # requests sends Accept-Encoding: gzip
    assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
    quads = list(ox.parse(r.content, format=ox.RdfFormat.N_QUADS))
    assert len(quads) == 47
    etag = r.headers["ETag"]
    again = requests.get(server.url + "/dumps/library.nq", headers={"If-None-Match": etag})
    assert again.status_code == 304
    plain = requests.get(server.url + "/dumps/library.nq", headers={"Accept-Encoding": "identity"}, stream=True)
    raw = plain.raw.read()
    assert "Content-Encoding" not in plain.headers and plain.headers["ETag"] != etag
    assert gzip.decompress(gzip.compress(raw)) == raw and len(list(ox.parse(raw, format=ox.RdfFormat.N_QUADS))) == 47
    ttl = requests.get(server.url + "/dumps/library.ttl")
    assert ttl.status_code == 200 and ttl.headers["Content-Type"].startswith("text/turtle")
    js = requests.get(server.url + "/dumps/library.jsonld")
    assert js.status_code == 200 and "@context" in js.json()
    assert requests.get(server.url + "/dumps/other.txt").status_code == 404


def test_health(server: Server) -> None:
    r = requests.get(server.url + "/health")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["query_workers"] >= 1


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "patternkg", "serve", *args], capture_output=True, cwd=cwd, timeout=120)


def test_serve_get_builds_the_seeds(tmp_path: Path) -> None:
    query = "/sparql?query=SELECT%20%3Fslug%20WHERE%20%7B%3Fp%20%3Chttps%3A%2F%2Fw3id.org%2Fpatternkg%2Fontology%23slug%3E%20%3Fslug%7D"
    done = run_cli("--get", query, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    slugs = [b["slug"]["value"] for b in json.loads(done.stdout)["results"]["bindings"]]
    assert "distributed-organizing" in slugs
    done = run_cli("--get", "/pattern/distributed-organizing", "--accept", "application/n-triples", cwd=tmp_path)
    assert done.returncode == 0 and b"distributed-organizing" in done.stdout
    done = run_cli("--get", "/sparql?query=SELECT", cwd=tmp_path)
    assert done.returncode == 1 and json.loads(done.stdout)["error"] == "syntax"


def test_serve_a_store_written_by_oxigraph_load(tmp_path: Path) -> None:
    data = tmp_path / "data.nq"
    data.write_text("<http://ex.org/a> <http://ex.org/p> \"hello\" <http://ex.org/g> .\n"
                    "<http://ex.org/b> <http://ex.org/p> \"world\" .\n")
    store = tmp_path / "oxstore"
    subprocess.run(["oxigraph", "load", "--location", str(store), "--file", str(data)], check=True,
                   capture_output=True, timeout=120)
    done = run_cli("--store", str(store), "--get", "/sparql?query=SELECT%20%3Fo%20WHERE%20%7B%3Fs%20%3Fp%20%3Fo%7D%20ORDER%20BY%20%3Fo",
                   "--accept", "text/csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().split() == ["o", "hello", "world"]
    void = run_cli("--store", str(store), "--get", "/void", "--accept", "application/n-triples", cwd=tmp_path)
    assert void.returncode == 0 and b"<http://rdfs.org/ns/void#triples> \"2\"^^<http://www.w3.org/2001/XMLSchema#integer>" in void.stdout
