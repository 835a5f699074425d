"""The prepared-query HTTP API: a Flask blueprint.

Routes (see docs/queries.md):

- ``GET /api/queries``: the catalogue (JSON): name, title, description,
  parameters, columns, SPARQL text and URL of each query;
- ``GET /api/queries/<name>?param=value&limit=&offset=``: run one query.
  Format by ``Accept`` (or ``?format=json|csv|sparql-json|sparql-xml``):
  ``application/json`` (default: ``{"total", "limit", "offset", "columns",
  "rows", ...}``), ``text/csv``, ``application/sparql-results+json``,
  ``application/sparql-results+xml``. ``X-Total-Count`` and ``Link``
  (``rel=next/prev/first``) headers for paging;
- ``GET /api/openapi.json``: an OpenAPI 3.1 document generated from the headers;
- ``GET /api/docs``: a browsable HTML page: each query with a form (Run shows an HTML table:
  ``text/html`` is one of the formats of a run), its columns and SPARQL.

Errors (JSON ``{"error", "message", "status"[, "parameter"]}``): 400 for an
unknown, missing or malformed parameter (naming it and the expected type),
404 for an unknown query or an unknown pattern/domain/community, 406 when no
offered format is acceptable; failures of the runner (timeout, row cap) are
mapped by the app's error handlers.

The blueprint needs a :class:`~.prepared.PreparedQueries`: given to
:func:`make_blueprint`, or built per app from the endpoint's worker pool
(``app.extensions["patternkg"].pool``) and ``config.base_iri``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from .answers import generation_answers
from .catalogue import PARAMETER_TYPES, ParameterError, StoredQuery, load_catalogue
from .negotiation import Offer, choose
from .prepared import MAX_PAGE_SIZE, PreparedQueries, UnknownQuery, UnknownResource, parse_count, pool_runner

EXTENSION = "patternkg.queries"

OFFERS: tuple[Offer, ...] = (
    Offer("application/json", "json", "application/json"),
    Offer("text/csv", "csv", "text/csv; charset=utf-8"),
    Offer("application/sparql-results+json", "sparql-json", "application/sparql-results+json"),
    Offer("application/sparql-results+xml", "sparql-xml", "application/sparql-results+xml"),
    Offer("text/html", "html", "text/html; charset=utf-8"),  # a browser: the form and a table (site)
)
_BY_FORMAT = {o.format: o for o in OFFERS}


def _error(status: int, error: str, message: str, parameter: str | None = None) -> Response:
    body: dict[str, Any] = {"error": error, "message": message, "status": status}
    if parameter is not None:
        body["parameter"] = parameter
    response = jsonify(body)
    response.status_code = status
    return response


def prepared() -> PreparedQueries:
    """The app's :class:`PreparedQueries` (installed when the blueprint is registered)."""
    return current_app.extensions[EXTENSION]


def describe(query: StoredQuery) -> dict[str, Any]:
    """The catalogue entry of one query (JSON)."""
    return {
        "name": query.name,
        "title": query.title,
        "description": query.description,
        "url": url_for("queries.run_query", name=query.name, _external=False),
        "parameters": [
            {
                "name": p.name,
                "type": p.type,
                "required": p.required,
                "default": p.default,
                "description": p.description,
                "expected": p.expected,
                **({"enum": list(p.enum)} if p.enum else {}),
            }
            for p in query.parameters
        ],
        "columns": [{"name": n, "description": d} for n, d in query.columns],
        "sparql": query.sparql,
    }


def make_blueprint(queries: PreparedQueries | None = None) -> Blueprint:
    """The blueprint; with *queries* it uses that runner instead of the app's pool."""
    bp = Blueprint("queries", __name__)
    loaded = load_catalogue() if queries is None else None  # syntax of every query checked now

    @bp.record_once
    def _install(state: Any) -> None:
        if queries is not None:
            state.app.extensions[EXTENSION] = queries
        else:
            endpoint = state.app.extensions["patternkg"]
            # the pool's workers open the store read-only and the server treats it as fixed while it
            # runs (as the dumps do): totals and existence checks can be cached for this app
            state.app.extensions[EXTENSION] = PreparedQueries(
                pool_runner(endpoint.pool), base_iri=endpoint.config.base_iri, catalogue=loaded, cache=True,
                answers=generation_answers(endpoint), max_rows=endpoint.config.max_rows,
                generation=lambda: str(getattr(endpoint.pool, "generation", "")),
            )

    @bp.get("/api/queries")
    def catalogue() -> Response:
        return jsonify({"queries": [describe(q) for q in prepared().catalogue.values()]})

    @bp.get("/api/queries/<name>")
    def run_query(name: str) -> Response:
        pq = prepared()
        try:
            query = pq.get(name)
        except UnknownQuery as exc:
            return _error(404, "unknown-query", str(exc))
        wanted = request.args.get("format")
        if wanted is not None:
            offer = _BY_FORMAT.get(wanted)
            if offer is None:
                return _error(400, "bad-request", f"parameter 'format': expected one of {', '.join(_BY_FORMAT)}",
                              "format")
        else:
            offer = choose(request.headers.get("Accept"), OFFERS) if request.headers.get("Accept") else OFFERS[0]
            if offer is None:
                return _error(406, "not-acceptable",
                              "no acceptable format; offered: " + ", ".join(o.media_type for o in OFFERS))
        raw = {k: v for k, v in request.args.items() if k not in ("offset", "format")}
        if offer.format == "html":  # a form sends its empty optional fields: they mean "not given"
            raw = {k: v for k, v in raw.items() if v.strip() and k != "audience"}
        if query.parameter("limit") is None:
            raw.pop("limit", None)
        for key in request.args:
            if len(request.args.getlist(key)) > 1:
                return _error(400, "bad-request", f"parameter '{key}' is given more than once", key)
        try:
            limit = pq.page_size(query, request.args.get("limit"))
            offset = parse_count("offset", request.args.get("offset"), 0, 10**9)
            if name == "search":  # the full-text index of the served generation (server/search.py)
                from .search import prepared_answer

                answer = prepared_answer(query, raw, limit, offset, pq.library)
            else:
                answer = pq.run(name, raw, limit, offset)
        except ParameterError as exc:
            if offer.format == "html":
                return run_page(query, None, 0, 0, error=exc.message, status=400)
            return _error(400, "bad-parameter", exc.message, exc.parameter)
        except UnknownResource as exc:
            if offer.format == "html":
                return run_page(query, None, 0, 0, error=exc.message, status=404)
            return _error(404, "not-found", exc.message, exc.parameter)
        page = answer.bindings
        if offer.format == "html":
            return run_page(query, answer, limit, offset)
        if offer.format == "json":
            response = jsonify({
                "query": query.name,
                "parameters": answer.parameters,
                "total": answer.total,
                "limit": limit,
                "offset": offset,
                "columns": query.column_names,
                "rows": answer.rows(page),
            })
        elif offer.format == "csv":
            response = Response(answer.csv(page), content_type=offer.content_type)
        elif offer.format == "sparql-json":
            response = Response(answer.sparql_json(page), content_type=offer.content_type)
        else:
            response = Response(answer.sparql_xml(page), content_type=offer.content_type)
        response.headers["X-Total-Count"] = str(answer.total)
        response.headers["Vary"] = "Accept"
        links = _links(name, limit, offset, answer.total)
        if links:
            response.headers["Link"] = ", ".join(links)
        return response

    @bp.get("/api/openapi.json")
    def openapi() -> Response:
        return jsonify(openapi_document(prepared().catalogue.values()))

    @bp.get("/api/docs")
    def docs() -> Response:
        from .pages import html_response, render

        return html_response(render("queries_docs.html", title="Prepared queries",
                                    queries=list(prepared().catalogue.values())))

    return bp


def _links(name: str, limit: int, offset: int, total: int) -> list[str]:
    args = {k: v for k, v in request.args.items() if k not in ("limit", "offset")}

    def link(rel: str, at: int) -> str:
        query = urlencode({**args, "limit": limit, "offset": at})
        return f'<{url_for("queries.run_query", name=name)}?{query}>; rel="{rel}"'

    links = [link("first", 0)]
    if limit and offset + limit < total:
        links.append(link("next", offset + limit))
    if offset > 0:
        links.append(link("prev", max(0, offset - limit)))
    if limit:
        links.append(link("last", max(0, (total - 1) // limit * limit)))
    return links


_SCHEMAS: dict[str, dict[str, Any]] = {
    "pattern": {"type": "string", "pattern": r"^[^\W][\w.~-]*$"},
    "domain": {"type": "string"},
    "community": {"type": "string"},
    "iri": {"type": "string", "format": "iri"},
    "string": {"type": "string", "minLength": 1, "maxLength": 200},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
}


def openapi_document(queries: Any) -> dict[str, Any]:
    """An OpenAPI 3.1 document: one GET operation per prepared query, from its header."""
    paths: dict[str, Any] = {
        "/api/queries": {"get": {
            "operationId": "listQueries", "summary": "The catalogue of prepared queries",
            "responses": {"200": {"description": "the catalogue", "content": {"application/json": {
                "schema": {"type": "object"}}}}},
        }},
    }
    error = {"$ref": "#/components/responses/Error"}
    for query in queries:
        parameters = []
        for p in query.parameters:
            schema = dict(_SCHEMAS[p.type])
            if p.enum:
                schema["enum"] = list(p.enum)
            if p.min is not None:
                schema["minimum"] = p.min
            if p.max is not None:
                schema["maximum"] = p.max
            if p.default is not None:
                schema["default"] = p.default
            parameters.append({"name": p.name, "in": "query", "required": p.required,
                               "description": f"{p.description} ({PARAMETER_TYPES[p.type]})", "schema": schema})
        if query.parameter("limit") is None:
            parameters.append({"name": "limit", "in": "query", "required": False, "description": "page size",
                               "schema": {"type": "integer", "minimum": 0, "maximum": MAX_PAGE_SIZE,
                                          "default": 100}})
        parameters.append({"name": "offset", "in": "query", "required": False,
                           "description": "rows to skip", "schema": {"type": "integer", "minimum": 0, "default": 0}})
        row = {"type": "object", "properties": {n: {"description": d} for n, d in query.columns}}
        paths[f"/api/queries/{query.name}"] = {"get": {
            "operationId": "query_" + query.name.replace("-", "_"),
            "summary": query.title,
            "description": query.description + "\n\n```sparql\n" + query.sparql + "```",
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "one page of the results",
                    "headers": {"X-Total-Count": {"schema": {"type": "integer"}},
                                "Link": {"schema": {"type": "string"}}},
                    "content": {
                        "application/json": {"schema": {"type": "object", "properties": {
                            "total": {"type": "integer"}, "limit": {"type": "integer"},
                            "offset": {"type": "integer"}, "columns": {"type": "array", "items": {"type": "string"}},
                            "rows": {"type": "array", "items": row}}}},
                        "text/csv": {"schema": {"type": "string"}},
                        "application/sparql-results+json": {"schema": {"type": "object"}},
                        "application/sparql-results+xml": {"schema": {"type": "string"}},
                    },
                },
                "400": error, "404": error, "406": error, "422": error, "503": error,
            },
        }}
    return {
        "openapi": "3.1.0",
        "info": {"title": "patternkg prepared queries", "version": "1",
                 "description": "Questions people ask of a pattern library, as typed, paginated GET requests."},
        "paths": paths,
        "components": {"responses": {"Error": {
            "description": "an error",
            "content": {"application/json": {"schema": {"type": "object", "properties": {
                "error": {"type": "string"}, "message": {"type": "string"}, "status": {"type": "integer"},
                "parameter": {"type": "string"}}}}},
        }}},
    }


def run_page(query: StoredQuery, answer: Any, limit: int, offset: int, *, error: str | None = None,
             status: int = 200) -> Response:
    """One run as a page: the filled-in form, the rows as a table (library IRIs linked to their
    pages, pattern titles in the chosen audience's words), paging and downloads of the same run
    as CSV and JSON (those keep the library's titles: they are data)."""
    from . import audience as lens
    from .pages import curie, href, html_response, render

    args = {k: v for k, v in request.args.items() if k not in ("format", "audience")}

    def url(**changes: Any) -> str:
        merged = {**args, **{k: str(v) for k, v in changes.items()}}
        return url_for("queries.run_query", name=query.name) + "?" + urlencode(merged)

    rows = []
    if answer is not None:
        for binding in answer.bindings:
            title = binding.get("title", {}).get("value")
            cells, named = [], False
            for column in query.column_names:
                term = binding.get(column)
                if term is None:
                    cells.append({"type": "unbound"})
                elif term["type"] == "uri":
                    text = title if title and not named else curie(term["value"])
                    named = True
                    cells.append({"type": "uri", "value": term["value"], "href": href(term["value"]), "text": text})
                else:
                    cells.append({"type": term["type"], "value": term["value"]})
            rows.append(cells)
        lens.in_words(rows)  # pattern titles in the chosen audience's words
    total = answer.total if answer is not None else 0
    html = render(
        "query_run.html", title=query.title, q=query, values=dict(request.args), answer=answer, rows=rows,
        columns=query.column_names, offset=offset, error=error,
        downloads={"csv": url(format="csv"), "json": url(format="json"), "sparql": url(format="sparql-json")},
        next_url=url(offset=offset + limit) if limit and offset + limit < total else None,
        prev_url=url(offset=max(0, offset - limit)) if offset > 0 else None)
    return html_response(html, status=status)
