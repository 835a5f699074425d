"""The file index of a store generation: ``files.sqlite``, what an incremental build starts from.

Every build writes it into the generation (beside ``store/`` and the other sidecars). One
row per discovered file, in discovery order (``pos``): its size and mtime (ns) as stat gave
them before it was read, the SHA-256 of its content, what the cross-file steps of a build
need from it (slug, ``id``, dialect, whether its ``pkg:backedBy`` needs the whole library,
the lines of the slug and id, its diagnostics as JSON) and the shared lines it produced
(descriptions of domains, communities, entities and agents: every one, in file order, as
ids into ``line``). ``target`` lists the curated relationship targets of each file (for the
unresolved-targets report) and ``idref`` the targets it wrote as ``pat_`` ids (the files to
revisit when the pattern an id names changes). ``unresolved`` is that report (each target that
names no pattern by slug or id, with the sorted slugs of the patterns naming it, as JSON), kept
so that an incremental build works it out again only for the targets a change can alter
(:meth:`FileIndex.update_unresolved`; 1.6 s for the whole of it at 100,000 patterns).
``meta`` holds ``settings`` (what forces a full build when it differs: see
:mod:`.incremental`) and ``data_triples`` (the store's triples without the VoID description).

The index never describes a file's own triples: those are the triples whose subject is
the pattern's IRI or one of its ``#`` nodes, and the store itself holds them.
"""

from __future__ import annotations

import json
import sqlite3
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from patternkg.converter.diagnostics import Diagnostic

__all__ = ["INDEX_FILE", "FORMAT_VERSION", "FileRecord", "FileIndex", "IndexWriter", "read_records", "shared_ids"]

INDEX_FILE = "files.sqlite"
FORMAT_VERSION = 2

_SCHEMA = """
PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE file (relpath TEXT PRIMARY KEY, pos INTEGER NOT NULL, display TEXT NOT NULL,
                   size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, digest BLOB NOT NULL,
                   slug TEXT, ident TEXT, dialect TEXT, recheck INTEGER NOT NULL,
                   slug_line INTEGER, id_line INTEGER, diagnostics TEXT, shared BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE line (id INTEGER PRIMARY KEY, node TEXT NOT NULL, text BLOB NOT NULL UNIQUE);
CREATE TABLE target (relpath TEXT NOT NULL, token TEXT NOT NULL);
CREATE TABLE idref (relpath TEXT NOT NULL, token TEXT NOT NULL);
CREATE TABLE unresolved (token TEXT PRIMARY KEY, slugs TEXT NOT NULL) WITHOUT ROWID;
"""
_INDEXES = """
CREATE INDEX line_node ON line (node);
CREATE INDEX target_token ON target (token);
CREATE INDEX target_file ON target (relpath);
CREATE INDEX idref_token ON idref (token);
CREATE INDEX idref_file ON idref (relpath);
CREATE INDEX file_slug ON file (slug);
CREATE INDEX file_ident ON file (ident);
"""
_BATCH = 5000


@dataclass
class FileRecord:
    """What the index keeps of one file (see the module docstring)."""

    relpath: str
    pos: int
    display: str
    size: int
    mtime_ns: int
    digest: bytes
    slug: str | None
    ident: str | None
    dialect: str | None
    recheck: bool
    lines: tuple[int | None, int | None]
    diagnostics: str | None  # JSON list of Diagnostic fields; None when there are none
    shared: bytes  # array('i') of line ids

    def diagnostic_list(self) -> list[Diagnostic]:
        return [Diagnostic(**d) for d in json.loads(self.diagnostics)] if self.diagnostics else []

    def row(self) -> tuple:
        return (self.relpath, self.pos, self.display, self.size, self.mtime_ns, self.digest, self.slug, self.ident,
                self.dialect, int(self.recheck), self.lines[0], self.lines[1], self.diagnostics, self.shared)


def diagnostics_json(diagnostics: Iterable[Diagnostic]) -> str | None:
    items = [asdict(d) for d in diagnostics]
    return json.dumps(items, ensure_ascii=False, separators=(",", ":")) if items else None


def shared_ids(blob: bytes) -> array:
    ids = array("i")
    ids.frombytes(blob)
    return ids


def _node(line: bytes) -> str:
    return line.split(b" ", 1)[0].decode()


class _Lines:
    """Interns shared lines: line text -> id (``line`` table)."""

    def __init__(self, db: sqlite3.Connection, *, known: bool) -> None:
        self.db = db
        self.ids: dict[bytes, int] = {}
        self.known = known  # lines may already be in the table (an index being updated)
        self.next = (db.execute("SELECT COALESCE(MAX(id), 0) FROM line").fetchone()[0] + 1) if known else 1
        self.pending: list[tuple[int, str, bytes]] = []

    def ids_of(self, shared: bytes) -> bytes:
        out = array("i")
        for line in shared.splitlines(keepends=True):
            ident = self.ids.get(line)
            if ident is None and self.known:
                row = self.db.execute("SELECT id FROM line WHERE text = ?", (line,)).fetchone()
                ident = row[0] if row else None
            if ident is None:
                ident = self.next
                self.next += 1
                self.pending.append((ident, _node(line), line))
            self.ids[line] = ident
            out.append(ident)
        if len(self.pending) >= _BATCH:
            self.flush()
        return out.tobytes()

    def flush(self) -> None:
        self.db.executemany("INSERT INTO line VALUES (?, ?, ?)", self.pending)
        self.pending = []


class IndexWriter:
    """Writes a new index at *path*, fed one file at a time in discovery order."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.unlink(missing_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.executescript(_SCHEMA)
        self.lines = _Lines(self.db, known=False)
        self.files: list[tuple] = []
        self.targets: list[tuple[str, str]] = []
        self.idrefs: list[tuple[str, str]] = []
        self.pos = 0

    def add(self, relpath: str, display: str, result: Any) -> FileRecord:
        """Record *result* (a recorded :class:`~.pipeline.FileResult`) of file *relpath*."""
        record = FileRecord(relpath, self.pos, display, result.stat[0], result.stat[1], result.digest, result.slug,
                            result.ident if result.slug is not None else None, result.dialect,
                            bool(result.recheck_backing), result.lines, diagnostics_json(result.diagnostics),
                            self.lines.ids_of(result.shared))
        self.pos += 1
        self.files.append(record.row())
        if result.slug is not None:
            self.targets.extend((relpath, token) for _kind, token in result.targets)
            self.idrefs.extend((relpath, token) for token in sorted(result.id_targets))
        if len(self.files) >= _BATCH:
            self.flush()
        return record

    def flush(self) -> None:
        self.lines.flush()
        self.db.executemany(f"INSERT INTO file VALUES ({', '.join('?' * 14)})", self.files)
        self.db.executemany("INSERT INTO target VALUES (?, ?)", self.targets)
        self.db.executemany("INSERT INTO idref VALUES (?, ?)", self.idrefs)
        self.files, self.targets, self.idrefs = [], [], []

    def finish(self, meta: dict[str, Any], *, unresolved: dict[str, list[str]]) -> None:
        """Write *meta* and the build's *unresolved* report (its ``unresolved_targets``) and close."""
        self.flush()
        self.db.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
        _record_unresolved(self.db, unresolved)
        self.db.executescript(_INDEXES)
        self.db.commit()
        self.db.close()

    def abandon(self) -> None:
        self.db.close()
        self.path.unlink(missing_ok=True)


def _record_unresolved(db: sqlite3.Connection, unresolved: dict[str, list[str]]) -> None:
    db.executemany("INSERT INTO unresolved VALUES (?, ?)",
                   [(token, json.dumps(slugs, ensure_ascii=False)) for token, slugs in unresolved.items()])


def read_records(path: Path) -> list[FileRecord]:
    """Every file record of the index at *path*, in discovery order."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [FileRecord(*row[:9], bool(row[9]), (row[10], row[11]), row[12], row[13])
                for row in db.execute("SELECT * FROM file ORDER BY pos")]
    finally:
        db.close()


class FileIndex:
    """An index being updated: a copy of a generation's ``files.sqlite``, made at *path*."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.lines = _Lines(self.db, known=True)

    def meta(self) -> dict[str, Any]:
        return {name: json.loads(value) for name, value in self.db.execute("SELECT name, value FROM meta")}

    def _each_in(self, query: str, values: Iterable[Any]) -> Iterator[tuple]:
        """The rows of *query* for the distinct *values*, bound 500 at a time to its ``{marks}``."""
        values = sorted(set(values))
        for start in range(0, len(values), 500):
            chunk = values[start:start + 500]
            yield from self.db.execute(query.format(marks=", ".join("?" * len(chunk))), chunk)

    def nodes_of(self, ids: Iterable[int]) -> set[str]:
        """The nodes (N-Triples subjects) the shared lines *ids* describe."""
        return {n for (n,) in self._each_in("SELECT DISTINCT node FROM line WHERE id IN ({marks})", ids)}

    def line_texts(self, nodes: Iterable[str]) -> dict[int, bytes]:
        """Every known shared line about *nodes*: id -> text."""
        return dict(self._each_in("SELECT id, text FROM line WHERE node IN ({marks})", nodes))

    def referring(self, tokens: Iterable[str]) -> set[str]:
        """Files (relpath) whose targets name one of *tokens* as a ``pat_`` id."""
        return {r for (r,) in self._each_in("SELECT DISTINCT relpath FROM idref WHERE token IN ({marks})", tokens)}

    def remove(self, relpaths: Iterable[str]) -> None:
        rows = [(r,) for r in relpaths]
        for table in ("file", "target", "idref"):
            self.db.executemany(f"DELETE FROM {table} WHERE relpath = ?", rows)

    def add(self, relpath: str, display: str, pos: int, result: Any) -> FileRecord:
        record = FileRecord(relpath, pos, display, result.stat[0], result.stat[1], result.digest, result.slug,
                            result.ident if result.slug is not None else None, result.dialect,
                            bool(result.recheck_backing), result.lines, diagnostics_json(result.diagnostics),
                            self.lines.ids_of(result.shared))
        self.lines.flush()
        self.db.execute(f"INSERT INTO file VALUES ({', '.join('?' * 14)})", record.row())
        if result.slug is not None:
            self.db.executemany("INSERT INTO target VALUES (?, ?)", [(relpath, t) for _k, t in result.targets])
            self.db.executemany("INSERT INTO idref VALUES (?, ?)", [(relpath, t) for t in sorted(result.id_targets)])
        return record

    def update(self, changes: Iterable[tuple[int, int, int, str]]) -> None:
        """Set (pos, size, mtime_ns) of files, given as (pos, size, mtime_ns, relpath)."""
        self.db.executemany("UPDATE file SET pos = ?, size = ?, mtime_ns = ? WHERE relpath = ?", list(changes))

    def targets_of(self, relpaths: Iterable[str]) -> set[str]:
        """The targets the files *relpaths* name, as recorded."""
        return {t for (t,) in self._each_in("SELECT token FROM target WHERE relpath IN ({marks})", relpaths)}

    def unresolved(self, tokens: Iterable[str]) -> dict[str, list[str]]:
        """Target token -> sorted slugs of the patterns naming it, for those of *tokens* that
        name no pattern by slug or by id (as :func:`~.pipeline.load_library` reports them),
        worked out from the files recorded now."""
        found: dict[str, set[str]] = {}
        for token, slug in self._each_in("""
                SELECT t.token, f.slug FROM target t JOIN file f ON f.relpath = t.relpath
                WHERE t.token IN ({marks})
                  AND NOT EXISTS (SELECT 1 FROM file g WHERE g.slug = t.token)
                  AND NOT EXISTS (SELECT 1 FROM file g WHERE g.ident = t.token)""", tokens):
            found.setdefault(token, set()).add(slug)
        return {token: sorted(slugs) for token, slugs in found.items()}

    def update_unresolved(self, tokens: Iterable[str]) -> dict[str, list[str]]:
        """The recorded ``unresolved`` report worked out again for *tokens* (which must hold every
        token whose answer the files changed since it was recorded can alter: the targets those
        files name and their slugs and ids, before and after), and all of it returned, as
        :meth:`unresolved` would return it, by token."""
        tokens = sorted(set(tokens))
        fresh = self.unresolved(tokens)
        self.db.executemany("DELETE FROM unresolved WHERE token = ?", [(t,) for t in tokens])
        _record_unresolved(self.db, fresh)
        return {token: json.loads(slugs) for token, slugs in
                self.db.execute("SELECT token, slugs FROM unresolved ORDER BY token")}

    def finish(self, meta: dict[str, Any]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
        self.db.commit()
        self.db.close()

    def abandon(self) -> None:
        self.db.close()
        self.path.unlink(missing_ok=True)
