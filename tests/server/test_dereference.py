"""Every kind of IRI the converter mints dereferences (issue 13), on a store built from the
seed by the real converter and served by the real server over HTTP: RDF formats by Accept,
the missing-pattern 404 with its referrers, the ontology's versionIRI and vocabulary, the
dataset's VoID/DCAT (dumps with size and checksum, prepared queries as SPARQL executables),
precise media types, relative IRIs in queries, and dumps over HTTP (ranges, charset, modes)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests
from pkserver_helpers import Server

from patternkg.converter.api import build, export

SEED = Path(__file__).resolve().parents[2] / "seeds"
B = "https://w3id.org/patternkg/library/"
PKG = "https://w3id.org/patternkg/ontology#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
SH = "http://www.w3.org/ns/shacl#"
SCHEMA = "https://schema.org/"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
MISSING = "abundance-vs-scarcity-mindset"  # referenced by the seed, no file of its own

#: one IRI of every kind the seed mints, and the local path it answers at
IRIS = {
    B + "pattern/distributed-organizing": "/pattern/distributed-organizing",
    B + "domain/deep-work-flow": "/domain/deep-work-flow",
    B + "commons-domain/life": "/commons-domain/life",
    B + "community/systems-thinking": "/community/systems-thinking",
    B + "entity/adaptive-leadership": "/entity/adaptive-leadership",
    B + "agent/cloudsters": "/agent/cloudsters",
    B + "scheme/domains": "/scheme/domains",
    B + "dataset": "/dataset",
    "https://w3id.org/patternkg/vocab/status/draft": "/vocab/status/draft",
    "https://w3id.org/patternkg/vocab/dialect/v7.1": "/vocab/dialect/v7.1",
    "https://w3id.org/patternkg/vocab/status": "/vocab/status",
    "https://w3id.org/patternkg/vocab/": "/vocab/",
}


def parse(response: requests.Response, media: str) -> set[ox.Triple]:
    return {q.triple for q in ox.parse(response.content, format=FORMATS[media])}


@pytest.mark.parametrize("iri", sorted(IRIS))
def test_every_kind_of_iri_dereferences_in_every_rdf_format(seed_server: Server, iri: str) -> None:
    iri_path = "/patternkg/" + iri.split("https://w3id.org/patternkg/", 1)[1]
    for path in (IRIS[iri], iri_path):
        for media in FORMATS:
            r = requests.get(seed_server.url + path, headers={"Accept": media}, timeout=30)
            assert r.status_code == 200, (path, media, r.text[:200])
            assert r.headers["Content-Type"].split(";")[0] == media
            subjects = {t.subject for t in parse(r, media)}
            assert ox.NamedNode(iri) in subjects, (path, media)


def test_a_domain_lists_its_patterns_with_labels(seed_server: Server) -> None:
    r = requests.get(seed_server.url + "/domain/deep-work-flow", headers={"Accept": "text/turtle"}, timeout=30)
    triples = parse(r, "text/turtle")
    pattern = ox.NamedNode(B + "pattern/distributed-organizing")
    assert ox.Triple(pattern, ox.NamedNode(PKG + "domain"), ox.NamedNode(B + "domain/deep-work-flow")) in triples
    assert any(t.subject == pattern and t.predicate.value.endswith("prefLabel") for t in triples)


def test_ontology_version_iri_and_see_also_resolve(seed_server: Server) -> None:
    ontology = requests.get(seed_server.url + "/ontology", headers={"Accept": "application/n-triples"}, timeout=30)
    triples = parse(ontology, "application/n-triples")
    version = next(t.object.value for t in triples if t.predicate.value.endswith("#versionIRI"))
    see_also = next(t.object.value for t in triples
                    if t.subject.value == "https://w3id.org/patternkg/ontology" and t.predicate.value == RDFS + "seeAlso")
    for iri in (version, see_also):
        path = "/patternkg/" + iri.split("https://w3id.org/patternkg/", 1)[1]
        r = requests.get(seed_server.url + path, headers={"Accept": "text/turtle"}, timeout=30)
        assert r.status_code == 200 and len(parse(r, "text/turtle")) > 10, path
    r = requests.get(seed_server.url + "/ontology", headers={"Accept": "application/rdf+xml"}, timeout=30)
    assert r.headers["Content-Type"].startswith("application/rdf+xml") and len(parse(r, "application/rdf+xml")) == len(triples)


def test_a_referenced_pattern_without_a_file_is_404_with_its_referrers(seed_server: Server) -> None:
    for media in ("text/turtle", "application/ld+json"):
        r = requests.get(seed_server.url + "/pattern/" + MISSING, headers={"Accept": media}, timeout=30)
        assert r.status_code == 404 and r.headers["Content-Type"].startswith(media)
        triples = parse(r, media)
        referrer = ox.NamedNode(B + "pattern/distributed-organizing")
        assert ox.Triple(referrer, ox.NamedNode(PKG + "complementaryTo"), ox.NamedNode(B + "pattern/" + MISSING)) in triples
        note = next(t.object.value for t in triples if t.predicate.value == RDFS + "comment")
        assert "No pattern file describes" in note and "1 resource(s) reference it" in note
    html = requests.get(seed_server.url + "/pattern/" + MISSING, headers={"Accept": BROWSER}, timeout=30)
    assert html.status_code == 404 and html.headers["Content-Type"].startswith("text/html")
    assert "distributed-organizing" in html.text
    for path in ("/pattern/named-nowhere", "/entity/named-nowhere", "/vocab/status/named-nowhere", "/vocab/nothing"):
        r = requests.get(seed_server.url + path, headers={"Accept": "text/turtle"}, timeout=30)
        assert r.status_code == 404 and r.json()["error"] == "not-found", path


def test_prepared_queries_answer_for_a_referenced_target(seed_server: Server) -> None:
    r = requests.get(seed_server.url + "/api/queries/enablers", params={"target": "active-listening-depth"}, timeout=30)
    assert r.status_code == 200, r.text
    assert {row["enabler"] for row in r.json()["rows"]} == {B + "pattern/distributed-organizing"}
    r = requests.get(seed_server.url + "/api/queries/enablers", params={"target": "named-nowhere"}, timeout=30)
    assert r.status_code == 404 and "named-nowhere" in r.json()["message"]


def test_relative_iris_resolve_against_the_request_url(seed_server: Server) -> None:
    # the W3C protocol test query_content_type_construct
    for request in (
        lambda: requests.post(seed_server.sparql, data="CONSTRUCT { <s> <p> 1 } WHERE {}", timeout=30,
                              headers={"Content-Type": "application/sparql-query", "Accept": "application/n-triples"}),
        lambda: requests.get(seed_server.sparql, params={"query": "CONSTRUCT { <s> <p> 1 } WHERE {}"}, timeout=30,
                             headers={"Accept": "application/n-triples"}),
    ):
        r = request()
        assert r.status_code == 200, r.text
        assert parse(r, "application/n-triples") == {ox.Triple(
            ox.NamedNode(seed_server.url + "/s"), ox.NamedNode(seed_server.url + "/p"),
            ox.Literal("1", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")))}
    r = requests.get(seed_server.sparql, params={"query": "BASE <http://example.org/x/> SELECT ?o { BIND(<y> AS ?o) }"},
                     timeout=30)
    assert r.json()["results"]["bindings"][0]["o"]["value"] == "http://example.org/x/y"


@pytest.mark.parametrize(("query", "accept", "expected"), [
    ("SELECT * { ?s ?p ?o } LIMIT 1", "application/json", "application/sparql-results+json"),
    ("ASK {}", "application/json", "application/sparql-results+json"),
    ("SELECT * { ?s ?p ?o } LIMIT 1", "application/xml", "application/sparql-results+xml"),
    ("SELECT * { ?s ?p ?o } LIMIT 1", "text/plain", "text/csv"),
    ("SELECT * { ?s ?p ?o } LIMIT 1", BROWSER, "text/html"),  # a browser: an HTML table (issue 12)
    ("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1", "application/json", "application/ld+json"),
    ("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1", "application/x-turtle", "text/turtle"),
    ("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1", "application/xml", "application/rdf+xml"),
    ("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1", "text/plain", "application/n-triples"),
    ("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1", BROWSER, "text/html"),
    ("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1", "application/rdf+xml", "application/rdf+xml"),
])
def test_precise_media_types(seed_server: Server, query: str, accept: str, expected: str) -> None:
    for send in (lambda: requests.get(seed_server.sparql, params={"query": query}, headers={"Accept": accept}, timeout=30),
                 lambda: requests.post(seed_server.sparql, data={"query": query}, headers={"Accept": accept}, timeout=30)):
        r = send()
        assert r.status_code == 200 and r.headers["Content-Type"].split(";")[0] == expected
    if expected in FORMATS:
        assert parse(r, expected)
    elif expected == "text/csv":
        assert sorted(r.text.splitlines()[0].split(",")) == ["o", "p", "s"]
    elif expected == "text/html":
        assert '<table class="results-table">' in r.text


def test_pattern_documents_as_rdf_xml_and_json_for_browsers(seed_server: Server) -> None:
    r = requests.get(seed_server.url + "/pattern/distributed-organizing", headers={"Accept": BROWSER}, timeout=30)
    assert r.headers["Content-Type"].startswith("text/html")
    r = requests.get(seed_server.url + "/void", headers={"Accept": "application/json"}, timeout=30)
    assert r.headers["Content-Type"].startswith("application/ld+json") and "@version" not in r.text


def test_void_describes_dumps_and_prepared_queries(seed_server: Server) -> None:
    r = requests.get(seed_server.url + "/void", headers={"Accept": "text/turtle"}, timeout=60)
    triples = parse(r, "text/turtle")
    dataset = ox.NamedNode(B + "dataset")
    dumps = {t.object.value for t in triples if t.subject == dataset and t.predicate.value == VOID + "dataDump"}
    assert {u.rsplit("/", 1)[1] for u in dumps} == {"library.ttl", "library.nt", "library.nq", "library.trig",
                                                   "library.jsonld"}

    def value(subject: ox.NamedNode, predicate: str) -> ox.NamedNode | ox.Literal:
        return next(t.object for t in triples if t.subject == subject and t.predicate.value == predicate)

    for dist in (t.object for t in triples if t.subject == dataset and t.predicate.value == DCAT + "distribution"):
        url = value(dist, DCAT + "downloadURL").value
        body = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=60).content
        assert int(value(dist, DCAT + "byteSize").value) == len(body)
        checksum = value(dist, "http://spdx.org/rdf/terms#checksum")
        assert value(checksum, "http://spdx.org/rdf/terms#checksumValue").value == hashlib.sha256(body).hexdigest()
        assert value(dist, DCAT + "mediaType").value.startswith("https://www.iana.org/assignments/media-types/")
    executables = [t.subject for t in triples if t.predicate.value.endswith("#type") and t.object.value == SH + "SPARQLExecutable"]
    names = {e.value.rsplit("#query-", 1)[1] for e in executables}
    assert {"enablers", "requirements", "stats"} <= names
    enablers = ox.NamedNode(B + "dataset#query-enablers")
    assert value(enablers, SCHEMA + "target").value == seed_server.sparql
    assert any(t.subject == enablers and t.predicate.value == SCHEMA + "keywords" for t in triples)
    text = value(enablers, SH + "select").value
    run = requests.post(seed_server.sparql, data={"query": text}, timeout=30)
    assert run.status_code == 200 and "results" in run.json()


def test_dumps_over_http(seed_server: Server) -> None:
    url = seed_server.url + "/dumps/library.ttl"
    whole = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=60)
    assert whole.headers["Content-Type"] == "text/turtle; charset=utf-8"
    one = requests.get(url, headers={"Accept-Encoding": "identity", "Range": "bytes=0-99"}, timeout=30)
    assert one.status_code == 206 and one.content == whole.content[:100]
    several = requests.get(url, headers={"Accept-Encoding": "identity", "Range": "bytes=0-9,20-29"}, timeout=30)
    assert several.status_code == 200 and several.content == whole.content
    for name, fmt in (("library.nt", ox.RdfFormat.N_TRIPLES), ("library.trig", ox.RdfFormat.TRIG)):
        r = requests.get(seed_server.url + "/dumps/" + name, timeout=60)
        assert r.status_code == 200 and len(list(ox.parse(r.content, format=fmt))) > 300


def test_exported_files_follow_the_umask(tmp_path: Path) -> None:
    build(store=tmp_path / "store", sources=[SEED])
    old = os.umask(0o022)
    try:
        export(format="turtle", store=tmp_path / "store", output=tmp_path / "out.ttl")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.ttl").stat().st_mode) == 0o644


def test_ontology_documentation_page(seed_server: Server) -> None:
    """Every class and property of the ontology, with label, domain, range and how often the
    library uses it (the seed: one pattern, one pkg:slug)."""
    r = requests.get(seed_server.url + "/ontology", headers={"Accept": BROWSER}, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    page = r.text
    ontology = parse(requests.get(seed_server.url + "/ontology", headers={"Accept": "text/turtle"}, timeout=30),
                     "text/turtle")
    owl = "http://www.w3.org/2002/07/owl#"
    terms = {t.subject.value for t in ontology if t.predicate.value.endswith("#type") and t.object.value in (
        owl + "Class", owl + "ObjectProperty", owl + "DatatypeProperty", owl + "AnnotationProperty")}
    assert len(terms) > 100
    for iri in terms:
        assert f'href="{iri}"' in page, iri
        label = next((t.object.value for t in ontology if t.subject.value == iri and t.predicate.value == RDFS + "label"),
                     None)
        if label:
            assert label.replace("'", "&#39;") in page, label
    import re
    slug = re.search(r'id="pkg-slug".*?class="uses">([\d,]+) times', page, re.S)
    pattern = re.search(r'id="pkg-Pattern".*?class="uses">([\d,]+) instances', page, re.S)
    assert slug and slug.group(1) == "1" and pattern and pattern.group(1) == "1"
    pruned = re.search(r'id="pkg-lastPruned".*?</article>', page, re.S).group(0)
    assert "domain" in pruned and "pkg:Pattern" in pruned and "rdfs:Literal" in pruned


def test_owlready2_loads_the_ontology_by_its_iri(seed_server: Server, tmp_path: Path) -> None:
    """owlready2 fetches an IRI without Accept and parses only RDF/XML (and N-Triples, OWL/XML);
    it retries the IRI with .owl, which answers RDF/XML."""
    owlready2 = pytest.importorskip("owlready2")
    for suffix in ("rdf", "owl", "xml"):
        r = requests.get(seed_server.url + "/patternkg/ontology." + suffix, timeout=30)
        assert r.headers["Content-Type"].startswith("application/rdf+xml")
    world = owlready2.World(filename=str(tmp_path / "quadstore.sqlite3"))
    ontology = world.get_ontology(seed_server.url + "/patternkg/ontology").load()
    names = {c.name for c in ontology.classes()}
    assert {"Pattern", "Relationship", "InferredLink", "Community"} <= names
