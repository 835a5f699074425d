"""Turning YAML values into RDF literals, reporting what does not fit.

Every function takes the value, its field path and a ``warn(code, message, path)``
callback. A value of the wrong type or outside its range is still written (as a
plain string, or as the typed literal it is), so nothing is dropped and the
SHACL shapes can flag it; the callback names the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from pyoxigraph import Literal, NamedNode

from patternkg.converter.namespaces import XSD
from patternkg.converter.reader import InvalidScalar

Warn = Callable[[str, str, tuple], None]

XSD_DECIMAL = NamedNode(XSD + "decimal")
XSD_INTEGER = NamedNode(XSD + "integer")
XSD_DATE = NamedNode(XSD + "date")
XSD_DATETIME = NamedNode(XSD + "dateTime")
XSD_ANYURI = NamedNode(XSD + "anyURI")


def describe(value: object) -> str:
    if isinstance(value, InvalidScalar):
        return f"invalid {value.expected} {str(value)!r}"
    if isinstance(value, bool):
        return f"boolean {value!r}"
    if isinstance(value, (list, dict)):
        return "a list" if isinstance(value, list) else "a mapping"
    return f"{type(value).__name__} {value!r}"


def text(value: object, path: tuple, warn: Warn, *, lenient: bool = False) -> Literal | None:
    """A string literal. Numbers and dates are accepted silently with *lenient* (versions, ids)."""
    if value is None:
        return None
    if isinstance(value, str):
        return Literal(str(value))
    if isinstance(value, (list, dict)):
        warn("invalid-type", f"expected text, found {describe(value)}", path)
        return Literal(repr(value))
    if not lenient:
        warn("invalid-type", f"expected text, found {describe(value)}", path)
    return Literal(str(value))


def _decimal_lexical(value: int | float) -> str:
    if isinstance(value, int):
        return f"{value}.0"
    s = repr(value)
    if "e" in s or "E" in s:
        s = format(Decimal(s), "f")
    return s if "." in s else s + ".0"


def decimal(value: object, path: tuple, warn: Warn, *, low: float, high: float) -> Literal | None:
    """An xsd:decimal in [low, high]; out of range is warned about and kept."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        warn("invalid-type", f"expected a number between {low:g} and {high:g}, found {describe(value)}", path)
        return Literal(str(value))
    if value != value or value in (float("inf"), float("-inf")):
        warn("invalid-value", f"expected a number between {low:g} and {high:g}, found {value!r}", path)
        return Literal(str(value))
    if not low <= value <= high:
        warn("out-of-range", f"{value!r} is outside [{low:g}, {high:g}]", path)
    return Literal(_decimal_lexical(value), datatype=XSD_DECIMAL)


def integer(value: object, path: tuple, warn: Warn, *, low: int, high: int) -> Literal | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        warn("invalid-type", f"expected a whole number from {low} to {high}, found {describe(value)}", path)
        return Literal(str(value))
    if not low <= value <= high:
        warn("out-of-range", f"{value!r} is outside {low}..{high}", path)
    return Literal(str(value), datatype=XSD_INTEGER)


def temporal(value: object, path: tuple, warn: Warn) -> Literal | None:
    """xsd:date or xsd:dateTime from a YAML date/timestamp or an ISO 8601 string."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return _datetime(value)
    if isinstance(value, dt.date):
        return Literal(value.isoformat(), datatype=XSD_DATE)
    if isinstance(value, str) and not isinstance(value, InvalidScalar):
        s = value.strip()
        try:
            if len(s) == 10:
                return Literal(dt.date.fromisoformat(s).isoformat(), datatype=XSD_DATE)
            parsed = dt.datetime.fromisoformat(s.replace(" ", "T", 1))
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(dt.timezone.utc)
            return _datetime(parsed)
        except ValueError:
            pass
    warn("invalid-value", f"expected a date (YYYY-MM-DD) or date-time, found {describe(value)}", path)
    return Literal(str(value))


def _datetime(value: dt.datetime) -> Literal:
    s = value.isoformat()
    if s.endswith("+00:00"):
        s = s[:-6] + "Z"
    return Literal(s, datatype=XSD_DATETIME)


def iri(value: object, path: tuple, warn: Warn) -> NamedNode | Literal | None:
    """An absolute http(s) IRI; anything else is warned about and kept as text."""
    if value is None:
        return None
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        try:
            return NamedNode(value.strip())
        except ValueError:
            pass
    warn("invalid-value", f"expected an http(s) URL, found {describe(value)}", path)
    return Literal(str(value))


def as_list(value: object) -> list:
    """Lists as they are; a lone scalar or mapping as a one-item list; null as empty."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]
