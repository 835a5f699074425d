"""The Flask application factory.

``create_app(config)`` wires the blueprints (SPARQL protocol, linked data,
dumps, health) to one :class:`AppState` kept in ``app.extensions["patternkg"]``:
the configuration, the generation of the store being served and the
:class:`~.pool.QueryPool` of worker processes. The app
itself never opens the store; every store access goes through the pool, so it
is safe to create the app before the WSGI server forks (workers are started
lazily, per process).
"""

from __future__ import annotations

import json
import math
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

from patternkg.converter.dumps import jsonld_context, library_prefixes
from patternkg.converter.storedir import Generation, open_generation

from .libraries import ServedLibraries, served_libraries
from .config import ServerConfig
from .errors import error_response, register_error_handlers, strict_params
from .fastpath import SparqlFastPath
from .httpcache import HttpCache
from .pool import PoolSettings, QueryPool
from .worker import visible_controls
from .publicurl import PublicUrl

#: Sent with every HTML page: scripts, styles, fonts and fetches only from this server,
#: inline style attributes (the vendored graph and editor libraries set them), images also as data: URLs, no plugins, no framing, no Referer to other sites.
HTML_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "font-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def per_client(config: ServerConfig) -> int:
    """Query workers one client may hold at once: ``max_per_client``, else half the workers (at least 1)."""
    if config.max_per_client:
        return min(config.max_per_client, config.workers)
    return max(1, config.workers // 2)

GENERATION_HEADER = "Patternkg-Generation"


@dataclass
class AppState:
    config: ServerConfig
    pool: QueryPool
    dumps_dir: Path
    prefixes: dict[str, str] = field(default_factory=dict)
    generation: Generation | None = None
    """The generation being served (id, directory with its sidecars, metadata); see
    :mod:`patternkg.converter.storedir`. Code that reads a sidecar opens it from here, per
    request: the attribute is replaced (never mutated) when the server moves to a new one."""
    watcher: Any = None
    """The :class:`~.generations.GenerationWatcher` of this process (None outside a served process)."""
    libraries: ServedLibraries = field(default_factory=ServedLibraries)
    """The libraries of a multi-library store (:mod:`.libraries`; empty for one library), as built
    in the generation served at start-up."""


def _jsonld_context(config: ServerConfig) -> dict[str, Any] | None:
    if config.jsonld_context_file is None:
        return jsonld_context()
    path = config.jsonld_context_file
    document = json.loads(path.read_text(encoding="utf-8"))
    context = document.get("@context", document) if isinstance(document, dict) else None
    return context if isinstance(context, dict) else None


def pool_settings(config: ServerConfig, size: int | None = None, *, store: Path | None = None) -> PoolSettings:
    """The pool settings implied by *config* (``size`` defaults to ``config.workers``;
    ``store``, the Oxigraph store to open, to ``config.store``)."""
    prefixes = dict(config.prefixes or library_prefixes(config.base_iri))
    return PoolSettings(
        store=Path(store or config.store),
        size=size if size is not None else config.workers,
        timeout=config.timeout,
        max_rows=config.max_rows,
        memory_limit=config.memory_limit_mb << 20 if config.memory_limit_mb else None,
        acquire_timeout=max(config.timeout, 5.0),
        queue_timeout=config.queue_timeout,
        per_client=per_client(config),
        isolate_network=config.isolate_network,
        base_iri=config.base_iri,
        prefixes=prefixes,
        jsonld_context=_jsonld_context(config),
    )


def _remote(config: ServerConfig, settings: PoolSettings) -> Any:
    """The external engine of ``serve --backend`` behind the pool's interface (:mod:`.backend`)."""
    from .backend import RemoteBackend

    return RemoteBackend(settings, url=config.backend or "", graph=config.backend_graph,
                         credentials=config.backend_credentials, generation=config.generation or "backend")


def create_app(config: ServerConfig, *, pool_size: int | None = None) -> Flask:
    """Build the app for *config*. ``pool_size`` overrides the number of worker
    processes of this app's pool (the WSGI runner gives each server process its share)."""
    from . import dumps, health, linkeddata, sparql

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_bytes
    app.config["MAX_FORM_MEMORY_SIZE"] = config.max_request_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    generation: Generation | None = None
    if config.backend is None:
        generation = open_generation(config.store)
        settings = pool_settings(config, pool_size, store=generation.store_path)
        pool: Any = QueryPool(settings, generation=generation.id)
    else:  # an external engine (serve --backend): no store, no sidecars
        settings = pool_settings(config, pool_size)
        pool = _remote(config, settings)
    dumps_dir = Path(config.dumps_dir) if config.dumps_dir else Path(tempfile.mkdtemp(prefix="patternkg-dumps-"))
    app.extensions["patternkg"] = AppState(
        config=config, pool=pool, dumps_dir=dumps_dir, prefixes=settings.prefixes, generation=generation,
        libraries=served_libraries(generation.metadata if generation is not None else None),
    )
    register_error_handlers(app)

    @app.before_request
    def _limit_size() -> Response | None:
        environ = request.environ
        if len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", "")) > config.max_request_line:
            return error_response(
                414, "uri-too-long",
                f"the request target is longer than {config.max_request_line} bytes; send long queries by POST",
            )
        length = request.content_length
        if length is not None and length > config.max_request_bytes:
            return error_response(
                413, "request-too-large", f"the request body is larger than {config.max_request_bytes} bytes"
            )
        strict_params(request.query_string)  # 400 for invalid UTF-8 in any URL parameter
        return None

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        if response.mimetype == "text/html":
            headers.update(HTML_SECURITY_HEADERS)
            if not response.is_streamed:  # a literal's control characters: never a malformed page
                response.set_data(visible_controls(response.get_data()))
        return response

    if config.cors_origins:
        _enable_cors(app, config.cors_origins)

    app.register_blueprint(sparql.bp)
    app.register_blueprint(linkeddata.make_blueprint(config, libraries=app.extensions["patternkg"].libraries))
    app.register_blueprint(dumps.bp)
    app.register_blueprint(health.bp)
    from .query_api import make_blueprint as queries_blueprint

    app.register_blueprint(queries_blueprint())
    from .site import make_blueprint as site_blueprint

    app.register_blueprint(site_blueprint())  # the web site: landing, browse, search, graph, editor  # prepared queries (issue 5), run through the pool
    # plain GET /sparql?query= bypasses Flask's per-request machinery (same checks, same pool)
    app.wsgi_app = SparqlFastPath(app.wsgi_app, app.extensions["patternkg"].pool, config.cors_origins,
                                  max_request_line=config.max_request_line,
                                  max_depth=config.max_query_depth)  # type: ignore[method-assign]
    # ETag, Cache-Control, 304 and repeated answers from memory, around the fast path too
    state = app.extensions["patternkg"]
    app.wsgi_app = HttpCache(  # type: ignore[method-assign]
        app.wsgi_app, generation=_cache_generation(state),
        max_age=config.cache_max_age, max_bytes=config.result_cache_mb << 20,
        max_body=config.max_request_bytes, vary_origin=bool(config.cors_origins) and config.cors_origins != "*",
        answered_by=pool.answered_by, note_answer=getattr(pool, "note_answer", lambda generation: None))
    app.wsgi_app = GenerationHeader(app.wsgi_app, pool)  # type: ignore[method-assign]
    # outermost: absolute URLs from --public-url (or a trusted proxy), never from Host
    app.wsgi_app = PublicUrl(app.wsgi_app, public_url=config.public_url,  # type: ignore[method-assign]
                             trust_proxy=config.trust_proxy, gate=getattr(pool, "gate", None))
    return app


def _cache_generation(state: AppState) -> Callable[[], str]:
    """The generation id that ETags name: the served generation's; for a store written by other
    tools (served as generation "external"), a token of this server process (such a store cannot
    change while it is served, but may between runs)."""
    token = "p" + secrets.token_hex(4)

    def current() -> str:
        generation = state.generation
        if generation is None or generation.external:
            return token
        return str(getattr(state.pool, "generation", "") or generation.id)  # what queries run on now

    return current


class GenerationHeader:
    """WSGI middleware: every response names the generation it came from (``Patternkg-Generation``).

    The id is that of the query worker that answered when the request ran a query (set
    per request thread by the pool), else the generation the pool serves now."""

    def __init__(self, wsgi_app: Any, pool: QueryPool) -> None:
        self.wsgi_app = wsgi_app
        self.pool = pool

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        pool = self.pool
        pool.forget_answer()

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.append((GENERATION_HEADER, pool.answered_by() or pool.generation))
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return self.wsgi_app(environ, start)


_CORS_PATHS = ("/sparql", "/void", "/dumps", "/pattern", "/api/")
_CORS_METHODS = ("GET", "POST", "OPTIONS")
_CORS_HEADERS = {"content-type": "Content-Type", "accept": "Accept"}


def _enable_cors(app: Flask, origins: str | tuple[str, ...]) -> None:
    """CORS for the query endpoint and the read-only data routes (GET/POST, preflight).

    A few header writes per response (flask-cors cost ~70 us per request): ``*`` allows
    every origin; otherwise an ``Origin`` equal (case-insensitively) to an allowed one is
    echoed, with ``Vary: Origin``. Preflights (``OPTIONS`` with
    ``Access-Control-Request-Method``) get the allowed methods and headers, cached a day."""
    listed = (origins,) if isinstance(origins, str) else tuple(origins)
    wildcard = "*" in listed
    allowed = frozenset(o.lower() for o in listed)
    methods = ", ".join(_CORS_METHODS)

    @app.after_request
    def _cors(response: Response) -> Response:
        req = request._get_current_object()  # type: ignore[attr-defined]
        if not req.path.startswith(_CORS_PATHS):
            return response
        headers = response.headers
        origin = req.headers.get("Origin")
        if wildcard:
            headers["Access-Control-Allow-Origin"] = "*"
        elif origin and origin.lower() in allowed:
            headers["Access-Control-Allow-Origin"] = origin
            headers.add("Vary", "Origin")
        else:
            return response
        if req.method == "OPTIONS" and req.headers.get("Access-Control-Request-Method", "").upper() in _CORS_METHODS:
            asked = req.headers.get("Access-Control-Request-Headers", "")
            granted = sorted({_CORS_HEADERS[h.strip().lower()] for h in asked.split(",") if h.strip().lower() in _CORS_HEADERS})
            if granted:
                headers["Access-Control-Allow-Headers"] = ", ".join(granted)
            headers["Access-Control-Allow-Methods"] = methods
            headers["Access-Control-Max-Age"] = "86400"
        return response


def shares(workers: int, processes: int) -> list[int]:
    """Split *workers* query workers over *processes* server processes (all at least 1)."""
    base = max(1, math.ceil(workers / max(1, processes)))
    return [base] * max(1, processes)
