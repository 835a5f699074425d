"""Linked-data routes: pattern IRIs, the ontology IRI and ``/void`` dereference here.

- ``/pattern/<slug>`` (and the same under the path of the base IRI, e.g.
  ``/patternkg/library/pattern/<slug>``): the pattern's description -- its own
  triples, those of its ``#fragment`` nodes (qualified relationships, labels,
  assessment, ...) and labels of everything it links to -- as Turtle, JSON-LD or
  N-Triples by ``Accept``; an HTML page for browsers; 404 for an unknown slug.
- ``/ontology`` (and the path of the ontology IRI): the ontology file.
- ``/void``: the VoID/DCAT description of the dataset (the triples of
  ``<BASE>dataset`` and of its blank or ``<BASE>dataset...`` nodes written by the
  converter, or a ``<BASE>graph/meta`` graph, plus ``void:sparqlEndpoint``); for a
  store without one, a minimal description (``void:triples``) is made up.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyoxigraph as ox
from flask import Blueprint, Response, abort, current_app, render_template, request, url_for

from patternkg.converter.namespaces import VOID, Library, is_safe_segment

from .config import ServerConfig
from .errors import error_response
from .negotiation import PAGE_OFFERS, Offer, choose
from .pages import resource_page
from .site import api_index, landing

_INDEX_OFFERS = (Offer("application/json", "json", "application/json"),
                 Offer("text/html", "html", "text/html; charset=utf-8"),
                 Offer("application/xhtml+xml", "html", "text/html; charset=utf-8"))

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
LABELS = (
    "<http://www.w3.org/2000/01/rdf-schema#label> <http://www.w3.org/2004/02/skos/core#prefLabel> "
    "<http://purl.org/dc/terms/title>"
)


def _pattern_where(iri: str) -> str:
    return f"""
    {{ BIND(<{iri}> AS ?s) }}
    UNION {{ <{iri}> ?link ?s . FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{iri}#")) }}
    ?s ?p ?o .
    OPTIONAL {{ ?o ?lp ?label . VALUES ?lp {{ {LABELS} }} FILTER(!isBlank(?o)) }}
    """


def _state() -> Any:
    return current_app.extensions["patternkg"]


def _run(query: str, results: str = "JSON", graph: str = "N_TRIPLES") -> bytes:
    _, body = _state().pool.run("query", query=query, results_format=results, graph_format=graph)
    return body


def serialize(triples: list[ox.Triple], offer: Offer) -> bytes:
    """Serialise a small graph in the parent process (Turtle with the project's prefixes)."""
    prefixes = _state().prefixes
    if offer.format == "JSON_LD":
        graph = json.loads(ox.serialize(triples, format=ox.RdfFormat.JSON_LD) or b"[]")
        context = _state().pool.settings.jsonld_context or prefixes
        try:
            from pyld import jsonld

            document = jsonld.compact(graph, {"@context": context})
        except ImportError:
            document = {"@context": context, "@graph": graph}
        return json.dumps(document, ensure_ascii=False).encode()
    rdf_format = getattr(ox.RdfFormat, offer.format)
    if offer.format in ("TURTLE", "TRIG"):
        return ox.serialize(triples, format=rdf_format, prefixes=prefixes)
    return ox.serialize(triples, format=rdf_format)


def rdf_response(triples: list[ox.Triple], offer: Offer) -> Response:
    response = Response(serialize(triples, offer), content_type=offer.content_type)
    response.headers["Vary"] = "Accept"
    return response


#: ``?format=`` values (a browser cannot set ``Accept``): a file-extension-like name -> media type
FORMAT_PARAMETER = {"ttl": "text/turtle", "turtle": "text/turtle", "jsonld": "application/ld+json",
                    "json-ld": "application/ld+json", "nt": "application/n-triples",
                    "ntriples": "application/n-triples", "html": "text/html"}


def _negotiate(offers: tuple[Offer, ...] = PAGE_OFFERS) -> Offer:
    wanted = request.args.get("format")
    if wanted is not None:
        media = FORMAT_PARAMETER.get(wanted.lower())
        offer = next((o for o in offers if o.media_type == media), None)
        if offer is None:
            abort(400, "unknown format " + repr(wanted) + "; use one of " + ", ".join(FORMAT_PARAMETER))
        return offer
    offer = choose(request.headers.get("Accept"), offers)
    if offer is None:
        abort(406, "no acceptable format: " + ", ".join(dict.fromkeys(o.media_type for o in offers)))
    return offer


def _prefixed_path(iri: str) -> str:
    path = urlsplit(iri).path
    return path if path.startswith("/") else "/" + path


@lru_cache(maxsize=4)
def _ontology(path: Path) -> tuple[bytes, list[ox.Triple]]:
    data = path.read_bytes()
    triples = [q.triple for q in ox.parse(data, format=ox.RdfFormat.TURTLE)]
    return data, triples


def make_blueprint(config: ServerConfig) -> Blueprint:
    bp = Blueprint("linkeddata", __name__, template_folder="templates")
    library = Library(config.base_iri)

    def pattern(slug: str) -> Response:
        if not is_safe_segment(slug):
            abort(404, f"no pattern {slug!r}")
        iri = library.pattern(slug).value
        exists = json.loads(_run(f"ASK {{ <{iri}> ?p ?o }}"))["boolean"]
        offer = _negotiate()
        if not exists:
            if offer.format == "html":  # a page naming who points at it (404 all the same)
                return resource_page(kind="missing-pattern", iri=iri, key=slug)
            abort(404, f"no pattern {slug!r} in this library")
        if offer.format == "html":
            return resource_page(kind="pattern", iri=iri, key=slug)
        body = _run(
            f"CONSTRUCT {{ ?s ?p ?o . ?o ?lp ?label }} WHERE {{ {_pattern_where(iri)} }}",
            graph=offer.format,
        )
        response = Response(body, content_type=offer.content_type)
        response.headers["Vary"] = "Accept"
        return response

    paths = {"/pattern/<slug>", _prefixed_path(config.base_iri) + "pattern/<slug>"}
    for i, rule in enumerate(sorted(paths)):
        bp.add_url_rule(rule, f"pattern{i}" if i else "pattern", pattern)

    def ontology() -> Response:
        offer = _negotiate()
        data, triples = _ontology(Path(config.ontology_file))
        if offer.format == "html":
            return Response(
                render_template("document.html", title=config.ontology_iri, text=data.decode("utf-8")),
                content_type="text/html; charset=utf-8",
            )
        if offer.format == "TURTLE":
            response = Response(data, content_type=offer.content_type)
            response.headers["Vary"] = "Accept"
            return response
        return rdf_response(triples, offer)

    for i, rule in enumerate(sorted({"/ontology", _prefixed_path(config.ontology_iri)})):
        bp.add_url_rule(rule, f"ontology{i}" if i else "ontology", ontology)

    @bp.route("/void")
    def void() -> Response:
        offer = _negotiate(PAGE_OFFERS[:3] + PAGE_OFFERS[5:])
        meta = config.base_iri + "graph/meta"  # older layout: a VoID graph of its own
        ds = library.dataset.value
        data = _run(
            f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{
                {{ GRAPH <{meta}> {{ ?s ?p ?o }} }}
                UNION {{ BIND(<{ds}> AS ?s) ?s ?p ?o }}
                UNION {{ <{ds}> ?x ?s . FILTER(isBlank(?s) || STRSTARTS(STR(?s), "{ds}")) ?s ?p ?o }}
            }}"""
        )
        triples = [q.triple for q in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)]
        dataset = library.dataset
        endpoint = ox.NamedNode(url_for("sparql.sparql", _external=True))
        if not triples:
            count = json.loads(_run("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"))
            n = count["results"]["bindings"][0]["n"]["value"]
            triples = [
                ox.Triple(dataset, ox.NamedNode(RDF_TYPE), ox.NamedNode(VOID + "Dataset")),
                ox.Triple(dataset, ox.NamedNode(VOID + "triples"), ox.Literal(n, datatype=ox.NamedNode(XSD_INTEGER))),
            ]
        triples.append(ox.Triple(dataset, ox.NamedNode(VOID + "sparqlEndpoint"), endpoint))
        return rdf_response(triples, offer)

    @bp.route("/")
    def index() -> Response:
        # browsers get the landing page; API clients (no Accept, */*, JSON) keep the JSON index
        offer = choose(request.headers.get("Accept"), _INDEX_OFFERS)
        if offer is not None and offer.format == "html":
            return landing()
        return api_index()

    return bp


__all__ = ["make_blueprint", "rdf_response", "serialize", "error_response"]
