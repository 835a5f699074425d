"""Running prepared queries: validate, check resources, run, page and format.

A :data:`Runner` is any callable that takes SPARQL text and returns the
answer as SPARQL 1.1 Query Results JSON bytes. Two are provided:
:func:`store_runner` (an in-process pyoxigraph store: the CLI and tests) and
:func:`pool_runner` (the endpoint's worker pool, so the time, memory and row
limits of the endpoint apply: the HTTP API).

:meth:`PreparedQueries.run` contract:

- unknown query name -> :class:`UnknownQuery`;
- unknown, missing or malformed parameter -> :class:`~.catalogue.ParameterError`
  (names the parameter and the expected type);
- a pattern, domain or community that is not in the store -> :class:`UnknownResource`;
- otherwise an :class:`Answer` with the rows of the page asked for (all rows
  when no ``limit`` is given) and the exact number of rows of the whole answer
  (``total``). Errors of the runner (timeouts, row cap, ...) propagate unchanged.

When the store's generation has precomputed answers (:mod:`.answers`, written at
build time by :mod:`.precompute`) and they answer the query, the page and the total
are read from them (after the same parameter and existence checks) instead of
running the query: same rows, a cost that grows with the page, not the library.

Paging runs in the store: ``LIMIT``/``OFFSET`` are appended to the bound query
(or written at its ``#PAGE`` line: :func:`~.catalogue.page`), so Oxigraph stops once the page is complete and only the page crosses the
worker pipe. ``total`` comes for free when the page is not full (it is then
``offset + rows``); otherwise from the query's count form
(:attr:`~.catalogue.StoredQuery.count_sparql`: ``SELECT (COUNT(*) ...)`` over
the query without its ``ORDER BY``). With ``cache=True`` counts (and the checks
that a pattern/domain/community exists) are remembered per
:class:`PreparedQueries`, keyed by query and bound values: only for a store
that cannot change while it is queried (the server's read-only store; one
:class:`PreparedQueries` per app, so per store).
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pyoxigraph import NamedNode, QueryResultsFormat, Store, parse_query_results

from patternkg.converter.namespaces import DEFAULT_BASE_IRI, XSD, Library

from .answers import AnswerIndex
from .libraries import LIBRARY_PARAMETER, ServedLibraries
from .catalogue import COUNT_VARIABLE, ParameterError, StoredQuery, existence_query, load_catalogue, page
from .pool import QueryError

Runner = Callable[..., bytes]
"""``runner(sparql)`` or ``runner(sparql, graph)``: SPARQL JSON results, on the union of the graphs
or on the named graph *graph* (a ``NamedNode``) as the default graph."""

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 10_000
#: Entries of the count/existence cache of one :class:`PreparedQueries` (least recently used dropped).
CACHE_SIZE = 4096

_INTEGERS = {XSD + t for t in ("integer", "int", "long", "short", "byte", "nonNegativeInteger",
                                 "positiveInteger", "negativeInteger", "nonPositiveInteger",
                                 "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte")}
_FLOATS = {XSD + "double", XSD + "float"}


class UnknownQuery(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no prepared query named {name!r}")
        self.name = name


class UnknownResource(LookupError):
    """A pattern/domain/community parameter names nothing in the library (HTTP 404)."""

    def __init__(self, parameter: str, kind: str, value: str) -> None:
        super().__init__(f"parameter '{parameter}': no {kind} {value!r} in the library")
        self.parameter = parameter
        self.message = str(self)


def store_runner(store: Store) -> Runner:
    """Run queries on an in-process store (no time limit: for the CLI and tests); on the union of
    its graphs, or on the one named *graph* (a library of a multi-library store)."""
    union = next(iter(store.named_graphs()), None) is not None

    def run(query: str, graph: NamedNode | None = None) -> bytes:
        options: dict[str, Any] = {"default_graph": graph} if graph is not None else (
            {"use_default_graph_as_union": True} if union else {})
        return store.query(query, **options).serialize(format=QueryResultsFormat.JSON)  # type: ignore[union-attr]

    return run


def pool_runner(pool: Any) -> Runner:
    """Run queries in the endpoint's :class:`~patternkg.server.pool.QueryPool` (time, memory, row caps);
    on the union of the store's graphs, or on the one named *graph*."""

    def run(query: str, graph: NamedNode | None = None) -> bytes:
        dataset = {"default_graph": [graph.value], "named_graphs": []} if graph is not None else {}
        kind, body = pool.run("query", query=query, results_format="JSON", graph_format="N_TRIPLES", **dataset)
        if kind != "results":
            raise TypeError("a prepared query returned a graph")
        return body

    return run


def plain_value(term: Mapping[str, str] | None) -> Any:
    """A SPARQL JSON term as a plain JSON value: IRIs and strings as text, numbers and booleans as such."""
    if term is None:
        return None
    value = term["value"]
    if term["type"] != "literal":
        return value if term["type"] == "uri" else "_:" + value
    datatype = term.get("datatype")
    try:
        if datatype in _INTEGERS:
            return int(value)
        if datatype == XSD + "decimal":
            number = Decimal(value)
            return int(number) if number == number.to_integral_value() and "." not in value else float(number)
        if datatype in _FLOATS:
            return float(value)
        if datatype == XSD + "boolean":
            return value in ("true", "1")
    except (ValueError, ArithmeticError):
        pass
    return value


@dataclass
class Answer:
    """One page of a run of a prepared query (SPARQL JSON bindings), plus how it was asked."""

    query: StoredQuery
    parameters: dict[str, str]
    """The bound values, as N-Triples terms (for display)."""
    sparql: str
    """The text that ran (with its LIMIT/OFFSET when paged)."""
    bindings: list[dict[str, dict[str, str]]]
    """The rows of the page (all rows when no limit was given)."""
    total: int
    """The number of rows of the whole answer."""
    offset: int = 0

    def rows(self, bindings: list[dict[str, dict[str, str]]]) -> list[dict[str, Any]]:
        columns = self.query.column_names
        return [{c: plain_value(b.get(c)) for c in columns} for b in bindings]

    def sparql_json(self, bindings: list[dict[str, dict[str, str]]]) -> bytes:
        document = {"head": {"vars": self.query.column_names}, "results": {"bindings": bindings}}
        return json.dumps(document, ensure_ascii=False).encode()

    def sparql_xml(self, bindings: list[dict[str, dict[str, str]]]) -> bytes:
        solutions = parse_query_results(self.sparql_json(bindings), format=QueryResultsFormat.JSON)
        return solutions.serialize(format=QueryResultsFormat.XML)  # type: ignore[union-attr]

    def csv(self, bindings: list[dict[str, dict[str, str]]]) -> str:
        """CSV with a header row; cells are the plain values (empty when unbound)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.query.column_names)
        for row in self.rows(bindings):
            writer.writerow(["" if v is None else ("true" if v is True else "false" if v is False else v)
                             for v in row.values()])
        return out.getvalue()


class _LRU:
    """A small thread-safe least-recently-used mapping."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            if key not in self._data:
                return None
            self._data.move_to_end(key)
            return self._data[key]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


class PreparedQueries:
    """The catalogue bound to one library (base IRI) and one runner.

    *cache*: remember totals and existence checks (see the module docstring);
    only for a runner whose store cannot change (the server's pool)."""

    def __init__(self, runner: Runner, *, base_iri: str = DEFAULT_BASE_IRI,
                 catalogue: dict[str, StoredQuery] | None = None, cache: bool = False,
                 answers: Callable[[], AnswerIndex | None] | None = None, max_rows: int | None = None,
                 generation: Callable[[], str] | None = None, libraries: ServedLibraries | None = None) -> None:
        self.runner = runner
        #: the libraries of a multi-library store: queries take a ``library`` parameter
        self.libraries = libraries or ServedLibraries()
        #: the base IRI slugs are bound under: without ``library``, the first library's
        self.library = self.libraries[0].library if self.libraries else Library(base_iri)
        self.catalogue = catalogue if catalogue is not None else load_catalogue()
        self.cache: _LRU | None = _LRU(CACHE_SIZE) if cache else None
        #: the precomputed answers of the store's generation (:mod:`.answers`), when it has them
        self.answers = answers or (lambda: None)
        #: the endpoint's row cap, applied to pages read from the answers as to those the pool runs
        self.max_rows = max_rows
        #: the id of the store generation served now: cached counts and checks are kept per generation
        self.generation = generation or (lambda: "")

    def get(self, name: str) -> StoredQuery:
        try:
            return self.catalogue[name]
        except KeyError:
            raise UnknownQuery(name) from None

    def _cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        if self.cache is None:
            return compute()
        key = (self.generation(), *key)
        value = self.cache.get(key)
        if value is None:
            value = compute()
            self.cache.put(key, value)
        return value

    def run(self, name: str, raw: Mapping[str, str], limit: int | None = None, offset: int = 0) -> Answer:
        """Validate *raw* (parameter name -> text), check resources exist, run one page
        (*limit* rows from *offset*; every row when *limit* is None); see the module docstring.

        On a multi-library store, *raw* may hold ``library`` (a library's name or dataset IRI):
        the query then runs on that library's graph only and its slugs name that library's
        resources; without it, on every library, slugs naming the first library's."""
        query = self.get(name)
        raw = dict(raw)
        chosen = self.libraries.find(raw.pop(LIBRARY_PARAMETER)) \
            if self.libraries and LIBRARY_PARAMETER in raw else None
        graph = chosen.graph if chosen is not None else None
        terms = query.parse_values(raw, chosen.library if chosen is not None else self.library)
        shown = {k: str(v) for k, v in terms.items()}
        if graph is not None:
            shown[LIBRARY_PARAMETER] = str(graph)

        def runner(sparql: str) -> bytes:
            return self.runner(sparql) if graph is None else self.runner(sparql, graph)

        resources = query.resources(terms)
        if resources:
            check = existence_query(resources)
            missing = self._cached(("exists", check, graph), lambda: _bindings(runner(check)))
            if missing:
                parameter = missing[0]["parameter"]["value"]
                param = query.parameter(parameter)
                assert param is not None
                raise UnknownResource(parameter, param.type, raw.get(parameter, str(param.default)))
        sparql = query.bind(terms)
        paged = page(sparql, limit, offset)
        index = self.answers() if graph is None else None  # precomputed answers are of the whole store
        found = index.answer(query, terms, limit, offset) if index is not None else None
        if found is not None:
            if self.max_rows is not None and len(found[0]) > self.max_rows:
                raise QueryError("rows", f"the result has more than {self.max_rows} rows")
            return Answer(query, shown, paged, found[0], found[1], offset)
        bindings = _bindings(runner(paged)) if limit != 0 else []
        if limit != 0 and (bindings or offset == 0) and (limit is None or len(bindings) < limit):
            total = offset + len(bindings)  # a page that is not full ends the answer
        else:
            counting = query.bind(terms, count=True)
            total = self._cached(("count", counting, graph),
                                 lambda: int(_bindings(runner(counting))[0][COUNT_VARIABLE]["value"]))
        return Answer(query, shown, paged, bindings, total, offset)

    def page_size(self, query: StoredQuery, raw: str | None) -> int:
        """The page size asked for (``limit``): the query's own ``limit`` default, else DEFAULT_PAGE_SIZE."""
        own = query.parameter("limit")
        if raw is None or raw == "":
            return int(own.default) if own is not None and own.default is not None else DEFAULT_PAGE_SIZE
        if own is not None:
            return int(own.parse(raw, self.library).value)
        return parse_count("limit", raw, 0, MAX_PAGE_SIZE)


def parse_count(name: str, raw: str | None, low: int, high: int, default: int = 0) -> int:
    """A paging integer in [low, high]; raises :class:`ParameterError` naming *name*."""
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise ParameterError(name, f"parameter '{name}': expected an integer >= {low} and <= {high}, got {raw!r}")
    return int(text)


def _bindings(body: bytes) -> list[dict[str, dict[str, str]]]:
    return json.loads(body)["results"]["bindings"]
