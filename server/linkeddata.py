"""Linked-data routes: every IRI the data mints dereferences here.

Each route answers at the local path (``/pattern/<slug>``) and at the path of the
IRI itself (``/patternkg/library/pattern/<slug>`` for the default base IRI), so a
deployment behind ``https://w3id.org/patternkg/`` resolves the IRIs as they are.
RDF formats by ``Accept`` (Turtle, JSON-LD, N-Triples, RDF/XML; ``*/*`` gets
Turtle); ``text/html`` gets the web front end's page
(:func:`patternkg.server.pages.resource_page`) when it is installed.

| IRI | path | answer |
|---|---|---|
| ``B pattern/<slug>`` | ``/pattern/<slug>`` | the pattern, its ``#fragment`` nodes, labels of what it links to |
| the same, referenced but without a file | | **404** whose body (RDF or HTML) says so and lists the referrers |
| ``B domain/<d>``, ``B commons-domain/<d>``, ``B community/<id>``, ``B entity/<id>``, ``B agent/<name>``, ``B scheme/<name>`` | ``/domain/<d>``, ... | the resource's triples and the fragment-less resources pointing at it, with labels |
| ``B dataset`` | ``/dataset``, ``/void`` | the VoID/DCAT description (:mod:`.dataset`) |
| the ontology IRI, its ``owl:versionIRI`` | ``/ontology``, ``/ontology/<version>`` | the ontology (Turtle as shipped, other RDF formats, HTML documentation) |
| ``https://w3id.org/patternkg/vocab/`` (the ontology's ``rdfs:seeAlso``) | ``/vocab/`` | every concept scheme and concept |
| ``https://w3id.org/patternkg/vocab/<scheme>[/<value>]`` | ``/vocab/<scheme>[/<value>]`` | the scheme (with its concepts) or the concept, from the ontology file |

Anything else under these paths is 404 (JSON error body). IRIs reach SPARQL only
as validated ``NamedNode`` terms (:mod:`.descriptions`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyoxigraph as ox
from flask import Blueprint, Response, abort, current_app, render_template, render_template_string, request, url_for

from patternkg.converter.namespaces import RDF, RDFS, SKOS, VOCAB, Library

from .config import ServerConfig
from .descriptions import OntologyDocument, missing_pattern_query, pattern_query, resource_query, state_query
from .errors import error_response
from .negotiation import PAGE_OFFERS, RDF_PAGE_OFFERS, Offer, choose
from .pool import QueryError
from .worker import Unrepresentable, representable

#: path segment under the base IRI -> the kind of page the web front end renders
RESOURCE_KINDS: dict[str, str] = {
    "domain": "domain",
    "commons-domain": "commons-domain",
    "community": "community",
    "entity": "entity",
    "agent": "agent",
    "scheme": "scheme",
    "collection": "collection",
}
PROJECT_ROOT = "https://w3id.org/patternkg/"
_INDEX_OFFERS = (Offer("application/json", "json", "application/json"),
                 Offer("text/html", "html", "text/html; charset=utf-8"),
                 Offer("application/xhtml+xml", "html", "text/html; charset=utf-8"))


def _state() -> Any:
    return current_app.extensions["patternkg"]


def _run(query: str, results: str = "JSON", graph: str = "N_TRIPLES") -> bytes:
    _, body = _state().pool.run("query", query=query, results_format=results, graph_format=graph)
    return body


def construct(query: str) -> list[ox.Triple]:
    """The triples of a CONSTRUCT run by a query worker."""
    return [q.triple for q in ox.parse(_run(query), format=ox.RdfFormat.N_TRIPLES)]


def select(query: str) -> list[dict[str, Any]]:
    return json.loads(_run(query))["results"]["bindings"]


def serialize(triples: list[ox.Triple], offer: Offer) -> bytes:
    """Serialise a small graph in the parent process: Turtle with the project's prefixes, JSON-LD
    compacted with the project's context (the same compaction as the dumps and the workers)."""
    state = _state()
    if offer.format == "JSON_LD":
        from patternkg.converter.dumps import JsonLdCompactor

        compactor = JsonLdCompactor(state.prefixes)
        scratch = ox.Store()
        scratch.extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
        document = {"@context": compactor.context, "@graph": list(compactor.nodes(scratch))}
        return json.dumps(document, ensure_ascii=False).encode()
    rdf_format = getattr(ox.RdfFormat, offer.format)
    if offer.format in ("TURTLE", "TRIG", "RDF_XML"):  # RDF/XML with prefixes: owl:Ontology, not <Ontology xmlns=...>
        body = ox.serialize(triples, format=rdf_format, prefixes=state.prefixes)
    else:
        body = ox.serialize(triples, format=rdf_format)
    try:  # a literal with a control character: never a malformed document (see .worker)
        return representable(body, offer.format)
    except Unrepresentable as exc:
        raise QueryError("unrepresentable", str(exc)) from None


def rdf_response(triples: list[ox.Triple], offer: Offer, status: int = 200) -> Response:
    response = Response(serialize(triples, offer), status=status, content_type=offer.content_type)
    response.headers["Vary"] = "Accept"
    return response


#: ``?format=`` values (a browser cannot set ``Accept``): a file-extension-like name -> media type
FORMAT_PARAMETER = {"ttl": "text/turtle", "turtle": "text/turtle", "jsonld": "application/ld+json",
                    "json-ld": "application/ld+json", "nt": "application/n-triples",
                    "ntriples": "application/n-triples", "rdf": "application/rdf+xml",
                    "rdfxml": "application/rdf+xml", "html": "text/html"}


def _negotiate(offers: tuple[Offer, ...] = PAGE_OFFERS) -> Offer:
    wanted = request.args.get("format")
    if wanted is not None:  # a link from a page ("Turtle", "JSON-LD") overrides Accept
        media = FORMAT_PARAMETER.get(wanted.lower())
        found = next((o for o in offers if o.media_type == media), None)
        if found is None:
            abort(400, f"unknown format {wanted!r}; use one of " + ", ".join(FORMAT_PARAMETER))
        return found
    offer = choose(request.headers.get("Accept"), offers)
    if offer is None:
        abort(406, "no acceptable format: " + ", ".join(dict.fromkeys(o.media_type for o in offers)))
    return offer


def _described_or_referenced(iri: str) -> tuple[bool, bool]:
    row = select(state_query(iri))[0]
    return row["described"]["value"] == "true", row["referenced"]["value"] == "true"


def html_page(kind: str, iri: str, key: str, fallback: Callable[[], list[ox.Triple]]) -> Response:
    """The web front end's page for *iri*, or (without it) a plain table of *fallback*'s triples."""
    try:
        from .pages import resource_page
    except ImportError:
        resource_page = None
    if resource_page is not None:
        response = resource_page(kind=kind, iri=iri, key=key)
    else:
        response = Response(_table_page(iri, key, fallback()), content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept"
    return response


def _path(iri: str) -> str:
    path = urlsplit(iri).path
    return path if path.startswith("/") else "/" + path


def _local(iri: str) -> str | None:
    """The short local path of an IRI under https://w3id.org/patternkg/ (``/vocab/...``)."""
    return "/" + iri[len(PROJECT_ROOT):] if iri.startswith(PROJECT_ROOT) else None


def make_blueprint(config: ServerConfig, *, libraries: Sequence[Any] = ()) -> Blueprint:
    """The routes; *libraries* (:class:`~.libraries.ServedLibrary`, of a multi-library store) add
    each library's IRIs: ``<its base path>pattern/<slug>``, its other resources and its
    ``dataset``. The short paths (``/pattern/<slug>``, ...) and the IRIs under a path that several
    bases share answer for the first of them (config's base, then the libraries in build order)
    that describes the resource, else the first that references it."""
    bp = Blueprint("linkeddata", __name__, template_folder="templates")
    library = Library(config.base_iri)
    ontology = OntologyDocument(Path(config.ontology_file))
    base_path = _path(config.base_iri)
    # base path -> the libraries whose IRIs have it ("" : the short local paths)
    spaces: dict[str, list[Library]] = {"": [library], base_path: [library]}
    for lib in libraries:
        spaces[""].append(lib.library)
        spaces.setdefault(_path(lib.base_iri), []).append(lib.library)
    library_paths = {space: libs for space, libs in spaces.items() if space not in ("", base_path)}

    def route(rules: set[str], name: str, view: Callable[..., Response], **defaults: Any) -> None:
        for i, rule in enumerate(sorted(r for r in rules if r)):
            bp.add_url_rule(rule, f"{name}{i}" if i else name, view, **({"defaults": defaults} if defaults else {}))

    def resolve(space: str, make: Callable[[Library], str]) -> tuple[str, bool, bool] | None:
        """(IRI, described, referenced) of the first library of *space* describing (else referencing)
        the IRI *make* gives; None when none does (or the key makes no valid IRI)."""
        found = None
        for candidate in spaces[space if space in spaces else ""]:
            try:
                iri = make(candidate)
            except ValueError:
                return None
            described, referenced = _described_or_referenced(iri)
            if described:
                return iri, True, referenced
            if referenced and found is None:
                found = (iri, False, True)
        return found

    # -- patterns ----------------------------------------------------------------

    def pattern(slug: str, space: str = "") -> Response:
        found = resolve(space, lambda lib: lib.pattern(slug).value)
        if found is None:
            abort(404, f"no pattern {slug!r} in this library")
        iri, described, _referenced = found
        offer = _negotiate()
        if described:
            if offer.format == "html":
                return html_page("pattern", iri, slug, lambda: construct(pattern_query(iri)))
            return _graph(pattern_query(iri), offer)
        return _missing_pattern(iri, slug, offer)

    route({"/pattern/<slug>", base_path + "pattern/<slug>"}, "pattern", pattern)
    for n, space in enumerate(sorted(library_paths)):
        route({space + "pattern/<slug>"}, f"library_pattern_{n}", pattern, space=space)

    # -- domains, communities, entities, agents, schemes ------------------------

    def resource(segment: str, key: str, space: str = "") -> Response:
        found = resolve(space, lambda lib: ox.NamedNode(f"{lib.base}{segment}/{key}").value)
        if found is None:
            abort(404, f"no {segment} {key!r} in this library")
        iri = found[0]
        offer = _negotiate()
        if offer.format == "html":
            return html_page(RESOURCE_KINDS[segment], iri, key, lambda: construct(resource_query(iri)))
        return _graph(resource_query(iri), offer)

    for segment in RESOURCE_KINDS:
        route({f"/{segment}/<key>", f"{base_path}{segment}/<key>"}, segment.replace("-", "_"), resource,
              segment=segment)
        for n, space in enumerate(sorted(library_paths)):
            route({f"{space}{segment}/<key>"}, f"library_{segment.replace('-', '_')}_{n}", resource,
                  segment=segment, space=space)

    # -- the dataset ---------------------------------------------------------------

    def dataset() -> Response:
        offer = _negotiate(PAGE_OFFERS)
        if offer.format == "html":
            return html_page("dataset", library.dataset.value, "dataset", _dataset_triples)
        return rdf_response(_dataset_triples(), offer)

    def library_dataset(space: str) -> Response:
        """A library's own dataset (its VoID, written by the converter into its graph)."""
        from .dataset import count_triples, stored_description

        own = spaces[space][0]
        offer = _negotiate(PAGE_OFFERS)

        def triples() -> list[ox.Triple]:
            return stored_description(own, construct, lambda: count_triples(_run))

        if offer.format == "html":
            return html_page("dataset", own.dataset.value, "dataset", triples)
        return rdf_response(triples(), offer)

    def _dataset_triples() -> list[ox.Triple]:
        from .dataset import count_triples, describe_dataset, stored_description
        from .dumps import dump_files

        stored = stored_description(library, construct, lambda: count_triples(_run))
        return describe_dataset(
            library=library, stored=stored, endpoint=url_for("sparql.sparql", _external=True),
            dumps=[(f, url_for("dumps.dump", name=f.name, _external=True)) for f in dump_files()],
            queries=_catalogue(), query_url=lambda name: url_for("queries.run_query", name=name, _external=True),
        )

    route({"/void", "/dataset", base_path + "dataset"}, "void", dataset)
    for n, space in enumerate(sorted(library_paths)):
        route({space + "dataset"}, f"library_dataset_{n}", library_dataset, space=space)

    # -- the ontology and its controlled vocabularies ----------------------------------

    def ontology_document(extension: str = "") -> Response:
        offer = _negotiate() if not extension else _EXTENSION_OFFERS[extension]
        if offer.format == "html":
            return _ontology_page(ontology)
        if offer.format == "TURTLE":
            response = Response(ontology.data, content_type=offer.content_type)
            response.headers["Vary"] = "Accept"
            return response
        return rdf_response(ontology.triples, offer)

    ontology_rules = {"/ontology", _path(config.ontology_iri)}
    for version in ontology.version_iris:
        ontology_rules |= {_path(version), _local(version) or ""}
    route(ontology_rules, "ontology", ontology_document)
    # the same with a file extension (``/ontology.owl``): clients that cannot send Accept, such as
    # owlready2, which retries an IRI with .owl, .rdf and .xml when the first answer is not RDF/XML
    for extension in _EXTENSION_OFFERS:
        route({f"{r}.{extension}" for r in ontology_rules if r}, f"ontology_{extension}", ontology_document,
              extension=extension)

    def vocabulary(scheme: str = "", value: str = "") -> Response:
        iri = VOCAB + (f"{scheme}/{value}" if value else scheme)
        triples = ontology.vocabulary(VOCAB) if not scheme else ontology.describe(iri)
        if not triples and value:
            triples = _unlisted_concept(iri, scheme, value)
        if not triples:
            abort(404, f"no concept or concept scheme {iri}")
        offer = _negotiate()
        if offer.format == "html":
            kind = "concept" if value else "scheme"
            return html_page(kind, iri, value or scheme or "vocab", lambda: triples)
        return rdf_response(triples, offer)

    vocab_paths = {"/vocab/", _path(VOCAB)}
    route(vocab_paths, "vocabulary", vocabulary)
    route({p + "<scheme>" for p in vocab_paths}, "vocabulary_scheme", vocabulary)
    route({p + "<scheme>/<value>" for p in vocab_paths}, "vocabulary_concept", vocabulary)

    def _unlisted_concept(iri: str, scheme: str, value: str) -> list[ox.Triple]:
        """A concept the data uses under a scheme of the ontology but the ontology does not list."""
        try:
            node = ox.NamedNode(iri)
        except ValueError:
            return []
        if VOCAB + scheme not in ontology.schemes or not _described_or_referenced(iri)[1]:
            return []
        return [
            ox.Triple(node, ox.NamedNode(RDF + "type"), ox.NamedNode(SKOS + "Concept")),
            ox.Triple(node, ox.NamedNode(SKOS + "inScheme"), ox.NamedNode(VOCAB + scheme)),
            ox.Triple(node, ox.NamedNode(SKOS + "notation"), ox.Literal(value)),
            ox.Triple(node, ox.NamedNode(RDFS + "comment"),
                      ox.Literal("A value used in the library that the ontology's scheme does not list.", language="en")),
        ]

    @bp.route("/")
    def index() -> Response:
        # browsers get the landing page (the web front end); API clients (no Accept, */*, JSON) the JSON index
        offer = choose(request.headers.get("Accept"), _INDEX_OFFERS)
        if offer is not None and offer.format == "html":
            from .site import landing

            return landing()
        links = {
            "sparql": url_for("sparql.sparql", _external=True),
            "void": url_for("linkeddata.void", _external=True),
            "dumps": url_for("dumps.index", _external=True),
            "ontology": url_for("linkeddata.ontology", _external=True),
            "vocabulary": url_for("linkeddata.vocabulary", _external=True),
            "queries": url_for("queries.catalogue", _external=True),
            "search": url_for("site.search_api", _external=True),
            "health": url_for("health.health", _external=True),
        }
        return current_app.json.response({"service": "patternkg", "links": links})

    return bp


#: file extension -> the offer it stands for (the ontology's documents by extension)
_EXTENSION_OFFERS: dict[str, Offer] = {
    ext: next(o for o in RDF_PAGE_OFFERS if o.media_type == media)
    for ext, media in (("ttl", "text/turtle"), ("rdf", "application/rdf+xml"), ("owl", "application/rdf+xml"),
                       ("xml", "application/rdf+xml"), ("nt", "application/n-triples"),
                       ("jsonld", "application/ld+json"))
}


def _graph(query: str, offer: Offer) -> Response:
    """A CONSTRUCT serialised by the query worker in the negotiated format."""
    response = Response(_run(query, graph=offer.format), content_type=offer.content_type)
    response.headers["Vary"] = "Accept"
    return response


def _missing_pattern(iri: str, slug: str, offer: Offer) -> Response:
    """404 for a pattern that files reference but no file describes: who references it."""
    query = missing_pattern_query(iri, slug)
    if offer.format == "html":
        response = html_page("missing-pattern", iri, slug, lambda: construct(query))
        response.status_code = 404
        return response
    response = _graph(query, offer)
    response.status_code = 404
    return response


def _ontology_page(ontology: OntologyDocument) -> Response:
    """The ontology's documentation (:mod:`.ontology_docs`), with usage counts of the served
    library (computed once per served generation)."""
    from .ontology_docs import documentation, usage_counts

    state = _state()
    generation = getattr(state, "generation", None)
    key = ("patternkg.ontology.usage", generation.id if generation is not None else None)
    counts = current_app.extensions.get(key)
    if counts is None:
        concepts = [m for scheme in ontology.schemes for m in ontology.members(scheme)]
        counts = current_app.extensions[key] = usage_counts(select, concepts)
    context = documentation(ontology, counts)
    try:
        from .pages import render
    except ImportError:  # without the web front end: the same page on a bare layout
        html = render_template("ontology.html", href=lambda iri: iri, curie=lambda iri: iri, **context)
    else:
        html = render("ontology.html", **context)
    response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept"
    return response


def _catalogue() -> list[Any]:
    queries = current_app.extensions.get("patternkg.queries")
    if queries is None:
        return []
    return sorted(queries.catalogue.values(), key=lambda q: q.name)


def _table_page(iri: str, key: str, triples: list[ox.Triple]) -> str:
    """A plain HTML table of *triples* (used only when the web front end is not installed)."""
    labels = {t.subject.value: t.object.value for t in triples
              if t.predicate.value in (RDFS + "label", SKOS + "prefLabel") and isinstance(t.object, ox.Literal)}
    rows = [(t.subject.value, t.predicate.value, t.object.value, isinstance(t.object, ox.NamedNode)) for t in triples]
    return render_template_string(_TABLE, iri=iri, title=labels.get(iri, key), rows=rows, labels=labels)


_TABLE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1><p><code>{{ iri }}</code></p><table>
{% for s, p, o, is_iri in rows %}<tr><td><code>{{ s }}</code></td><td><code>{{ p }}</code></td>
<td>{% if is_iri %}<a href="{{ o }}">{{ labels.get(o, o) }}</a>{% else %}{{ o }}{% endif %}</td></tr>
{% endfor %}</table></body></html>"""


__all__ = ["make_blueprint", "rdf_response", "serialize", "construct", "error_response", "html_page"]
