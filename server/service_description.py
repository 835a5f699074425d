"""The SPARQL 1.1 Service Description returned by ``GET /sparql`` without a query."""

from __future__ import annotations

import json

import pyoxigraph as ox
from flask import Response, current_app, request

from .errors import error_response
from .negotiation import GRAPH_OFFERS, RESULTS_OFFERS, choose

SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS = "http://www.w3.org/ns/formats/"

_RESULT_FORMATS = {
    "JSON": "SPARQL_Results_JSON",
    "XML": "SPARQL_Results_XML",
    "CSV": "SPARQL_Results_CSV",
    "TSV": "SPARQL_Results_TSV",
    "TURTLE": "Turtle",
    "JSON_LD": "JSON-LD",
    "N_TRIPLES": "N-Triples",
    "N_QUADS": "N-Quads",
    "RDF_XML": "RDF_XML",
    "TRIG": "TriG",
}


def _literal(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def describe(endpoint: str, graphs: list[str], timeout: float, max_rows: int) -> str:
    """The service description as Turtle."""
    formats = sorted({_RESULT_FORMATS[o.format] for o in (*RESULTS_OFFERS, *GRAPH_OFFERS)})
    named = "".join(
        f"""        sd:namedGraph [ a sd:NamedGraph ; sd:name <{g}> ] ;\n""" for g in graphs
    )
    comment = (
        "A read-only SPARQL 1.1 query endpoint. Without default-graph-uri/named-graph-uri the "
        "default graph is the union of all named graphs (and of the store's default graph); "
        "every named graph is also available with GRAPH. With them, the dataset is exactly the "
        "graphs given. SERVICE (federated query) and SPARQL Update are refused. "
        f"Queries are stopped after {timeout:g} s; results of more than {max_rows} rows are refused."
    )
    return f"""@prefix sd: <{SD}> .
@prefix formats: <{FORMATS}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .

<{endpoint}#service> a sd:Service ;
    sd:endpoint <{endpoint}> ;
    sd:supportedLanguage sd:SPARQL11Query ;
    sd:feature sd:UnionDefaultGraph ;
    sd:resultFormat {", ".join("formats:" + f for f in formats)} ;
    rdfs:comment {_literal(comment)} ;
    sd:defaultDataset [
        a sd:Dataset ;
        sd:defaultGraph [ a sd:Graph ; rdfs:comment {_literal("the union of all graphs")} ] ;
{named}    ] .
"""


def service_description() -> Response:
    offer = choose(request.headers.get("Accept"), GRAPH_OFFERS)
    if offer is None:
        return error_response(406, "not-acceptable", "the service description is RDF (Turtle, JSON-LD, ...)")
    state = current_app.extensions["patternkg"]
    _, body = state.pool.run(
        "query",
        query="SELECT DISTINCT ?g WHERE { GRAPH ?g { } } ORDER BY ?g",
        results_format="JSON",
        graph_format="TURTLE",
    )
    graphs = [b["g"]["value"] for b in json.loads(body)["results"]["bindings"] if b["g"]["type"] == "uri"]
    turtle = describe(request.base_url, graphs, state.config.timeout, state.config.max_rows)
    if offer.format == "TURTLE":
        data = turtle.encode()
    else:
        triples = [q.triple for q in ox.parse(turtle.encode(), format=ox.RdfFormat.TURTLE)]
        data = ox.serialize(triples, format=getattr(ox.RdfFormat, offer.format))
    response = Response(data, content_type=offer.content_type)
    response.headers["Vary"] = "Accept"
    return response
