"""Commands of the server part: registered on the ``patternkg`` group by :mod:`patternkg.cli`."""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import click

from patternkg.options import allow_empty_option, require_patterns, source_arguments, store_base_iri

from .config import ServerConfig
from .guard import DEFAULT_MAX_DEPTH


def default_workers() -> int:
    """One query worker per core, at least 2 (so a long query never blocks everyone).

    More workers than cores only take turns on them, each with caches of its own:
    on 2 cores, 2 workers gave the join benchmark x0.78-1.03 of Oxigraph's
    throughput against x0.75-0.82 with 4 (docs/benchmarks.md)."""
    return max(2, os.cpu_count() or 2)


@click.command("serve")
@source_arguments
@click.option(
    "--store",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Serve this existing Oxigraph store (any, e.g. one written by `oxigraph load`) instead of building one.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--workers", type=click.IntRange(min=1), default=None,
    help="Query worker processes: how many queries run at the same time.  [default: the number of cores, at least 2]",
)
@click.option(
    "--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
    help="Seconds a query may run; past it the query is stopped and gets 503.",
)
@click.option("--max-rows", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="Largest result (rows or triples); more is an error (422), never truncated.")
@click.option("--memory-limit", type=click.IntRange(min=0), default=2048, show_default=True,
              help="Address-space cap of each query worker in MiB (0: none).")
@click.option("--max-request-size", type=click.IntRange(min=1), default=1 << 20, show_default=True,
              help="Largest accepted request body in bytes (413 beyond).")
@click.option("--cors-origin", "cors_origins", multiple=True, default=("*",), show_default=True,
              help="Origin allowed to query from a browser (repeatable; '' disables CORS).")
@click.option("--dumps-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for /dumps/ files (default: a temporary folder).")
@click.option("--artefact", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Serve a generation artefact (`patternkg package`): its checksum is verified, then it is "
                   "installed into --store DIR (or a temporary folder) and served.")
@click.option("--artefact-sha256", default=None, help="Expected SHA-256 of --artefact (default: its .sha256 file).")
@click.option("--reload-interval", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Seconds between looks at the store's current generation; a new one is served as a whole "
                   "(0: only on SIGHUP, which always checks at once).")
@click.option("--public-url", metavar="URL", default=None,
              help="The URL clients reach this server at (e.g. behind a reverse proxy); absolute URLs in answers "
                   "are built from it.  [default: the address the connection came in on, never the Host header]")
@click.option("--trust-proxy", is_flag=True, default=False,
              help="Take the public URL (unless --public-url) and the client address from the Forwarded or "
                   "X-Forwarded-* headers of a reverse proxy. Only when every request comes through that proxy.")
@click.option("--max-connections", type=click.IntRange(min=16), default=4096, show_default=True,
              help="Connections served at once; more wait in the kernel's backlog until one closes.")
@click.option("--max-connections-per-client", type=click.IntRange(min=1), default=None,
              help="Connections one client address may hold at once (idle ones too; with --trust-proxy: "
                   "requests in progress per address the proxy names); more are closed, or get 429.  "
                   "[default: a quarter of --max-connections, at most 64]")
@click.option("--keep-alive-timeout", type=click.FloatRange(min=0.5), default=5.0, show_default=True,
              help="Seconds an idle connection is kept open; also the longest time a client may take to send "
                   "a request's head.")
@click.option("--body-timeout", type=click.FloatRange(min=0.5), default=10.0, show_default=True,
              help="Seconds a request body may take to arrive; slower gets 408 and the connection is closed.")
@click.option("--send-timeout", type=click.FloatRange(min=0.5), default=10.0, show_default=True,
              help="Seconds a client may take to accept each 64 KiB of an answer; slower is disconnected.")
@click.option("--max-buffered", "max_buffered_mb", type=click.IntRange(min=1), default=256, show_default=True,
              help="MiB of answers and request bodies held in memory for clients, in total; a large answer "
                   "beyond gets 503 with Retry-After.")
@click.option("--max-per-client", type=click.IntRange(min=1), default=None,
              help="Query workers one client address may hold at once; more queries from it wait, then get 429.  "
                   "[default: half the workers, at least 1]")
@click.option("--queue-timeout", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Seconds a query may wait for a free worker before 503 (or 429) with Retry-After.")
@click.option("--max-query-depth", type=click.IntRange(min=1), default=DEFAULT_MAX_DEPTH, show_default=True,
              help="Deepest nesting accepted in a query (each open bracket, and each operator inside one, "
                   "counts one); deeper gets 400 before it runs.")
@click.option("--backend", metavar="URL", default=None,
              help="Serve an external SPARQL 1.1 query endpoint (e.g. Virtuoso's /sparql) instead of a store.")
@click.option("--backend-graph", metavar="IRI", default=None,
              help="Graph to query at --backend ('' for the engine's default dataset).  [default: the release "
                   "that `patternkg publish` made current, else the default dataset]")
@click.option("--backend-auth", type=click.Choice(["basic", "digest", "bearer", "none"]), default=None,
              help="Authentication at --backend; credentials from PATTERNKG_BACKEND_USER/_PASSWORD/_TOKEN "
                   "or --backend-credentials.")
@click.option("--backend-credentials", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="File of user=/password= or token= lines for --backend.")
@click.option("--strict", is_flag=True,
              help="With SOURCE: refuse to serve when any file cannot be converted (default: serve the rest).")
@allow_empty_option
@click.option("--get", "get_path", metavar="PATH", default=None,
              help="Print the response for PATH (e.g. '/sparql?query=...') and exit, without starting a server.")
@click.option("--accept", default=None, help="Accept header sent with --get.")
def serve(
    sources: tuple[Path, ...],
    base_iri: str,
    max_file_size: int,
    jobs: int | None,
    store: Path | None,
    host: str,
    port: int,
    workers: int | None,
    timeout: float,
    max_rows: int,
    memory_limit: int,
    max_request_size: int,
    cors_origins: tuple[str, ...],
    dumps_dir: Path | None,
    artefact: Path | None,
    artefact_sha256: str | None,
    reload_interval: float,
    max_query_depth: int,
    public_url: str | None,
    trust_proxy: bool,
    max_connections: int,
    max_connections_per_client: int | None,
    keep_alive_timeout: float,
    body_timeout: float,
    send_timeout: float,
    max_buffered_mb: int,
    max_per_client: int | None,
    queue_timeout: float,
    backend: str | None,
    backend_graph: str | None,
    backend_auth: str | None,
    backend_credentials: Path | None,
    strict: bool,
    allow_empty: bool,
    get_path: str | None,
    accept: str | None,
) -> None:
    """Serve a library (or any Oxigraph store) as a read-only SPARQL 1.1 endpoint with linked data.

    With SOURCE (default: the bundled seeds) the library is converted into a
    temporary store first; with --store an existing store is served as it is.
    """
    if store is not None and sources:
        raise click.UsageError("give either SOURCE... or --store, not both")
    remote: dict = {}
    if artefact is not None:
        if sources or backend is not None:
            raise click.UsageError("--artefact serves one generation: not with SOURCE... or --backend")
        store = _install(artefact, artefact_sha256, store)
    if backend is not None:
        if store is not None or sources:
            raise click.UsageError("give either --backend or SOURCE.../--store, not both")
        remote = _backend(backend, backend_graph, backend_auth, backend_credentials, base_iri, max_rows, timeout)
        store = Path(os.devnull)  # unused: every query goes to the backend
    elif store is not None:
        from patternkg.converter.storedir import StoreDirError, open_generation

        try:
            open_generation(store)  # checked here, before anything starts: one line, exit status 2
        except StoreDirError as exc:
            click.echo(f"patternkg: {exc}", err=True)
            sys.exit(exc.exit_code)
        base_iri = store_base_iri(base_iri, store)
    else:
        require_patterns(sources, allow_empty=allow_empty)
    with ExitStack() as stack:
        if store is None:
            store = _build(stack, sources, base_iri, max_file_size, jobs, strict=strict, allow_empty=allow_empty)
        origins = tuple(o for o in cors_origins if o)
        config = ServerConfig(
            store=store,
            base_iri=base_iri,
            host=host,
            port=port,
            workers=workers or default_workers(),
            timeout=timeout,
            max_rows=max_rows,
            memory_limit_mb=memory_limit or None,
            max_request_bytes=max_request_size,
            cors_origins=("*" if "*" in origins else origins) if origins else "",
            dumps_dir=dumps_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="patternkg-dumps-"))),
            reload_interval=reload_interval,
            max_query_depth=max_query_depth,
            public_url=_public_url(public_url),
            trust_proxy=trust_proxy,
            max_connections=max_connections,
            max_connections_per_client=max_connections_per_client,
            keep_alive_timeout=keep_alive_timeout,
            body_timeout=body_timeout,
            send_timeout=send_timeout,
            max_buffered_mb=max_buffered_mb,
            max_per_client=max_per_client,
            queue_timeout=queue_timeout,
            **remote,
        )
        if get_path is not None:
            sys.exit(_get(config, get_path, accept))
        _run(config)


def _install(artefact: Path, sha256: str | None, store: Path | None) -> Path:
    """Verify and install *artefact* into *store* (a fresh temporary folder when None)."""
    from patternkg.converter.artefact import ArtefactRefused, install
    from patternkg.converter.storedir import StoreDirError

    target = store if store is not None else Path(tempfile.mkdtemp(prefix="patternkg-replica-")) / "store"
    try:
        generation = install(artefact=artefact, store=target, sha256=sha256)
    except (ArtefactRefused, StoreDirError) as exc:
        click.echo(f"patternkg: {exc}", err=True)
        sys.exit(2)
    click.echo(f"installed generation {generation.id} from {artefact}", err=True)
    return target


def _backend(url: str, graph: str | None, scheme: str | None, credentials_file: Path | None,
             base_iri: str, max_rows: int, timeout: float) -> dict:
    """The ServerConfig fields of ``--backend``: the graph is resolved once, here, so every
    server process queries the same release; an engine that would cut answers short is refused."""
    from patternkg.converter.publish import PublishError, current_release, load_credentials

    from .backend import RemoteBackend
    from .pool import PoolSettings, QueryError

    try:
        credentials = load_credentials(scheme=scheme, file=credentials_file, prefix="PATTERNKG_BACKEND_")
        if graph is None:
            import requests

            with requests.Session() as session:
                session.auth = credentials.auth()
                session.headers.update(credentials.headers())
                graph = current_release(query_url=url, base_iri=base_iri, session=session) or ""
        probe = RemoteBackend(PoolSettings(store=Path(os.devnull), size=1, timeout=timeout, max_rows=max_rows),
                              url=url, graph=graph, credentials=credentials)
        probe.check_engine()
        probe.close()
    except QueryError as exc:
        raise click.ClickException(exc.message) from None
    except PublishError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - requests' and JSON errors, reported with the URL
        raise click.ClickException(f"{url}: cannot read the current release: {exc}") from None
    generation = graph.rsplit("/", 1)[-1] if graph else None
    return {"backend": url, "backend_graph": graph, "backend_credentials": credentials, "generation": generation}


def _build(stack: ExitStack, sources: tuple[Path, ...], base_iri: str, max_file_size: int, jobs: int | None, *,
           strict: bool = False, allow_empty: bool = False) -> Path:
    """Convert SOURCE into a temporary store directory; files that fail are printed and skipped
    (with *strict*, nothing is served), as ``patternkg build`` does."""
    from patternkg.converter import api

    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="patternkg-store-")))
    target = folder / "store"
    report = api.build(sources=list(sources), store=target, base_iri=base_iri, jobs=jobs, max_file_size=max_file_size)
    for problem in report.errors:
        click.echo(str(problem), err=True)
    skipped = len(report.failed_files)
    if skipped and strict:
        raise click.ClickException(f"{skipped} file(s) could not be converted (--strict): nothing served")
    if not report.patterns and not allow_empty:
        raise click.ClickException("no pattern could be converted: nothing to serve")
    note = f"; {skipped} file(s) skipped (errors above)" if skipped else ""
    click.echo(f"built {report.patterns} patterns, {report.triples} triples{note}", err=True)
    return target


def _public_url(url: str | None) -> str | None:
    from .publicurl import check_public_url

    if url is None:
        return None
    try:
        return check_public_url(url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--public-url") from None


def _get(config: ServerConfig, path: str, accept: str | None) -> int:
    from .app import create_app

    from .pool import QueryError

    app = create_app(config, pool_size=1)
    try:
        try:  # a one-shot answer: let the worker open the store first (/health does not wait for it)
            app.extensions["patternkg"].pool.run("ping", timeout=60.0)
        except QueryError:
            pass  # the request itself reports what is wrong
        headers = {"Accept": accept} if accept else {}
        response = app.test_client().get(path, headers=headers)
        sys.stdout.buffer.write(response.get_data())
        if not response.get_data().endswith(b"\n"):
            sys.stdout.buffer.write(b"\n")
        sys.stdout.flush()
        if response.status_code >= 400:
            click.echo(f"{response.status}", err=True)
            return 1
        return 0
    finally:
        app.extensions["patternkg"].pool.close()


def _run(config: ServerConfig) -> None:
    from .wsgi import AddressInUse, PatternkgServer

    host = f"[{config.host}]" if ":" in config.host else config.host
    url = f"http://{host}:{config.port}/"

    def ready() -> None:
        what = config.store if config.backend is None else (
            f"{config.backend} ({f'graph <{config.backend_graph}>' if config.backend_graph else 'default dataset'})")
        click.echo(f"patternkg: serving {what} at {url}  (SPARQL endpoint: {url}sparql)", err=False)
        sys.stdout.flush()

    try:
        PatternkgServer(config, on_ready=ready).run()
    except AddressInUse as exc:
        raise click.ClickException(str(exc)) from None


from .queries_cli import queries as _queries, query as _query  # noqa: E402

commands: list[click.Command] = [serve, _queries, _query]
