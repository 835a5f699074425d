"""The W3C SPARQL 1.1 Protocol test suite (w3c/rdf-tests, sparql/sparql11/protocol/manifest.ttl)
against the served endpoint, over real HTTP.

All 34 entries of the manifest are transcribed below: the request (method, path and
query string, headers, body bytes) and the expected response (status class, result
format, boolean). The manifest's ``/sparql/`` is this server's ``/sparql``. The data
its ``ut:graphData`` loads is in ``data/w3c-protocol/`` (one named graph per file).

The endpoint is read-only. The 15 query tests and the 12 ``bad_*`` tests apply as
written. The 7 update tests expect an update to succeed and a follow-up query to see
its effect; on a read-only endpoint the update must be refused instead, so for them
the test checks that the update is answered 403 ``read-only`` and that the follow-up
query (the manifest's own) sees no effect.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests
from pkserver_helpers import Server, start_server, stop_server

DATA = Path(__file__).with_name("data") / "w3c-protocol"
KASEI = "http://kasei.us/2009/09/sparql/data/"
D0 = "http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata0.rdf"
D1 = "http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata1.rdf"
D2 = "http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata2.rdf"
D3 = "http%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata3.rdf"
FORM = {"content-type": "application/x-www-form-urlencoded"}
DIRECT = {"content-type": "application/sparql-query"}
UPDATE = {"content-type": "application/sparql-update"}


@dataclass
class Step:
    method: str
    target: str
    """Path and query string, with ``/sparql/`` as in the manifest."""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    status: str = "2xx"
    """``2xx`` (2xx or 3xx), ``4xx``, or ``403-read-only`` (an update refused by this read-only endpoint)."""
    format: str | None = None
    """``boolean``, ``tabular``, ``RDF`` or None."""
    boolean: bool | None = None
    rows: int | None = None


def q(text: str) -> bytes:
    return text.encode("utf-8")


ASK_12 = f"ASK {{ <{KASEI}data1.rdf> a ?type . <{KASEI}data2.rdf> a ?type . }}"
ASK_G12 = f"ASK {{ GRAPH ?g1 {{ <{KASEI}data1.rdf> a ?type }} GRAPH ?g2 {{ <{KASEI}data2.rdf> a ?type }} }}"


def _update_case(target: str, update: str, check: str, check_boolean: bool | None) -> list[Step]:
    """An update test: the update is refused, the follow-up query sees no effect."""
    if check_boolean is None:  # a SELECT: no rows
        follow = Step("POST", "/sparql/", DIRECT, q(check), format="tabular", rows=0)
    else:
        follow = Step("POST", "/sparql/", DIRECT, q(check), format="boolean", boolean=False)
    return [Step("POST", target, UPDATE, q(update), status="403-read-only"), follow]


CASES: dict[str, list[Step]] = {
    "query_post_form": [Step("POST", f"/sparql/?default-graph-uri={D0}", FORM, b"query=ASK%20%7B%7D",
                             format="boolean", boolean=True)],
    "query_dataset_default_graphs_get": [Step(
        "GET", "/sparql/?query=ASK%20%7B%20%3Chttp%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata1.rdf%3E%20a"
               "%20%3Ftype%20.%20%3Chttp%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2Fdata%2Fdata2.rdf%3E%20a%20%3Ftype"
               f"%20.%20%7D&default-graph-uri={D1}&default-graph-uri={D2}",
        format="boolean", boolean=True)],
    "query_dataset_default_graphs_post": [Step(
        "POST", f"/sparql/?default-graph-uri={D1}&default-graph-uri={D2}", DIRECT, q(ASK_12),
        format="boolean", boolean=True)],
    "query_dataset_named_graphs_post": [Step(
        "POST", f"/sparql/?named-graph-uri={D1}&named-graph-uri={D2}", DIRECT, q(ASK_G12),
        format="boolean", boolean=True)],
    "query_dataset_named_graphs_get": [Step(
        "GET", "/sparql/?query=ASK%20%7B%20GRAPH%20%3Fg1%20%7B%20%3Chttp%3A%2F%2Fkasei.us%2F2009%2F09%2Fsparql%2F"
               "data%2Fdata1.rdf%3E%20a%20%3Ftype%20%7D%20GRAPH%20%3Fg2%20%7B%20%3Chttp%3A%2F%2Fkasei.us%2F2009%2F09"
               f"%2Fsparql%2Fdata%2Fdata2.rdf%3E%20a%20%3Ftype%20%7D%20%7D&named-graph-uri={D1}&named-graph-uri={D2}",
        format="boolean", boolean=True)],
    "query_dataset_full": [Step(
        "POST", f"/sparql/?default-graph-uri={D3}&named-graph-uri={D1}&named-graph-uri={D2}", DIRECT,
        q(f"ASK {{\n  <{KASEI}data3.rdf> a ?type\n  GRAPH ?g1 {{ <{KASEI}data1.rdf> a ?type }}\n"
          f"  GRAPH ?g2 {{ <{KASEI}data2.rdf> a ?type }}\n}}"),
        format="boolean", boolean=True)],
    "query_multiple_dataset": [Step(
        # two named-graph-uri parameters, as in manifest.jsonld (an older manifest.ttl encodes
        # the '&' between them as %26, which makes one IRI and cannot give the expected true)
        "POST", f"/sparql/?named-graph-uri={D1}&named-graph-uri={D2}", DIRECT,
        q(f"ASK FROM <{KASEI}data3.rdf> {ASK_G12[4:]}"),
        format="boolean", boolean=True)],
    "query_get": [Step("GET", f"/sparql/?query=ASK%20%7B%7D&default-graph-uri={D0}", format="boolean", boolean=True)],
    "query_content_type_select": [Step("POST", f"/sparql/?default-graph-uri={D0}", DIRECT,
                                       b"SELECT (1 AS ?value) {}", format="tabular")],
    "query_content_type_ask": [Step("POST", f"/sparql/?default-graph-uri={D0}", DIRECT, b"ASK {}", format="boolean")],
    "query_content_type_describe": [Step("POST", f"/sparql/?default-graph-uri={D0}", DIRECT,
                                         b"DESCRIBE <http://example.org/>", format="RDF")],
    "query_content_type_construct": [Step("POST", f"/sparql/?default-graph-uri={D0}", DIRECT,
                                          b"CONSTRUCT { <s> <p> 1 } WHERE {}", format="RDF")],
    "update_dataset_default_graph": _update_case(
        f"/sparql/?using-graph-uri={D1}",
        "PREFIX dc: <http://purl.org/dc/terms/>\nPREFIX foaf: <http://xmlns.com/foaf/0.1/>\nCLEAR ALL ;\n"
        f"INSERT DATA {{ GRAPH <{KASEI}data1.rdf> {{ <{KASEI}data1.rdf> a foaf:Document }} }} ;\n"
        "INSERT { GRAPH <http://example.org/protocol-update-dataset-test/> { ?s a dc:BibliographicResource } }\n"
        "WHERE { ?s a foaf:Document }",
        "ASK { GRAPH <http://example.org/protocol-update-dataset-test/> "
        f"{{ <{KASEI}data1.rdf> a <http://purl.org/dc/terms/BibliographicResource> }} }}", True),
    "update_dataset_default_graphs": _update_case(
        f"/sparql/?using-graph-uri={D1}&using-graph-uri={D2}",
        "PREFIX dc: <http://purl.org/dc/terms/>\nPREFIX foaf: <http://xmlns.com/foaf/0.1/>\nDROP ALL ;\n"
        f"INSERT DATA {{ GRAPH <{KASEI}data1.rdf> {{ <{KASEI}data1.rdf> a foaf:Document }} }} ;\n"
        "INSERT { GRAPH <http://example.org/protocol-update-dataset-graphs-test/> { ?s a dc:BibliographicResource } }\n"
        "WHERE { ?s a foaf:Document }",
        "ASK { GRAPH <http://example.org/protocol-update-dataset-graphs-test/> "
        f"{{ <{KASEI}data1.rdf> a <http://purl.org/dc/terms/BibliographicResource> . "
        f"<{KASEI}data2.rdf> a <http://purl.org/dc/terms/BibliographicResource> . }} }}", True),
    "update_dataset_named_graphs": _update_case(
        f"/sparql/?using-named-graph-uri={D1}&using-named-graph-uri={D2}",
        "PREFIX dc: <http://purl.org/dc/terms/>\nPREFIX foaf: <http://xmlns.com/foaf/0.1/>\nDROP ALL ;\n"
        "INSERT { GRAPH <http://example.org/protocol-update-dataset-named-graphs-test/> "
        "{ ?s a dc:BibliographicResource } }\nWHERE { GRAPH ?g { ?s a foaf:Document } }",
        "ASK { GRAPH <http://example.org/protocol-update-dataset-named-graphs-test/> "
        f"{{ <{KASEI}data1.rdf> a <http://purl.org/dc/terms/BibliographicResource> }} }}", True),
    "update_dataset_full": _update_case(
        f"/sparql/?using-graph-uri={D1}&using-named-graph-uri={D2}",
        "PREFIX foaf: <http://xmlns.com/foaf/0.1/>\nDROP ALL ;\n"
        "INSERT { GRAPH <http://example.org/protocol-update-dataset-full-test/> { ?s <http://example.org/in> ?in } }\n"
        "WHERE { { GRAPH ?g { ?s a foaf:Document } BIND(?g AS ?in) } UNION { ?s a foaf:Document . BIND(\"default\" AS ?in) } }",
        "ASK { GRAPH <http://example.org/protocol-update-dataset-full-test/> "
        f"{{ <{KASEI}data1.rdf> <http://example.org/in> \"default\" }} }}", True),
    "update_post_form": [Step("POST", "/sparql/", FORM, b"update=CLEAR+ALL", status="403-read-only"),
                         Step("POST", "/sparql/", DIRECT, q(ASK_G12), format="boolean", boolean=True)],
    "update_post_direct": [Step("POST", "/sparql/", UPDATE, b"CLEAR ALL", status="403-read-only"),
                           Step("POST", "/sparql/", DIRECT, q(ASK_G12), format="boolean", boolean=True)],
    "update_base_uri": _update_case(
        "/sparql/",
        "CLEAR GRAPH <http://example.org/protocol-base-test/> ;\n"
        "INSERT DATA { GRAPH <http://example.org/protocol-base-test/> { <http://example.org/s> <http://example.org/p> <test> } }",
        "SELECT ?o WHERE {\n    GRAPH <http://example.org/protocol-base-test/> {\n"
        "        <http://example.org/s> <http://example.org/p> ?o\n    }\n}", None),
    "query_post_direct": [Step("POST", "/sparql/", DIRECT, b"ASK {}", format="boolean", boolean=True)],
    "bad_query_method": [Step("PUT", f"/sparql/?query=ASK%20%7B%7D&default-graph-uri={D0}", FORM, b"", status="4xx")],
    "bad_multiple_queries": [Step("GET", "/sparql/?query=ASK%20%7B%7D&query=SELECT%20%2A%20%7B%7D", status="4xx")],
    "bad_query_wrong_media_type": [Step("POST", "/sparql/", {"content-type": "text/plain"}, b"ASK {}", status="4xx")],
    "bad_query_missing_form_type": [Step("POST", "/sparql/", {}, b"query=ASK%20%7B%7D", status="4xx")],
    "bad_query_missing_direct_type": [Step("POST", "/sparql/", {}, b"ASK {}", status="4xx")],
    "bad_query_non_utf8": [Step("POST", "/sparql/", {"content-type": "application/sparql-query; charset=UTF-16"},
                                "ASK {}".encode("utf-16"), status="4xx")],
    "bad_query_syntax": [Step("GET", "/sparql/?query=ASK%20%7B", status="4xx")],
    "bad_update_get": [Step("GET", "/sparql/?update=CLEAR%20ALL", status="4xx")],
    "bad_multiple_updates": [Step("POST", "/sparql/", FORM, b"update=CLEAR%20NAMED&update=CLEAR%20DEFAULT", status="4xx")],
    "bad_update_wrong_media_type": [Step("POST", "/sparql/", {"content-type": "text/plain"}, b"CLEAR NAMED", status="4xx")],
    "bad_update_missing_form_type": [Step("POST", "/sparql/", {}, b"update=CLEAR%20NAMED", status="4xx")],
    "bad_update_non_utf8": [Step("POST", "/sparql/", {"content-type": "application/sparql-update; charset=UTF-16"},
                                 "CLEAR NAMED".encode("utf-16"), status="4xx")],
    "bad_update_syntax": [Step("POST", "/sparql/", FORM, b"update=CLEAR%20XYZ", status="4xx")],
    "bad_update_dataset_conflict": [Step(
        "POST", "/sparql/?using-named-graph-uri=http%3A%2F%2Fexample%2Fpeople", UPDATE,
        q("PREFIX foaf:  <http://xmlns.com/foaf/0.1/>\nWITH <http://example/addresses>\n"
          "DELETE { ?person foaf:givenName 'Bill' }\nINSERT { ?person foaf:givenName 'William' }\n"
          "WHERE {\n    ?person foaf:givenName 'Bill'\n}"), status="4xx")],
}


def test_every_manifest_entry_is_transcribed() -> None:
    assert len(CASES) == 34


@pytest.fixture(scope="module")
def protocol_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("w3c-protocol")
    store = ox.Store(str(tmp / "store"))
    for path in sorted(DATA.glob("data*.nt")):
        store.load(path=str(path), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(KASEI + path.stem + ".rdf"))
    store.flush()
    del store
    srv = start_server(tmp / "store", tmp)
    yield srv
    stop_server(srv)


def _boolean(response: requests.Response) -> bool:
    media = response.headers["Content-Type"].split(";")[0]
    if media == "application/sparql-results+json":
        return json.loads(response.content)["boolean"]
    assert media == "application/sparql-results+xml", media
    node = ET.fromstring(response.content).find("{http://www.w3.org/2005/sparql-results#}boolean")
    return node is not None and node.text == "true"


def _check(step: Step, response: requests.Response) -> None:
    if step.status == "4xx":
        assert 400 <= response.status_code < 500, response.text
        return
    if step.status == "403-read-only":
        assert response.status_code == 403 and response.json()["error"] == "read-only"
        return
    assert 200 <= response.status_code < 400, response.text
    media = response.headers["Content-Type"].split(";")[0]
    if step.format == "boolean":
        value = _boolean(response)
        if step.boolean is not None:
            assert value is step.boolean
    elif step.format == "tabular":
        assert media in ("application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                         "text/tab-separated-values")
        solutions = list(ox.parse_query_results(response.content, format=ox.QueryResultsFormat.from_media_type(media)))
        if step.rows is not None:
            assert len(solutions) == step.rows
    elif step.format == "RDF":
        fmt = ox.RdfFormat.from_media_type(media)
        assert fmt is not None, media
        list(ox.parse(response.content, format=fmt))


@pytest.mark.parametrize("name", list(CASES))
def test_w3c_protocol(protocol_server: Server, name: str) -> None:
    for step in CASES[name]:
        url = protocol_server.url + step.target.replace("/sparql/", "/sparql", 1)
        response = requests.request(step.method, url, headers=step.headers, data=step.body, timeout=30)
        _check(step, response)
