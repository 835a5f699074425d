"""The answers sidecar of an incremental build: the previous one with what a change touches redone.

Contract of :func:`update_answers`: given the new store, the previous generation's store and
answers sidecar, and the patterns whose triples were replaced (*touched*, IRIs), it writes
``answers.sqlite`` beside the new store with, row for row, what
:func:`~.precompute.write_answers` writes for the new store (``tests/converter/
test_incremental.py`` compares them). The previous sidecar is copied and changed in place:

- lists of a bulk query (``queries/bulk``): the rows *of* the touched patterns (see
  :class:`~.precompute.BulkQuery`: ``of``) are read from the previous and the new
  store with the restricted query; where they differ, the old rows are found in their list by
  binary search on the query's ``ORDER BY`` and the new ones spliced in at theirs (positions
  between shift by one). Lists are numbered by :func:`~.precompute.list_id`, so a new list
  gets the id a full build gives it;
- lists of the other parameterless queries (``stats``): run again, replaced when different,
  unless the types, domains, statuses and dialects of the touched patterns (and their ``#``
  nodes) are unchanged and no shared node's description changed;
- ``pattern``/``member``/``text``: the rows of the touched patterns replaced, when the set of
  patterns and their slugs is unchanged (ids are slug order); otherwise written again;
- ``node``/``adjacency``: the adjacency of the ends of the steps that changed, when the set of
  nodes is unchanged (ids are IRI order); otherwise written again.

When the change needs an IRI prefix the previous sidecar has not numbered, or the previous
sidecar is missing or of another format, the sidecar is written in full instead.

Known limit: a prefix that the change leaves unused keeps its number here, where a full build
of the changed library would leave it out and number the prefixes after it one lower; the cells
then differ in those numbers although every decoded answer is the same. (A new prefix is
handled: the sidecar is written in full.)
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pyoxigraph import NamedNode, Store

from patternkg.converter.namespaces import PKG

from .catalogue import load_catalogue, page
from .precompute import (
    _MEMBERS, _PATTERNS, _TEXTS, ANSWERS_FILE, FORMAT_VERSION, PATH_KINDS, BulkQuery, CellEncoder, _order,
    partial_answers,
    _path_index, _pattern_index, group_id, key_text, list_id, load_bulk, step_label, write_answers,
)
from .row_order import RowOrder

__all__ = ["update_answers"]

_CHUNK = 400
_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def update_answers(store: Store, directory: Path, *, previous: Path, previous_store: Path,
                   touched: Iterable[str], shared_changed: bool = True, copy: Path | None = None) -> Path:
    """Write ``directory/answers.sqlite`` for *store* from the sidecar of generation folder
    *previous* (whose store is *previous_store*), the *touched* pattern IRIs and whether the
    description of a shared node (domain, community, entity, agent) changed; returns its path.
    *copy*, when given, is a copy of that sidecar already made, which is changed and moved."""
    directory, source = Path(directory), Path(previous) / ANSWERS_FILE
    touched = sorted(set(touched))
    if not source.is_file() or _version(source) != str(FORMAT_VERSION):
        return write_answers(store, directory)
    old = Store.read_only(str(previous_store))
    renumber = False
    try:
        with partial_answers(directory, **({"copy_of": source} if copy is None else {"taking": copy})) as db:
            if not _Update(db, old, store, touched, shared_changed).run():
                raise _Renumber
    except _Renumber:  # a prefix the previous sidecar has no number for: numbered as a full build would
        renumber = True
    del old
    return write_answers(store, directory) if renumber else directory / ANSWERS_FILE


class _Renumber(Exception):
    """The change needs an IRI prefix the previous sidecar has not numbered."""


def _version(path: Path) -> str | None:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT value FROM meta WHERE name = 'format_version'").fetchone()
    except sqlite3.Error:
        row = None
    finally:
        db.close()
    return row[0] if row else None


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


class _Update:
    def __init__(self, db: sqlite3.Connection, old: Store, new: Store, touched: list[str],
                 shared_changed: bool) -> None:
        self.db, self.old, self.new, self.touched = db, old, new, touched
        self.shared_changed = shared_changed
        self.encoder = CellEncoder()
        self.encoder.prefixes = {iri: n for n, iri in db.execute("SELECT id, iri FROM prefix")}
        self.numbered = len(self.encoder.prefixes)
        self.members: dict[tuple[int, str, str], list[str]] = {}  # (store, query, pattern) -> keys of its lists
        self._filtered_by: set[str] = set()  # the bulk queries whose lists other queries filter by

    def run(self) -> bool:
        catalogue = load_catalogue()
        bulk = load_bulk()
        self._filtered_by = {o for s in bulk.values() for o, _ in s.filter.values()}
        for name in _order(bulk):
            self._splice(bulk[name], catalogue[name].column_names, bulk)
        for query in catalogue.values():
            if not query.parameters and query.name not in bulk:
                if query.name != "stats" or self._facets_changed():
                    self._rerun(query.name, query.sparql, query.column_names)
        self._patterns()
        self._steps()
        return len(self.encoder.prefixes) == self.numbered

    # -- lists ---------------------------------------------------------------------------------

    def _rows(self, spec: BulkQuery, columns: list[str], store: Store, which: int, of: list[str],
              bulk: dict[str, BulkQuery]) -> Counter:
        """(list key, row) of the rows of *of*, with the derived (filtered) lists, counted."""
        wanted = set(of)
        rows: Counter = Counter()
        for i, variable in enumerate(spec.of):
            for chunk in _chunks(of):
                for solution in store.query(spec.restricted(variable, chunk)):
                    if any(solution[v] is not None and solution[v].value in wanted for v in spec.of[:i]):
                        continue  # a row of an earlier variable's run
                    key = key_text(solution[k] for k in spec.key)
                    row = self.encoder.row(solution, columns)
                    rows[(key + "\t" * len(spec.filter), row)] += 1
                    for n, (other, column) in enumerate(spec.filter.values()):
                        subject = solution[column]
                        for value in self._member_keys(store, which, bulk[other], subject) if subject else ():
                            rest = ["" if j != n else value for j in range(len(spec.filter))]
                            rows[("\t".join([key, *rest]), row)] += 1
                    if spec.answers in self._filtered_by and solution["pattern"] is not None:
                        keys = self.members.setdefault((which, spec.answers, solution["pattern"].value), [])
                        if not keys or keys[-1] != key:
                            keys.append(key)
        return rows

    def _member_keys(self, store: Store, which: int, other: BulkQuery, subject: Any) -> list[str]:
        found = self.members.get((which, other.answers, subject.value))
        if found is None:  # not a touched pattern: its lists, from its own rows
            found = self.members[(which, other.answers, subject.value)] = []
            for solution in store.query(other.restricted(other.of[0], [subject.value])):
                key = key_text(solution[k] for k in other.key)
                if not found or found[-1] != key:
                    found.append(key)
        return found

    def _splice(self, spec: BulkQuery, columns: list[str], bulk: dict[str, BulkQuery]) -> None:
        of = self.touched
        before = self._rows(spec, columns, self.old, 0, of, bulk)
        after = self._rows(spec, columns, self.new, 1, of, bulk)
        if before == after:
            return
        order = self._order_key(spec, columns)
        removed, added = before - after, after - before
        by_list: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
        for (key, row), count in removed.items():
            by_list[key][0].extend([row] * count)
        for (key, row), count in added.items():
            by_list[key][1].extend([row] * count)
        for key, (gone, new) in sorted(by_list.items()):
            _List(self.db, spec.answers, key, order, keep_empty=not spec.key).change(gone, new)

    def _order_key(self, spec: BulkQuery, columns: list[str]) -> Any:
        """A function of a stored row giving its place in the query's ORDER BY (within one list)."""
        order = RowOrder(spec.sparql, columns, skip=spec.key, source=str(spec.path))
        expand = self.encoder.expand
        return lambda row: order.key([expand(cell) for cell in json.loads(row)])

    def _facets_changed(self) -> bool:
        """Whether ``stats`` may count or name differently: it counts the subjects of each type
        and the patterns of each domain, status and dialect, and names values by their labels
        (shared nodes). The types of the VoID description follow from those."""
        if self.shared_changed:
            return True
        return self._facts(self.old) != self._facts(self.new)

    def _facts(self, store: Store) -> set[tuple[str, str, str]]:
        """The types, domains, statuses and dialects of the touched patterns, and the types
        of their ``#`` nodes."""
        facets = {NamedNode(PKG + p) for p in ("domain", "status", "dialect")} | {_TYPE}
        out = set()
        for iri in self.touched:
            for quad in store.quads_for_pattern(NamedNode(iri), None, None):
                if quad.predicate in facets:
                    out.add((iri, quad.predicate.value, str(quad.object)))
                elif isinstance(quad.object, NamedNode) and quad.object.value.startswith(iri + "#"):
                    out.update((quad.object.value, _TYPE.value, str(t.object))
                               for t in store.quads_for_pattern(quad.object, _TYPE, None))
        return out

    def _rerun(self, name: str, sparql: str, columns: list[str]) -> None:
        ident = list_id(name, "")
        rows = [self.encoder.row(s, columns) for s in self.new.query(page(sparql, None))]
        stored = [r for (r,) in self.db.execute("SELECT row FROM rows WHERE list = ? ORDER BY pos", (ident,))]
        if rows == stored:
            return
        self.db.execute("DELETE FROM rows WHERE list = ?", (ident,))
        self.db.executemany("INSERT INTO rows VALUES (?, ?, ?)", [(ident, n, r) for n, r in enumerate(rows)])
        self.db.execute("UPDATE lists SET total = ? WHERE id = ?", (len(rows), ident))

    # -- patterns, memberships, texts ---------------------------------------------------------

    def _restricted(self, store: Store, sparql: str, variable: str) -> list[Any]:
        out = []
        for chunk in _chunks(self.touched):
            values = f"VALUES ?{variable} {{ {' '.join(f'<{i}>' for i in chunk)} }} "
            out.extend(store.query(sparql.replace("WHERE {", "WHERE { " + values, 1)))
        return out

    def _patterns(self) -> None:
        def described(store: Store) -> dict[str, tuple[str, list[Any]]]:
            found: dict[str, tuple[str, list[Any]]] = {}
            for s in self._restricted(store, _PATTERNS, "pattern"):
                slug, titles = found.setdefault(s["pattern"].value, (s["slug"].value, []))
                title = self.encoder.cell(s["title"])
                if title not in titles:
                    titles.append(title)
            return {iri: (slug, sorted(titles, key=json.dumps)) for iri, (slug, titles) in found.items()}

        before, after = described(self.old), described(self.new)
        if {i: s for i, (s, _) in before.items()} != {i: s for i, (s, _) in after.items()}:
            for table in ("pattern", "member", "text"):  # ids (slug order) move: written again
                self.db.execute(f"DELETE FROM {table}")
            self.db.execute("DROP INDEX member_pattern")
            _pattern_index(self.new, self.db, self.encoder)
            self.db.execute("CREATE INDEX member_pattern ON member (pattern, grp, kind)")
            return
        ids = {}
        for chunk in _chunks(sorted(after)):
            ids.update(self.db.execute(f"SELECT iri, id FROM pattern WHERE iri IN ({','.join('?' * len(chunk))})",
                                       chunk))
        for iri, (_slug, titles) in after.items():
            if titles != before[iri][1]:
                self.db.execute("UPDATE pattern SET titles = ? WHERE id = ?",
                                (json.dumps(titles, ensure_ascii=False), ids[iri]))

        def members(store: Store) -> set[tuple[int, int, int]]:
            return {(group_id(int(s["kind"].value), str(s["group"])), ids[s["pattern"].value], int(s["kind"].value))
                    for s in self._restricted(store, _MEMBERS, "pattern") if s["pattern"].value in ids}

        old, new = members(self.old), members(self.new)
        if old != new:
            self.db.executemany("DELETE FROM member WHERE grp = ? AND pattern = ?", [(g, p) for g, p, _ in old - new])
            self.db.executemany("INSERT OR IGNORE INTO member VALUES (?, ?, ?)", sorted(new - old))

        def texts(store: Store) -> Counter:
            return Counter((s["value"].value.lower(), ids[s["pattern"].value], int(s["rank"].value))
                           for s in self._restricted(store, _TEXTS, "pattern") if s["pattern"].value in ids)

        old_texts, new_texts = texts(self.old), texts(self.new)
        if old_texts != new_texts:
            changed = sorted({p for _, p, _ in (old_texts - new_texts) + (new_texts - old_texts)})
            gone = set()
            for (value, pattern, field), _n in old_texts.items():
                if pattern not in changed:
                    continue
                if len(value) >= 3:  # found through the trigram index (a GLOB without wildcards)
                    exact = "".join(f"[{ch}]" if ch in "*?[" else ch for ch in value)
                    found = self.db.execute("SELECT rowid, value FROM text WHERE value GLOB ? AND pattern = ? "
                                            "AND field = ?", (exact, pattern, field))
                else:
                    found = self.db.execute("SELECT rowid, value FROM text WHERE value = ? AND pattern = ? "
                                            "AND field = ?", (value, pattern, field))
                gone.update(rowid for rowid, text in found if text == value)
            self.db.executemany("DELETE FROM text WHERE rowid = ?", [(r,) for r in sorted(gone)])
            self.db.executemany("INSERT INTO text (value, pattern, field) VALUES (?, ?, ?)",
                                sorted((v, p, f) for (v, p, f), n in new_texts.items() if p in changed
                                       for _ in range(n)))

    # -- the relationship graph of path --------------------------------------------------------

    def _steps(self) -> None:
        kinds = " ".join(f"<{PKG}{k}>" for k in PATH_KINDS)

        def steps(store: Store, *nodes: str) -> set[tuple[str, str, str]]:
            out = set()
            for chunk in _chunks(sorted(nodes)):
                values = " ".join(f"<{i}>" for i in chunk)
                for side in ("a", "b"):
                    query = f"SELECT ?a ?kind ?b WHERE {{ VALUES ?kind {{ {kinds} }} VALUES ?{side} {{ {values} }} ?a ?kind ?b }}"
                    out.update((s["a"].value, s["kind"].value[len(PKG):], s["b"].value) for s in store.query(query)
                               if isinstance(s["a"], NamedNode) and isinstance(s["b"], NamedNode))
            return out

        before, after = steps(self.old, *self.touched), steps(self.new, *self.touched)
        if before == after:
            return
        ends = sorted({n for a, _, b in before ^ after for n in (a, b)})
        around = steps(self.new, *ends)
        known = dict(self.db.execute(f"SELECT iri, id FROM node WHERE iri IN ({','.join('?' * len(ends))})", ends))
        linked = {n for a, _, b in around for n in (a, b)}
        if any((n in known) != (n in linked) for n in ends):  # a node comes or goes: ids (IRI order) move
            self.db.execute("DELETE FROM node")
            self.db.execute("DELETE FROM adjacency")
            _path_index(self.new, self.db)
            return
        neighbours: dict[str, dict[str, set[str]]] = {n: defaultdict(set) for n in ends}
        for a, kind, b in around:
            if a in neighbours:
                neighbours[a][b].add(kind)
            if b in neighbours:
                neighbours[b][a].add("^" + kind)
        others = sorted({o for n in ends for o in neighbours[n]} - set(known))
        for chunk in _chunks(others):
            known.update(self.db.execute(f"SELECT iri, id FROM node WHERE iri IN ({','.join('?' * len(chunk))})",
                                         chunk))
        for node in ends:
            adjacent = sorted(neighbours[node].items(), key=lambda item: known[item[0]])
            self.db.execute("UPDATE adjacency SET neighbours = ? WHERE node = ?",
                            (json.dumps([[known[o], step_label(k)] for o, k in adjacent], separators=(",", ":")),
                             known[node]))


class _List:
    """One stored list: rows removed and inserted at their place in the ORDER BY."""

    def __init__(self, db: sqlite3.Connection, query: str, key: str, order: Any, *, keep_empty: bool) -> None:
        self.db, self.query, self.key, self.order, self.keep_empty = db, query, key, order, keep_empty
        self.ident = list_id(query, key)
        found = db.execute("SELECT total FROM lists WHERE id = ?", (self.ident,)).fetchone()
        self.exists = found is not None
        self.total = found[0] if found else 0

    def _at(self, pos: int) -> str:
        return self.db.execute("SELECT row FROM rows WHERE list = ? AND pos = ?", (self.ident, pos)).fetchone()[0]

    def _locate(self, row: str) -> int:
        key = self.order(row)
        low, high = 0, self.total
        while low < high:  # first place whose key is not below
            mid = (low + high) // 2
            if self.order(self._at(mid)) < key:
                low = mid + 1
            else:
                high = mid
        for pos in range(low, self.total):
            text = self._at(pos)
            if text == row:
                return pos
            if key < self.order(text):
                break
        raise ValueError(f"answers sidecar: a row of {self.query} {self.key!r} is not where its order puts it")

    def _place(self, row: str, without: int | None) -> int:
        """Where *row* goes in the list with the row at *without* (if any) taken out."""
        key = self.order(row)
        size = self.total - (without is not None)
        low, high = 0, size
        while low < high:  # after every row whose key is not above
            mid = (low + high) // 2
            real = mid if without is None or mid < without else mid + 1
            if key < self.order(self._at(real)):
                high = mid
            else:
                low = mid + 1
        return low

    def _shift(self, first: int, last: int, by: int) -> None:
        """Move the rows at first..last (inclusive) by *by* (one place)."""
        if first > last:
            return
        # through negative places, so that no two rows ever share one (whatever order SQLite takes)
        self.db.execute("UPDATE rows SET pos = -pos - 1 WHERE list = ? AND pos BETWEEN ? AND ?",
                        (self.ident, first, last))
        self.db.execute("UPDATE rows SET pos = -pos - 1 + ? WHERE list = ? AND pos < 0", (by, self.ident))

    def change(self, gone: list[str], new: list[str]) -> None:
        gone, new = sorted(gone, key=self.order), sorted(new, key=self.order)
        for index in range(max(len(gone), len(new))):
            old_row = gone[index] if index < len(gone) else None
            new_row = new[index] if index < len(new) else None
            at = self._locate(old_row) if old_row is not None else None
            if new_row is None:
                self.db.execute("DELETE FROM rows WHERE list = ? AND pos = ?", (self.ident, at))
                self._shift(at + 1, self.total - 1, -1)
                self.total -= 1
                continue
            to = self._place(new_row, at)
            if at is None:
                self._shift(to, self.total - 1, +1)
                self.db.execute("INSERT INTO rows VALUES (?, ?, ?)", (self.ident, to, new_row))
                self.total += 1
            elif to == at:
                self.db.execute("UPDATE rows SET row = ? WHERE list = ? AND pos = ?", (new_row, self.ident, at))
            else:
                self.db.execute("DELETE FROM rows WHERE list = ? AND pos = ?", (self.ident, at))
                if to > at:
                    self._shift(at + 1, to, -1)
                else:
                    self._shift(to, at - 1, +1)
                self.db.execute("INSERT INTO rows VALUES (?, ?, ?)", (self.ident, to, new_row))
        if self.total == 0 and not self.keep_empty:
            self.db.execute("DELETE FROM lists WHERE id = ?", (self.ident,))
        elif self.exists:
            self.db.execute("UPDATE lists SET total = ? WHERE id = ?", (self.total, self.ident))
        else:
            self.db.execute("INSERT INTO lists VALUES (?, ?, ?, ?)", (self.ident, self.query, self.key, self.total))
