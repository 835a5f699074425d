"""The full-text search index of a library: an SQLite FTS5 file beside the store.

Oxigraph has no text index, so the build writes one (a sidecar of the store
generation, see :mod:`patternkg.converter.sidecars`): ``search.sqlite`` with
one row per pattern -- its slug and IRI, title, aliases, summary, keywords
and audience labels -- in an FTS5 table (``unicode61`` tokens, diacritics
removed, prefix indexes of 2 and 3 characters for prefix matching). Ranking is
FTS5's bm25 with the title weighing most (see :mod:`patternkg.server.search`).

:func:`write_search_index` is the sidecar writer; :func:`build_index` writes
the file from any ``select`` callable (the server uses it, through its worker
pool, for a store that has no index). Files are written under a temporary name
and renamed, so a reader never sees half an index.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .namespaces import DCTERMS, PKG, SKOS

__all__ = ["FILENAME", "SCHEMA_VERSION", "build_index", "index_rows", "store_select", "write_search_index"]

FILENAME = "search.sqlite"
SCHEMA_VERSION = 1

#: The queries of the index: the patterns, then one multi-valued field each (no cross products).
PATTERNS_QUERY = f"""SELECT ?p ?slug ?title ?summary WHERE {{
  ?p a <{PKG}Pattern> ; <{PKG}slug> ?slug .
  OPTIONAL {{ ?p <{DCTERMS}title> ?title }}
  OPTIONAL {{ ?p <{SKOS}definition> ?summary }}
}}"""
FIELD_QUERIES = {
    "aliases": f"SELECT ?p ?v WHERE {{ ?p <{SKOS}altLabel> ?v }}",
    "keywords": f"SELECT ?p ?v WHERE {{ ?p <{PKG}keyword> ?v }}",
    "labels": f"SELECT ?p ?v WHERE {{ ?p <{PKG}contextLabel> ?l . ?l <{PKG}labelText> ?v }}",
}

Row = tuple[str, str, str, str, str, str, str]
Select = Callable[[str], Iterable[dict[str, str | None]]]
"""Runs a SELECT and yields each solution as variable -> plain string value (None when unbound)."""


def index_rows(select: Select) -> list[Row]:
    """Index rows (iri, slug, title, aliases, summary, keywords, labels) of every pattern."""
    fields: dict[str, dict[str, list[str]]] = {}
    for name, query in FIELD_QUERIES.items():
        values: dict[str, list[str]] = {}
        for b in select(query):
            if b.get("p") and b.get("v"):
                values.setdefault(b["p"], []).append(b["v"])  # type: ignore[index,arg-type]
        fields[name] = values
    seen: dict[str, Row] = {}
    for b in select(PATTERNS_QUERY):
        iri, slug = b.get("p") or "", b.get("slug") or ""
        if not iri or iri in seen:
            continue

        def joined(name: str) -> str:
            return " · ".join(dict.fromkeys(fields[name].get(iri, [])))

        seen[iri] = (iri, slug, b.get("title") or slug, joined("aliases"), b.get("summary") or "",
                     joined("keywords"), joined("labels"))
    return list(seen.values())


def build_index(rows: Iterable[Row], path: Path) -> int:
    """Write the index at *path* (atomically: a temporary file renamed); the number of patterns."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    count = 0
    db = sqlite3.connect(tmp)
    try:
        db.executescript(f"""
            PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
            INSERT INTO meta VALUES ('schema', '{SCHEMA_VERSION}');
            CREATE VIRTUAL TABLE patterns USING fts5(
                iri UNINDEXED, slug UNINDEXED, title, aliases, summary, keywords, labels,
                tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
        """)
        batch: list[Row] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 5000:
                db.executemany("INSERT INTO patterns VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
                count += len(batch)
                batch.clear()
        db.executemany("INSERT INTO patterns VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
        count += len(batch)
        db.execute("INSERT INTO patterns(patterns) VALUES ('optimize')")
        db.execute("INSERT INTO meta VALUES ('patterns', ?)", (str(count),))
        db.commit()
    finally:
        db.close()
    os.replace(tmp, path)
    return count


def store_select(store: Any) -> Select:
    """A :data:`Select` over a pyoxigraph Store."""

    def select(query: str) -> Iterable[dict[str, str | None]]:
        solutions = store.query(query)
        names = [v.value for v in solutions.variables]
        for solution in solutions:
            yield {n: (None if solution[n] is None else solution[n].value) for n in names}

    return select


def write_search_index(store: Any, directory: Path, report: Any = None) -> None:
    """Sidecar writer: ``directory/search.sqlite`` for the patterns of *store* (a pyoxigraph Store)."""
    build_index(index_rows(store_select(store)), Path(directory) / FILENAME)
