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
- otherwise an :class:`Answer` with *all* rows of the query (so the total is
  exact); paging is a slice of it. Errors of the runner (timeouts, row cap,
  ...) propagate unchanged.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pyoxigraph import QueryResultsFormat, Store, parse_query_results

from patternkg.converter.namespaces import DEFAULT_BASE_IRI, XSD, Library

from .catalogue import ParameterError, StoredQuery, existence_query, load_catalogue

Runner = Callable[[str], bytes]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 10_000

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
    """Run queries on an in-process store (no time limit: for the CLI and tests)."""

    def run(query: str) -> bytes:
        return store.query(query).serialize(format=QueryResultsFormat.JSON)  # type: ignore[union-attr]

    return run


def pool_runner(pool: Any) -> Runner:
    """Run queries in the endpoint's :class:`~patternkg.server.pool.QueryPool` (time, memory, row caps)."""

    def run(query: str) -> bytes:
        kind, body = pool.run("query", query=query, results_format="JSON", graph_format="N_TRIPLES")
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
    """All rows of one run of a prepared query (SPARQL JSON bindings), plus how it was asked."""

    query: StoredQuery
    parameters: dict[str, str]
    """The bound values, as N-Triples terms (for display)."""
    sparql: str
    """The text that ran."""
    bindings: list[dict[str, dict[str, str]]]

    @property
    def total(self) -> int:
        return len(self.bindings)

    def page(self, limit: int | None, offset: int = 0) -> list[dict[str, dict[str, str]]]:
        end = None if limit is None else offset + limit
        return self.bindings[offset:end]

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


class PreparedQueries:
    """The catalogue bound to one library (base IRI) and one runner."""

    def __init__(self, runner: Runner, *, base_iri: str = DEFAULT_BASE_IRI,
                 catalogue: dict[str, StoredQuery] | None = None) -> None:
        self.runner = runner
        self.library = Library(base_iri)
        self.catalogue = catalogue if catalogue is not None else load_catalogue()

    def get(self, name: str) -> StoredQuery:
        try:
            return self.catalogue[name]
        except KeyError:
            raise UnknownQuery(name) from None

    def run(self, name: str, raw: Mapping[str, str]) -> Answer:
        """Validate *raw* (parameter name -> text), check resources exist, run; see the module docstring."""
        query = self.get(name)
        terms = query.parse_values(raw, self.library)
        resources = query.resources(terms)
        if resources:
            missing = _bindings(self.runner(existence_query(resources)))
            if missing:
                parameter = missing[0]["parameter"]["value"]
                param = query.parameter(parameter)
                assert param is not None
                raise UnknownResource(parameter, param.type, raw.get(parameter, str(param.default)))
        sparql = query.bind(terms)
        return Answer(query, {k: str(v) for k, v in terms.items()}, sparql, _bindings(self.runner(sparql)))

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
