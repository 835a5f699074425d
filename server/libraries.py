"""The libraries a served store holds (a store built with ``patternkg build --library ...``).

Contract: :func:`served_libraries` reads them from the served generation's metadata
(``libraries``, written by :mod:`patternkg.converter.libraries`), in build order; a store of one
library (or one written by other tools) has none, and everything then works as for one library.
Each :class:`ServedLibrary` names its graph (its dataset IRI): the server's default graph is the
union of all graphs, so every query and page sees every library; a prepared query's ``library``
parameter (:meth:`ServedLibraries.find`) restricts the query's dataset to one graph, passed to
the engine as a dataset, never pasted into query text. The libraries served are those of the
generation the server started with (its routes are made for their base IRIs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pyoxigraph import NamedNode

from patternkg.converter.namespaces import Library

from .catalogue import ParameterError

__all__ = ["LIBRARY_PARAMETER", "ServedLibrary", "ServedLibraries", "served_libraries"]

#: The parameter of every prepared query that restricts it to one library (multi-library stores only).
LIBRARY_PARAMETER = "library"


@dataclass(frozen=True)
class ServedLibrary:
    name: str
    base_iri: str
    graph: NamedNode
    """Its named graph: its dataset IRI, ``<BASE>dataset``."""

    @property
    def library(self) -> Library:
        return Library(self.base_iri)


class ServedLibraries(tuple):
    """The served libraries, in build order (a tuple of :class:`ServedLibrary`)."""

    def find(self, raw: str) -> ServedLibrary:
        """The library named *raw* (its name or its dataset IRI); :class:`ParameterError` otherwise."""
        text = raw.strip()
        for lib in self:
            if text in (lib.name, lib.graph.value):
                return lib
        names = ", ".join(lib.name for lib in self)
        raise ParameterError(LIBRARY_PARAMETER, f"parameter '{LIBRARY_PARAMETER}': expected one of {names} "
                                                f"(or its dataset IRI), got {raw!r}")


def served_libraries(metadata: Mapping[str, Any] | None) -> ServedLibraries:
    """The libraries recorded in a generation's *metadata* (empty for a single-library store)."""
    entries: Iterable[Any] = (metadata or {}).get("libraries") or ()
    out = []
    for entry in entries:
        if isinstance(entry, Mapping) and {"name", "base_iri", "graph"} <= set(entry):
            out.append(ServedLibrary(str(entry["name"]), str(entry["base_iri"]), NamedNode(str(entry["graph"]))))
    return ServedLibraries(out)
