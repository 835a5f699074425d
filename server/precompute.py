"""Precomputed answers of the prepared queries: ``answers.sqlite``, a sidecar of each store generation.

What is global to the library is computed once, when the store is built, so that every
prepared query costs the size of its answer (or of its page) instead of the size of the
library (issue 14). The sidecar is one SQLite file (read-only once written) with:

- ``lists`` / ``rows``: whole answers, in order. The parameterless queries
  (``dangling-references``, ``one-sided-relations``, ``review-queue``, ``stats``) are
  their own ``.rq`` run once; the queries with a finite set of parameter values are
  answered for every value at once by a *bulk* query, ``queries/bulk/<name>.rq``: the same
  SPARQL with the parameter projected and sorted on first (``#+ answers:`` names the query,
  ``#+ key:`` the parameters projected). ``#+ filter: {p: q}`` (or ``{p: [q, column]}``)
  derives the answers for each value of parameter ``p`` by keeping the rows whose
  ``?pattern`` (or ``?column``) is in the answer of query ``q`` for that value (``top-assessed`` within a domain = its ranking restricted to
  ``by-domain`` of the domain, which is what the query's domain test does). A key that has
  no list has an empty answer. A parameterless query that has a bulk form (the same rows,
  totally ordered by projected columns: ``one-sided-relations``, ``review-queue``,
  ``dangling-references``) is written from it. The bulk queries are not run on the store:
  :mod:`.bulk_facts` holds the triples they are made of in SQLite (a full build's
  :mod:`.fact_feed` collects them as they are loaded, and writes everything but ``stats`` with
  :func:`start_answers` in its own process; :func:`complete_answers` adds the rest; other
  writers read them from the store, :func:`write_answers`) and runs their SQL translations
  (``queries/bulk/<name>.sql``, the same rows), sorted by the ``.rq``'s ORDER BY; the
  incremental build (:mod:`.answers_update`) runs the ``.rq`` restricted to what changed. Lists are numbered by a digest of (query,
  key) (:func:`list_id`), entity and community groups too (:func:`group_id`), so that an
  incremental build numbers what it adds as a full build does.
- ``pattern`` / ``member``: the patterns (in slug order) and which entities and communities
  each belongs to: ``similar`` counts shared ones at request time (:mod:`.answers`);
- ``text``: the lower-cased title, aliases, keywords and summary of every pattern in an
  FTS5 trigram index: ``search`` finds the values that contain the text (``CONTAINS`` of
  the lower-cased forms, as search.rq asks) without reading the others;
- ``node`` / ``adjacency``: every node of the curated relationship graph (in IRI order) and
  its neighbours, each with the kinds of the step (``enables`` = stated by this node,
  ``^enables`` = by the neighbour): ``path`` searches it from both ends (:mod:`.answers`).

Cells are stored compactly (IRIs as ``"<prefix id>:<local part>"``, the prefixes the bulk
lists use numbered in IRI order, any other one after them by first use; literals as
``[lexical form, datatype or @language]``) and decoded into SPARQL JSON terms equal to what
the live query returns; ``tests/queries/test_precomputed.py`` pins every precomputed answer
of the shared corpus to the live query. The writer is registered as a sidecar writer
(:mod:`patternkg.converter.sidecars` when present) and can be called on any store.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from pyoxigraph import BlankNode, Literal, NamedNode, Store

from patternkg.converter.namespaces import PKG, XSD

from .catalogue import QUERIES_DIR, load_catalogue, page
from .bulk_facts import BulkFacts
from .row_order import RowOrder

__all__ = ["ANSWERS_FILE", "FORMAT_VERSION", "BulkQuery", "complete_answers", "group_id", "list_id", "load_bulk",
           "start_answers", "write_answers"]

ANSWERS_FILE = "answers.sqlite"
CACHE_KIB = 65_536  # SQLite's page cache for the sidecar being written
#: 4: dangling-references answers one row per target and referrer (older sidecars are not read)
FORMAT_VERSION = 4
BULK_DIR = QUERIES_DIR / "bulk"

_XSD_STRING = XSD + "string"
_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_DCTERMS_TITLE = "http://purl.org/dc/terms/title"
#: The kinds of curated relationship that make a step of ``path`` (as path.rq lists them).
PATH_KINDS = ("generalizesFrom", "specializesTo", "enables", "requires", "alternativeTo",
              "complementaryTo", "usesTool", "relatedTo")

_SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE prefix (id INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE);
CREATE TABLE lists (id INTEGER PRIMARY KEY, query TEXT NOT NULL, key TEXT NOT NULL, total INTEGER NOT NULL,
                    UNIQUE (query, key));
CREATE TABLE rows (list INTEGER NOT NULL, pos INTEGER NOT NULL, row TEXT NOT NULL,
                   PRIMARY KEY (list, pos)) WITHOUT ROWID;
CREATE TABLE pattern (id INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE, slug TEXT NOT NULL, titles TEXT NOT NULL);
CREATE TABLE member (grp INTEGER NOT NULL, pattern INTEGER NOT NULL, kind INTEGER NOT NULL,
                     PRIMARY KEY (grp, pattern)) WITHOUT ROWID;
CREATE TABLE node (id INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE);
CREATE VIRTUAL TABLE text USING fts5(value, pattern UNINDEXED, field UNINDEXED,
                                     tokenize = 'trigram case_sensitive 1', detail = 'none');
CREATE TABLE adjacency (node INTEGER PRIMARY KEY, neighbours TEXT NOT NULL);
"""
_INDEXES = """
CREATE INDEX member_pattern ON member (pattern, grp, kind);
"""


_OF_LINE = re.compile(r"#OF(?: ([A-Za-z_][A-Za-z0-9_]*))?: (.*)")


def list_id(query: str, key: str) -> int:
    """The id of list (*query*, *key*): a 63-bit digest, so that every build numbers a list alike
    whatever order it writes lists in (an incremental build adds lists; see :mod:`.answers_update`)."""
    return int.from_bytes(hashlib.blake2b(f"{query}\0{key}".encode(), digest_size=8).digest(), "big") >> 1


def group_id(kind: int, group: str) -> int:
    """The id of a group of ``member`` (entity, kind 0, or community, 1; *group* in N-Triples form)."""
    return list_id(f"member {kind}", group)


class BulkQuery:
    """One ``queries/bulk/*.rq``: the answers of query :attr:`answers` for every key at once.

    Header (``#+ `` lines): ``answers``, ``key`` and ``filter`` (see the module docstring);
    ``of``: the variables that name the patterns a row is made of (a row can only change when
    the triples of one of them change). The ``ORDER BY`` of a bulk query
    orders rows totally, by projected variables only (:mod:`.answers_update` splices rows into
    a stored list by it). Lines ``#OF: ...`` and ``#OF var: ...`` are comments in the full
    query; :meth:`restricted` keeps their text instead of lines ending in ``#ALL``."""

    def __init__(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8")
        header = yaml.safe_load("\n".join(line[3:] for line in text.splitlines() if line.startswith("#+ "))) or {}
        self.path = path
        self.answers: str = header["answers"]
        self.key: list[str] = list(header.get("key") or [])
        self.of: list[str] = list(header.get("of") or [])
        #: parameter -> (query, column): see the module docstring
        self.filter: dict[str, tuple[str, str]] = {
            param: (spec, "pattern") if isinstance(spec, str) else (spec[0], spec[1])
            for param, spec in (header.get("filter") or {}).items()}
        self.sparql = "\n".join(line for line in text.splitlines() if not line.startswith("#+"))

    def restricted(self, variable: str, iris: Iterable[str]) -> str:
        """The query restricted to the rows whose ?*variable* is one of *iris*."""
        values = " ".join(f"<{i}>" for i in iris)
        lines = []
        for line in self.sparql.splitlines():
            marker = _OF_LINE.match(line.strip())
            if marker is not None:
                if marker.group(1) in (None, variable):
                    lines.append(marker.group(2).replace("$OF", values))
            elif not line.rstrip().endswith("#ALL"):
                lines.append(line)
        return "\n".join(lines)


def load_bulk(directory: Path = BULK_DIR) -> dict[str, BulkQuery]:
    """The bulk queries, by the name of the query they answer."""
    queries = (BulkQuery(p) for p in sorted(directory.glob("*.rq")))
    return {q.answers: q for q in queries}


class CellEncoder:
    """Terms to compact cells (and back, in :mod:`.answers`): see the module docstring.

    A cell is first *expanded* (IRIs whole: what :class:`~.row_order.RowOrder` orders), then
    *compacted* for storing (IRIs as ``"<prefix id>:<local part>"``, prefixes numbered in
    order of first use)."""

    def __init__(self) -> None:
        self.prefixes: dict[str, int] = {}
        self._iris: dict[int, str] = {}

    def iri(self, value: str) -> str:
        prefix, local = split_iri(value)
        number = self.prefixes.get(prefix)
        if number is None:
            number = self.prefixes[prefix] = len(self.prefixes)
        return f"{number}:{local}"

    def iri_of(self, compact: str) -> str:
        """The IRI of a compact IRI cell."""
        number, _, local = compact.partition(":")
        n = int(number)
        if n not in self._iris:
            self._iris = {v: k for k, v in self.prefixes.items()}
        return self._iris[n] + local

    @staticmethod
    def expanded(term: Any) -> Any:
        if term is None:
            return None
        if isinstance(term, NamedNode):
            return term.value
        if isinstance(term, Literal):
            if term.language:
                return [term.value, "@" + term.language]
            datatype = term.datatype.value
            return [term.value] if datatype == _XSD_STRING else [term.value, datatype]
        if isinstance(term, BlankNode):
            return {"b": term.value}
        raise TypeError(f"cannot store {term!r} in the answers sidecar")

    def compact(self, cell: Any) -> Any:
        """An expanded cell as stored."""
        return _with_iris(cell, self.iri)

    def expand(self, cell: Any) -> Any:
        """A stored cell expanded."""
        return _with_iris(cell, self.iri_of)

    def cell(self, term: Any) -> Any:
        return self.compact(self.expanded(term))

    def row(self, solution: Any, columns: Iterable[str]) -> str:
        return self.stored([self.expanded(solution[c]) for c in columns])

    def stored(self, cells: list[Any]) -> str:
        """A row of expanded cells as stored (compact cells, as JSON)."""
        return _to_json([self.compact(c) for c in cells])


def split_iri(value: str) -> tuple[str, str]:
    """(prefix, local part) of an IRI as a stored cell numbers it: cut after its last ``/`` or ``#``."""
    cut = max(value.rfind("/"), value.rfind("#")) + 1
    return value[:cut], value[cut:]


def _with_iris(cell: Any, convert: Any) -> Any:
    """*cell* with *convert* applied to its IRIs (an IRI cell, or a literal's datatype)."""
    if isinstance(cell, str):
        return convert(cell)
    if isinstance(cell, list) and len(cell) == 2 and not cell[1].startswith("@"):
        return [cell[0], convert(cell[1])]
    return cell


# json.dumps with options builds an encoder per call; rows are written by the million
_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def key_text(terms: Iterable[Any]) -> str:
    """The key of a list: the N-Triples form of each key parameter's term ("" when unbound), tab-separated."""
    return "\t".join("" if t is None else str(t) for t in terms)


@contextmanager
def partial_answers(directory: Path, *, copy_of: Path | None = None, taking: Path | None = None,
                    name: str = ANSWERS_FILE) -> Iterator[sqlite3.Connection]:
    """An ``answers.sqlite`` (or *name*) being written in *directory* (empty, a copy of *copy_of*,
    or the file *taking*, moved): the connection to a partial file beside it, committed and
    renamed into place when the block ends, removed when it raises (so a reader never sees half
    a file)."""
    target = Path(directory) / name
    partial = target.with_name(f".{name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    if copy_of is not None:
        shutil.copyfile(copy_of, partial)
    elif taking is not None:
        os.replace(taking, partial)
    db = sqlite3.connect(partial)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        # the default 2 MB cache makes inserting the member and text indexes page in and out
        db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        yield db
        db.commit()
    except BaseException:
        db.close()
        partial.unlink(missing_ok=True)
        raise
    db.close()
    os.replace(partial, target)


def write_answers(store: Store, directory: Path, report: Any = None) -> Path:
    """Write ``directory/answers.sqlite`` for *store* (complete, not changed here); returns its path."""
    directory = Path(directory)
    with partial_answers(directory) as db:
        db.executescript(_SCHEMA)
        # a multi-library store's writers get a view whose queries see the union of its graphs
        union = bool(getattr(store, "default_graph_is_union", False))
        with BulkFacts(store, db, directory, store_path=_store_path(directory), union=union) as bulk:
            encoder, keys = _answers_from_facts(db, bulk, store)
        _complete(db, store, encoder, keys)
    return directory / ANSWERS_FILE


def start_answers(facts: Path, path: Path) -> None:
    """Write into *path* what the answers sidecar takes from the tables a
    :class:`~.fact_feed.FactFeed` made (*facts*, used up) alone: every bulk list, the pattern and
    path indexes. :func:`complete_answers` adds what needs the store (``stats``)."""
    with partial_answers(path.parent, name=path.name) as db:
        db.executescript(_SCHEMA)
        with BulkFacts(None, db, path.parent, prepared=facts) as bulk:
            encoder, keys = _answers_from_facts(db, bulk, None)
        db.executemany("INSERT INTO prefix VALUES (?, ?)", [(n, p) for p, n in encoder.prefixes.items()])
        db.execute("INSERT INTO meta VALUES ('lists', ?)", (json.dumps(keys, sort_keys=True),))


def complete_answers(store: Store, directory: Path, started: Path) -> Path:
    """Move the file :func:`start_answers` wrote (*started*) into *directory* as its
    ``answers.sqlite``, completed for *store*; returns its path."""
    with partial_answers(directory, taking=started) as db:
        encoder = CellEncoder()
        encoder.prefixes = {iri: n for n, iri in db.execute("SELECT id, iri FROM prefix")}
        (keys,) = db.execute("SELECT value FROM meta WHERE name = 'lists'").fetchone()
        db.execute("DELETE FROM prefix")
        db.execute("DELETE FROM meta")
        _complete(db, store, encoder, json.loads(keys), taken={i for (i,) in db.execute("SELECT id FROM lists")})
    return Path(directory) / ANSWERS_FILE


def _answers_from_facts(db: sqlite3.Connection, bulk: BulkFacts,
                        store: Store | None) -> tuple[CellEncoder, dict[str, list[str]]]:
    """The bulk lists and the pattern and path indexes, from *bulk*'s tables (and *store*'s
    patterns when given); returns the encoder and the lists' keys."""
    encoder = CellEncoder()
    writer = _ListWriter(db)
    _bulk_answers(bulk, writer, encoder)
    writer.close()
    _pattern_index(store, db, encoder, members=bulk.members(), texts=bulk.texts(),
                   patterns=None if store is not None else bulk.patterns())
    _path_index(store, db, steps=bulk.steps())
    return encoder, writer.keys


def _complete(db: sqlite3.Connection, store: Store, encoder: CellEncoder, keys: dict[str, list[str]], *,
              taken: Iterable[int] = ()) -> None:
    """What needs the store (``stats``), then the prefixes, the metadata and the indexes."""
    writer = _ListWriter(db)
    writer.taken = set(taken)
    _whole_answers(store, writer, encoder)
    writer.close()
    db.executemany("INSERT INTO prefix VALUES (?, ?)", [(n, p) for p, n in encoder.prefixes.items()])
    db.executemany("INSERT INTO meta VALUES (?, ?)", [("format_version", str(FORMAT_VERSION)),
                                                       ("lists", json.dumps({**keys, **writer.keys}, sort_keys=True))])
    db.executescript(_INDEXES)


class _ListWriter:
    """Appends rows to lists (query, key), numbering them in order."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.ids: dict[tuple[str, str], int] = {}
        self.counts: dict[int, int] = defaultdict(int)
        self.pending: list[tuple[int, int, str]] = []
        self.keys: dict[str, list[str]] = {}  # query -> the parameters its lists are keyed by
        self.taken: set[int] = set()

    def add(self, query: str, key: str, row: str) -> None:
        ident = self.ids.get((query, key))
        if ident is None:
            ident = self._new(query, key)
        pos = self.counts[ident]
        self.counts[ident] = pos + 1
        self.pending.append((ident, pos, row))
        if len(self.pending) >= 50_000:
            self.flush()

    def declare(self, query: str, key: str, total: int) -> int:
        """The id of list (*query*, *key*), whose *total* rows are written by the caller."""
        ident = self.ids.get((query, key))
        if ident is None:
            ident = self._new(query, key)
        self.counts[ident] = total
        return ident

    def ensure(self, query: str, key: str) -> None:
        if (query, key) not in self.ids:
            self._new(query, key)

    def _new(self, query: str, key: str) -> int:
        ident = self.ids[(query, key)] = list_id(query, key)
        if ident in self.taken:
            raise ValueError(f"answers sidecar: list ids of {query!r} {key!r} and another list collide")
        self.taken.add(ident)
        return ident

    def flush(self) -> None:
        self.db.executemany("INSERT INTO rows VALUES (?, ?, ?)", self.pending)
        self.pending = []

    def close(self) -> None:
        self.flush()
        self.db.executemany("INSERT INTO lists VALUES (?, ?, ?, ?)",
                            [(i, q, k, self.counts.get(i, 0)) for (q, k), i in self.ids.items()])


def _whole_answers(store: Store, writer: _ListWriter, encoder: CellEncoder) -> None:
    """The parameterless queries without a bulk form (``stats``), run as they are."""
    catalogue = load_catalogue()
    bulk = load_bulk()
    for query in catalogue.values():
        if not query.parameters and query.name not in bulk:
            columns = query.column_names
            writer.ensure(query.name, "")
            for solution in store.query(page(query.sparql, None)):
                writer.add(query.name, "", encoder.row(solution, columns))
            writer.keys[query.name] = []


def _store_path(directory: Path) -> Path | None:
    """The store of generation *directory* (see :mod:`patternkg.converter.storedir`), if it is one."""
    path = directory / "store"
    return path if (path / "CURRENT").is_file() else None


def _bulk_answers(facts: BulkFacts, writer: _ListWriter, encoder: CellEncoder, *,
                  seconds: dict[str, float] | None = None) -> None:
    """The lists of every bulk query, computed by SQLite from the store's *facts*; numbers the IRI
    prefixes (in IRI order) in *encoder*. *seconds*, when given, gets each query's time
    (``tests/benchmarks/bench_answers.py``)."""
    catalogue = load_catalogue()
    bulk = load_bulk()
    columns = {name: catalogue[name].column_names for name in bulk}
    needed = {other for spec in bulk.values() for other, _ in spec.filter.values()}
    spent: dict[str, float] = defaultdict(float)
    for name in bulk:
        started = time.perf_counter()
        facts.result(name, columns[name])
        spent[name] += time.perf_counter() - started
    encoder.prefixes = facts.number_prefixes()
    members: dict[str, str] = {}  # query -> its table of (pattern, list key) pairs
    for name in _order(bulk):
        started = time.perf_counter()
        spec = bulk[name]
        if len(spec.key) > 1:
            raise ValueError(f"{spec.path}: a bulk query has at most one key")
        key = spec.key[0] if spec.key else None
        order = RowOrder(spec.sparql, columns[name], skip=spec.key, source=str(spec.path))
        filters = len(spec.filter)
        groups = [None, *((members[other], column, i) for i, (other, column) in enumerate(spec.filter.values()))]
        for group in groups:
            ids = {k: writer.declare(name, k, total)
                   for k, total in facts.list_keys(name, key, filters=filters, group=group)}
            facts.write_rows(name, key, columns[name], order, ids, filters=filters, group=group)
        if not spec.key:
            writer.ensure(name, "")
        if name in needed:
            members[name] = facts.grouped(name, key)
        writer.keys[name] = spec.key + list(spec.filter)
        spent[name] += time.perf_counter() - started
    if seconds is not None:
        seconds.update(spent)


def _order(bulk: dict[str, BulkQuery]) -> list[str]:
    """Bulk queries with each after the ones its filters read."""
    done: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        for other, _ in bulk[name].filter.values():
            visit(other)
        done.append(name)

    for name in bulk:
        visit(name)
    return done


_PATTERNS = f"""SELECT ?pattern ?slug ?title WHERE {{
  ?pattern <{PKG}slug> ?slug . OPTIONAL {{ ?pattern <{_DCTERMS_TITLE}> ?title }}
}}"""
_MEMBERS = f"""SELECT ?pattern ?group ?kind WHERE {{
  VALUES (?property ?kind) {{ (<{PKG}mentions> 0) (<{PKG}memberOf> 1) }}
  ?pattern ?property ?group .
}}"""
_TEXTS = f"""SELECT ?pattern ?rank ?value WHERE {{
  VALUES (?property ?rank) {{ (<{_DCTERMS_TITLE}> 1) (<http://www.w3.org/2004/02/skos/core#altLabel> 2)
                             (<{PKG}keyword> 3) (<http://www.w3.org/2004/02/skos/core#definition> 4) }}
  ?pattern ?property ?value ; a <{PKG}Pattern> .
}}"""
_STEPS = "SELECT ?a ?kind ?b WHERE {{ VALUES ?kind {{ {kinds} }} ?a ?kind ?b }}".format(
    kinds=" ".join(f"<{PKG}{k}>" for k in PATH_KINDS))


def _pattern_index(store: Store | None, db: sqlite3.Connection, encoder: CellEncoder, *,
                   members: Iterable[tuple[str, str, int]] | None = None,
                   texts: Iterable[tuple[str, int, str]] | None = None,
                   patterns: Iterable[tuple[str, str, Any]] | None = None) -> None:
    """Patterns in slug order with their titles; entity (kind 0) and community (1) memberships;
    their texts. *members* ((pattern IRI, group in N-Triples form, kind)), *texts* ((pattern
    IRI, rank, value)) and *patterns* ((IRI, slug, title term or None)) are what
    :data:`_MEMBERS`, :data:`_TEXTS` and :data:`_PATTERNS` ask the store when not given."""
    if patterns is None:
        patterns = ((s["pattern"].value, s["slug"].value, s["title"]) for s in store.query(_PATTERNS))
    described: dict[str, tuple[str, list[Any]]] = {}
    for iri, slug, term in patterns:
        slug, titles = described.setdefault(iri, (slug, []))
        title = encoder.cell(term)
        if title not in titles:
            titles.append(title)
    order = sorted(described, key=lambda iri: (described[iri][0], iri))
    ids = {iri: n for n, iri in enumerate(order)}
    db.executemany("INSERT INTO pattern VALUES (?, ?, ?, ?)",
                   ((ids[iri], iri, described[iri][0],
                     json.dumps(sorted(described[iri][1], key=json.dumps), ensure_ascii=False)) for iri in order))
    if members is None:
        members = ((s["pattern"].value, str(s["group"]), int(s["kind"].value)) for s in store.query(_MEMBERS)
                   if isinstance(s["pattern"], NamedNode))
    if texts is None:
        texts = ((s["pattern"].value, int(s["rank"].value), s["value"].value) for s in store.query(_TEXTS)
                 if isinstance(s["pattern"], NamedNode))

    def rows() -> Iterator[tuple[int, int, int]]:
        for iri, group, kind in members:
            pattern = ids.get(iri)
            if pattern is not None:
                yield group_id(kind, group), pattern, kind

    db.executemany("INSERT OR IGNORE INTO member VALUES (?, ?, ?)", rows())

    def text_rows() -> Iterator[tuple[str, int, int]]:
        for iri, rank, value in texts:
            pattern = ids.get(iri)
            if pattern is not None:
                # LCASE(STR(?value)) of search.rq; an IRI's STR is the IRI itself
                yield value.lower(), pattern, rank

    db.executemany("INSERT INTO text (value, pattern, field) VALUES (?, ?, ?)", text_rows())


def _path_index(store: Store | None, db: sqlite3.Connection, *, steps: Iterable[tuple[str, str, str]] | None = None) -> None:
    """Every node of the curated relationship graph (IRI order) and its neighbours with step kinds;
    *steps* ((IRI, kind IRI, IRI)) are what :data:`_STEPS` asks the store when not given.

    Held as integers while reading (each IRI once; a step is one packed int per direction:
    node, neighbour, kind bit), so the index of a 100k library fits in tens of MB."""
    numbers: dict[str, int] = {}  # IRI -> number in reading order
    kinds = {f"{PKG}{k}": n for n, k in enumerate(PATH_KINDS)}
    width = len(PATH_KINDS) * 2  # kind bits: stated, then "^" (stated by the neighbour)
    pairs = array("Q")
    if steps is None:
        steps = ((s["a"].value, s["kind"].value, s["b"].value) for s in store.query(_STEPS)
                 if isinstance(s["a"], NamedNode) and isinstance(s["b"], NamedNode))
    for a, kind_iri, b in steps:
        kind = kinds[kind_iri]
        x = numbers.setdefault(a, len(numbers))
        y = numbers.setdefault(b, len(numbers))
        pairs.append((x << 32 | y) << 5 | kind)
        pairs.append((y << 32 | x) << 5 | (kind + len(PATH_KINDS)))
    order = sorted(numbers)
    ids = [0] * len(order)  # reading number -> id (IRI order)
    for n, iri in enumerate(order):
        ids[numbers[iri]] = n
    del numbers
    db.executemany("INSERT INTO node VALUES (?, ?)", enumerate(order))
    del order
    # (node id, neighbour id, kind bit), in node then neighbour order
    packed = sorted(((ids[s >> 37] << 32 | ids[(s >> 5) & 0xFFFFFFFF]) << 5 | (s & 31)) for s in pairs)
    del pairs
    labels = [PATH_KINDS[k] if k < len(PATH_KINDS) else "^" + PATH_KINDS[k - len(PATH_KINDS)] for k in range(width)]

    def adjacency() -> Iterator[tuple[int, str]]:
        node, out, other, bits = -1, [], -1, set()
        for s in packed:
            x, y, k = s >> 37, (s >> 5) & 0xFFFFFFFF, s & 31
            if (x, y) != (node, other):
                if other >= 0:
                    out.append([other, step_label(bits)])
                if x != node and node >= 0:
                    yield node, json.dumps(out, separators=(",", ":"))
                    out = []
                node, other, bits = x, y, set()
            bits.add(labels[k])
        if node >= 0:
            out.append([other, step_label(bits)])
            yield node, json.dumps(out, separators=(",", ":"))

    db.executemany("INSERT INTO adjacency VALUES (?, ?)", adjacency())


def step_label(kinds: Iterable[str]) -> str:
    """The kinds of one step as path.rq names them: stated kinds, then "^" kinds, space-separated."""
    kinds = set(kinds)
    return " ".join(sorted(k for k in kinds if not k.startswith("^")) + sorted(k for k in kinds if k.startswith("^")))

