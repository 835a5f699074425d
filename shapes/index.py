"""The cross-pattern index a validation keeps on disk, and what it holds per file.

Contract: an index directory (``patternkg validate --index DIR``) holds everything the
library-wide checks need, so a later ``--only FILE`` check converts only the changed
files (:mod:`~patternkg.shapes.changed`):

- ``meta.json``: the format, base IRI, shapes digest, source folders, size limit, and
  ``dirty`` (true while an update is in progress: such an index is never reused);
- ``files.sqlite``: one row per file in discovery order: its path, size, mtime and SHA-1,
  slug, id, the ``pat_`` ids it links to, its reduced location table
  (:meth:`~patternkg.shapes.locating.FileLocs.reduce`), its shared-node descriptions with
  their locations, and the results on shared nodes reported at it;
- ``index.oxigraph``: the triples the library-scope constraints read (ids resolved).

An index is written beside its target and renamed into place when complete. A directory
that is not a patternkg index is never replaced (:class:`NotAnIndexError`).
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import shutil
import sqlite3
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

FORMAT = 1
KIND = "patternkg-validate-index"
META, FILES, STORE = "meta.json", "files.sqlite", "index.oxigraph"
_SCHEMA = """CREATE TABLE IF NOT EXISTS files (
    ord INTEGER NOT NULL, display TEXT PRIMARY KEY, path TEXT, mtime_ns INTEGER, size INTEGER, digest TEXT,
    slug TEXT, ident TEXT, id_targets TEXT, locator BLOB, shared BLOB, shared_results BLOB)"""
_COLUMNS = ("ord", "display", "path", "mtime_ns", "size", "digest", "slug", "ident", "id_targets", "locator",
            "shared", "shared_results")


class NotAnIndexError(ValueError):
    """The index path exists and is not a patternkg validation index."""


def file_stamp(path: os.PathLike | str) -> tuple[int, int, str]:
    """(mtime_ns, size, SHA-1 of the bytes) of a file; (0, -1, "") when it cannot be read."""
    try:
        data = Path(path).read_bytes()
        st = os.stat(path)
    except OSError:
        return 0, -1, ""
    return st.st_mtime_ns, st.st_size, hashlib.sha1(data).hexdigest()


def shapes_digest(shapes_file: os.PathLike | str | None) -> str:
    from patternkg.shapes.shapes_graph import shapes_path

    return hashlib.sha1(Path(shapes_file or shapes_path()).read_bytes()).hexdigest()


def source_key(sources: Sequence[os.PathLike | str]) -> list[str]:
    return [str(Path(s).resolve()) for s in sources]


def pack(value) -> bytes:
    return zlib.compress(marshal.dumps(value), 1)


def unpack(blob: bytes | None):
    return marshal.loads(zlib.decompress(blob)) if blob else None


def read_meta(directory: Path) -> dict | None:
    try:
        meta = json.loads((directory / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("kind") == KIND else None


def check_target(directory: Path) -> None:
    """Refuse to replace a path that exists and is not an index this module wrote."""
    if directory.exists() and (not directory.is_dir() or (any(directory.iterdir()) and read_meta(directory) is None)):
        raise NotAnIndexError(f"{directory}: exists and is not a patternkg validation index; choose another --index path")


def write_meta(directory: Path, meta: dict) -> None:
    tmp = directory / (META + ".tmp")
    tmp.write_text(json.dumps({"kind": KIND, "format": FORMAT, **meta}, indent=1), encoding="utf-8")
    os.replace(tmp, directory / META)


def partial_dir(target: Path) -> Path:
    path = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def swap_in(partial: Path, target: Path) -> None:
    """Move a complete index into place (the old one, if any, is removed after the rename)."""
    check_target(target)
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        os.rename(target, old)
    os.rename(partial, target)
    shutil.rmtree(old, ignore_errors=True)


class Rows:
    """The per-file table (SQLite)."""

    def __init__(self, path: Path, *, fresh: bool = False):
        self.db = sqlite3.connect(str(path), isolation_level=None)
        if fresh:
            self.db.execute("PRAGMA journal_mode=OFF")
            self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute(_SCHEMA)
        self.pending: list[tuple] = []

    def add(self, row: tuple) -> None:
        self.pending.append(row)
        if len(self.pending) >= 2000:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.db.execute("BEGIN")
            self.db.executemany(f"INSERT OR REPLACE INTO files VALUES ({', '.join('?' * len(_COLUMNS))})",
                                self.pending)
            self.db.execute("COMMIT")
            self.pending = []

    def locator(self, display: str) -> bytes:
        self.flush()
        row = self.db.execute("SELECT locator FROM files WHERE display = ?", (display,)).fetchone()
        return row[0] if row else b""

    def set_shared_results(self, by_file: dict[str, bytes]) -> None:
        self.db.execute("BEGIN")
        self.db.execute("UPDATE files SET shared_results = NULL WHERE shared_results IS NOT NULL")
        self.db.executemany("UPDATE files SET shared_results = ? WHERE display = ?",
                            [(blob, file) for file, blob in by_file.items()])
        self.db.execute("COMMIT")

    def get(self, displays: Iterable[str], columns: str) -> dict[str, tuple]:
        self.flush()
        out = {}
        for display in displays:
            row = self.db.execute(f"SELECT {columns} FROM files WHERE display = ?", (display,)).fetchone()
            if row is not None:
                out[display] = row
        return out

    def close(self) -> None:
        self.flush()
        self.db.close()


__all__ = ["FILES", "FORMAT", "NotAnIndexError", "META", "Rows", "STORE", "check_target", "file_stamp", "pack",
           "partial_dir", "read_meta", "shapes_digest", "source_key", "swap_in", "unpack", "write_meta"]
