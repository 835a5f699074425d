"""Publishing a built library into a triple store over the SPARQL 1.1 Graph Store HTTP Protocol.

:func:`publish` copies every triple of a library store into one **named graph
per release** (``<BASE>release/<id>``) of any store that speaks the Graph Store
Protocol (GSP), and only then makes that release current. Contract:

- **Atomic for readers.** The release graph is written under its own new name;
  readers never see it until the *release description* is replaced, with one
  GSP ``PUT`` of the small graph ``<BASE>releases``::

      <BASE>dataset dcat:hasCurrentVersion <BASE>release/<id> ;
                    dcat:hasVersion <BASE>release/<id>, <older releases> .
      <BASE>release/<id> a dcat:Dataset ; dcat:version "<id>" ; dcterms:issued ... ;
                    void:triples N ; dcterms:isVersionOf <BASE>dataset .

  Readers (``patternkg serve --backend``, or anyone: :data:`CURRENT_RELEASE_QUERY`)
  follow ``dcat:hasCurrentVersion`` and query that graph (``default-graph-uri``
  or ``GRAPH``). This works on every GSP store (a ``PUT`` replaces a graph in one
  step on Virtuoso and Oxigraph). Optionally (*alias_graph*), the release is
  also copied to a fixed graph name with SPARQL 1.1 Update ``COPY`` for readers
  that cannot follow a description; that is atomic only where the engine runs an
  update in one transaction (Oxigraph: yes; Virtuoso: ``COPY`` of a large graph
  is not isolated from concurrent readers, so readers there should follow the
  description).
- **Nothing half-published.** Triples go in chunks (*chunk_triples* per
  request): the first request is a ``PUT`` (it creates or replaces the release
  graph, and carries every triple with a blank node, so that their labels stay
  one node and a retry cannot duplicate them), the others ``POST`` ground
  triples only (retrying one is harmless: a graph is a set). Network errors,
  429 and 5xx are retried (*retries*, with back-off). The written graph is then
  counted through the store's SPARQL endpoint (or read back over GSP) and must
  hold exactly the triples sent. On any failure the partial release graph is
  deleted, the description is left as it was, and :class:`PublishError` names
  the URL and the HTTP status.
- **Older releases** beyond the newest *keep* (the new one included) are dropped
  from the description first, then their graphs are deleted.
- **Credentials** come from :func:`load_credentials` (the environment or a
  file), never from the command line; a URL with ``user:password@`` is refused.
  Basic, Bearer and HTTP Digest (Virtuoso's ``/sparql-graph-crud-auth``).

A store holding named graphs is flattened into the one release graph. Which
endpoint layouts are known (GSP, query, update URLs of Oxigraph server,
Virtuoso, Fuseki) is in :func:`endpoints_for`.
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pyoxigraph as ox
import requests

from patternkg.converter.namespaces import DCAT, DCTERMS, RDF, VOID, XSD, Library

__all__ = [
    "CURRENT_RELEASE_QUERY",
    "Credentials",
    "Endpoints",
    "PublishError",
    "PublishResult",
    "Release",
    "current_release",
    "endpoints_for",
    "file_permission_warning",
    "list_releases",
    "load_credentials",
    "publish",
    "release_graph",
    "releases_graph",
]

USER_AGENT = "patternkg-publish"
#: The SPARQL query that finds the current release graph (``%s``: the base IRI).
CURRENT_RELEASE_QUERY = (
    "SELECT ?release WHERE { GRAPH <%sreleases> { <%sdataset> <" + DCAT + "hasCurrentVersion> ?release } }"
)
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_NTRIPLES = "application/n-triples"


class PublishError(RuntimeError):
    """Publishing failed; the message names the URL and, for an HTTP failure, the status."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


# -- credentials ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Credentials:
    """How to authenticate: ``scheme`` is ``none``, ``basic``, ``digest`` or ``bearer``."""

    scheme: str = "none"
    user: str | None = None
    secret: str | None = field(default=None, repr=False)

    def auth(self) -> Any:
        """The ``requests`` auth object (None for ``none`` and ``bearer``; see :meth:`headers`)."""
        if self.scheme == "basic":
            return requests.auth.HTTPBasicAuth(self.user or "", self.secret or "")
        if self.scheme == "digest":
            return requests.auth.HTTPDigestAuth(self.user or "", self.secret or "")
        return None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"} if self.scheme == "bearer" else {}


ENV_USER = "PATTERNKG_PUBLISH_USER"
ENV_PASSWORD = "PATTERNKG_PUBLISH_PASSWORD"
ENV_TOKEN = "PATTERNKG_PUBLISH_TOKEN"


def load_credentials(*, scheme: str | None = None, file: os.PathLike | str | None = None,
                     environ: Mapping[str, str] | None = None, prefix: str = "PATTERNKG_PUBLISH_") -> Credentials:
    """Credentials from *file* (``KEY=VALUE`` lines: ``user``, ``password``, ``token``, or the
    ``PATTERNKG_PUBLISH_*`` names) or else from the environment (``PATTERNKG_PUBLISH_USER``,
    ``..._PASSWORD``, ``..._TOKEN``; *prefix* selects another family).

    *scheme* (``basic``, ``digest``, ``bearer``, ``none``) defaults to ``bearer`` when a token
    is given, ``basic`` when a user is, else ``none``. Raises :class:`PublishError` naming the
    file or variable that is missing or malformed."""
    values: dict[str, str] = {}
    origin = "the environment"
    if file is not None:
        path = Path(file)
        origin = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PublishError(f"{path}: cannot read the credentials file: {exc}") from None
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            key = key.strip().lower().removeprefix(prefix.lower())
            if not sep or key not in ("user", "password", "token"):
                raise PublishError(f"{path}:{number}: expected user=..., password=... or token=...")
            values[key] = value.strip()
    else:
        env = os.environ if environ is None else environ
        for key in ("user", "password", "token"):
            if env.get(prefix + key.upper()):
                values[key] = env[prefix + key.upper()]
    if scheme is None:
        scheme = "bearer" if "token" in values else "basic" if "user" in values else "none"
    if scheme == "bearer":
        if not values.get("token"):
            raise PublishError(f"bearer authentication needs a token ({prefix}TOKEN or token= in a file); "
                               f"none in {origin}")
        return Credentials("bearer", None, values["token"])
    if scheme in ("basic", "digest"):
        if "user" not in values or "password" not in values:
            raise PublishError(f"{scheme} authentication needs a user and a password ({prefix}USER and "
                               f"{prefix}PASSWORD, or user=/password= in a file); missing in {origin}")
        return Credentials(scheme, values["user"], values["password"])
    if scheme != "none":
        raise PublishError(f"unknown authentication scheme {scheme!r} (basic, digest, bearer or none)")
    return Credentials()


def file_permission_warning(path: Path) -> str | None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        return f"warning: {path} is readable by other users; chmod 600 it"
    return None


# -- endpoints --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Endpoints:
    """The URLs of one store: Graph Store Protocol, SPARQL query, SPARQL Update (None: unknown)."""

    graph_store: str
    query: str | None = None
    update: str | None = None

    def graph_url(self, graph: str) -> tuple[str, dict[str, str]]:
        """URL and query parameters addressing *graph* (Virtuoso names the parameter ``graph-uri``)."""
        name = "graph-uri" if urlsplit(self.graph_store).path.rstrip("/").endswith(
            ("/sparql-graph-crud", "/sparql-graph-crud-auth")) else "graph"
        return self.graph_store, {name: graph}


#: GSP path suffix -> (query path, update path) of known engines.
_LAYOUTS: dict[str, tuple[str, str | None]] = {
    "/store": ("/query", "/update"),                                # Oxigraph server
    "/sparql-graph-crud": ("/sparql", "/sparql"),                   # Virtuoso (SPARQL user)
    "/sparql-graph-crud-auth": ("/sparql-auth", "/sparql-auth"),    # Virtuoso (digest)
    "/data": ("/query", "/update"),                                 # Fuseki /<dataset>/data
    "/statements": ("", None),                                      # RDF4J/GraphDB repositories (query at the repo URL)
}


def endpoints_for(url: str, *, query_url: str | None = None, update_url: str | None = None) -> Endpoints:
    """The endpoints of the store whose GSP endpoint is *url*; *query_url*/*update_url*
    override the derived ones. Refuses a URL carrying credentials (``user:pass@``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PublishError(f"{url}: not an http(s) URL")
    for given in (url, query_url, update_url):
        if given and (urlsplit(given).username or urlsplit(given).password):
            raise PublishError("credentials in a URL are refused (they would show in process lists and "
                               "logs); use the environment or --credentials FILE")
    path = parts.path.rstrip("/")
    derived_query = derived_update = None
    for suffix, (query_path, update_path) in _LAYOUTS.items():
        if path.endswith(suffix):
            root = path[: -len(suffix)]
            derived_query = urlunsplit((parts.scheme, parts.netloc, root + query_path, "", ""))
            derived_update = (urlunsplit((parts.scheme, parts.netloc, root + update_path, "", ""))
                              if update_path is not None else None)
            break
    return Endpoints(url, query_url or derived_query, update_url or derived_update)


# -- releases ---------------------------------------------------------------------------------

def releases_graph(base_iri: str) -> str:
    """The IRI of the graph holding the release description."""
    return base_iri + "releases"


def release_graph(base_iri: str, release: str) -> str:
    """The IRI of the graph of *release*."""
    return f"{base_iri}release/{release}"


@dataclass(frozen=True)
class Release:
    graph: str
    version: str
    issued: str
    triples: int
    extra: tuple[tuple[str, str], ...] = ()
    """Further ``(predicate, N-Triples object)`` pairs kept as they were."""


@dataclass
class PublishResult:
    release: Release
    current: str
    kept: list[str]
    dropped: list[str]
    seconds: float
    requests: int
    warnings: list[str] = field(default_factory=list)


def _lit(value: str, datatype: str | None = None) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(datatype)) if datatype else ox.Literal(value)


def describe_releases(base_iri: str, current: Release, older: Sequence[Release]) -> bytes:
    """The release description (N-Triples) with *current* current and *older* kept."""
    dataset = ox.NamedNode(Library(base_iri).dataset.value)
    triples = [ox.Triple(dataset, ox.NamedNode(DCAT + "hasCurrentVersion"), ox.NamedNode(current.graph))]
    for release in (current, *older):
        node = ox.NamedNode(release.graph)
        triples += [
            ox.Triple(dataset, ox.NamedNode(DCAT + "hasVersion"), node),
            ox.Triple(node, ox.NamedNode(RDF + "type"), ox.NamedNode(DCAT + "Dataset")),
            ox.Triple(node, ox.NamedNode(DCAT + "version"), _lit(release.version)),
            ox.Triple(node, ox.NamedNode(DCTERMS + "issued"), _lit(release.issued, XSD + "dateTime")),
            ox.Triple(node, ox.NamedNode(VOID + "triples"), _lit(str(release.triples), XSD + "integer")),
            ox.Triple(node, ox.NamedNode(DCTERMS + "isVersionOf"), dataset),
        ]
        for predicate, obj in release.extra:
            parsed = next(iter(ox.parse(f"<urn:s> <{predicate}> {obj} .", format=ox.RdfFormat.N_TRIPLES)))
            triples.append(ox.Triple(node, ox.NamedNode(predicate), parsed.object))
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)


def parse_releases(base_iri: str, data: bytes, media_type: str = _NTRIPLES) -> tuple[str | None, list[Release]]:
    """(current release graph, releases newest first) from a release description."""
    fmt = ox.RdfFormat.from_media_type(media_type.split(";")[0].strip()) or ox.RdfFormat.TURTLE
    dataset = Library(base_iri).dataset.value
    by_subject: dict[str, dict[str, list[ox.Term]]] = {}
    current = None
    for quad in ox.parse(data, format=fmt):
        s, p, o = quad.subject, quad.predicate.value, quad.object
        if isinstance(s, ox.NamedNode) and s.value == dataset and p == DCAT + "hasCurrentVersion":
            current = o.value
        if isinstance(s, ox.NamedNode):
            by_subject.setdefault(s.value, {}).setdefault(p, []).append(o)
    versions = [o.value for o in by_subject.get(dataset, {}).get(DCAT + "hasVersion", [])]
    known = {DCAT + "version", DCTERMS + "issued", VOID + "triples", DCTERMS + "isVersionOf", RDF + "type"}
    releases = []
    for graph in versions:
        props = by_subject.get(graph, {})

        def first(p: str, default: str = "") -> str:
            return props[p][0].value if props.get(p) else default

        extra = tuple((p, str(o)) for p, objects in sorted(props.items()) if p not in known for o in objects)
        releases.append(Release(graph, first(DCAT + "version", graph.rsplit("/", 1)[-1]),
                                first(DCTERMS + "issued", "1970-01-01T00:00:00Z"),
                                int(first(VOID + "triples", "0") or 0), extra))
    releases.sort(key=lambda r: (r.issued, r.version), reverse=True)
    return current, releases


# -- the HTTP client ----------------------------------------------------------------------------

class _Client:
    """One session with retries; every failure is a :class:`PublishError` naming URL and status."""

    def __init__(self, credentials: Credentials, *, retries: int, timeout: float, backoff: float = 1.0) -> None:
        self.session = requests.Session()
        self.session.auth = credentials.auth()
        self.session.headers.update({"User-Agent": USER_AGENT, **credentials.headers()})
        self.retries = retries
        self.timeout = timeout
        self.backoff = backoff
        self.requests = 0

    def close(self) -> None:
        self.session.close()

    def call(self, method: str, url: str, *, ok: Sequence[int] = (200, 201, 204), what: str,
             **kwargs: Any) -> requests.Response:
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            shown = url if not kwargs.get("params") else requests.Request(
                method, url, params=kwargs["params"]).prepare().url or url
            try:
                response = self.session.request(method, url, timeout=(10.0, self.timeout), **kwargs)
            except requests.RequestException as exc:
                if attempt <= self.retries:
                    time.sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                raise PublishError(f"{what}: {method} {shown} failed after {attempt} attempts: {exc}",
                                   url=shown) from None
            if response.status_code in ok:
                return response
            if response.status_code in _RETRY_STATUS and attempt <= self.retries:
                retry_after = response.headers.get("Retry-After", "")
                time.sleep(float(retry_after) if retry_after.isdigit() else self.backoff * 2 ** (attempt - 1))
                continue
            body = " ".join(response.text.split())[:300]
            raise PublishError(f"{what}: {method} {shown} answered {response.status_code} {response.reason}"
                               + (f": {body}" if body else ""), url=shown, status=response.status_code)


def _chunks(store: ox.Store, size: int, blank_first: list[ox.Triple]) -> Iterator[list[ox.Triple]]:
    """Ground triples of *store* in lists of *size*; the first list starts with *blank_first*."""
    batch: list[ox.Triple] = list(blank_first)
    for quad in store:
        triple = quad.triple
        if isinstance(triple.subject, ox.BlankNode) or isinstance(triple.object, ox.BlankNode):
            continue
        batch.append(triple)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch or not blank_first:
        yield batch


def _scan(store: ox.Store) -> tuple[int, list[ox.Triple]]:
    """The number of distinct triples of *store* (all graphs merged) and those with a blank node."""
    seen_blank: dict[ox.Triple, None] = {}
    named = next(iter(store.named_graphs()), None) is not None
    distinct: set[ox.Triple] | None = set() if named else None
    count = 0
    for quad in store:
        triple = quad.triple
        if isinstance(triple.subject, ox.BlankNode) or isinstance(triple.object, ox.BlankNode):
            seen_blank.setdefault(triple)
        if distinct is not None:
            distinct.add(triple)
        else:
            count += 1
    return (len(distinct) if distinct is not None else count), list(seen_blank)


def _count_graph(client: _Client, endpoints: Endpoints, graph: str) -> int:
    if endpoints.query:
        response = client.call(
            "POST", endpoints.query, what="counting the published triples",
            data={"query": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"},
            headers={"Accept": "application/sparql-results+json"},
        )
        return int(response.json()["results"]["bindings"][0]["n"]["value"])
    url, params = endpoints.graph_url(graph)
    response = client.call("GET", url, params=params, what="reading the published graph back",
                           headers={"Accept": _NTRIPLES})
    fmt = ox.RdfFormat.from_media_type(response.headers.get("Content-Type", _NTRIPLES).split(";")[0]) \
        or ox.RdfFormat.N_TRIPLES
    return len({q.triple for q in ox.parse(response.content, format=fmt)})


def read_description(client: _Client, endpoints: Endpoints, base_iri: str) -> tuple[str | None, list[Release]]:
    url, params = endpoints.graph_url(releases_graph(base_iri))
    response = client.call("GET", url, params=params, ok=(200, 404), what="reading the release description",
                           headers={"Accept": f"{_NTRIPLES}, text/turtle;q=0.9"})
    if response.status_code == 404 or not response.content.strip():
        return None, []
    return parse_releases(base_iri, response.content, response.headers.get("Content-Type", _NTRIPLES))


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def publish(
    *,
    to: str,
    store: os.PathLike | str | ox.Store | None = None,
    sources: Sequence[os.PathLike | str] = (),
    base_iri: str | None = None,
    release: str | None = None,
    keep: int = 3,
    credentials: Credentials | None = None,
    query_url: str | None = None,
    update_url: str | None = None,
    alias_graph: str | None = None,
    chunk_triples: int = 50_000,
    retries: int = 4,
    timeout: float = 300.0,
    backoff: float = 1.0,
    progress: bool = False,
    metadata: Mapping[str, str] | None = None,
) -> PublishResult:
    """Publish a library into the GSP store at *to*; see the module docstring for the contract.

    The library is *store* (a pyoxigraph Store or the path of an on-disk store) or, when
    None, a fresh build of *sources* (default: the seeds). *release* names the release
    (default: the store's generation id, else the UTC time ``YYYYMMDDTHHMMSSZ``); *keep* (at least 1) is how many
    releases stay, the new one included. *metadata* adds ``predicate IRI -> N-Triples
    object`` statements to the release's description. Raises :class:`PublishError`."""
    from patternkg.converter.namespaces import DEFAULT_BASE_IRI

    base_iri = base_iri or DEFAULT_BASE_IRI
    if keep < 1:
        raise PublishError("--keep must be at least 1 (the new release)")
    if chunk_triples < 1:
        raise PublishError("the chunk size must be at least 1 triple")
    endpoints = endpoints_for(to, query_url=query_url, update_url=update_url)
    if alias_graph is not None and endpoints.update is None:
        raise PublishError(f"{to}: no SPARQL Update endpoint known for this store; give --update-url to "
                           "maintain an alias graph")
    started = time.monotonic()
    issued = _now()
    version = release or issued.strftime("%Y%m%dT%H%M%SZ")
    if not version or any(c in version for c in "<>\"{}|^`\\ /#?"):
        raise PublishError(f"release name {version!r}: use letters, digits, '.', '-', '_' or ':'")
    graph = release_graph(base_iri, version)
    client = _Client(credentials or Credentials(), retries=retries, timeout=timeout, backoff=backoff)
    with ExitStack() as stack:
        stack.callback(client.close)
        library, built = _open_library(stack, store, sources, base_iri)
        if release is None and built.get("generation"):
            version = str(built["generation"])  # the generation id: the same name everywhere
            graph = release_graph(base_iri, version)
        described = {_RELEASE_METADATA[k][0]: str(ox.Literal(_RELEASE_METADATA[k][1] + str(v)))
                     for k, v in built.items() if k in _RELEASE_METADATA and v}
        described.update(metadata or {})
        # authenticates (digest: the challenge is answered here, not with a large body) and
        # reads what is published now
        current, releases = read_description(client, endpoints, base_iri)
        if any(r.graph == graph for r in releases):
            raise PublishError(f"{to}: release {version!r} is already published ({graph}); give another "
                               "--release name")
        total, blank = _scan(library)
        bar = _progress_bar(total, progress)
        stack.callback(bar.close)
        written = False
        try:
            url, params = endpoints.graph_url(graph)
            for index, batch in enumerate(_chunks(library, chunk_triples, blank)):
                body = ox.serialize(batch, format=ox.RdfFormat.N_TRIPLES)
                client.call("PUT" if index == 0 else "POST", url, params=params, data=body,
                            headers={"Content-Type": _NTRIPLES}, what=f"uploading release {version}")
                written = True
                bar.update(len(batch))
            found = _count_graph(client, endpoints, graph)
            if found != total:
                raise PublishError(f"{to}: release graph {graph} holds {found} triples after the upload, "
                                   f"{total} were sent; nothing was made current", url=to)
            new = Release(graph, version, issued.isoformat().replace("+00:00", "Z"), total,
                          tuple(sorted(described.items())))
            kept = releases[: keep - 1]
            dropped = releases[keep - 1:]
            description_url, description_params = endpoints.graph_url(releases_graph(base_iri))
            client.call("PUT", description_url, params=description_params,
                        data=describe_releases(base_iri, new, kept), headers={"Content-Type": _NTRIPLES},
                        what="making the release current")
        except BaseException:
            if written:
                try:
                    client.call("DELETE", url, params=params, ok=(200, 204, 404),
                                what="removing the unfinished release")
                except PublishError:
                    pass
            raise
        warnings: list[str] = []
        if alias_graph is not None:
            assert endpoints.update is not None
            client.call("POST", endpoints.update, data={"update": f"COPY <{graph}> TO <{alias_graph}>"},
                        what=f"copying the release to {alias_graph}")
        for old in dropped:
            old_url, old_params = endpoints.graph_url(old.graph)
            try:
                client.call("DELETE", old_url, params=old_params, ok=(200, 204, 404),
                            what=f"deleting release {old.version}")
            except PublishError as exc:
                warnings.append(f"warning: {exc} (no longer listed; delete the graph by hand)")
        return PublishResult(new, graph, [r.graph for r in kept], [r.graph for r in dropped],
                             time.monotonic() - started, client.requests, warnings)


def list_releases(*, to: str, base_iri: str, credentials: Credentials | None = None,
                  timeout: float = 60.0) -> tuple[str | None, list[Release]]:
    """(current release graph, releases newest first) as published at the GSP store *to*."""
    client = _Client(credentials or Credentials(), retries=1, timeout=timeout)
    try:
        return read_description(client, endpoints_for(to), base_iri)
    finally:
        client.close()


def current_release(*, query_url: str, base_iri: str, session: requests.Session | None = None,
                    timeout: float = 30.0) -> str | None:
    """The current release graph found through a SPARQL query endpoint (None: no description)."""
    own = session is None
    session = session or requests.Session()
    try:
        query = CURRENT_RELEASE_QUERY % (base_iri, base_iri)
        response = session.post(query_url, data={"query": query}, timeout=timeout,
                                headers={"Accept": "application/sparql-results+json"})
        if response.status_code != 200:
            raise PublishError(f"{query_url} answered {response.status_code} {response.reason} to the "
                               "current-release query", url=query_url, status=response.status_code)
        rows = response.json()["results"]["bindings"]
        return rows[0]["release"]["value"] if rows else None
    finally:
        if own:
            session.close()


#: generation metadata key -> (predicate of the release description, literal prefix)
_RELEASE_METADATA = {
    "generation": (DCTERMS + "identifier", ""),
    "source_digest": (DCTERMS + "source", "sha256:"),
}


def _open_library(stack: ExitStack, store: os.PathLike | str | ox.Store | None,
                  sources: Sequence[os.PathLike | str], base_iri: str) -> tuple[ox.Store, dict[str, Any]]:
    """The library's store, read-only, and its generation metadata ({} when it has none)."""
    from patternkg.converter.storedir import StoreDirError, open_generation

    if isinstance(store, ox.Store):
        return store, {}
    if store is None:
        from patternkg.converter.api import build

        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="patternkg-publish-")))
        report = build(store=folder / "store", sources=sources, base_iri=base_iri)
        if not report.ok:
            raise PublishError("the library could not be converted; nothing was published:\n"
                               + "\n".join(str(e) for e in report.errors))
        store = folder / "store"
    try:
        generation = open_generation(store)
        return ox.Store.read_only(str(generation.store_path)), dict(generation.metadata)
    except StoreDirError as exc:
        raise PublishError(str(exc)) from None
    except OSError as exc:
        raise PublishError(f"{store}: cannot open the store: {exc}") from None


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit=" triples", unit_scale=True, desc="publishing", leave=False, dynamic_ncols=True)
