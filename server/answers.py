"""Answering prepared queries from the precomputed sidecar of a generation (``answers.sqlite``).

:meth:`AnswerIndex.answer` returns ``(bindings of the page, total)`` -- SPARQL JSON
bindings equal to those of the live query -- or ``None`` when the sidecar does not answer
that query (the caller then runs the live query). It answers:

- every query written as whole lists (see :mod:`.precompute`): one indexed range read of
  the page, the total stored with the list;
- ``similar``: the pattern's entities and communities, then each one's members (an index
  range each), counted, sorted by (score, shared entities, slug) and paged: the cost is
  that of the answer, whatever the size of the library;
- ``path``: a search from both ends over the precomputed adjacency (every simple path of
  at most ``max`` steps: the steps from ``from`` meet the steps back from ``to`` in the
  middle), so a path of four steps costs the neighbours of the two ends and of their
  neighbours, not the library.

The file is opened read-only and immutable (a generation never changes), one connection
per thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .catalogue import StoredQuery
from .precompute import ANSWERS_FILE, FORMAT_VERSION, key_text

__all__ = ["AnswerIndex", "generation_answers", "open_answers"]

Binding = dict[str, dict[str, str]]
_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
#: search.rq's names of the fields a text was found in, by rank
_MATCH = {1: "title", 2: "alias", 3: "keyword", 4: "summary"}


def open_answers(directory: Path | None) -> AnswerIndex | None:
    """The sidecar of the generation in *directory*, or None when it has none (or one this
    version cannot read): the queries then run live."""
    if directory is None:
        return None
    path = Path(directory) / ANSWERS_FILE
    if not path.is_file():
        return None
    try:
        index = AnswerIndex(path)
    except sqlite3.DatabaseError:  # not a sidecar this version wrote: answer live
        return None
    return index if index.version == FORMAT_VERSION else None


def generation_answers(state: Any) -> Callable[[], AnswerIndex | None]:
    """A provider of the answers of the generation *state* serves now (``state.generation.directory``;
    none when the server serves a store without generations). Opened once per generation."""
    opened: dict[Any, AnswerIndex | None] = {}
    lock = threading.Lock()

    def current() -> AnswerIndex | None:
        directory = getattr(getattr(state, "generation", None), "directory", None)
        if directory is None:
            return None
        index = opened.get(directory, False)
        if index is False:
            with lock:
                opened.clear()  # the previous generation is no longer served
                index = opened[directory] = open_answers(directory)
        return index  # type: ignore[return-value]

    return current


def _integer(n: int) -> dict[str, str]:
    return {"type": "literal", "datatype": _INTEGER, "value": str(n)}


def _mirror(label: str) -> str:
    """The kinds of a step seen from its other end (``enables`` <-> ``^enables``), in label order."""
    tokens = [t[1:] if t.startswith("^") else "^" + t for t in label.split()]
    return " ".join(sorted(t for t in tokens if not t.startswith("^")) + sorted(t for t in tokens if t.startswith("^")))


class AnswerIndex:
    """One ``answers.sqlite`` (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        db = self._db()
        meta = dict(db.execute("SELECT name, value FROM meta"))
        self.version = int(meta.get("format_version", 0))
        #: query name -> the parameters its lists are keyed by (in key order)
        self.lists: dict[str, list[str]] = json.loads(meta.get("lists", "{}"))
        self.prefixes = dict(db.execute("SELECT id, iri FROM prefix"))
        self.multi_titled = {pid: len(json.loads(t)) for pid, t in
                             db.execute("SELECT id, titles FROM pattern WHERE titles LIKE '[%,%'")}

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            uri = self.path.resolve().as_uri() + "?mode=ro&immutable=1"
            db = self._local.db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        return db

    # -- cells ---------------------------------------------------------------------------------

    def term(self, cell: Any) -> dict[str, str] | None:
        if cell is None:
            return None
        if isinstance(cell, str):
            number, _, local = cell.partition(":")
            return {"type": "uri", "value": self.prefixes[int(number)] + local}
        if isinstance(cell, dict):
            return {"type": "bnode", "value": cell["b"]}
        if len(cell) == 1:
            return {"type": "literal", "value": cell[0]}
        if cell[1].startswith("@"):
            return {"type": "literal", "value": cell[0], "xml:lang": cell[1][1:]}
        return {"type": "literal", "value": cell[0], "datatype": self.term(cell[1])["value"]}  # type: ignore[index]

    def _binding(self, columns: list[str], cells: list[Any]) -> Binding:
        return {c: t for c, cell in zip(columns, cells) if (t := self.term(cell)) is not None}

    # -- answers ---------------------------------------------------------------------------------

    def answer(self, query: StoredQuery, terms: Mapping[str, Any], limit: int | None,
               offset: int = 0) -> tuple[list[Binding], int] | None:
        """The page (*limit* rows from *offset*; all with None) and the total, or None."""
        if query.name in self.lists:
            return self._list(query, key_text(terms.get(p) for p in self.lists[query.name]), limit, offset)
        if query.name == "similar":
            return self._similar(query, terms["pattern"].value, limit, offset)
        if query.name == "search":
            return self._search(query, terms["text"].value, limit, offset)
        if query.name == "path":
            return self._path(terms["from"].value, terms["to"].value, int(terms["max"].value), limit, offset)
        return None

    def _list(self, query: StoredQuery, key: str, limit: int | None, offset: int) -> tuple[list[Binding], int]:
        db = self._db()
        found = db.execute("SELECT id, total FROM lists WHERE query = ? AND key = ?", (query.name, key)).fetchone()
        if found is None:
            return [], 0  # the lists cover every key that has an answer
        ident, total = found
        end = total if limit is None else min(total, offset + limit)
        rows = db.execute("SELECT row FROM rows WHERE list = ? AND pos >= ? AND pos < ? ORDER BY pos",
                          (ident, offset, end))
        columns = query.column_names
        return [self._binding(columns, json.loads(row)) for (row,) in rows], total

    def _similar(self, query: StoredQuery, iri: str, limit: int | None, offset: int) -> tuple[list[Binding], int]:
        db = self._db()
        found = db.execute("SELECT id FROM pattern WHERE iri = ?", (iri,)).fetchone()
        if found is None:
            return [], 0
        me = found[0]
        groups = [g for (g,) in db.execute("SELECT grp FROM member WHERE pattern = ?", (me,))]
        marks = ",".join("?" * len(groups))
        counted = db.execute(  # shared entities (kind 0) and communities (kind 1), in the query's order
            f"SELECT pattern, SUM(kind = 0) AS e, SUM(kind = 1) AS c FROM member WHERE grp IN ({marks}) "
            "AND pattern != ? GROUP BY pattern ORDER BY e + c DESC, e DESC, pattern", [*groups, me]).fetchall()
        candidates = [p for p, _, _ in counted]
        entities = {p: e for p, e, _ in counted}
        communities = {p: c for p, _, c in counted}
        columns = query.column_names

        def cells(p: int, iri: str, slug: str, title: Any) -> tuple:
            e, c = entities[p], communities[p]
            return ({"type": "uri", "value": iri}, {"type": "literal", "value": slug}, self.term(title),
                    _integer(e), _integer(c), _integer(e + c))

        return self._pattern_rows(columns, candidates, cells, limit, offset)

    def _search(self, query: StoredQuery, text: str, limit: int | None, offset: int) -> tuple[list[Binding], int]:
        needle = text.lower()  # LCASE(STR(?text)); the index holds LCASE(STR(?value))
        if len(needle) >= 3:  # the trigram index finds the values that contain it
            pattern = "*" + "".join(f"[{ch}]" if ch in "*?[" else ch for ch in needle) + "*"
            found = self._db().execute("SELECT pattern, MIN(field) FROM text WHERE value GLOB ? GROUP BY pattern",
                                       (pattern,))
        else:
            found = self._db().execute("SELECT pattern, MIN(field) FROM text WHERE instr(value, ?) > 0 "
                                       "GROUP BY pattern", (needle,))
        best = dict(found.fetchall())
        candidates = sorted(best, key=lambda p: (best[p], p))
        columns = query.column_names

        def cells(p: int, iri: str, slug: str, title: Any) -> tuple:
            return ({"type": "uri", "value": iri}, {"type": "literal", "value": slug}, self.term(title),
                    {"type": "literal", "value": _MATCH[best[p]]})

        return self._pattern_rows(columns, candidates, cells, limit, offset)

    def _pattern_rows(self, columns: list[str], candidates: list[int], cells: Callable[..., tuple],
                      limit: int | None, offset: int) -> tuple[list[Binding], int]:
        """The page of an answer with one row per candidate pattern and title (in order), and its total.

        A pattern with several titles has a row for each (ties of the order: any order)."""
        total = len(candidates) + sum(self.multi_titled.get(p, 1) - 1 for p in candidates)
        end = None if limit is None else offset + limit
        selected, seen = [], 0  # (pattern, its first and last row on the page)
        for p in candidates:
            if end is not None and seen >= end:
                break
            width = self.multi_titled.get(p, 1)
            low, high = max(0, offset - seen), width if end is None else min(width, end - seen)
            if low < high:
                selected.append((p, low, high))
            seen += width
        details = self._patterns([p for p, _, _ in selected])
        rows: list[Binding] = []
        for p, low, high in selected:
            iri, slug, titles = details[p]
            for title in (titles or [None])[low:high]:
                rows.append({k: v for k, v in zip(columns, cells(p, iri, slug, title)) if v is not None})
        return rows, total

    def _patterns(self, ids: list[int]) -> dict[int, tuple[str, str, list[Any]]]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return {pid: (iri, slug, json.loads(titles)) for pid, iri, slug, titles in
                self._db().execute(f"SELECT id, iri, slug, titles FROM pattern WHERE id IN ({marks})", ids)}

    # -- path ------------------------------------------------------------------------------------

    def _path(self, source: str, target: str, most: int, limit: int | None,
              offset: int) -> tuple[list[Binding], int]:
        db = self._db()
        ids = dict(db.execute("SELECT iri, id FROM node WHERE iri IN (?, ?)", (source, target)))
        start, goal = ids.get(source), ids.get(target)
        if start is None or goal is None:
            return [], 0
        cache: dict[int, dict[int, str]] = {}

        def neighbours(node: int) -> dict[int, str]:
            found = cache.get(node)
            if found is None:
                (text,) = db.execute("SELECT neighbours FROM adjacency WHERE node = ?", (node,)).fetchone()
                found = cache[node] = {other: label for other, label in json.loads(text)}
            return found

        ends = {start, goal}
        first, last = neighbours(start), neighbours(goal)  # last: steps from the goal
        paths: list[tuple[int, tuple[int, ...], tuple[str, ...]]] = []
        if goal in first:
            paths.append((1, (), (first[goal],)))
        if most >= 2:
            for v1, label in first.items():
                if v1 not in ends and v1 in last:
                    paths.append((2, (v1,), (label, _mirror(last[v1]))))
        if most >= 3:
            for v1, label in first.items():
                if v1 in ends:
                    continue
                for v2, label2 in neighbours(v1).items():
                    if v2 not in ends and v2 != v1 and v2 in last:
                        paths.append((3, (v1, v2), (label, label2, _mirror(last[v2]))))
        if most >= 4:
            # meet in the middle: (v1, v2) from the start, (v3, v2) back from the goal
            left: dict[int, list[tuple[int, str, str]]] = {}
            for v1, label in first.items():
                if v1 in ends:
                    continue
                for v2, label2 in neighbours(v1).items():
                    if v2 not in ends and v2 != v1:
                        left.setdefault(v2, []).append((v1, label, label2))
            for v3, back in last.items():
                if v3 in ends:
                    continue
                for v2, back2 in neighbours(v3).items():
                    for v1, label, label2 in left.get(v2, ()):
                        if v1 != v3 and v2 != v3:
                            paths.append((4, (v1, v2, v3), (label, label2, _mirror(back2), _mirror(back))))
        paths.sort(key=lambda p: (p[0], p[1]))
        total = len(paths)
        page = paths[offset:] if limit is None else paths[offset:offset + limit]
        vias = {v for _, via, _ in page for v in via}
        marks = ",".join("?" * len(vias))
        iris = dict(db.execute(f"SELECT id, iri FROM node WHERE id IN ({marks})", list(vias))) if vias else {}
        rows = []
        for hops, via, labels in page:
            row: Binding = {"hops": _integer(hops)}
            for i, label in enumerate(labels, 1):
                row[f"kind{i}"] = {"type": "literal", "value": label}
            for i, v in enumerate(via, 1):
                row[f"via{i}"] = {"type": "uri", "value": iris[v]}
            rows.append(row)
        return rows, total
