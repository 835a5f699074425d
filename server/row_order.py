"""The ``ORDER BY`` of a bulk query (``queries/bulk/*.rq``) as byte strings, for sorting outside Oxigraph.

Contract: :class:`RowOrder` turns a row of a bulk query -- its cells in *expanded* form
(:meth:`~.precompute.CellEncoder.expanded`: IRIs whole, literals ``[value]`` or
``[value, datatype IRI or "@" language]``, blank nodes ``{"b": id}``, unbound ``None``) --
into a ``bytes`` key such that comparing keys (``memcmp``, as Python and SQLite compare
bytes) orders rows as the query's ``ORDER BY`` does, within one list (the key variables
are left out: one value per list). Terms are ordered as Oxigraph orders them: unbound,
blank nodes, IRIs (by code point), literals; numbers by value (as doubles) before the
other literals, which are ordered as Oxigraph orders literals it cannot compare by value:
by lexical form, then datatype IRI (a language-tagged string's is rdf:langString), then
language tag. That is also their order by value for strings, booleans and dates without a
time zone. The one difference: Oxigraph compares a number with another literal by lexical
form (``""`` sorts before ``-3``, ``"Zeta"`` after ``10``), a comparison that is not
transitive, so no total order matches it; a column of a bulk query's ORDER BY holds
numbers only or no numbers.
``(!BOUND(?v))`` puts rows where ?v is bound first; ``DESC`` inverts a condition's bytes.

Why: Oxigraph compares two long strings by reading both from its dictionary, so sorting
the 500,000 rows of a bulk query of a 100k library cost it more than producing them.
The full answers writer sorts with SQLite on these keys (bounded memory), and the
incremental writer (:mod:`.answers_update`) places rows in a stored list by them.
"""

from __future__ import annotations

import re
import struct
from typing import Any

from patternkg.converter.namespaces import XSD

__all__ = ["RowOrder", "unordered"]

_NUMERIC = frozenset(XSD + t for t in (
    "integer", "decimal", "double", "float", "int", "long", "short", "byte", "nonNegativeInteger",
    "positiveInteger", "negativeInteger", "nonPositiveInteger", "unsignedInt", "unsignedLong", "unsignedShort",
    "unsignedByte"))
_STRING = XSD + "string"
_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_CONDITION = re.compile(r"DESC\(\s*\?(\w+)\s*\)|ASC\(\s*\?(\w+)\s*\)|\(\s*!\s*BOUND\(\s*\?(\w+)\s*\)\s*\)|\?(\w+)")
_INVERT = bytes(range(255, -1, -1))


def unordered(sparql: str) -> str:
    """*sparql* without its final ``ORDER BY`` (the same rows, in no particular order)."""
    return sparql[:sparql.rindex("ORDER BY")]


def _text(value: str) -> bytes:
    """*value* as bytes no other value's bytes begin with, ordered by code point."""
    return value.encode("utf-8").replace(b"\x00", b"\x00\xff") + b"\x00\x00"


def _number(value: str) -> bytes | None:
    try:
        number = float(value) + 0.0  # -0.0 -> 0.0
    except ValueError:
        return None
    if number != number:  # NaN: after every number
        return b"\xff" * 8
    packed = struct.pack(">d", number)
    return packed.translate(_INVERT) if packed[0] & 0x80 else bytes([packed[0] | 0x80]) + packed[1:]


def term_key(cell: Any) -> bytes:
    """The place of one expanded cell in an ascending ``ORDER BY``."""
    if cell is None:
        return b"\x00"
    if isinstance(cell, dict):
        return b"\x01"
    if isinstance(cell, str):
        return b"\x02" + _text(cell)
    value = cell[0]
    tag = cell[1] if len(cell) == 2 else _STRING
    if tag in _NUMERIC:
        number = _number(value)
        if number is not None:
            return b"\x03\x00" + number
    if tag.startswith("@"):
        return b"\x03\x01" + _text(value) + _text(_LANG_STRING) + _text(tag[1:])
    return b"\x03\x01" + _text(value) + _text(tag) + b"\x00\x00"


class RowOrder:
    """The ``ORDER BY`` of bulk query *sparql* over rows of *columns* (see the module docstring);
    *skip*: the key variables (one value per list, so not part of the order within one)."""

    def __init__(self, sparql: str, columns: list[str], *, skip: list[str], source: str = "query") -> None:
        clause = sparql[sparql.rindex("ORDER BY") + len("ORDER BY"):]
        self.conditions: list[tuple[int, str]] = []
        for desc, asc, unbound, plain in _CONDITION.findall(clause):
            variable = desc or asc or unbound or plain
            if variable in skip:
                continue
            if variable not in columns:
                raise ValueError(f"{source}: ORDER BY ?{variable} is not a stored column")
            self.conditions.append((columns.index(variable), "desc" if desc else "bound" if unbound else "asc"))

    def key(self, cells: list[Any]) -> bytes:
        """The key of one row (expanded cells, in column order)."""
        parts = []
        for index, how in self.conditions:
            cell = cells[index]
            if how == "bound":
                parts.append(b"\x01" if cell is None else b"\x00")
            elif how == "desc":
                parts.append(term_key(cell).translate(_INVERT))
            else:
                parts.append(term_key(cell))
        return b"".join(parts)
