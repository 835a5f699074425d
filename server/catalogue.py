"""The catalogue of prepared queries: ``server/queries/*.rq`` with a grlc-style header.

File format (one query per file, the file stem is the query's name)::

    #+ name: enablers
    #+ title: Patterns that enable a pattern
    #+ description: ...
    #+ params:
    #+   - {name: target, type: pattern, required: true, description: ...}
    #+ columns:
    #+   - {name: enabler, description: ...}
    PREFIX pkg: <...>
    SELECT ... WHERE { VALUES ?target { UNDEF } ... }

The ``#+`` lines, with that prefix removed, are one YAML document. The rest is
the SPARQL query, complete and runnable as written: every parameter ``x`` has
one or more placeholders ``VALUES ?x { UNDEF }`` (UNDEF = "no value given").

Binding contract (:meth:`StoredQuery.bind`): a raw user string never reaches
query text. Each value is parsed into a pyoxigraph term first (``NamedNode``
and ``Literal`` validate and escape), and only that term's N-Triples form
replaces the ``UNDEF`` of its placeholders. An optional parameter without a
value and without default keeps ``UNDEF``.

Paging (:func:`page`): ``LIMIT``/``OFFSET`` are appended to the query. A query
whose costly part is a sub-select may instead mark where the page goes, with a
line holding only ``#PAGE`` after that sub-select's ``ORDER BY``: the page is cut
there and the columns joined outside it are looked up for the page's rows only
(late materialisation). Such a query repeats the sub-select's ``ORDER BY`` as its
own final one (SPARQL does not keep a sub-select's order), and every column it
joins outside must be single-valued (the shapes declare ``sh:maxCount 1``), or a
page would hold more rows than asked for. Unpaged, ``#PAGE`` is a comment.

Load-time contract (:func:`load_catalogue`): every file is parsed, its header
checked (name = file stem, known parameter types, every parameter has a
placeholder and every placeholder a parameter, no duplicate names) and its
SPARQL checked for syntax by preparing it on an empty store; the projected
variables must be exactly the declared columns, in order. Any defect raises
:class:`CatalogueError` naming the file, so a broken query stops start-up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from pyoxigraph import Literal, NamedNode, QuerySolutions, Store

from patternkg.converter.namespaces import XSD, Library, is_safe_segment, slugify

QUERIES_DIR = Path(__file__).resolve().parent / "queries"

#: Parameter types: what the user writes -> what is bound.
PARAMETER_TYPES: dict[str, str] = {
    "pattern": "a pattern slug, e.g. distributed-organizing (bound as <BASE>pattern/<slug>)",
    "domain": "a domain name, e.g. deep-work-flow (bound as <BASE>domain/<name>)",
    "community": "a community id, e.g. systems-thinking (bound as <BASE>community/<id>)",
    "iri": "an absolute IRI",
    "string": "text",
    "integer": "an integer",
    "number": "a decimal number",
    "boolean": "true or false",
}

#: Types that name a resource of the library; an unknown one is a 404, checked against this class.
RESOURCE_CLASSES: dict[str, str] = {
    "pattern": "https://w3id.org/patternkg/ontology#Pattern",
    "domain": "https://w3id.org/patternkg/ontology#Domain",
    "community": "https://w3id.org/patternkg/ontology#Community",
}

MAX_STRING_LENGTH = 200
#: The variable of a query's count form (see :func:`count_form`).
COUNT_VARIABLE = "_count"
_PROLOGUE = re.compile(r"(?:\s+|#[^\n]*(?:\n|$)|(?:PREFIX|BASE)\b[^<{}]*<[^>]*>)*", re.I)
_ORDER_BY = re.compile(r"\bORDER\s+BY\b", re.I)
_PAGING = re.compile(r"\b(?:LIMIT|OFFSET)\b", re.I)
_PAGE_MARKER = re.compile(r"^[ \t]*#PAGE[ \t]*$", re.M)
_PLACEHOLDER = re.compile(r"VALUES\s+\?([A-Za-z_][A-Za-z0-9_]*)\s*\{\s*UNDEF\s*\}")
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


class CatalogueError(Exception):
    """A query file is malformed (raised at load time)."""


class ParameterError(ValueError):
    """A parameter value is missing or malformed (HTTP 400); names the parameter and the expected type."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    required: bool = False
    default: Any = None
    description: str = ""
    enum: tuple[str, ...] | None = None
    min: int | None = None
    max: int | None = None

    @property
    def expected(self) -> str:
        """The expected type, in words (used in error messages and documentation)."""
        text = PARAMETER_TYPES[self.type]
        if self.enum:
            text = "one of " + ", ".join(self.enum)
        if self.min is not None or self.max is not None:
            low = "" if self.min is None else f" >= {self.min}"
            high = "" if self.max is None else f" <= {self.max}"
            text += (low + (" and" if low and high else "") + high)
        return text

    def parse(self, raw: str, library: Library) -> Literal | NamedNode:
        """Parse the user's text into an RDF term, or raise :class:`ParameterError`."""
        bad = ParameterError(self.name, f"parameter '{self.name}': expected {self.expected}, got {raw!r}")
        kind = self.type
        if kind in ("pattern", "domain", "community"):
            text = raw.strip()
            if kind != "pattern" and text and not is_safe_segment(text):
                text = slugify(text)  # the converter slugifies domain and community names the same way
            if not is_safe_segment(text):
                raise bad
            return {"pattern": library.pattern, "domain": library.domain, "community": library.community}[kind](text)
        if kind == "iri":
            try:
                return NamedNode(raw.strip())
            except ValueError:
                raise bad from None
        if kind == "string":
            if not raw.strip() or len(raw) > MAX_STRING_LENGTH or "\x00" in raw:
                raise bad
            if self.enum is not None and raw not in self.enum:
                raise bad
            return Literal(raw)
        if kind == "integer":
            if not _INTEGER.fullmatch(raw.strip()):
                raise bad
            number = int(raw.strip())
            if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
                raise bad
            return Literal(number)
        if kind == "number":
            try:
                value = Decimal(raw.strip())
            except InvalidOperation:
                raise bad from None
            if not value.is_finite():
                raise bad
            if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
                raise bad
            return Literal(format(value, "f"), datatype=NamedNode(XSD + "decimal"))
        if kind == "boolean":
            if raw.strip().lower() not in _BOOLEANS:
                raise bad
            return Literal(_BOOLEANS[raw.strip().lower()])
        raise AssertionError(kind)  # types are checked at load time


@dataclass(frozen=True)
class StoredQuery:
    """One prepared query (like Datasette's canned queries): header plus SPARQL template."""

    name: str
    title: str
    description: str
    parameters: tuple[Parameter, ...]
    columns: tuple[tuple[str, str], ...]
    """(name, description) of each result column, in projection order."""
    sparql: str
    """The query as written in the file (without the header): runnable, every placeholder UNDEF."""
    path: Path = field(compare=False)
    count_sparql: str = field(default="", compare=False)
    """:func:`count_form` of :attr:`sparql` (same placeholders)."""

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def parse_values(self, raw: Mapping[str, str], library: Library) -> dict[str, Literal | NamedNode]:
        """Validate every parameter: missing required, malformed values and unknown names
        raise :class:`ParameterError`. Returns the bound terms (defaults included)."""
        for name in raw:
            if self.parameter(name) is None:
                known = ", ".join(p.name for p in self.parameters) or "none"
                raise ParameterError(name, f"unknown parameter '{name}' (this query takes: {known})")
        terms: dict[str, Literal | NamedNode] = {}
        for param in self.parameters:
            value = raw.get(param.name)
            if value is None or (value == "" and not param.required):
                if param.required:
                    raise ParameterError(param.name, f"parameter '{param.name}' is required: {param.expected}")
                if param.default is None:
                    continue
                value = str(param.default).lower() if isinstance(param.default, bool) else str(param.default)
            terms[param.name] = param.parse(value, library)
        return terms

    def bind(self, terms: Mapping[str, Literal | NamedNode], count: bool = False) -> str:
        """The query text (its count form with *count*) with each placeholder's UNDEF replaced
        by its term (N-Triples form)."""

        def replace(match: re.Match[str]) -> str:
            term = terms.get(match.group(1))
            if term is None:
                return match.group(0)
            if not isinstance(term, (Literal, NamedNode)):
                raise TypeError(f"parameter {match.group(1)!r} must be bound to a pyoxigraph term")
            return f"VALUES ?{match.group(1)} {{ {term} }}"

        return _PLACEHOLDER.sub(replace, self.count_sparql if count else self.sparql)

    def resources(self, terms: Mapping[str, Literal | NamedNode]) -> list[tuple[str, NamedNode, str]]:
        """(parameter, term, class IRI) for every bound value that must exist in the library."""
        return [
            (p.name, terms[p.name], RESOURCE_CLASSES[p.type])  # type: ignore[misc]
            for p in self.parameters
            if p.type in RESOURCE_CLASSES and p.name in terms
        ]


def existence_query(resources: list[tuple[str, NamedNode, str]]) -> str:
    """A SELECT of the parameter names whose resource is not in the store: not an instance of its
    class and, for patterns, not referenced either (a relationship target without a file of its
    own is a fine question: "what enables X" has answers when files name X)."""
    rows = " ".join(f"({Literal(name)} {term} {NamedNode(cls)})" for name, term, cls in resources)
    pattern = NamedNode(RESOURCE_CLASSES["pattern"])
    return (
        "SELECT ?parameter WHERE { VALUES (?parameter ?resource ?class) { " + rows + " } "
        "FILTER NOT EXISTS { ?resource a ?class } "
        f"FILTER NOT EXISTS {{ FILTER(?class = {pattern}) ?referrer ?link ?resource }} }} ORDER BY ?parameter"
    )


def page(sparql: str, limit: int | None, offset: int = 0) -> str:
    """*sparql* restricted to *limit* rows from *offset* (every row when *limit* is None):
    at its ``#PAGE`` line when it has one, else appended (see the module docstring)."""
    words = (f"LIMIT {int(limit)} " if limit is not None else "") + (f"OFFSET {int(offset)}" if offset else "")
    if not words:
        return sparql
    if _PAGE_MARKER.search(sparql):
        return _PAGE_MARKER.sub(lambda _: words, sparql, count=1)
    return sparql.rstrip() + "\n" + words


def count_form(sparql: str) -> str:
    """``SELECT (COUNT(*) AS ?_count)`` over the query without its final ORDER BY: the number of
    rows of the answer. Raises :class:`ValueError` when the text does not have the expected shape
    (prologue, ``SELECT ... { ... }``, solution modifiers without LIMIT or OFFSET)."""
    prologue = _PROLOGUE.match(sparql)
    head, body = sparql[:prologue.end()], sparql[prologue.end():]  # type: ignore[union-attr]
    if not body[:6].upper() == "SELECT":
        raise ValueError("the query must be PREFIX/BASE declarations followed by SELECT")
    end = body.rfind("}")
    if end < 0:
        raise ValueError("no group graph pattern")
    tail = body[end + 1:]
    if _PAGING.search(tail):
        raise ValueError("LIMIT and OFFSET are reserved for paging")
    order = _ORDER_BY.search(tail)
    if order is not None:
        body = body[:end + 1 + order.start()]
    return f"{head}SELECT (COUNT(*) AS ?{COUNT_VARIABLE}) WHERE {{\n{{\n{body.rstrip()}\n}}\n}}\n"


def _header(path: Path) -> tuple[dict[str, Any], str]:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header: list[str] = []
    index = 0
    while index < len(lines) and lines[index].startswith("#+"):
        text = lines[index][2:]
        header.append(text[1:] if text.startswith(" ") else text)
        index += 1
    if not header:
        raise CatalogueError(f"{path.name}: no '#+' header")
    try:
        meta = yaml.safe_load("".join(header))
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path.name}: header is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise CatalogueError(f"{path.name}: header must be a YAML mapping")
    return meta, "".join(lines[index:]).lstrip("\n")


def _parameter(path: Path, item: Any) -> Parameter:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise CatalogueError(f"{path.name}: each parameter needs a name")
    unknown = set(item) - {"name", "type", "required", "default", "description", "enum", "min", "max"}
    if unknown:
        raise CatalogueError(f"{path.name}: parameter {item['name']}: unknown keys {sorted(unknown)}")
    if item.get("type") not in PARAMETER_TYPES:
        raise CatalogueError(f"{path.name}: parameter {item['name']}: type must be one of {sorted(PARAMETER_TYPES)}")
    enum = item.get("enum")
    param = Parameter(
        name=item["name"],
        type=item["type"],
        required=bool(item.get("required", False)),
        default=item.get("default"),
        description=str(item.get("description", "")),
        enum=tuple(str(e) for e in enum) if enum is not None else None,
        min=item.get("min"),
        max=item.get("max"),
    )
    if param.required and param.default is not None:
        raise CatalogueError(f"{path.name}: parameter {param.name} is required and has a default")
    if param.default is not None:
        try:
            param.parse(str(param.default).lower() if isinstance(param.default, bool) else str(param.default),
                        Library())
        except ParameterError as exc:
            raise CatalogueError(f"{path.name}: default of {param.name}: {exc.message}") from None
    return param


def load_query(path: Path) -> StoredQuery:
    """Parse and check one ``.rq`` file (see the module docstring); raises :class:`CatalogueError`."""
    meta, sparql = _header(path)
    name = meta.get("name")
    if name != path.stem:
        raise CatalogueError(f"{path.name}: header name {name!r} differs from the file name")
    params = tuple(_parameter(path, item) for item in meta.get("params") or [])
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise CatalogueError(f"{path.name}: duplicate parameter names")
    if {"offset"} & set(names):
        raise CatalogueError(f"{path.name}: 'offset' is reserved for paging")
    limit = next((p for p in params if p.name == "limit"), None)
    if limit is not None and limit.type != "integer":
        raise CatalogueError(f"{path.name}: 'limit' is the page size and must be an integer")
    placeholders = set(_PLACEHOLDER.findall(sparql))
    # 'limit' is applied as the page size, never bound into the text
    missing = set(names) - {"limit"} - placeholders
    if missing:
        raise CatalogueError(f"{path.name}: no 'VALUES ?x {{ UNDEF }}' placeholder for {sorted(missing)}")
    extra = placeholders - set(names)
    if extra:
        raise CatalogueError(f"{path.name}: placeholders without a declared parameter: {sorted(extra)}")
    columns = []
    for item in meta.get("columns") or []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise CatalogueError(f"{path.name}: each column needs a name")
        columns.append((item["name"], str(item.get("description", ""))))
    try:
        result = Store().query(sparql)
    except SyntaxError as exc:
        raise CatalogueError(f"{path.name}: SPARQL syntax error: {exc}") from None
    if not isinstance(result, QuerySolutions):
        raise CatalogueError(f"{path.name}: prepared queries must be SELECT queries")
    projected = [v.value for v in result.variables]
    if projected != [c for c, _ in columns]:
        raise CatalogueError(f"{path.name}: declared columns {[c for c, _ in columns]} != projection {projected}")
    for key in ("title", "description"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            raise CatalogueError(f"{path.name}: header needs a {key}")
    markers = len(_PAGE_MARKER.findall(sparql))
    if markers > 1:
        raise CatalogueError(f"{path.name}: more than one #PAGE line")
    try:
        counting = count_form(sparql)
        Store().query(counting)
        Store().query(page(sparql, 1, 1))
        if markers and not _ORDER_BY.search(sparql[sparql.rfind("}"):]):
            raise ValueError("a query paged at #PAGE must end with the sub-select's ORDER BY")
    except (ValueError, SyntaxError) as exc:
        raise CatalogueError(f"{path.name}: cannot be paged ({exc})") from None
    return StoredQuery(
        name=name,
        title=meta["title"].strip(),
        description=" ".join(meta["description"].split()),
        parameters=params,
        columns=tuple(columns),
        sparql=sparql,
        path=path,
        count_sparql=counting,
    )


def load_catalogue(directory: Path = QUERIES_DIR) -> dict[str, StoredQuery]:
    """Every ``*.rq`` file of *directory*, by name (sorted); raises :class:`CatalogueError`."""
    files = sorted(directory.glob("*.rq"))
    if not files:
        raise CatalogueError(f"no .rq files in {directory}")
    return {q.name: q for q in map(load_query, files)}
