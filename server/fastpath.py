"""A WSGI fast path for the commonest request: ``GET /sparql?query=...``.

Flask's request machinery (context push, URL routing, hooks, ``Request`` and
``Response`` objects) costs about 0.15 ms per request, a third of the fixed cost of
a tiny query. This middleware answers the plain case directly and hands everything
else to the Flask app unchanged.

Contract: a request is answered here only when it is a ``GET`` of exactly
``/sparql`` with no body, its query string is within the request-line limit and holds exactly one ``query`` parameter and
nothing else, the query is not empty, passes :func:`.guard.inspect_query` (SERVICE
and update refusal) and an acceptable format exists, and no CORS decision depends
on the ``Origin`` (CORS off, or ``*``). Every other request, including every one
that will get a 4xx before running, goes to Flask, which produces the documented
answer. Once the query has been sent to a worker it is never re-run: a failure
(timeout, caps, syntax, crash) is answered here with the same JSON error body and
status as :mod:`.errors`. The checks and the worker pool are the same objects the
Flask route uses, so the hardening is identical on both paths.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from werkzeug.wsgi import get_current_url

from .errors import QUERY_ERROR_STATUS, default_retry_after
from .guard import DEFAULT_MAX_DEPTH, RequestRefused, inspect_query
from .negotiation import negotiate
from .pool import QueryError, QueryPool

_REASONS = {200: "OK", 400: "BAD REQUEST", 406: "NOT ACCEPTABLE", 422: "UNPROCESSABLE ENTITY", 429: "TOO MANY REQUESTS",
            500: "INTERNAL SERVER ERROR", 503: "SERVICE UNAVAILABLE"}


class SparqlFastPath:
    """Wraps ``app.wsgi_app``: see the module docstring."""

    def __init__(self, wsgi_app: Any, pool: QueryPool, cors_origins: str | tuple[str, ...], *,
                 max_request_line: int = 8190, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.wsgi_app = wsgi_app
        self.max_depth = max_depth
        self.max_query = max_request_line - len("/sparql")
        self.pool = pool
        listed = (cors_origins,) if isinstance(cors_origins, str) else tuple(cors_origins)
        listed = tuple(o for o in listed if o)
        self.enabled = not listed or "*" in listed
        self.extra_headers: list[tuple[str, str]] = [("Access-Control-Allow-Origin", "*")] if listed else []
        self.extra_headers.append(("X-Content-Type-Options", "nosniff"))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if (
            not self.enabled
            or environ.get("PATH_INFO") != "/sparql"
            or environ.get("REQUEST_METHOD") != "GET"
            or environ.get("CONTENT_LENGTH") not in (None, "", "0")
            or "HTTP_TRANSFER_ENCODING" in environ
            or len(environ.get("QUERY_STRING", "")) > self.max_query
            or "html" in environ.get("HTTP_ACCEPT", "")  # a browser: the editor answers (Flask)
        ):
            return self.wsgi_app(environ, start_response)
        try:
            params = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True, strict_parsing=False,
                              errors="strict")
        except UnicodeDecodeError:
            return self.wsgi_app(environ, start_response)
        values = params.get("query")
        if len(params) != 1 or values is None or len(values) != 1 or not values[0].strip():
            return self.wsgi_app(environ, start_response)
        query = values[0]
        try:
            info = inspect_query(query, max_depth=self.max_depth)
        except RequestRefused:
            return self.wsgi_app(environ, start_response)
        accept = environ.get("HTTP_ACCEPT")
        wanted, results_offer, graph_offer = negotiate(info.form, accept)
        if wanted is None:
            return self.wsgi_app(environ, start_response)
        try:
            kind, body = self.pool.query(query, results_offer.format, graph_offer.format,
                                         base_iri=get_current_url(environ, strip_querystring=True),
                                         query_dataset=info.dataset)
        except QueryError as exc:
            status = QUERY_ERROR_STATUS.get(exc.kind, 500)
            body = json.dumps({"error": exc.kind, "message": exc.message, "status": status},
                              separators=(",", ":")).encode() + b"\n"
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            retry_after = exc.retry_after if exc.retry_after is not None else default_retry_after(status)
            if retry_after is not None:
                headers.append(("Retry-After", str(retry_after)))
            start_response(f"{status} {_REASONS.get(status, '')}".rstrip(), headers + self.extra_headers)
            return [body]
        offer = results_offer if kind == "results" else graph_offer
        start_response(
            "200 OK",
            [("Content-Type", offer.content_type), ("Content-Length", str(len(body))), ("Vary", "Accept"),
             *self.extra_headers],
        )
        return [body]
