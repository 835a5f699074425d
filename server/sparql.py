"""The SPARQL 1.1 Protocol blueprint: ``/sparql`` (query only) and ``/update`` (refused).

Contract (SPARQL 1.1 Protocol, section 2.1):

- query via GET ``?query=``, POST ``application/x-www-form-urlencoded`` (``query=``
  in the body) or POST ``application/sparql-query`` (the body is the query); the
  dataset via ``default-graph-uri``/``named-graph-uri`` (URL parameters, or body
  parameters for the form POST). Without them the default graph is the union of
  all graphs of the store and every named graph is available;
- the answer format is negotiated from ``Accept`` (:mod:`.negotiation`): 406 when
  nothing acceptable; a GET without ``query`` returns the service description;
- a browser (``Accept`` preferring ``text/html`` to every result format) gets the
  query editor, with the answer drawn as an HTML table when a query is given
  (:mod:`.editor`);
- refused before anything runs: updates (403, by ``update=``, by the
  ``application/sparql-update`` content type, by the query form, or at
  ``/update``), ``SERVICE`` (400, :mod:`.guard`), several ``query`` values
  (400), other content types (415), bodies larger than the limit (413);
- failures while running: syntax error 400 with the parser's message, too many
  rows 422, time limit or memory 503 -- never a truncated 200.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from pyoxigraph import NamedNode

from .editor import answer as editor_answer
from .editor import wants_html
from .errors import error_response, strict_params
from .guard import UpdateRefused, inspect_query
from .negotiation import GRAPH_OFFERS, RESULTS_OFFERS, negotiate
from .pool import QueryPool
from .service_description import service_description

bp = Blueprint("sparql", __name__)

_READ_ONLY = "this endpoint is read-only: SPARQL Update is not accepted"


def pool() -> QueryPool:
    return current_app.extensions["patternkg"].pool


def _graph_list(values: list[str], name: str) -> list[str] | None:
    for value in values:
        try:
            NamedNode(value)
        except ValueError:
            raise _BadRequest(f"{name} is not a valid absolute IRI: {value!r}") from None
    return values


class _BadRequest(Exception):
    pass


@bp.route("/update", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def update() -> Response:
    raise UpdateRefused(_READ_ONLY)


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    req = request._get_current_object()  # type: ignore[attr-defined]  # one context lookup, not one per use
    args = req.args
    body_query = False
    reading = req.method in ("GET", "HEAD")  # HEAD: GET's status and headers (the server drops the body)
    if reading:
        params = args
    else:
        mimetype = req.mimetype
        if mimetype == "application/sparql-update":
            raise UpdateRefused(_READ_ONLY)
        if mimetype == "application/x-www-form-urlencoded":
            params = strict_params(req.get_data())  # invalid UTF-8 is refused, not replaced
        elif mimetype == "application/sparql-query":
            params = args
            body_query = True
        else:
            return error_response(
                415,
                "unsupported-media-type",
                "POST a query as application/sparql-query or application/x-www-form-urlencoded",
            )
    if "update" in params or "update" in args:
        raise UpdateRefused(_READ_ONLY)
    if body_query:
        try:
            queries = [req.get_data().decode("utf-8")]
        except UnicodeDecodeError:
            return error_response(400, "bad-request", "the query must be UTF-8")
        if "query" in args:
            return error_response(400, "bad-request", "send the query either in the body or in the URL")
    else:
        queries = params.getlist("query")
    default = named = None
    if "default-graph-uri" in params or "named-graph-uri" in params:
        try:
            default = _graph_list(params.getlist("default-graph-uri"), "default-graph-uri")
            named = _graph_list(params.getlist("named-graph-uri"), "named-graph-uri")
        except _BadRequest as exc:
            return error_response(400, "bad-request", str(exc))
    if len(queries) <= 1 and (queries or reading) and wants_html(req.headers.get("Accept")):
        # a browser: the query editor, with the results as an HTML table when a query is given
        return editor_answer(queries[0] if queries else None, default or None, named or None)
    if not queries:
        if reading:
            return service_description()
        return error_response(400, "bad-request", "no query given (expected a 'query' parameter)")
    if len(queries) > 1:
        return error_response(400, "bad-request", "exactly one 'query' parameter is allowed")
    return execute(queries[0], default or None, named or None, req.headers.get("Accept"), base_iri=req.base_url)


_NO_ACCEPT = object()


def execute(
    query: str,
    default_graph: list[str] | None,
    named_graphs: list[str] | None,
    accept: str | None | object = _NO_ACCEPT,
    *,
    base_iri: str | None = None,
) -> Response:
    """Check, negotiate, run and answer one query (see the module docstring).

    ``accept`` is the request's ``Accept`` header (read from the request when not given);
    relative IRIs in the query are resolved against ``base_iri`` (the request URL without
    its query string, SPARQL 1.1 Protocol section 2.1.4)."""
    if not query.strip():
        return error_response(400, "bad-request", "the query is empty")
    state = current_app.extensions["patternkg"]
    info = inspect_query(query, max_depth=state.config.max_query_depth)
    if accept is _NO_ACCEPT:
        accept = request.headers.get("Accept")
    wanted, results_offer, graph_offer = negotiate(info.form, accept)  # type: ignore[arg-type]
    if wanted is None:
        kinds = RESULTS_OFFERS if info.form in ("SELECT", "ASK") else GRAPH_OFFERS
        return error_response(
            406,
            "not-acceptable",
            "no acceptable format; this query can be answered as: "
            + ", ".join(dict.fromkeys(o.media_type for o in kinds)),
        )
    kind, body = pool().query(query, results_offer.format, graph_offer.format,
                              default_graph=default_graph, named_graphs=named_graphs, base_iri=base_iri,
                              query_dataset=info.dataset)
    offer = results_offer if kind == "results" else graph_offer
    return Response(body, status=200, headers=(("Content-Type", offer.content_type), ("Vary", "Accept")))
