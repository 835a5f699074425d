"""The query worker: a long-lived child process that owns one read-only store.

Started by :class:`patternkg.server.pool.QueryPool` as
``python -P .../server/worker.py FD_IN FD_OUT CONFIG_JSON`` (by path, so that it
imports nothing but the standard library and pyoxigraph: a fast start). It talks over two
pipes with length-prefixed frames (:meth:`multiprocessing.connection.Connection.send_bytes`;
nothing is pickled):

- it first sends the JSON ``["ready", info]`` once the store is open (or ``["fatal", msg]``);
- then, for each request -- ``marshal.dumps((op, args))``, strings, numbers and lists
  only -- exactly one reply: ``b"R" + body`` (query results), ``b"G" + body`` (an RDF
  graph), ``b"B" + body`` (the bytes of another operation) or ``b"E" + JSON [kind, message]``.
  Result bodies go through the pipe as they are, without a copy into a pickle.

Limits enforced here: an address-space cap (``RLIMIT_AS``; a query that needs
more fails and the worker answers ``memory`` or dies, and the pool replaces it)
and a row cap (an error, never a truncated result). Results are serialised by
pyoxigraph's Rust serialisers. The time limit is enforced by the parent, which
kills this process. The worker also exits when its parent goes away.

No answer is ever malformed by the characters of a literal (:func:`representable`).
A store written by other tools (``oxigraph load``), or a query's own literals
(``"\\u0000"``), can hold control characters that patternkg's converter removes. The
JSON formats and the Turtle family escape them; pyoxigraph writes them raw in the
others. So TSV answers get them as ``\\uXXXX`` escapes (TSV terms are Turtle terms:
the same value), while SPARQL XML results and RDF/XML (XML 1.0 cannot carry
U+0000-U+001F but tab, LF and CR, nor U+FFFE/U+FFFF, even as character
references) and CSV (RFC 4180 has no escape for them) are refused: error
``unrepresentable`` (406), naming the character and the formats that carry it.
"""

from __future__ import annotations

import ctypes
import json
import marshal
import os
import re
import resource
import signal
import sys
import threading
import time
from itertools import islice
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph as ox

#: The fewest bytes a solution takes in each results format (an empty one: ``{}``,
#: ``<result></result>``, an empty CSV or TSV line): an answer of at most
#: ``max_rows * MIN_ROW_BYTES`` bytes has at most ``max_rows`` rows.
MIN_ROW_BYTES = {"JSON": 2, "XML": 17, "CSV": 2, "TSV": 1}

#: C0 control characters but tab, LF and CR (one byte each in UTF-8, never inside a multi-byte sequence).
CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_TSV_ESCAPED = re.compile(b"[" + re.escape(CONTROL_BYTES + b"\x7f") + b"]")
_CONTROLS = re.compile(b"[" + re.escape(CONTROL_BYTES) + b"]")
#: U+FFFE and U+FFFF in UTF-8: not XML 1.0 characters either.
XML_NONCHARACTERS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")
#: Formats that cannot carry a control character -> the formats to ask for instead.
_ALTERNATIVES = {
    "XML": ("SPARQL XML results", "application/sparql-results+json or text/tab-separated-values"),
    "CSV": ("CSV", "application/sparql-results+json or text/tab-separated-values"),
    "RDF_XML": ("RDF/XML", "text/turtle, application/n-triples or application/ld+json"),
}

#: The stack of the thread that runs queries: the soft RLIMIT_STACK (what the main thread would
#: get, and what :mod:`.guard`'s depth limit is measured against), or this when it is unlimited
#: or larger than MAX_STACK_BYTES.
DEFAULT_STACK_BYTES = 8 << 20
MAX_STACK_BYTES = 256 << 20

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000


class RowLimitExceeded(Exception):
    pass


class Unrepresentable(Exception):
    """The answer holds a character its format cannot carry; the message names both."""


def visible_controls(html: bytes) -> bytes:
    """*html* (UTF-8) with each control character (C0 but tab, LF, CR) shown as its Unicode control
    picture (U+0000 as U+2400 and so on): HTML forbids them in a document, and a reader sees where they are."""
    if len(html.translate(None, CONTROL_BYTES)) == len(html):
        return html
    return _CONTROLS.sub(lambda m: chr(0x2400 + m.group()[0]).encode(), html)


def representable(body: bytes, fmt: str) -> bytes:
    """*body* (an answer in *fmt*, a results or RDF format name) made safe, or :class:`Unrepresentable`.

    TSV: control characters (C0 but tab, LF, CR; and DEL) become ``\\uXXXX`` escapes.
    SPARQL XML, RDF/XML, CSV: refused when they hold a control character (or, for XML,
    U+FFFE/U+FFFF). Other formats are returned as they are (they escape these characters)."""
    if fmt == "TSV":
        if len(body.translate(None, CONTROL_BYTES + b"\x7f")) == len(body):
            return body
        return _TSV_ESCAPED.sub(lambda m: b"\\u%04X" % m.group()[0], body)
    if fmt not in _ALTERNATIVES:
        return body
    stripped = body.translate(None, CONTROL_BYTES)
    found = None
    if len(stripped) != len(body):
        found = next(b for b in body if b in CONTROL_BYTES)
    elif fmt != "CSV":
        found = next((0xFFFE + i for i, seq in enumerate(XML_NONCHARACTERS) if seq in body), None)
    if found is None:
        return body
    name, instead = _ALTERNATIVES[fmt]
    raise Unrepresentable(f"the answer holds the character U+{found:04X} (in a literal), which {name} cannot carry; "
                          f"ask for {instead}")


class _CappedSink:
    """A binary sink that raises :class:`RowLimitExceeded` once more than *limit* units were written.

    ``unit="bytes"`` counts bytes; ``unit="rows"`` counts TSV result rows (newlines
    after the header line; TSV escapes newlines inside terms)."""

    def __init__(self, limit: int, unit: str) -> None:
        self.limit = limit
        self.count = -1 if unit == "rows" else 0  # the TSV header line is not a row
        self.rows = unit == "rows"
        self.exceeded = False
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.count += data.count(b"\n") if self.rows else len(data)
        if self.count > self.limit:
            self.exceeded = True
            raise RowLimitExceeded
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def isolate_network() -> bool:
    """Best effort: move this process into a fresh network namespace (no route anywhere).

    Defence in depth behind the lexical SERVICE check; needs privileges or
    unprivileged user namespaces. Returns whether it worked.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        for flags in (CLONE_NEWNET, CLONE_NEWUSER | CLONE_NEWNET):
            if libc.unshare(flags) == 0:
                return True
    except (OSError, AttributeError):
        pass
    return False


def _compactor(prefixes: dict[str, str]) -> Any:
    """The converter's JSON-LD compactor when the package is importable, else None."""
    try:
        from patternkg.converter.dumps import JsonLdCompactor
    except ImportError:
        return None
    return JsonLdCompactor(prefixes)


def exit_with_parent(parent: int) -> None:
    """Loop (on a daemon thread): end this process at once when *parent* is gone."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


class Worker:
    def __init__(self, config: dict[str, Any]) -> None:
        self.store_path: str = config["store"]
        self.max_rows: int = int(config["max_rows"])
        self.prefixes: dict[str, str] = config.get("prefixes", {})
        self.context: dict[str, Any] | None = config.get("jsonld_context")
        self.base_iri: str = config.get("base_iri", "")
        self.compactor = _compactor(self.prefixes)
        self.store = ox.Store.read_only(self.store_path)
        # The default graph is the union of all graphs. A read-only store does not change,
        # so when it has no named graph that union is the default graph itself, which
        # Oxigraph evaluates faster than a union.
        self.union_kwargs: dict[str, Any] = (
            {"use_default_graph_as_union": True} if next(iter(self.store.named_graphs()), None) is not None else {}
        )

    # -- operations ---------------------------------------------------------------

    def op_query(
        self,
        query: str,
        results_format: str,
        graph_format: str,
        default_graph: list[str] | None = None,
        named_graphs: list[str] | None = None,
        base_iri: str | None = None,
        query_dataset: bool = False,
    ) -> tuple[str, bytes]:
        """Run *query*; relative IRIs in it are resolved against *base_iri* (the request URL).

        The dataset: the protocol's graphs when given; else the query's own FROM clauses when it
        has some (*query_dataset*: Oxigraph's union option would override them); else the union."""
        kwargs: dict[str, Any]
        if default_graph is None and named_graphs is None:
            kwargs = {} if query_dataset else dict(self.union_kwargs)
        else:
            kwargs = {}
            kwargs["default_graph"] = [ox.NamedNode(g) for g in default_graph or ()]
            kwargs["named_graphs"] = [ox.NamedNode(g) for g in named_graphs or ()]
        if base_iri:
            kwargs["base_iri"] = base_iri
        result = self.store.query(query, **kwargs)
        if isinstance(result, ox.QueryBoolean):
            return "results", result.serialize(format=getattr(ox.QueryResultsFormat, results_format))
        if isinstance(result, ox.QuerySolutions):
            return "results", representable(self._results(result, results_format, query, kwargs), results_format)
        return "graph", representable(self._triples(result, graph_format), graph_format)

    def _results(self, result: ox.QuerySolutions, fmt: str, query: str, kwargs: dict[str, Any]) -> bytes:
        # Fast path: an answer of at most max_rows * MIN_ROW_BYTES bytes has at most
        # max_rows rows. Larger answers are run again and counted exactly (TSV has
        # one line per row).
        sink = _CappedSink(self.max_rows * MIN_ROW_BYTES.get(fmt, 1), "bytes")
        try:
            result.serialize(sink, format=getattr(ox.QueryResultsFormat, fmt))
            return b"".join(sink.chunks)
        except Exception:
            if not sink.exceeded:
                raise
        return self._solutions(self.store.query(query, **kwargs), fmt)

    def _solutions(self, result: ox.QuerySolutions, fmt: str) -> bytes:
        sink = _CappedSink(self.max_rows, "rows")
        try:
            result.serialize(sink, format=ox.QueryResultsFormat.TSV)
        except Exception:
            if sink.exceeded:
                raise RowLimitExceeded from None
            raise
        tsv = b"".join(sink.chunks)
        if fmt == "TSV":
            return tsv
        parsed = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
        return parsed.serialize(format=getattr(ox.QueryResultsFormat, fmt))

    def _triples(self, result: Any, fmt: str) -> bytes:
        triples = list(islice(result, self.max_rows + 1))
        if len(triples) > self.max_rows:
            raise RowLimitExceeded
        triples = list(dict.fromkeys(triples))  # a CONSTRUCT result is a set
        return self.serialize(triples, fmt)

    def serialize(self, triples: list[Any], fmt: str) -> bytes:
        if fmt == "JSON_LD":
            return self._jsonld(triples)
        rdf_format = getattr(ox.RdfFormat, fmt)
        if fmt in ("TURTLE", "TRIG", "RDF_XML"):
            return ox.serialize(triples, format=rdf_format, prefixes=self.prefixes)
        return ox.serialize(triples, format=rdf_format)

    def _jsonld(self, triples: list[Any]) -> bytes:
        if self.compactor is not None:  # the converter's compaction with the project context
            scratch = ox.Store()
            scratch.extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
            doc = {"@context": self.compactor.context, "@graph": list(self.compactor.nodes(scratch))}
            return json.dumps(doc, ensure_ascii=False).encode()
        graph = json.loads(ox.serialize(triples, format=ox.RdfFormat.JSON_LD) or b"[]")
        context = self.context if self.context is not None else dict(self.prefixes)
        try:
            from pyld import jsonld  # optional: true compaction when available

            doc = jsonld.compact(graph, {"@context": context})
        except ImportError:
            doc = {"@context": context, "@graph": graph}
        return json.dumps(doc, ensure_ascii=False).encode()

    def op_dump(self, fmt: str, output: str) -> bytes:
        """Write the whole store to *output* with the converter's export (every dump format).

        A dump is the server's own work, not a client's query: the address-space cap of
        queries is lifted while it runs (only the soft limit is set, see :func:`main`), so
        neither loading the converter nor serialising a large library fails on it. Before,
        an import that failed under the cap fell back silently to a partial list of formats."""
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        try:
            from patternkg.converter.api import export

            export(store=self.store, format=fmt, output=output, base_iri=self.base_iri)
        finally:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        return b""

    def op_ping(self) -> bytes:
        return b"pong"

    def op_sleep(self, seconds: float) -> bytes:  # used by tests of the timeout machinery
        time.sleep(seconds)
        return b""


def main(argv: list[str]) -> int:
    """Serve requests until the parent closes the pipe (or goes away); the exit status.

    Everything runs on one thread whose whole stack is mapped before the address-space cap
    is set. The main thread's stack grows on demand instead: with the process near its cap,
    a deep (but accepted, see :mod:`.guard`) query could not grow it and died with SIGSEGV,
    a crash, where the same query with a mapped stack is answered."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    soft_stack = resource.getrlimit(resource.RLIMIT_STACK)[0]
    size = soft_stack if 0 < soft_stack <= MAX_STACK_BYTES else DEFAULT_STACK_BYTES
    status: list[int] = [1]
    previous = threading.stack_size(size)
    try:
        serving = threading.Thread(target=lambda: status.__setitem__(0, _serve(argv)), name="patternkg-worker")
        serving.start()
    finally:
        threading.stack_size(previous)
    serving.join()
    return status[0]


def _serve(argv: list[str]) -> int:
    fd_in, fd_out, raw = int(argv[1]), int(argv[2]), argv[3]
    config = json.loads(raw)
    conn_in = Connection(fd_in, writable=False)
    conn_out = Connection(fd_out, readable=False)
    isolated = isolate_network() if config.get("isolate_network", True) else False
    threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
    try:
        worker = Worker(config)
        memory = config.get("memory_limit")
        if memory:
            # the soft limit only: a client's query cannot change it, and op_dump lifts it
            resource.setrlimit(resource.RLIMIT_AS, (int(memory), resource.getrlimit(resource.RLIMIT_AS)[1]))
    except Exception as exc:  # noqa: BLE001 - reported to the parent verbatim
        conn_out.send_bytes(json.dumps(["fatal", f"{type(exc).__name__}: {exc}"]).encode())
        return 1
    conn_out.send_bytes(json.dumps(["ready", {"pid": os.getpid(), "network_isolated": isolated}]).encode())
    while True:
        try:
            op, args = marshal.loads(conn_in.recv_bytes())
        except (EOFError, OSError):
            return 0
        try:
            result = getattr(worker, "op_" + op)(**args)
            if isinstance(result, tuple):
                kind, body = result
                reply = [b"R" if kind == "results" else b"G", body]
            else:
                reply = [b"B", result]
        except SyntaxError as exc:
            reply = _error("syntax", str(exc))
        except RowLimitExceeded:
            reply = _error("rows", f"the result has more than {worker.max_rows} rows")
        except Unrepresentable as exc:
            reply = _error("unrepresentable", str(exc))
        except MemoryError:
            reply = _error("memory", "the query needed more memory than allowed")
        except Exception as exc:  # noqa: BLE001 - every failure becomes a reply
            reply = _error("evaluation", f"{type(exc).__name__}: {exc}")
        try:
            conn_out.send_bytes(b"".join(reply))
        except (OSError, ValueError):
            return 0


def _error(kind: str, message: str) -> list[bytes]:
    return [b"E", json.dumps([kind, message]).encode()]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
