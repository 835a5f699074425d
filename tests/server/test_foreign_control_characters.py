"""A store written by another tool, with control characters in its literals: no answer is malformed.

patternkg's converter removes control characters (``test_bad_data.py``), but a store
loaded with ``oxigraph load`` (here: written with pyoxigraph directly) or a query's own
literals can hold them. Served by the real server over loopback, every format is either
well formed and carries the exact value (JSON, TSV, the Turtle family, JSON-LD, dumps),
or is refused with ``406 unrepresentable`` naming the character and the formats to ask
for instead (SPARQL XML results, RDF/XML, CSV: XML 1.0 cannot carry U+0000 at all, and
CSV has no escape). Each answer is read by an independent parser (expat, the json
module, rdflib).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
import requests
from pkserver_helpers import BASE, DATA, Server, start_server, stop_server

ALPHA = BASE + "pattern/alpha"
DESCRIPTION = "http://purl.org/dc/terms/description"
#: every C0 control but tab/LF/CR that matters, DEL, a noncharacter, and the allowed three
VALUE = "NUL\x00 BEL\x07 ESC\x1b VT\x0b FF\x0c DEL\x7f nonchar\ufffe tab\t LF\n CR\r end"
#: raw characters no answer may carry (C0 but tab/LF/CR; CR, LF and tab are checked by parsing)
RAW = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f]")
SELECT = f"SELECT ?o WHERE {{ <{ALPHA}> <{DESCRIPTION}> ?o }}"
CONSTRUCT = f"CONSTRUCT {{ <{ALPHA}> <{DESCRIPTION}> ?o }} WHERE {{ <{ALPHA}> <{DESCRIPTION}> ?o }}"


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The test library in the default graph (as ``oxigraph load`` of N-Triples leaves it), plus the literal."""
    tmp = tmp_path_factory.mktemp("foreign")
    path = tmp / "store"
    store = ox.Store(str(path))
    store.extend(ox.Quad(q.subject, q.predicate, q.object) for q in ox.parse(path=str(DATA), format=ox.RdfFormat.TRIG))
    store.add(ox.Quad(ox.NamedNode(ALPHA), ox.NamedNode(DESCRIPTION), ox.Literal(VALUE)))
    store.flush()
    del store
    server = start_server(path, tmp, workers=2, timeout=10.0)
    yield server
    stop_server(server)


def refused(r: requests.Response, name: str) -> None:
    """A 406 that names the first control character and the format."""
    assert r.status_code == 406, (r.status_code, r.content[:300])
    body = r.json()
    assert body["error"] == "unrepresentable" and "U+0000" in body["message"] and name in body["message"], body


def rdflib_value(data: bytes, fmt: str) -> str:
    graph = rdflib.Dataset() if fmt in ("nquads", "trig") else rdflib.Graph()
    graph.parse(data=data, format=fmt)
    quads = graph.quads() if fmt in ("nquads", "trig") else ((s, p, o, None) for s, p, o in graph)
    values = [str(o) for s, p, o, _ in quads if str(s) == ALPHA and str(p) == DESCRIPTION]
    assert len(values) == 1, values
    return values[0]


@pytest.mark.parametrize("method", ["GET", "POST"])  # GET: the fast path; POST: the Flask route
@pytest.mark.parametrize("accept", ["application/sparql-results+json", "text/tab-separated-values",
                                    "application/sparql-results+xml", "text/csv"])
def test_select_in_every_results_format(foreign: Server, accept: str, method: str) -> None:
    if method == "GET":
        r = requests.get(foreign.sparql, params={"query": SELECT}, headers={"Accept": accept}, timeout=30)
    else:
        r = requests.post(foreign.sparql, data={"query": SELECT}, headers={"Accept": accept}, timeout=30)
    if accept.endswith("xml"):
        refused(r, "SPARQL XML results")
        return
    if accept == "text/csv":
        refused(r, "CSV")
        return
    assert r.status_code == 200, r.text
    assert not RAW.search(r.content), r.content
    if accept.endswith("json"):
        value = json.loads(r.content)["results"]["bindings"][0]["o"]["value"]
    else:  # TSV: a header line, then one line of Turtle terms
        lines = r.content.decode("utf-8").split("\n")
        assert lines[0] == "?o" and lines[2:] == [""], lines
        parsed = ox.parse(f"<urn:s> <urn:p> {lines[1]} .".encode(), format=ox.RdfFormat.N_TRIPLES)
        value = next(iter(parsed)).object.value
    assert value == VALUE


def test_formats_that_refuse_still_answer_clean_results(foreign: Server) -> None:
    """The refusal is about the characters, not the store: other answers stay available in XML and CSV."""
    clean = f"SELECT ?slug WHERE {{ <{ALPHA}> <https://w3id.org/patternkg/ontology#slug> ?slug }}"
    xml = requests.get(foreign.sparql, params={"query": clean},
                       headers={"Accept": "application/sparql-results+xml"}, timeout=30)
    assert xml.status_code == 200
    assert [e.text for e in ET.fromstring(xml.content).iter("{http://www.w3.org/2005/sparql-results#}literal")] \
        == ["alpha"]
    csv = requests.get(foreign.sparql, params={"query": clean}, headers={"Accept": "text/csv"}, timeout=30)
    assert csv.status_code == 200 and csv.content == b"slug\r\nalpha\r\n"


@pytest.mark.parametrize("accept", ["application/sparql-results+xml", "text/csv"])
def test_a_query_of_its_own_control_characters_is_refused_too(foreign: Server, accept: str) -> None:
    r = requests.get(foreign.sparql, params={"query": 'SELECT ("a\\u0000b" AS ?x) {}'}, headers={"Accept": accept},
                     timeout=30)
    refused(r, "CSV" if accept == "text/csv" else "SPARQL XML results")


@pytest.mark.parametrize(("accept", "fmt"), [("text/turtle", "turtle"), ("application/n-triples", "nt"),
                                              ("application/n-quads", "nquads"), ("application/trig", "trig"),
                                              ("application/ld+json", "json-ld"), ("application/rdf+xml", None)])
def test_construct_in_every_rdf_format(foreign: Server, accept: str, fmt: str | None) -> None:
    r = requests.get(foreign.sparql, params={"query": CONSTRUCT}, headers={"Accept": accept}, timeout=30)
    if fmt is None:
        refused(r, "RDF/XML")
        return
    assert r.status_code == 200, r.text
    assert not RAW.search(r.content), r.content
    assert rdflib_value(r.content, fmt) == VALUE


@pytest.mark.parametrize(("name", "fmt"), [("ttl", "turtle"), ("nt", "nt"), ("jsonld", "json-ld"), ("rdf", None)])
def test_the_pattern_document_in_every_format(foreign: Server, name: str, fmt: str | None) -> None:
    r = requests.get(foreign.url + "/pattern/alpha", params={"format": name}, timeout=30)
    if fmt is None:
        refused(r, "RDF/XML")
        return
    assert r.status_code == 200, r.text
    assert not RAW.search(r.content), r.content
    assert rdflib_value(r.content, fmt) == VALUE


@pytest.mark.parametrize("path", ["/pattern/alpha", "/sparql?query=" + requests.utils.quote(SELECT)])
def test_html_pages_show_control_characters_as_control_pictures(foreign: Server, path: str) -> None:
    """HTML may not hold them (a parse error for every browser): each is shown as its control picture."""
    r = requests.get(foreign.url + path, headers={"Accept": "text/html"}, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html"), r.text
    assert not RAW.search(r.content), r.content[RAW.search(r.content).start() - 40:][:80]
    assert "NUL\u2400 BEL\u2407 ESC\u241b VT\u240b FF\u240c" in r.text


@pytest.mark.parametrize(("name", "fmt"), [("library.ttl", "turtle"), ("library.nt", "nt"),
                                            ("library.nq", "nquads"), ("library.trig", "trig"),
                                            ("library.jsonld", "json-ld")])
def test_every_dump(foreign: Server, name: str, fmt: str) -> None:
    r = requests.get(foreign.url + "/dumps/" + name, headers={"Accept-Encoding": "identity"}, timeout=120)
    assert r.status_code == 200, r.text
    assert not RAW.search(r.content), RAW.search(r.content)
    assert rdflib_value(r.content, fmt) == VALUE
