"""A lexical check of SPARQL requests, run before anything reaches the store.

pyoxigraph exposes no SPARQL parser without execution, and executing a query
with ``SERVICE`` makes the store send HTTP requests to any URL in it. So this
module tokenises the query the way the SPARQL grammar does (comments, string
literals, IRIs, variables, blank-node labels and prefixed names are recognised
as whole tokens) and looks at what is left.

Contract of :func:`inspect_query`:

- ``\\uXXXX``/``\\UXXXXXXXX`` escapes are decoded first (SPARQL 1.1 section 19.2
  allows them anywhere in a query), so escapes cannot hide a keyword;
- ``service`` (any case) anywhere outside a string literal, an IRI, a comment,
  a variable name, a blank-node label or the *local* part of a prefixed name is
  refused with :class:`ServiceRefused`. The check is deliberately greedy:
  Oxigraph's parser does not require a word boundary after a keyword (it reads
  ``trueSERVICE<x>{}``, ``1SERVICE<x>{}`` and ``SERVICEex:f{}`` as SERVICE calls),
  so any bare word or prefix *containing* ``service`` is refused. The only false
  positives are prefixes such as ``services:`` - write the full IRI instead;
- the query form is the first keyword after the prologue: ``SELECT``, ``ASK``,
  ``CONSTRUCT`` or ``DESCRIBE``; an update keyword there raises
  :class:`UpdateRefused`; ``None`` means "unknown" and the parser's own error
  message will tell the client what is wrong;
- ``dataset`` tells whether the query has a ``FROM`` (or ``FROM NAMED``) clause, so that the
  worker evaluates it on the dataset it names rather than on the union of the graphs;
- a query nested deeper than ``max_depth`` raises :class:`QueryTooDeep` (400).
  Oxigraph parses and evaluates recursively, so a deep enough query overflows the
  worker's stack and kills it (2,500 nested ``{`` do, in 10 KB). The depth counted
  here is an upper bound of that recursion: each open ``{``, ``(`` or ``[`` adds
  one, and so does each operator inside the innermost open group (``||``, ``&&``,
  ``+``, ``/``, ``|``, ``^``, ``!``, comparisons, ``UNION``, ``OPTIONAL``,
  ``MINUS``), because a chain ``a || b || c`` is a left-deep tree. Lists that
  Oxigraph keeps flat (``VALUES``, ``IN (...)``, triple patterns) cost nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "DEFAULT_MAX_DEPTH", "QueryInfo", "QueryTooDeep", "RequestRefused", "ServiceRefused", "UpdateRefused",
    "inspect_query",
]

QUERY_FORMS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})
#: The default of ``max_depth``: a tenth of the smallest depth measured to crash a
#: worker (about 2,000 nested ``{`` on an 8 MiB stack), and far above what people write.
DEFAULT_MAX_DEPTH = 200
_GROUP_OPEN = frozenset("{([")
_GROUP_CLOSE = frozenset("})]")
_OPERATOR_CHARS = frozenset("|&/^!+-*=<>")
_OPERATOR_WORDS = frozenset({"UNION", "OPTIONAL", "MINUS"})
UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)


class RequestRefused(ValueError):
    """A request the endpoint will not execute; ``status`` is the HTTP status to send."""

    status = 400
    error = "refused"


class ServiceRefused(RequestRefused):
    status = 400
    error = "service-refused"


class UpdateRefused(RequestRefused):
    status = 403
    error = "read-only"


class QueryTooDeep(RequestRefused):
    status = 400
    error = "query-too-deep"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the query is nested deeper than this endpoint allows (limit {limit}: each open "
            "{, ( or [ counts one, and so does each operator or UNION/OPTIONAL/MINUS inside it); "
            "flatten it, for example with VALUES or IN (...)"
        )
        self.limit = limit


@dataclass(frozen=True)
class QueryInfo:
    form: str | None
    """SELECT, ASK, CONSTRUCT, DESCRIBE, or None when the lexer cannot tell."""
    dataset: bool = False
    """Whether the query names its own dataset (``FROM``/``FROM NAMED``): it is then evaluated on
    that dataset, not on the endpoint's default (the union of the store's graphs)."""


_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")

# One alternation, tried left to right at each position; group names say what matched.
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*(?:'''|\Z)
             |\"\"\"(?:[^"\\]|\\.|"(?!""))*(?:\"\"\"|\Z)
             |'(?:[^'\\\n\r]|\\.)*(?:'|\Z)
             |"(?:[^"\\\n\r]|\\.)*(?:"|\Z))
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][^\W]*)
  | (?P<bnode>_:[\w.\-]*)
  | (?P<pname>(?P<prefix>[^\W\d_][\w.\-]*)?:(?P<local>(?:[\w.\-:%]|\\[^\s])*))
  | (?P<word>[^\W][\w\-]*)
  | (?P<op>\|\||&&|!=|<=|>=)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def unescape_codepoints(text: str) -> str:
    """Decode ``\\u``/``\\U`` escapes as the SPARQL grammar does before parsing."""

    def repl(m: re.Match[str]) -> str:
        code = int(m.group(1) or m.group(2), 16)
        try:
            return chr(code)
        except (ValueError, OverflowError):
            return m.group(0)

    return _ESCAPE.sub(repl, text)


def _has_service(text: str | None) -> bool:
    return text is not None and "service" in text.lower()


def inspect_query(query: str, *, max_depth: int = DEFAULT_MAX_DEPTH) -> QueryInfo:
    """Refuse SERVICE, updates and over-deep queries; return the query form. See the module docstring.

    Accepted short queries are remembered (a bounded cache: clients repeat queries);
    refused ones raise every time."""
    if len(query) <= _CACHEABLE_QUERY:
        return _inspect_cached(query, max_depth)
    return _inspect(query, max_depth)


_CACHEABLE_QUERY = 4096


def _inspect(query: str, max_depth: int) -> QueryInfo:
    text = unescape_codepoints(query)
    form: str | None = None
    dataset = False
    seen_form = False
    expect_prologue_arg = 0
    depth = 0
    groups: list[int] = []  # per open group: 1 + the operators seen in it so far
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "other" or kind == "op":
            char = m.group(0)
            if char in _GROUP_OPEN:
                groups.append(1)
                depth += 1
            elif char in _GROUP_CLOSE:
                if groups:
                    depth -= groups.pop()
                continue
            elif groups and (kind == "op" or char in _OPERATOR_CHARS):
                groups[-1] += 1
                depth += 1
            else:
                continue
            if depth > max_depth:
                raise QueryTooDeep(max_depth)
            continue
        if kind in ("ws", "comment", "string", "iri", "var", "bnode"):
            if expect_prologue_arg and kind in ("iri",):
                expect_prologue_arg -= 1
            continue
        if kind == "pname" or m.group("prefix") is not None:
            if _has_service(m.group("prefix")):
                raise ServiceRefused(
                    "SERVICE is not allowed on this endpoint (federated queries are refused); "
                    "a prefix containing 'service' is refused too - write the full IRI"
                )
            if expect_prologue_arg:
                expect_prologue_arg -= 1
            continue
        word = m.group(0)
        if _has_service(word):
            raise ServiceRefused("SERVICE is not allowed on this endpoint (federated queries are refused)")
        if word.upper() == "FROM":
            dataset = True
        if groups and word.upper() in _OPERATOR_WORDS:
            groups[-1] += 1
            depth += 1
            if depth > max_depth:
                raise QueryTooDeep(max_depth)
        if seen_form:
            continue
        upper = word.upper()
        if upper == "PREFIX":
            expect_prologue_arg = 2
            continue
        if upper == "BASE":
            expect_prologue_arg = 1
            continue
        seen_form = True
        if upper in QUERY_FORMS:
            form = upper
        elif upper in UPDATE_KEYWORDS:
            raise UpdateRefused("this endpoint is read-only: SPARQL Update is not accepted")
    return QueryInfo(form=form, dataset=dataset)


_inspect_cached = lru_cache(maxsize=512)(_inspect)
