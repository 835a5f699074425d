"""The web site around the data: landing page, browsing, search, graph views, the query editor.

Routes (HTML unless said otherwise; every page works without JavaScript except
the graph and the editor):

- ``/`` for browsers (the JSON index stays for API clients, chosen by
  ``Accept`` in :mod:`.linkeddata`): :func:`landing`;
- ``/browse``: domains and communities with their pattern counts;
- ``/about``: the data services (SPARQL, prepared queries, dumps, VoID, ontology);
- ``/search?q=``: full-text search (:mod:`.search`), ``/api/search?q=`` as JSON;
- ``/api/vocabulary``: what the query editor completes (:mod:`.editor`);
- ``/graph/<kind>/<key>`` and ``/graph/<kind>/<key>.json``: the neighbourhood of
  a pattern (1-2 hops) or the patterns of a domain or community, drawn with
  cytoscape.js (vendored under ``static/vendor/cytoscape``);
- ``/missing/<token>``: a relationship target without a file, and who points at it;
- the pages of the library's resources are routed by :mod:`.linkeddata`, which
  calls :func:`.pages.resource_page` for ``text/html``.

Static files (CSS, JS, vendored libraries with their licenses) are the app's
``/static/``. The chosen audience (:mod:`.audience`) is remembered in a cookie
after every HTML response that names one in its URL.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify

from patternkg.converter.namespaces import PKG, SKOS, is_safe_segment

from . import audience as lens
from . import pages

SITE_NAME = "Pattern library"



def make_blueprint() -> Blueprint:
    bp = Blueprint("site", __name__, template_folder="templates")

    @bp.app_context_processor
    def _site_context() -> dict[str, Any]:
        return {"site_name": SITE_NAME, **lens.context()}

    @bp.after_app_request
    def _remember(response: Response) -> Response:
        return lens.remember(response)

    @bp.get("/browse")
    def browse() -> Response:
        return pages.html_response(pages.render("browse.html", title="Browse",
                                                **_per_generation("browse", _browse_data)))

    @bp.get("/about")
    def about() -> Response:
        return pages.html_response(pages.render("about.html", title="Data and services"))

    @bp.get("/search")
    def search() -> Response:
        from .search import search_page

        return search_page()

    @bp.get("/api/search")
    def search_api() -> Response:
        from .search import search_json

        return search_json()

    @bp.get("/api/vocabulary")
    def vocabulary() -> Response:
        from .editor import vocabulary as terms

        return jsonify(terms())

    @bp.get("/graph/<kind>/<key>.json")
    def graph_data(kind: str, key: str) -> Response:
        from .graph import graph_json

        return graph_json(kind, key)

    @bp.get("/graph/<kind>/<key>")
    def graph_page(kind: str, key: str) -> Response:
        from .graph import graph_page as page

        return page(kind, key)

    @bp.get("/missing/<key>")
    def missing(key: str) -> Response:
        if not is_safe_segment(key):
            abort(404)
        return pages.missing_page(pages.base_iri() + f"pattern/{key}", key, status=200)

    return bp


def _per_generation(name: str, compute: Any) -> Any:
    """*compute()* once per served store generation (a generation never changes)."""
    state = current_app.extensions["patternkg"]
    generation = getattr(getattr(state, "generation", None), "id", None) or getattr(state.pool, "generation", "")
    cache = current_app.extensions.setdefault("patternkg.site.cache", {})
    key = (name, generation)
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def landing() -> Response:
    """The landing page: what the library holds, search, browse, and the ways in for machines."""
    stats = _per_generation("stats", _stats)
    data = _per_generation("browse-12", lambda: _browse_data(limit=12))
    return pages.html_response(pages.render("landing.html", title=SITE_NAME, stats=stats, **data))


def _stats() -> dict[str, int]:
    """Counts of the main kinds of resources (from the prepared ``stats`` query)."""
    from .query_api import prepared

    answer = prepared().run("stats", {}, None, 0)
    counts: dict[str, int] = {}
    for row in answer.rows(answer.bindings):
        if row["facet"] == "type" and isinstance(row["value"], str):
            counts[pages.local_name(row["value"])] = int(row["count"])
    return {
        "patterns": counts.get("Pattern", 0),
        "relationships": counts.get("Relationship", 0),
        "inferred": counts.get("InferredLink", 0),
        "domains": counts.get("Domain", 0),
        "communities": counts.get("Community", 0),
        "entities": counts.get("Entity", 0),
    }


def _browse_data(limit: int | None = None) -> dict[str, Any]:
    """Domains and communities with their pattern counts, largest first."""
    cap = f"LIMIT {int(limit)}" if limit else ""
    out: dict[str, Any] = {}
    for name, predicate in (("domains", PKG + "domain"), ("communities", PKG + "memberOf")):
        rows = pages.select(f"""SELECT ?x (SAMPLE(?l) AS ?label) ?n WHERE {{
            {{ SELECT ?x (COUNT(?p) AS ?n) WHERE {{ ?p <{predicate}> ?x }} GROUP BY ?x ORDER BY DESC(?n) ?x {cap} }}
            OPTIONAL {{ ?x <{SKOS}prefLabel> ?l }}
        }} GROUP BY ?x ?n ORDER BY DESC(?n) ?x""")
        out[name] = [pages.Ref(r["x"]["value"], pages._value(r, "label") or pages.local_name(r["x"]["value"]),
                               pages.href(r["x"]["value"]), extra={"count": int(r["n"]["value"])}) for r in rows]
    return out


__all__ = ["make_blueprint", "landing", "SITE_NAME"]
