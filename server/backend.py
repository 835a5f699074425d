"""An external SPARQL 1.1 endpoint behind the same front as the embedded store.

:class:`RemoteBackend` has the interface the app uses from
:class:`~.pool.QueryPool` (``run``, ``query``, ``start``, ``close``, ``alive``,
``network_isolated``, ``settings``) and forwards every query over HTTP to the
engine (``patternkg serve --backend URL``). Everything in front of the pool stays
as it is -- the guard (updates and ``SERVICE`` are refused before anything is
sent), negotiation, prepared queries, linked-data documents, dumps, pages.

Contract (enforced here, whatever the engine enforces itself):

- **one release**: queries without ``default-graph-uri``/``named-graph-uri`` run
  on ``graph`` (sent as ``default-graph-uri``; the release graph that
  ``patternkg publish`` made current, resolved once when the server starts, so a
  running server never mixes two releases); ``graph=""`` uses the engine's own
  default dataset. A client's explicit dataset is passed on as it is.
- **time limit**: the whole exchange (connect, wait, read) is bounded by the
  query's timeout; the socket deadline is moved along as bytes arrive. Past it the
  connection is dropped and the caller gets :class:`~.pool.QueryTimeout` (503).
- **row cap**: SELECT answers are read as SPARQL XML with an incremental parser
  and the read stops at ``max_rows + 1`` rows (422 ``rows``); graph answers are
  read as N-Triples and counted as they arrive. ``max_bytes`` caps any answer's
  size. A result is never truncated: an engine that cut its answer itself
  (Virtuoso's ``ResultSetMaxRows``, announced in ``X-SPARQL-MaxRows``) is an error.
- **the same bytes**: answers are parsed and serialised again by pyoxigraph (and
  the project's JSON-LD compaction), so clients get the formats, prefixes and
  media types of the embedded mode; Virtuoso's ``nodeID://`` blank-node labels are
  rewritten to valid ones.
- at most ``size`` queries are in flight; another waits ``acquire_timeout`` and
  then gets :class:`~.pool.PoolBusy`. An engine that cannot be reached or answers
  with an error gets ``backend`` (502); one that refuses the query, its message
  as ``syntax`` (400).
"""

from __future__ import annotations

import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
import requests

from .guard import inspect_query
from .pool import PoolBusy, PoolSettings, QueryError, QueryTimeout

__all__ = ["BackendError", "RemoteBackend", "serialize_graph"]

_RESULTS_NS = "{http://www.w3.org/2005/sparql-results#}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_CHUNK = 1 << 16
_XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
_BNODE_SAFE = re.compile(r"[^A-Za-z0-9]")


class BackendError(QueryError):
    """The engine could not be reached or answered with an error (HTTP 502)."""

    def __init__(self, message: str) -> None:
        super().__init__("backend", message)


@dataclass(frozen=True)
class _Deadline:
    at: float
    seconds: float

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise QueryTimeout(self.seconds)
        return left


def serialize_graph(triples: list[ox.Triple], fmt: str, *, prefixes: dict[str, str],
                    context: dict[str, Any] | None = None) -> bytes:
    """Serialise triples the way the query workers do (pyoxigraph format name *fmt*)."""
    if fmt == "JSON_LD":
        try:
            from patternkg.converter.dumps import JsonLdCompactor
        except ImportError:  # pragma: no cover - the package is always installed with the server
            JsonLdCompactor = None  # type: ignore[assignment]  # noqa: N806
        if JsonLdCompactor is not None:
            compactor = JsonLdCompactor(prefixes)
            scratch = ox.Store()
            scratch.extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
            document = {"@context": compactor.context, "@graph": list(compactor.nodes(scratch))}
            return json.dumps(document, ensure_ascii=False).encode()
        graph = json.loads(ox.serialize(triples, format=ox.RdfFormat.JSON_LD) or b"[]")
        return json.dumps({"@context": context or prefixes, "@graph": graph}, ensure_ascii=False).encode()
    rdf_format = getattr(ox.RdfFormat, fmt)
    if fmt in ("TURTLE", "TRIG"):
        return ox.serialize(triples, format=rdf_format, prefixes=prefixes)
    return ox.serialize(triples, format=rdf_format)


def _bnode(label: str) -> str:
    return "b" + _BNODE_SAFE.sub("_", label)


def _term(element: ET.Element) -> dict[str, str]:
    tag = element.tag.removeprefix(_RESULTS_NS)
    text = element.text or ""
    if tag == "uri":
        return {"type": "uri", "value": text}
    if tag == "bnode":
        return {"type": "bnode", "value": _bnode(text)}
    if tag == "literal":
        term = {"type": "literal", "value": text}
        if element.get(_XML_LANG):
            term["xml:lang"] = element.get(_XML_LANG, "")
        elif element.get("datatype"):
            term["datatype"] = element.get("datatype", "")
            if term["datatype"] == _XSD_BOOLEAN and text in ("1", "0"):
                term["value"] = "true" if text == "1" else "false"  # Virtuoso's 1/0: the canonical form
        return term
    raise BackendError(f"the engine answered with an unsupported term <{tag}>")


class RemoteBackend:
    """Forwards queries to a SPARQL endpoint; see the module docstring for the contract."""

    def __init__(self, settings: PoolSettings, *, url: str, graph: str = "", credentials: Any = None,
                 max_bytes: int = 1 << 30, generation: str = "backend") -> None:
        self.settings = settings
        self.url = url
        self.graph = graph
        self.credentials = credentials
        self.max_bytes = max_bytes
        self.generation = generation
        """What is served: the release's name (the ``Patternkg-Generation`` header)."""
        self.network_isolated: bool | None = None
        self._slots = threading.BoundedSemaphore(max(1, settings.size))
        self._local = threading.local()

    # -- the QueryPool interface ----------------------------------------------------------------

    def start(self) -> None:
        """Nothing to start: connections are opened per thread on first use."""

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    @property
    def alive(self) -> int:
        return self.settings.size

    def forget_answer(self) -> None:
        """Start of a request (the app's generation header asks): nothing to forget, one release."""

    def answered_by(self) -> str | None:
        return self.generation

    def run(self, op: str, timeout: float | None = None, **args: Any) -> Any:
        """Run *op* (``query``, ``dump``, ``ping``) on the engine; raises :class:`QueryError`."""
        if not self._slots.acquire(timeout=self.settings.acquire_timeout):
            raise PoolBusy()
        try:
            deadline = _Deadline(time.monotonic() + (self.settings.timeout if timeout is None else timeout),
                                 self.settings.timeout if timeout is None else timeout)
            if op == "query":
                return self._query(deadline=deadline, **args)
            if op == "ping":
                self._query(deadline=_Deadline(time.monotonic() + min(5.0, deadline.seconds), 5.0),
                            query="ASK {}", results_format="JSON", graph_format="N_TRIPLES")
                return b"pong"
            if op == "dump":
                return self._dump(deadline=deadline, **args)
            raise QueryError("evaluation", f"operation {op!r} is not available with an external engine")
        finally:
            self._slots.release()

    def query(self, query: str, results_format: str, graph_format: str, *,
              default_graph: list[str] | None = None, named_graphs: list[str] | None = None,
              base_iri: str | None = None, query_dataset: bool = False) -> tuple[str, bytes]:
        """Run a SPARQL query; returns ``("results", body)`` or ``("graph", body)`` in the format asked for.
        Relative IRIs in the query are resolved against *base_iri* (the request URL). *query_dataset*
        is unused: the engine reads the query's FROM clauses itself."""
        return self.run("query", query=query, results_format=results_format, graph_format=graph_format,
                        default_graph=default_graph, named_graphs=named_graphs, base_iri=base_iri)

    def check_engine(self) -> None:
        """Refuse an engine that would cut answers short of ``max_rows`` on its own.

        Virtuoso silently truncates every answer at ``ResultSetMaxRows`` (SELECT answers say
        so in ``X-SPARQL-MaxRows``, CONSTRUCT answers do not), so one SELECT of
        ``max_rows + 1`` rows is sent and only its headers are read. Raises
        :class:`BackendError`."""
        rows = self.settings.max_rows + 1
        # a cross product of the served data: cheap to produce with LIMIT, and large enough
        # whenever the data has more than a handful of triples (generated VALUES took Virtuoso 26 s)
        query = f"SELECT ?a WHERE {{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }} LIMIT {rows}"
        seconds = max(self.settings.timeout, 30.0)
        response = self._post(query, "application/sparql-results+xml", _Deadline(time.monotonic() + seconds, seconds),
                              None, None)
        response.close()

    # -- HTTP -------------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = "patternkg-serve"
            if self.credentials is not None:
                session.auth = self.credentials.auth()
                session.headers.update(self.credentials.headers())
            self._local.session = session
        return session

    def _post(self, query: str, accept: str, deadline: _Deadline, default_graph: list[str] | None,
              named_graphs: list[str] | None, limit: int | None = None) -> requests.Response:
        data: list[tuple[str, str]] = [("query", query)]
        if default_graph is None and named_graphs is None:
            if self.graph:
                data.append(("default-graph-uri", self.graph))
        else:
            data += [("default-graph-uri", g) for g in default_graph or ()]
            data += [("named-graph-uri", g) for g in named_graphs or ()]
        left = deadline.remaining()
        try:
            response = self._session().post(self.url, data=data, headers={"Accept": accept}, stream=True,
                                            timeout=(min(left, 10.0), left))
        except requests.Timeout:
            raise QueryTimeout(deadline.seconds) from None
        except requests.RequestException as exc:
            raise BackendError(f"the SPARQL engine at {self.url} cannot be reached: {exc}") from None
        if response.status_code != 200:
            body = " ".join(response.text[:2000].split())[:500]
            response.close()
            if response.status_code in (400, 422):
                raise QueryError("syntax", f"the SPARQL engine refused the query: {body}")
            raise BackendError(f"the SPARQL engine at {self.url} answered {response.status_code} "
                               f"{response.reason}: {body}")
        truncated = response.headers.get("X-SPARQL-MaxRows")
        if truncated:
            response.close()
            if limit is not None and truncated.isdigit() and int(truncated) > limit:
                raise QueryError("rows", f"the result has more than {limit} rows")
            raise BackendError(f"the SPARQL engine at {self.url} cut its answer at {truncated} rows "
                               "(Virtuoso: raise [SPARQL] ResultSetMaxRows above --max-rows)")
        return response

    def _chunks(self, response: requests.Response, deadline: _Deadline) -> Iterator[bytes]:
        """The body in chunks; the socket's timeout follows the deadline, the size is capped."""
        size = 0
        raw = response.raw
        try:
            while True:
                left = deadline.remaining()
                sock = getattr(getattr(raw, "_connection", None), "sock", None)
                if sock is not None:
                    sock.settimeout(left)
                try:
                    chunk = raw.read1(_CHUNK, decode_content=True)
                except (requests.exceptions.ConnectionError, OSError, Exception) as exc:  # noqa: BLE001
                    if time.monotonic() >= deadline.at or "timed out" in str(exc).lower():
                        raise QueryTimeout(deadline.seconds) from None
                    raise BackendError(f"reading the answer of {self.url} failed: {exc}") from None
                if not chunk:
                    return
                size += len(chunk)
                if size > self.max_bytes:
                    raise QueryError("rows", f"the answer is larger than {self.max_bytes} bytes")
                yield chunk
        finally:
            response.close()

    # -- operations -------------------------------------------------------------------------------

    def _query(self, *, deadline: _Deadline, query: str, results_format: str, graph_format: str,
               default_graph: list[str] | None = None, named_graphs: list[str] | None = None,
               base_iri: str | None = None, max_rows: int | None = -1) -> tuple[str, bytes]:
        form = inspect_query(query).form
        if base_iri:  # the engine would resolve relative IRIs against its own URL; a later BASE still wins
            query = f"BASE <{base_iri}>\n{query}"
        limit = self.settings.max_rows if max_rows == -1 else max_rows
        if form in ("CONSTRUCT", "DESCRIBE"):
            response = self._post(query, "application/n-triples, text/turtle;q=0.5", deadline,
                                  default_graph, named_graphs, limit)
            triples = self._read_graph(response, deadline, limit)
            return "graph", serialize_graph(triples, graph_format, prefixes=self.settings.prefixes,
                                            context=self.settings.jsonld_context)
        response = self._post(query, "application/sparql-results+xml", deadline, default_graph, named_graphs,
                              limit)
        document = self._read_results(response, deadline, limit)
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        if results_format == "JSON":
            return "results", body
        parsed = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
        return "results", parsed.serialize(format=getattr(ox.QueryResultsFormat, results_format))

    def _read_results(self, response: requests.Response, deadline: _Deadline, limit: int | None) -> dict[str, Any]:
        parser = ET.XMLPullParser(events=("end",))
        variables: list[str] = []
        rows: list[dict[str, dict[str, str]]] = []
        boolean: bool | None = None
        for chunk in self._chunks(response, deadline):
            try:
                parser.feed(chunk)
                events = list(parser.read_events())
            except ET.ParseError as exc:
                raise BackendError(f"the answer of {self.url} is not SPARQL XML: {exc}") from None
            for _, element in events:
                tag = element.tag
                if tag == _RESULTS_NS + "variable":
                    variables.append(element.get("name", ""))
                elif tag == _RESULTS_NS + "result":
                    rows.append({b.get("name", ""): _term(b[0]) for b in element if len(b)})
                    element.clear()
                    if limit is not None and len(rows) > limit:
                        response.close()
                        raise QueryError("rows", f"the result has more than {limit} rows")
                elif tag == _RESULTS_NS + "boolean":
                    boolean = (element.text or "").strip() == "true"
        if boolean is not None:
            return {"head": {}, "boolean": boolean}
        return {"head": {"vars": variables}, "results": {"bindings": rows}}

    def _read_graph(self, response: requests.Response, deadline: _Deadline, limit: int | None) -> list[ox.Triple]:
        media = response.headers.get("Content-Type", "application/n-triples").split(";")[0].strip()
        fmt = ox.RdfFormat.from_media_type(media)
        if fmt is None:
            response.close()
            raise BackendError(f"the answer of {self.url} is {media!r}, not an RDF format")
        buffer = bytearray()
        check = limit + 1 if limit is not None else None
        for chunk in self._chunks(response, deadline):
            buffer += chunk
            if check is not None and fmt is ox.RdfFormat.N_TRIPLES and buffer.count(b"\n") >= check:
                complete = bytes(buffer[: buffer.rfind(b"\n") + 1])
                if len({q.triple for q in ox.parse(complete, format=fmt)}) > limit:  # type: ignore[operator]
                    response.close()
                    raise QueryError("rows", f"the result has more than {limit} rows")
                check = buffer.count(b"\n") + max(1, limit // 4)  # type: ignore[operator]
        try:
            triples = list(dict.fromkeys(q.triple for q in ox.parse(bytes(buffer), format=fmt)))
        except SyntaxError as exc:
            raise BackendError(f"the answer of {self.url} does not parse as {media}: {exc}") from None
        if limit is not None and len(triples) > limit:
            raise QueryError("rows", f"the result has more than {limit} rows")
        return triples

    def _dump(self, *, deadline: _Deadline, fmt: str, output: str) -> bytes:
        """The release as one dump file (the converter's serialisers, like the embedded mode)."""
        from patternkg.converter.dumps import dump

        response = self._post("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", "application/n-triples", deadline,
                              None, None)
        store = ox.Store()
        store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in self._read_graph(response, deadline, None))
        with open(output, "wb") as stream:
            dump(store, fmt, stream, base_iri=self.settings.base_iri)
        return b""
