"""The bulk answers of a full build computed by SQLite from the store's facts, not by SPARQL joins.

Contract of :class:`BulkFacts`: opened on a store and a SQLite connection (the answers sidecar
being written), it reads the triples the bulk queries (``queries/bulk/*.rq``) are made of, one
predicate at a time (:data:`TABLES`: each a streaming index scan, no join in Oxigraph), into
tables of a scratch database beside the sidecar, with terms in N-Triples form; when the store
can be opened again by path, a helper process reads half of them meanwhile.
:meth:`BulkFacts.result` runs each bulk query's SQL translation (``queries/bulk/<name>.sql``,
the same rows as the ``.rq``) into a table, :meth:`~BulkFacts.list_keys` and
:meth:`~BulkFacts.write_rows` write its lists -- sorted by the ``.rq``'s ``ORDER BY``
(:class:`~.row_order.RowOrder` keys of each distinct term, compared by SQLite), the rows
encoded as :class:`~.precompute.CellEncoder` encodes them -- into the sidecar's ``rows``
table (driven by :func:`~.precompute.write_answers`). ``tests/queries/test_precomputed.py``
pins the lists to the live queries and ``tests/converter/test_incremental.py`` to the rows
the incremental writer (:mod:`.answers_update`, which runs the ``.rq`` files restricted to
the changed patterns) splices. IRI prefixes are numbered in IRI order.

Why: on a 100k library (18 M triples) the SPARQL bulk queries' hash joins were the build's
memory peak (+450 MiB); SQLite's page cache here is bounded (:data:`CACHE_PAGES` per
database). The time is about the same (reading the triples costs what the joins did:
docs/benchmarks.md). The scratch files are removed when done or on failure.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pyoxigraph import DefaultGraph, Literal, NamedNode, RdfFormat, Store, parse

from patternkg.converter.namespaces import PKG

from .row_order import RowOrder, term_key

__all__ = ["TABLES", "BulkFacts"]

_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_DCTERMS = "http://purl.org/dc/terms/"
_SKOS = "http://www.w3.org/2004/02/skos/core#"
_XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
#: top-assessed.rq's (?dimension ?property) pairs
DIMENSIONS = (("overall", "overallScore"), ("stakeholder_architecture", "stakeholderArchitecture"),
              ("value_creation", "valueCreation"), ("resilience", "resilience"), ("ownership", "ownership"),
              ("autonomy", "autonomy"), ("composability", "composability"), ("fractal_value", "fractalValue"),
              ("vitality", "vitality"))
#: the predicates one-sided-relations.rq reads
DIRECT = ("enables", "requires", "generalizesFrom", "specializesTo", "alternativeTo", "complementaryTo",
          "relatedTo")
_ENABLING = f"SELECT ?rel WHERE {{ ?rel <{PKG}relationshipKind> <{PKG}enables> ; a <{PKG}%s> }}"
#: the tables of the relationships of kind enables, each -> the class (a local name) its rows have
ENABLING_TABLES = {"enabling_relationship": "Relationship", "enabling_inferred_link": "InferredLink"}

def _nt_literal(value: str) -> str:
    """A simple literal in N-Triples form."""
    return str(Literal(value))


def _triples(local: str, *, obj: str | None = None, extra: str | None = None,
             value: bool = False) -> tuple[str, str | None, str | None, bool]:
    """The triples of predicate ``pkg:local`` (or a full IRI) as rows (s, o), or (s, *extra*, o);
    with *value*, o is the object's value (an IRI or a literal's lexical form), not its N-Triples form."""
    return (local if ":" in local else PKG + local, obj, extra, value)


#: table -> (columns, sources of its rows, indexes). A source is made by :func:`_triples`, or
#: is a query whose solutions are the rows. Terms are in N-Triples form. ``grouping``,
#: ``searchable`` and ``direct`` also make the ``pattern``/``member``/``text`` and ``node``/``adjacency`` tables
#: of the sidecar (see :mod:`.precompute`).
TABLES: dict[str, tuple[tuple[str, ...], list[Any], list[tuple[str, ...]]]] = {
    "slug": (("s", "o"), [_triples("slug")], [("s", "o")]),
    "title": (("s", "o"), [_triples(_DCTERMS + "title")], [("s", "o")]),
    "description": (("s", "o"), [_triples(_DCTERMS + "description")], [("s", "o")]),
    "domain": (("s", "o"), [_triples("domain")], [("s", "o")]),
    "cross_domain": (("s", "o"), [_triples("crossDomain")], []),
    "assessment": (("s", "o"), [_triples("assessment")], [("s", "o")]),
    "score": (("s", "dimension", "o"),
              [_triples(local, extra=_nt_literal(dimension)) for dimension, local in DIMENSIONS], [("s", "dimension")]),
    "membership": (("s", "o"), [_triples("communityMembership")], [("o", "s")]),
    "community": (("s", "o"), [_triples("community")], []),
    "confidence": (("s", "o"), [_triples("confidence")], [("s", "o")]),
    "target": (("s", "o"), [_triples("target")], [("s", "o")]),
    "qualified_relationship": (("s", "o"), [_triples("qualifiedRelationship")], [("o", "s")]),
    "qualified_inferred_link": (("s", "o"), [_triples("qualifiedInferredLink")], [("o", "s")]),
    "kind": (("s", "o"), [_triples("relationshipKind")], [("s", "o")]),
    "kind_name": (("s", "o"), [_triples("kindName")], [("s", "o")]),
    "weight": (("s", "o"), [_triples("weight")], [("s", "o")]),
    "reason": (("s", "o"), [_triples("reason")], [("s", "o")]),
    "backed_by": (("s", "o"), [_triples("backedBy")], [("s",)]),
    "pattern_type": (("s", "o"), [_triples(_RDF_TYPE, obj=PKG + "Pattern")], [("s",)]),
    # of rdf:type, only what enablers.rq asks: the types of the relationships of kind enables
    **{table: (("s",), [_ENABLING % kind], [("s",)]) for table, kind in ENABLING_TABLES.items()},
    "direct": (("s", "p", "o"), [_triples(local, extra=f"<{PKG}{local}>") for local in (*DIRECT, "usesTool")],
               [("s", "p", "o")]),
    "grouping": (("s", "kind", "o"), [_triples("mentions", extra="0"), _triples("memberOf", extra="1")], []),
    "searchable": (("s", "rank", "value"), [_triples(_DCTERMS + "title", extra="1", value=True),
                                      _triples(_SKOS + "altLabel", extra="2", value=True),
                                      _triples("keyword", extra="3", value=True),
                                      _triples(_SKOS + "definition", extra="4", value=True)], []),
}
#: the tables a helper process reads, when there is one: about half of the triples
HELPER_TABLES = ("target", "kind", "reason", "kind_name", "weight", "backed_by", "grouping", "searchable")
#: a store smaller than this on disk is read by one process (starting a helper costs about a second)
HELPER_MIN_BYTES = 64 * 1024 * 1024
_SCRATCH = ".answers-facts{part}.partial-{pid}"
CACHE_PAGES = 16_384  # of 4 KiB: SQLite's page cache for the scratch database (64 MiB)
_BATCH = 50_000
_SQL_DIR = Path(__file__).parent / "queries" / "bulk"
_LAST_SEGMENT = re.compile(r"^.*/", re.DOTALL)


def value_of(nt: str) -> str:
    """``STR()`` of a term in N-Triples form: an IRI, or a literal's lexical form."""
    if nt.startswith("<"):
        return nt[1:-1]
    end = nt.rfind('"')
    if "\\" not in nt[:end]:  # nothing escaped: the text between the quotes
        return nt[1:end]
    return _terms([nt])[0].value


def _token(target: str) -> str:
    """``REPLACE(STR(?target), "^.*/", "")`` of a term in N-Triples form (an IRI or a literal)."""
    return _nt_literal(_LAST_SEGMENT.sub("", value_of(target), count=1))


def _integer(n: int) -> str:
    return f'"{n}"^^<{_XSD_INTEGER}>'


class BulkFacts:
    """The fact tables of *store* in a scratch database beside the sidecar *db* (in *directory*);
    with *union*, of the union of its graphs (the default graph a multi-library store serves);
    with *prepared*, the tables a :class:`~.fact_feed.FactFeed` made for *store* (not read again)."""

    def __init__(self, store: Store, db: sqlite3.Connection, directory: Path, *,
                 store_path: Path | None = None, union: bool = False, prepared: Path | None = None) -> None:
        self.db = db
        self.path = Path(directory) / _SCRATCH.format(part="", pid=os.getpid())
        self.helper_path = Path(directory) / _SCRATCH.format(part="-helper", pid=os.getpid())
        if prepared is not None:  # made by FactFeed.finish(); removed by close() like a scratch file
            self.path = Path(prepared)
        else:
            self.path.unlink(missing_ok=True)
        db.execute("ATTACH DATABASE ? AS facts", (str(self.path),))
        try:
            _scratch(db, "facts")
            db.create_function("pkg_token", 1, _token, deterministic=True)
            db.create_function("pkg_integer", 1, _integer, deterministic=True)
            if prepared is None:
                self._read(store, store_path, union)
            db.execute("CREATE TABLE facts.cell (nt TEXT PRIMARY KEY, pre TEXT NOT NULL, prefix TEXT, "
                       "post TEXT NOT NULL, sort BLOB NOT NULL, compact TEXT) WITHOUT ROWID")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Detach and remove the scratch database."""
        for schema in ("facts_helper", "facts"):
            try:
                self.db.execute(f"DETACH DATABASE {schema}")
            except sqlite3.Error:
                pass
        self.path.unlink(missing_ok=True)
        self.helper_path.unlink(missing_ok=True)

    def __enter__(self) -> BulkFacts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading the store -------------------------------------------------------------------

    def _read(self, store: Store, store_path: Path | None, union: bool) -> None:
        """Fill the fact tables: half of them (by size) in a second process when the store can be
        opened again by *store_path* (reading is decoding terms in Oxigraph, which holds the GIL)
        and is big enough to repay starting one (:data:`HELPER_MIN_BYTES` on disk)."""
        db = self.db
        if store_path is None or _disk_size(store_path) < HELPER_MIN_BYTES:
            _fill(db, "facts", store, list(TABLES), union=union)
        else:
            helper = _helper_process(store_path, self.helper_path, list(HELPER_TABLES), union)
            try:
                _fill(db, "facts", store, [t for t in TABLES if t not in HELPER_TABLES], union=union)
            except BaseException:
                helper.kill()
                helper.wait()
                raise
            if helper.wait() != 0:
                raise RuntimeError(f"reading the facts of {store_path} failed in a helper process "
                                   f"(exit code {helper.returncode})")
            db.execute("ATTACH DATABASE ? AS facts_helper", (str(self.helper_path),))
            db.execute(f"PRAGMA facts_helper.cache_size={CACHE_PAGES}")  # only read from here on

    # -- the answers -------------------------------------------------------------------------

    def result(self, name: str, columns: list[str]) -> None:
        """Run ``queries/bulk/<name>.sql`` into table ``facts.result_<name>`` and give every term
        of its *columns* a cell."""
        sql = (_SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
        table = _result_table(name)
        self.db.execute(f"CREATE TABLE facts.{table} AS {sql}")
        for column in columns:
            missing = [nt for (nt,) in self.db.execute(
                f'SELECT DISTINCT r."{column}" FROM facts.{table} AS r WHERE r."{column}" IS NOT NULL '
                f'AND NOT EXISTS (SELECT 1 FROM facts.cell WHERE nt = r."{column}")')]
            for start in range(0, len(missing), _BATCH):
                self.db.executemany("INSERT INTO facts.cell (nt, pre, prefix, post, sort) VALUES (?, ?, ?, ?, ?)",
                                    _cells(missing[start:start + _BATCH]))

    def number_prefixes(self) -> dict[str, int]:
        """Number the IRI prefixes of the cells (every one is a term of a result: see
        :meth:`result`), in IRI order, and compact every cell with them; returns prefix -> number."""
        used = [p for (p,) in self.db.execute("SELECT DISTINCT prefix FROM facts.cell WHERE prefix IS NOT NULL")]
        numbers = {prefix: n for n, prefix in enumerate(sorted(used))}
        self.db.execute("CREATE TABLE facts.prefix_number (prefix TEXT PRIMARY KEY, number TEXT NOT NULL)")
        self.db.executemany("INSERT INTO facts.prefix_number VALUES (?, ?)", [(p, str(n)) for p, n in numbers.items()])
        self.db.execute("UPDATE facts.cell SET compact = pre || coalesce((SELECT number FROM facts.prefix_number "
                        "WHERE prefix_number.prefix = cell.prefix), '') || post")
        return numbers

    def patterns(self) -> Iterator[tuple[str, str, Any]]:
        """(IRI, slug, title term or None) of every subject with a slug, and each of its titles
        (what :data:`~.precompute._PATTERNS` asks)."""
        rows = self.db.execute("SELECT s.s, s.o, t.o FROM slug AS s LEFT JOIN title AS t ON t.s = s.s")
        while batch := rows.fetchmany(_BATCH):
            titles = iter(_terms([title for _s, _slug, title in batch if title is not None]))
            for s, slug, title in batch:
                term = None if title is None else next(titles)
                if s.startswith("<"):
                    yield s[1:-1], value_of(slug), term

    def members(self) -> Iterator[tuple[str, str, int]]:
        """(pattern IRI, group in N-Triples form, kind) of every entity (kind 0) and community (1)
        a pattern belongs to (what :data:`~.precompute._MEMBERS` asks)."""
        for s, kind, group in self.db.execute("SELECT s, kind, o FROM grouping"):
            if s.startswith("<"):
                yield s[1:-1], group, int(kind)

    def texts(self) -> Iterator[tuple[str, int, str]]:
        """(pattern IRI, rank, value) of the texts :data:`~.precompute._TEXTS` asks for."""
        for s, rank, value in self.db.execute(
                "SELECT t.s, t.rank, t.value FROM searchable AS t WHERE EXISTS (SELECT 1 FROM pattern_type AS p WHERE p.s = t.s)"):
            if s.startswith("<"):
                yield s[1:-1], int(rank), value

    def steps(self) -> Iterator[tuple[str, str, str]]:
        """(IRI, kind IRI, IRI) of every step of the curated relationship graph (:data:`~.precompute._STEPS`)."""
        for s, p, o in self.db.execute("SELECT s, p, o FROM direct"):
            if s.startswith("<") and o.startswith("<"):
                yield s[1:-1], p[1:-1], o[1:-1]

    def _list_key(self, key: str | None, group: tuple[str, str, int] | None, filters: int) -> str:
        """The SQL expression of a row's list key: the value of column *key* ("" without one),
        then one tab per filter, the *group* (table, column, filter number) value in its place."""
        tabs = ["char(9)"] * filters
        if group is not None:
            tabs[group[2]] = "char(9) || g.key"
        return " || ".join([f'coalesce(r."{key}", \'\')' if key else "''", *tabs])

    def _source(self, name: str, group: tuple[str, str, int] | None) -> str:
        source = f"facts.{_result_table(name)} AS r"
        if group is not None:
            source += f' JOIN facts.{group[0]} AS g ON g.pattern = r."{group[1]}"'
        return source

    def list_keys(self, name: str, key: str | None, *, filters: int = 0,
                  group: tuple[str, str, int] | None = None) -> list[tuple[str, int]]:
        """(list key, number of rows) of every non-empty list of result *name*: by the value of
        column *key*, or, with *group* = (table, column, i), also by each key that the table's
        ``(pattern, key)`` pairs give the row's *column*, as filter *i* of *filters*."""
        return list(self.db.execute(f"SELECT {self._list_key(key, group, filters)} AS k, count(*) "
                                    f"FROM {self._source(name, group)} GROUP BY k"))

    def write_rows(self, name: str, key: str | None, columns: list[str], order: RowOrder, ids: dict[str, int],
                   *, filters: int = 0, group: tuple[str, str, int] | None = None) -> None:
        """Append the lists of result *name* (see :meth:`list_keys`) to ``main.rows``: the cells
        of *columns*, in *order*, as list *ids* (list key -> id)."""
        joins = "".join(f' LEFT JOIN facts.cell AS c{i} ON c{i}.nt = r."{c}"' for i, c in enumerate(columns))
        terms = [f'(r."{columns[index]}" IS NULL)' if how == "bound" else f"c{index}.sort" + (" DESC" if how == "desc" else "")
                 for index, how in order.conditions]
        cells = " || ',' || ".join(f"coalesce(c{i}.compact, 'null')" for i in range(len(columns)))
        self.db.execute("CREATE TEMP TABLE list_id (key TEXT PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID")
        try:
            self.db.executemany("INSERT INTO temp.list_id VALUES (?, ?)", ids.items())
            self.db.execute(
                f"INSERT INTO main.rows (list, pos, row) "
                f"SELECT l.id, row_number() OVER (PARTITION BY l.id ORDER BY {', '.join(terms) or 'NULL'}) - 1, "
                f"'[' || {cells} || ']' FROM {self._source(name, group)}{joins} "
                f"JOIN temp.list_id AS l ON l.key = {self._list_key(key, group, filters)}")
        finally:
            self.db.execute("DROP TABLE temp.list_id")

    def grouped(self, name: str, key: str) -> str:
        """A table of the distinct (pattern IRI, key) pairs of result *name* (``#+ filter:``); its name."""
        table = f"members_{_result_table(name)}"
        self.db.execute(f'CREATE TABLE facts.{table} AS SELECT DISTINCT r.pattern AS pattern, r."{key}" AS key '
                        f"FROM facts.{_result_table(name)} AS r WHERE r.pattern LIKE '<%'")
        self.db.execute(f"CREATE INDEX facts.{table}_pattern ON {table} (pattern)")
        return table


def _scratch(db: sqlite3.Connection, schema: str) -> None:
    """A scratch database: nothing to recover after a crash (it is removed), a bounded cache."""
    db.execute(f"PRAGMA {schema}.journal_mode=OFF")
    db.execute(f"PRAGMA {schema}.synchronous=OFF")
    db.execute(f"PRAGMA {schema}.cache_size={CACHE_PAGES}")


def _disk_size(directory: Path) -> int:
    return sum(entry.stat().st_size for entry in os.scandir(directory) if entry.is_file())


def _fill(db: sqlite3.Connection, schema: str, store: Store, tables: list[str], *, union: bool = False) -> None:
    """Create *tables* (of :data:`TABLES`) in *schema* of *db*, filled from *store*, and index them.
    With *union*, from every graph, as Oxigraph's union default graph has them (a triple in two
    graphs is two rows there too)."""
    graph = None if union else DefaultGraph()
    options = {"use_default_graph_as_union": True} if union else {}
    for table in tables:
        columns, sources, indexes = TABLES[table]
        db.execute(f"CREATE TABLE {schema}.{table} ({', '.join(f'{c} TEXT NOT NULL' for c in columns)})")
        insert = f"INSERT INTO {schema}.{table} VALUES ({', '.join('?' * len(columns))})"
        for source in sources:
            if isinstance(source, str):  # a query projecting the columns
                rows: Iterator[tuple[str, ...]] = (tuple(str(t) for t in solution) for solution in store.query(source, **options))
            else:
                predicate, obj, extra, value = source
                quads = store.quads_for_pattern(None, NamedNode(predicate), None if obj is None else NamedNode(obj), graph)
                if extra is None:
                    rows = ((str(q.subject), str(q.object)) for q in quads)
                elif value:
                    rows = ((str(q.subject), extra, q.object.value) for q in quads)
                else:
                    rows = ((str(q.subject), extra, str(q.object)) for q in quads)
            batch: list[tuple[str, ...]] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= _BATCH:
                    db.executemany(insert, batch)
                    batch.clear()
            db.executemany(insert, batch)
        for n, index in enumerate(indexes):
            db.execute(f"CREATE INDEX {schema}.{table}_{n} ON {table} ({', '.join(index)})")


def _read_in_helper(store_path: str, database: str, tables: list[str], union: bool) -> None:
    db = sqlite3.connect(database)
    _scratch(db, "main")
    _fill(db, "main", Store.read_only(store_path), tables, union=union)
    db.commit()
    db.close()


def _helper_process(store_path: Path, database: Path, tables: list[str], union: bool) -> subprocess.Popen:
    """A started process filling *tables* into the SQLite file *database* from the store at
    *store_path* (a fresh interpreter running this module: nothing of the caller is inherited)."""
    database.unlink(missing_ok=True)
    # -P and the cwd: a folder named patternkg where the build was started must not shadow the package
    return subprocess.Popen([sys.executable, "-P", "-m", __name__, str(Path(store_path).resolve()),
                             str(database.resolve()), "union" if union else "default", *tables], stdin=subprocess.DEVNULL, cwd=database.parent)


def _result_table(name: str) -> str:
    return "result_" + name.replace("-", "_")


def _terms(nts: list[str]) -> list[Any]:
    """The terms whose N-Triples forms are *nts* (IRIs or literals), parsed in one document."""
    document = "".join(f"<urn:x> <urn:x> {nt} .\n" for nt in nts)
    return [t.object for t in parse(document.encode(), format=RdfFormat.N_TRIPLES)] if nts else []


def _cells(terms: list[str]) -> list[tuple[str, str, str | None, str, bytes]]:
    """(N-Triples form, compact cell before and after its prefix number, prefix, sort key) of *terms*."""
    from .precompute import CellEncoder, _to_json, split_iri

    literals = [nt for nt in terms if nt.startswith('"')]
    parsed = dict(zip(literals, _terms(literals)))
    out = []
    for nt in terms:
        if nt.startswith("<"):
            cell: Any = nt[1:-1]
        elif nt.startswith("_:"):
            cell = {"b": nt[2:]}
        else:
            cell = CellEncoder.expanded(parsed[nt])
        sort = term_key(cell)
        # compact = pre + prefix number + post (see CellEncoder.compact)
        if isinstance(cell, str):
            prefix, local = split_iri(cell)
            out.append((nt, '"', prefix, ":" + _to_json(local)[1:], sort))
        elif isinstance(cell, list) and len(cell) == 2 and not cell[1].startswith("@"):
            prefix, local = split_iri(cell[1])
            out.append((nt, "[" + _to_json(cell[0]) + ',"', prefix, ":" + _to_json(local)[1:] + "]", sort))
        else:
            out.append((nt, _to_json(cell), None, "", sort))
    return out


if __name__ == "__main__":  # the helper process of BulkFacts: STORE DATABASE union|default TABLE...
    _read_in_helper(sys.argv[1], sys.argv[2], sys.argv[4:], sys.argv[3] == "union")
