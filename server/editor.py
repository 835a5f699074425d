"""``/sparql`` for browsers: the query editor, and results as an HTML table.

A request to ``/sparql`` whose ``Accept`` prefers ``text/html`` over every
result format (what a browser sends) is answered here:

- without ``query``: the editor page. With JavaScript it is YASGUI
  (``@zazuko/yasgui``, vendored under ``static/vendor/yasgui``) with the
  library's prefixes, autocompletion of the ontology's classes and properties
  from :func:`vocabulary` (``/api/vocabulary``, never prefix.cc or LOV), the
  prepared queries' SPARQL as examples, result links rewritten to this
  server's pages and the query kept in the URL; without JavaScript a plain
  form;
- with ``query``: the same page with the results drawn as an HTML table on
  the server (IRIs of the library linked to their local pages), so a shared
  ``/sparql?query=...`` link shows the query and its answer. With an audience chosen
  (:mod:`.audience`), a cell showing a pattern's title shows its label in that audience's
  words (:func:`.audience.in_words`); YASGUI's table gets the same from ``editor.js``.

The query runs through the same checks and worker pool as every other query.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from flask import Response, current_app, request

from patternkg.converter.namespaces import OWL, RDF, RDFS

from . import audience as lens
from . import pages
from .errors import QUERY_ERROR_STATUS
from .guard import RequestRefused, inspect_query
from .negotiation import GRAPH_OFFERS, RESULTS_OFFERS, Offer, choose
from .pool import QueryError

_HTML = Offer("text/html", "html", "text/html; charset=utf-8")
_XHTML = Offer("application/xhtml+xml", "html", "text/html; charset=utf-8")
_BROWSER_RESULTS = RESULTS_OFFERS + (_HTML, _XHTML)
_BROWSER_GRAPHS = GRAPH_OFFERS + (_HTML, _XHTML)
MAX_SHOWN = 1000


def wants_html(accept: str | None) -> bool:
    """True when *accept* prefers an HTML page to any SPARQL result format (ties go to the data)."""
    if not accept or "html" not in accept:
        return False
    chosen = choose(accept, _BROWSER_RESULTS)
    return chosen is not None and chosen.format == "html"


def _examples() -> list[dict[str, str]]:
    from .query_api import prepared

    return [{"name": q.name, "title": q.title, "sparql": q.sparql} for q in prepared().catalogue.values()]


def _prefix_block() -> str:
    prefixes = current_app.extensions["patternkg"].prefixes
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in prefixes.items())


def default_query() -> str:
    return _prefix_block() + (
        "\nSELECT ?pattern ?title WHERE {\n  ?pattern a pkg:Pattern ; dcterms:title ?title .\n}\n"
        "ORDER BY ?title\nLIMIT 25\n")


def editor_page(query: str | None = None, default_graph: list[str] | None = None,
                named_graphs: list[str] | None = None) -> Response:
    """The editor, with the results of *query* drawn when one is given."""
    results: dict[str, Any] | None = None
    error: str | None = None
    status = 200
    if query is not None:
        try:
            results = run(query, default_graph, named_graphs)
            lens.in_words(results["rows"])  # pattern titles in the chosen audience's words
        except QueryError as exc:
            status, error = QUERY_ERROR_STATUS.get(exc.kind, 500), f"{exc.kind}: {exc.message}"
        except RequestRefused as exc:
            status, error = exc.status, str(exc)
    html = pages.render("editor.html", title="Query the library", query=query or default_query(),
                        asked=query is not None, results=results, error=error, examples=_examples(),
                        endpoint="/sparql")
    return pages.html_response(html, status=status)


def run(query: str, default_graph: list[str] | None, named_graphs: list[str] | None) -> dict[str, Any]:
    """Run *query* (as the endpoint would) and shape its answer for the results table."""
    if not query.strip():
        raise QueryError("syntax", "the query is empty")
    state = current_app.extensions["patternkg"]
    info = inspect_query(query, max_depth=state.config.max_query_depth)  # the endpoint's own checks
    pool = state.pool
    kind, body = pool.query(query, "JSON", "N_TRIPLES", default_graph=default_graph, named_graphs=named_graphs)
    if kind != "results":
        triples = [q.triple for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)]
        rows = [[_term_of(t.subject), _term_of(t.predicate), _term_of(t.object)] for t in triples[:MAX_SHOWN]]
        return {"form": info.form, "columns": ["subject", "predicate", "object"], "rows": rows,
                "total": len(triples)}
    document = json.loads(body)
    if "boolean" in document:
        return {"form": "ASK", "boolean": document["boolean"], "columns": [], "rows": [], "total": 1}
    columns = document["head"]["vars"]
    bindings = document["results"]["bindings"]
    rows = [[_cell(b.get(c)) for c in columns] for b in bindings[:MAX_SHOWN]]
    return {"form": info.form, "columns": columns, "rows": rows, "total": len(bindings)}


def _term_of(term: Any) -> dict[str, Any]:
    return _cell(pages._json_term(term))


def _cell(term: dict[str, str] | None) -> dict[str, Any]:
    if term is None:
        return {"type": "unbound"}
    if term["type"] == "uri":
        return {"type": "uri", "value": term["value"], "href": pages.href(term["value"]),
                "text": pages.curie(term["value"])}
    return dict(term)


@lru_cache(maxsize=4)
def _ontology_terms(path: Path) -> tuple[list[str], list[str]]:
    classes: set[str] = set()
    properties: set[str] = set()
    for quad in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
        if quad.predicate.value == RDF + "type" and isinstance(quad.subject, ox.NamedNode):
            kind = quad.object.value
            if kind in (OWL + "Class", RDFS + "Class"):
                classes.add(quad.subject.value)
            elif kind in (OWL + "ObjectProperty", OWL + "DatatypeProperty", OWL + "AnnotationProperty",
                          RDF + "Property"):
                properties.add(quad.subject.value)
    return sorted(classes), sorted(properties)


def vocabulary() -> dict[str, Any]:
    """What the editor completes: the library's prefixes, the ontology's classes and properties
    (plus the RDF/RDFS/SKOS/DC terms the library uses)."""
    state = current_app.extensions["patternkg"]
    classes, properties = _ontology_terms(Path(state.config.ontology_file))
    used = [RDF + "type", RDFS + "label", RDFS + "comment", "http://www.w3.org/2004/02/skos/core#prefLabel",
            "http://www.w3.org/2004/02/skos/core#altLabel", "http://www.w3.org/2004/02/skos/core#definition",
            "http://www.w3.org/2004/02/skos/core#inScheme", "http://purl.org/dc/terms/title",
            "http://purl.org/dc/terms/description", "http://purl.org/dc/terms/license",
            "http://purl.org/dc/terms/creator", "http://purl.org/dc/terms/contributor", OWL + "sameAs"]
    return {"prefixes": dict(state.prefixes), "classes": classes,
            "properties": sorted(set(properties) | set(used)), "base": state.config.base_iri,
            "vocab": "https://w3id.org/patternkg/vocab/"}


def answer(query: str | None, default_graph: list[str] | None, named_graphs: list[str] | None) -> Response:
    """Entry point of the ``/sparql`` route for a browser (see the module docstring)."""
    return editor_page(query, default_graph, named_graphs)


def browser_accept() -> bool:
    return wants_html(request.headers.get("Accept"))


__all__ = ["wants_html", "editor_page", "answer", "vocabulary", "run", "browser_accept", "default_query"]
