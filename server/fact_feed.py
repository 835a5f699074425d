"""The fact tables of a full build taken from the N-Triples it loads, not read back from the store.

Contract of :class:`FactFeed`: a helper process (a fresh interpreter running this module) is
handed, by :meth:`~FactFeed.write`, every N-Triples line a build loads into its store, in any
order and any number of times (``converter/pipeline.py`` writes each bulk-load batch, the
``pkg:backedBy`` lines and the VoID description). As the lines come, it keeps those whose
predicate a table of :data:`~.bulk_facts.TABLES` is made of, in the SQLite file *path*: typed
literals in the canonical form the store gives them back in (4.50 is stored as 4.5), one row
per distinct triple (the store is a set; each table's primary key is its index). Told by
:meth:`~FactFeed.finish` which ``pat_`` id IRIs the build rewrote (its ``_resolve_ids``), it
rewrites them as the store's were, and joins the ``enabling_*`` tables: the tables
:class:`~.bulk_facts.BulkFacts` would have read from the finished store, which it then opens
(``prepared=``) instead; :meth:`~FactFeed.wait` waits for that. With *answers*, the process goes on to write the part of the answers
sidecar that needs no store (:func:`~.precompute.start_answers`), while the build compacts its
store and writes the search index. ``tests/queries/test_fact_feed.py`` checks that the tables
equal the ones read from the store, and the answers the live queries.

Why: reading the facts back cost a 100k build 70-85 s, decoding every term from Oxigraph's
dictionary, though the build held every triple as N-Triples already; and the answers writer
was the build's memory peak. In a process of its own, the per-line loop does not take the
build process's GIL (which hands the parser processes' results to the loader), the answers are
written on the other core, and their memory is not added to the build process's.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from pyoxigraph import RdfFormat, Store

from patternkg.converter.namespaces import PKG

from .bulk_facts import ENABLING_TABLES, TABLES, _scratch, value_of

__all__ = ["FactFeed"]

_CHUNK = 8 * 1024 * 1024
_RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
_ENABLES = f"<{PKG}enables>"
_RENAMED = "<urn:patternkg:renamed>"  # lines "OLD _RENAMED NEW ." hand the rewritten ids over


def _routes() -> dict[bytes, list[tuple[str, str | None, str | None]]]:
    """Predicate (N-Triples bytes) -> (table, object it must be or None, extra column or None)."""
    routes: dict[bytes, list] = defaultdict(list)
    for table, (_columns, sources, _indexes) in TABLES.items():
        for source in sources:
            if isinstance(source, str):
                continue  # the enabling_* tables: joined in _finish()
            predicate, obj, extra, _value = source
            routes[f"<{predicate}>".encode()].append((table, None if obj is None else f"<{obj}>", extra))
    for kind in ENABLING_TABLES.values():
        routes[_RDF_TYPE.encode()].append(("typed", f"<{PKG}{kind}>", None))
    routes[_RENAMED.encode()].append(("renamed", None, None))
    return dict(routes)


def _kept_tables() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Table filled while collecting -> (columns, primary key). The key (the table's index, then
    its other columns) drops a repeated row as it comes. ``searchable`` keeps its objects in
    N-Triples form (``o``) until :func:`_finish`; ``typed`` (the classes of ``enabling_*``) and
    ``renamed`` (old, new) are the collector's own."""
    tables = {"typed": (("s", "o"), ("s", "o")), "renamed": (("s", "o"), ("s", "o"))}
    for table, (columns, sources, indexes) in TABLES.items():
        if any(isinstance(source, str) for source in sources):
            continue
        columns = tuple("o" if c == "value" else c for c in columns)
        first = tuple(indexes[0]) if indexes else ()
        tables[table] = (columns, first + tuple(c for c in columns if c not in first))
    return tables


class FactFeed:
    """A helper process collecting fact rows into the SQLite file *path* (created; removed by
    :meth:`abort`); with *answers*, it then also writes the answers sidecar's part that needs
    no store there (:func:`~.precompute.start_answers`, *path* used up). See the module docstring."""

    def __init__(self, path: Path, *, answers: Path | None = None) -> None:
        self.path = Path(path)
        self.answers = None if answers is None else Path(answers)
        self.path.unlink(missing_ok=True)
        extra = [] if answers is None else [str(self.answers.resolve())]
        # -P and the cwd: a folder named patternkg where the build was started must not shadow the package
        self.process = subprocess.Popen([sys.executable, "-P", "-m", __name__, str(self.path.resolve()), *extra],
                                        stdin=subprocess.PIPE, cwd=self.path.parent)

    def write(self, ntriples: bytes) -> None:
        """Hand whole N-Triples lines (``S P O .\\n``, as the build loads them) to the process."""
        try:
            self.process.stdin.write(ntriples)
        except BrokenPipeError:
            self._check()
            raise

    def finish(self, renamed: Iterable[tuple[str, str]] = ()) -> None:
        """After the last :meth:`write`: have the process make the tables (see the module
        docstring) with every object in *renamed* ((old IRI, new IRI) in N-Triples form)
        replaced, then the answers' part when asked; it goes on alone (see :meth:`wait`)."""
        self.write("".join(f"{old} {_RENAMED} {new} .\n" for old, new in renamed).encode())
        # An empty line ends the stream: processes forked meanwhile (the parser processes) hold
        # the pipe too, so the helper cannot wait for it to close.
        self.write(b"\n")
        self.process.stdin.close()

    def wait(self) -> Path:
        """Wait for the process (raises when it failed); the answers' path when asked, else the tables'."""
        self._check()
        return self.path if self.answers is None else self.answers

    def abort(self) -> None:
        """Stop the process and remove its files (after a failure; harmless after :meth:`wait`)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdin is not None and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        self.path.unlink(missing_ok=True)
        if self.answers is not None:
            self.answers.unlink(missing_ok=True)

    def _check(self) -> None:
        if self.process.wait() != 0:
            raise RuntimeError(f"collecting the answers' facts into {self.path} failed in a helper process "
                               f"(exit code {self.process.returncode})")


# -- the helper process ----------------------------------------------------------------------------

def _collect(stream, db: sqlite3.Connection) -> None:
    """Insert the routed rows of the N-Triples on *stream* into the tables of *db*, typed
    literals in the store's canonical form."""
    routes = _routes()
    tables = _kept_tables()
    for table, (columns, key) in tables.items():
        db.execute(f"CREATE TABLE {table} ({', '.join(f'{c} TEXT NOT NULL' for c in columns)}, "
                   f"PRIMARY KEY ({', '.join(key)})) WITHOUT ROWID")
    inserts = {t: f"INSERT OR IGNORE INTO {t} VALUES ({', '.join('?' * len(c))})" for t, (c, _k) in tables.items()}
    canonical: dict[str, str] = {}
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
            if o[0] == '"' and '"^^<' in o:
                o = canonical.get(o) or canonical.setdefault(o, _canonical(o))
            s = subject.decode()
            for table, must_be, extra in targets:
                if must_be is None or o == must_be:
                    pending[table].append((s, o) if extra is None else (s, extra, o))
        for table, rows in pending.items():  # a chunk at a time: memory stays flat
            db.executemany(inserts[table], rows)
        pending.clear()
    if not ended or rest:
        raise ValueError("the N-Triples stream ended without its end line")


def _canonical(literal: str) -> str:
    """A typed literal (N-Triples) in the form a store gives it back in (4.50 is stored as 4.5)."""
    store = Store()
    store.bulk_load(f"<urn:x> <urn:x> {literal} .\n".encode(), format=RdfFormat.N_TRIPLES)
    return str(next(iter(store)).object)


def _finish(db: sqlite3.Connection) -> None:
    """Rewrite the renamed objects (a row that then repeats another goes), give ``searchable``
    its values, join the ``enabling_*`` tables."""
    db.create_function("pkg_value", 1, value_of, deterministic=True)
    renamed = "SELECT s FROM renamed"
    if db.execute("SELECT 1 FROM renamed LIMIT 1").fetchone():
        for table in _kept_tables():
            if table not in ("typed", "renamed"):
                db.execute(f"UPDATE OR IGNORE {table} SET o = (SELECT r.o FROM renamed AS r WHERE r.s = {table}.o) "
                           f"WHERE o IN ({renamed})")
                db.execute(f"DELETE FROM {table} WHERE o IN ({renamed})")
    db.execute("DROP TABLE renamed")
    columns = TABLES["searchable"][0]
    db.execute("ALTER TABLE searchable RENAME TO searchable_terms")
    db.execute(f"CREATE TABLE searchable ({', '.join(f'{c} TEXT NOT NULL' for c in columns)})")
    db.execute("INSERT INTO searchable SELECT s, rank, pkg_value(o) FROM searchable_terms")
    db.execute("DROP TABLE searchable_terms")
    for table, kind in ENABLING_TABLES.items():
        db.execute(f"CREATE TABLE {table} (s TEXT NOT NULL PRIMARY KEY) WITHOUT ROWID")
        # types are never renamed (only pattern IRIs are)
        db.execute(f"INSERT INTO {table} SELECT t.s FROM typed AS t WHERE t.o = ? "
                   f"AND EXISTS (SELECT 1 FROM kind AS k WHERE k.s = t.s AND k.o = ?)", (f"<{PKG}{kind}>", _ENABLES))
    db.execute("DROP TABLE typed")


def _main(path: str, answers: str | None) -> None:
    db = sqlite3.connect(path)
    _scratch(db, "main")
    _collect(sys.stdin.buffer, db)
    _finish(db)
    db.commit()
    db.close()
    if answers is not None:
        from .precompute import start_answers

        start_answers(Path(path), Path(answers))


if __name__ == "__main__":  # the helper process of FactFeed: DATABASE [ANSWERS], the N-Triples on stdin
    _main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
