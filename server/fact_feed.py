"""The fact tables of a full build taken from the N-Triples it loads, not read back from the store.

Contract of :class:`FactFeed`: a helper process (a fresh interpreter running this module) is
handed, by :meth:`~FactFeed.write`, every N-Triples line a build loads into its store, in any
order and any number of times (``converter/pipeline.py`` writes each bulk-load batch, the
``pkg:backedBy`` lines and the VoID description). It keeps the lines whose predicate a table
of :data:`~.bulk_facts.TABLES` is made of, as raw rows, in the SQLite file *path*.
:meth:`~FactFeed.finish`, given the ``pat_`` id IRIs the build rewrote (its ``_resolve_ids``),
makes the tables :class:`~.bulk_facts.BulkFacts` would have read from the finished store: objects
rewritten as the store's were, typed literals in the canonical form the store gives them back
in (4.50 is stored as 4.5), one row per distinct triple (the store is a set), the ``enabling_*``
tables joined from the kinds and types, and the indexes. :class:`~.bulk_facts.BulkFacts` then
opens that file (``prepared=``) instead of reading the store.
``tests/queries/test_fact_feed.py`` checks that the tables equal the ones read from the store.

Why: reading the facts back cost a 100k build 70-85 s, decoding every term from Oxigraph's
dictionary; the build held every triple as N-Triples already. The feed runs in its own process
so that the build process's GIL (which hands results from the parser processes to the loader)
is not taken by a per-line loop.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from pyoxigraph import RdfFormat, Store, parse

from patternkg.converter.namespaces import PKG

from .bulk_facts import ENABLING_TABLES, TABLES, _scratch

__all__ = ["FactFeed"]

_CHUNK = 8 * 1024 * 1024
_BATCH = 50_000
_RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
_ENABLES = f"<{PKG}enables>"


def _routes() -> dict[bytes, list[tuple[str, str | None, str | None, bool]]]:
    """Predicate (N-Triples bytes) -> (raw table, object it must be or None, extra column, value)."""
    routes: dict[bytes, list] = defaultdict(list)
    for table, (_columns, sources, _indexes) in TABLES.items():
        for source in sources:
            if isinstance(source, str):
                continue  # the enabling_* tables: joined in finish()
            predicate, obj, extra, value = source
            routes[f"<{predicate}>".encode()].append((table, None if obj is None else f"<{obj}>", extra, value))
    for kind in ENABLING_TABLES.values():
        routes[_RDF_TYPE.encode()].append(("typed", f"<{PKG}{kind}>", None, False))
    return dict(routes)


def _raw_tables() -> dict[str, int]:
    """Raw table -> number of columns: (s, o), or (s, extra, o); an object always in N-Triples form."""
    tables = {"typed": 2}
    for table, (_columns, sources, _indexes) in TABLES.items():
        if not any(isinstance(s, str) for s in sources):
            tables[table] = 2 if sources[0][2] is None else 3
    return tables


class FactFeed:
    """A helper process collecting fact rows into the SQLite file *path* (created; removed by
    :meth:`abort`); see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.unlink(missing_ok=True)
        # -P and the cwd: a folder named patternkg where the build was started must not shadow the package
        self.process = subprocess.Popen([sys.executable, "-P", "-m", __name__, str(self.path.resolve())],
                                        stdin=subprocess.PIPE, cwd=self.path.parent)

    def write(self, ntriples: bytes) -> None:
        """Hand whole N-Triples lines (``S P O .\\n``, as the build loads them) to the process."""
        try:
            self.process.stdin.write(ntriples)
        except BrokenPipeError:
            self._check()
            raise

    def finish(self, renamed: Iterable[tuple[str, str]] = ()) -> Path:
        """After the last :meth:`write`: wait for the process, then make the tables (see the module
        docstring) with every object in *renamed* ((old IRI, new IRI) in N-Triples form) replaced;
        returns the path."""
        # An empty line ends the stream: processes forked meanwhile (the parser processes) hold
        # the pipe too, so the helper cannot wait for it to close.
        self.write(b"\n")
        self.process.stdin.close()
        self._check()
        db = sqlite3.connect(self.path)
        try:
            _scratch(db, "main")
            _finish(db, list(renamed))
            db.commit()
        finally:
            db.close()
        return self.path

    def abort(self) -> None:
        """Stop the process and remove the file (after a failure; harmless after :meth:`finish`)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdin is not None and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        self.path.unlink(missing_ok=True)

    def _check(self) -> None:
        if self.process.wait() != 0:
            raise RuntimeError(f"collecting the answers' facts into {self.path} failed in a helper process "
                               f"(exit code {self.process.returncode})")


# -- the helper process ----------------------------------------------------------------------------

def _collect(stream, db: sqlite3.Connection) -> None:
    """Insert the routed rows of the N-Triples on *stream* into the raw tables of *db*."""
    routes = _routes()
    raw = _raw_tables()
    for table, width in raw.items():
        db.execute(f"CREATE TABLE raw_{table} ({', '.join(f'c{i} TEXT NOT NULL' for i in range(width))})")
    inserts = {t: f"INSERT INTO raw_{t} VALUES ({', '.join('?' * w)})" for t, w in raw.items()}
    pending: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    rest = b""
    ended = False
    while not ended and (chunk := stream.read1(_CHUNK)):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            if not line:  # the end (see FactFeed.finish)
                ended = True
                break
            subject, predicate, obj = line.split(b" ", 2)
            targets = routes.get(predicate)
            if targets is None:
                continue
            o = obj[:-2].decode()  # without " ."
            s = subject.decode()
            for table, must_be, extra, _value in targets:
                if must_be is not None and o != must_be:
                    continue
                rows = pending[table]
                rows.append((s, o) if extra is None else (s, extra, o))
                if len(rows) >= _BATCH:
                    db.executemany(inserts[table], rows)
                    rows.clear()
    if not ended or rest:
        raise ValueError("the N-Triples stream ended without its end line")
    for table, rows in pending.items():
        db.executemany(inserts[table], rows)


def _canonical(literals: list[str]) -> dict[str, str]:
    """Typed literal (N-Triples) -> the form a store gives it back in, where that differs."""
    store = Store()
    store.bulk_load("".join(f"<urn:x:{n}> <urn:x> {nt} .\n" for n, nt in enumerate(literals)).encode(),
                    format=RdfFormat.N_TRIPLES)
    out = {}
    for quad in store:
        before = literals[int(quad.subject.value[6:])]
        after = str(quad.object)
        if after != before:
            out[before] = after
    return out


def _value(nt: str) -> str:
    """The value of a term in N-Triples form: an IRI, or a literal's lexical form."""
    if nt.startswith("<"):
        return nt[1:-1]
    end = nt.rfind('"')
    if "\\" not in nt[:end]:
        return nt[1:end]
    return next(iter(parse(f"<urn:x> <urn:x> {nt} .\n", format=RdfFormat.N_TRIPLES))).object.value


def _finish(db: sqlite3.Connection, renamed: list[tuple[str, str]]) -> None:
    raw = _raw_tables()
    db.execute("CREATE TEMP TABLE renamed (old TEXT PRIMARY KEY, new TEXT NOT NULL) WITHOUT ROWID")
    db.executemany("INSERT OR REPLACE INTO temp.renamed VALUES (?, ?)", renamed)
    typed = set()
    for table, width in raw.items():
        column = f"c{width - 1}"
        typed.update(nt for (nt,) in db.execute(f"SELECT DISTINCT {column} FROM raw_{table} WHERE {column} LIKE '\"%^^<%'"))
    db.execute("CREATE TEMP TABLE canonical (old TEXT PRIMARY KEY, new TEXT NOT NULL) WITHOUT ROWID")
    db.executemany("INSERT INTO temp.canonical VALUES (?, ?)", _canonical(sorted(typed)).items())
    db.create_function("pkg_value", 1, _value, deterministic=True)
    for table, width in raw.items():
        if table == "typed":
            continue
        o = f"c{width - 1}"
        # the store's object: renamed (an IRI) or canonical (a typed literal), else as written
        term = f"coalesce(r.new, c.new, t.{o})"
        source = (f"raw_{table} AS t LEFT JOIN temp.renamed AS r ON r.old = t.{o} "
                  f"LEFT JOIN temp.canonical AS c ON c.old = t.{o}")
        columns, sources, indexes = TABLES[table]
        values = sources[0][3]
        db.execute(f"CREATE TABLE {table} ({', '.join(f'{c} TEXT NOT NULL' for c in columns)})")
        middle = "t.c1, " if width == 3 else ""
        db.execute(f"INSERT INTO {table} SELECT DISTINCT t.c0, {middle}"
                   f"{f'pkg_value({term})' if values else term} FROM {source}")
        db.execute(f"DROP TABLE raw_{table}")
        for n, index in enumerate(indexes):
            db.execute(f"CREATE INDEX {table}_{n} ON {table} ({', '.join(index)})")
    for table, kind in ENABLING_TABLES.items():
        indexes = TABLES[table][2]
        db.execute(f"CREATE TABLE {table} (s TEXT NOT NULL)")
        # types are never renamed nor typed literals: the raw rows will do (kind has an (s, o) index)
        db.execute(f"INSERT INTO {table} SELECT DISTINCT t.c0 FROM raw_typed AS t WHERE t.c1 = ? "
                   f"AND EXISTS (SELECT 1 FROM kind AS k WHERE k.s = t.c0 AND k.o = ?)", (f"<{PKG}{kind}>", _ENABLES))
        for n, index in enumerate(indexes):
            db.execute(f"CREATE INDEX {table}_{n} ON {table} ({', '.join(index)})")
    db.execute("DROP TABLE raw_typed")


def _main(path: str) -> None:
    db = sqlite3.connect(path)
    _scratch(db, "main")
    _collect(sys.stdin.buffer, db)
    db.commit()
    db.close()


if __name__ == "__main__":  # the helper process of FactFeed: DATABASE, the N-Triples on stdin
    _main(sys.argv[1])
