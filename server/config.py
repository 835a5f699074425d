"""Configuration of the server: one frozen dataclass, built by the CLI (or a test).

Config flows one way: ``patternkg serve`` -> :class:`ServerConfig` ->
:func:`patternkg.server.app.create_app`. Nothing here reads the working
directory or the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patternkg.converter.namespaces import DEFAULT_BASE_IRI, ONTOLOGY_IRI

from .guard import DEFAULT_MAX_DEPTH

ONTOLOGY_FILE = Path(__file__).resolve().parent.parent / "ontology" / "patternkg.ttl"


@dataclass(frozen=True)
class ServerConfig:
    store: Path
    """A store directory (its current generation is served) or a plain Oxigraph store, opened read-only."""
    base_iri: str = DEFAULT_BASE_IRI
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 4
    """Query worker processes: how many queries run at the same time."""
    timeout: float = 30.0
    """Seconds a query may run before its worker is killed (503)."""
    max_rows: int = 100_000
    """Most result rows (or triples) a query may return; more is an error (422)."""
    memory_limit_mb: int | None = 2048
    """Address-space cap of each query worker (None: no cap)."""
    max_request_bytes: int = 1 << 20
    """Largest accepted request body (413 beyond)."""
    max_request_line: int = 8190
    """Longest request target, path plus query string, in bytes (414 beyond; POST long queries)."""
    cors_origins: str | tuple[str, ...] = "*"
    """Origins allowed to call /sparql from a browser ('' disables CORS)."""
    dumps_dir: Path | None = None
    """Where dumps are written on first request (None: a fresh temporary folder)."""
    ontology_file: Path = ONTOLOGY_FILE
    ontology_iri: str = ONTOLOGY_IRI
    isolate_network: bool = True
    """Try to put query workers in a network namespace of their own (defence in depth)."""
    prefixes: dict[str, str] = field(default_factory=dict)
    """Prefixes for Turtle output (default: the project's)."""
    jsonld_context_file: Path | None = None
    """JSON-LD context for compaction (default: ontology/context.jsonld when present)."""
    cache_max_age: int = 60
    """``Cache-Control: max-age`` of /sparql and /api/ answers, in seconds (see server/httpcache.py)."""
    result_cache_mb: int = 64
    """Bytes of answers the server keeps in memory to answer repeated requests (0: none)."""
    reload_interval: float = 1.0
    """Seconds between looks at the store directory's ``current`` pointer (0: only on SIGHUP)."""
    # -- the HTTP layer's limits (docs/server.md, "Limits") --
    max_query_depth: int = DEFAULT_MAX_DEPTH
    """Deepest nesting accepted in a query (:mod:`.guard`); deeper gets 400 before any worker runs it."""
    public_url: str | None = None
    """The URL clients reach the server at (behind a proxy); absolute URLs are built from it (:mod:`.publicurl`)."""
    trust_proxy: bool = False
    """Take the public URL and the client address from ``Forwarded``/``X-Forwarded-*``."""
    max_connections: int = 4096
    """Connections served at once (more wait in the kernel's backlog)."""
    max_connections_per_client: int | None = None
    """Connections one client address may hold (None: a quarter of ``max_connections``, at most 64);
    see :mod:`.connlimit`."""
    keep_alive_timeout: float = 5.0
    """Seconds a connection may stay idle, and the longest time to send a request head."""
    body_timeout: float = 10.0
    """Seconds a request body may take to arrive (408 beyond)."""
    send_timeout: float = 10.0
    """Seconds a client may take to accept each 64 KiB of an answer before it is dropped."""
    max_buffered_mb: int = 256
    """Bodies held in memory for clients, in MiB, in total (larger answers beyond get 503)."""
    max_per_client: int | None = None
    """Query workers one client address may hold at once (None: half the workers, at least 1)."""
    queue_timeout: float = 2.0
    """Seconds a request may wait for a worker before 503/429 with Retry-After."""
    backend: str | None = None
    """An external SPARQL 1.1 query endpoint to serve instead of ``store`` (``serve --backend``;
    ``store`` is then unused). See :mod:`.backend`."""
    backend_graph: str = ""
    """The graph (release) queries run on at the backend ('' : the engine's default dataset)."""
    backend_credentials: Any = None
    """A :class:`patternkg.converter.publish.Credentials` for the backend (None: anonymous)."""
    generation: str | None = None
    """The name of what is served when no store generation names it (the backend's release)."""
