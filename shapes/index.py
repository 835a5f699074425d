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
# what a check of changed files reads for every file, apart from the blobs (a covering index:
# reading it does not read the rows' location tables)
_STAMPS = ("CREATE INDEX IF NOT EXISTS files_stamps ON files (ord, display, mtime_ns, size, digest, slug, ident, "
           "id_targets)")
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


def matching(displays: Iterable[str], only: Iterable[os.PathLike | str]) -> set[str]:
    """The *displays* (file paths) that are one of the *only* files: the same real path.

    Equal to ``{d for d in displays if Path(d).resolve() in {Path(p).resolve() for p in only}}``,
    but only the displays whose file name is that of an *only* file (as given or resolved)
    are resolved; when that finds no display for some *only* file, every display is
    (a symlink of another name), so the answer is always the same.
    """
    wanted = {os.path.realpath(p) for p in only}
    if not wanted:
        return set()
    names = {os.path.basename(os.fspath(p)) for p in only} | {os.path.basename(w) for w in wanted}
    displays = list(displays)
    found = {d: os.path.realpath(d) for d in displays if d[d.rfind("/") + 1:] in names}  # basename
    out = {d for d, real in found.items() if real in wanted}
    if {found[d] for d in out} != wanted:
        out = {d for d in displays if (found.get(d) or os.path.realpath(d)) in wanted}
    return out


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


def seed(source: Path, target: Path, *, displays: dict[str, tuple[str, str]], sources: list[str]) -> bool:
    """Start the index *target* as a copy of the clean index *source* of another copy of the
    same library (``--since``: the base tree's index from the working tree's); returns
    whether it did (not when *target* exists or *source* is not a clean index).

    *displays* maps a file of *source* to (its display, its path) in the other copy;
    *sources* is the other copy's :func:`source_key`. Every stamp is cleared, so the first
    check of *target* compares each file's SHA-1 (a file that differs is converted again,
    one the other copy lacks is removed, as after any edit) and then keeps the new stamps.
    """
    kept = read_meta(source)
    if kept is None or kept.get("format") != FORMAT or kept.get("dirty") or kept.get("shared_cross") \
            or target.exists():
        return False
    work = partial_dir(target)
    try:
        shutil.copy2(source / FILES, work / FILES)
        shutil.copytree(source / STORE, work / STORE)
        db = sqlite3.connect(str(work / FILES), isolation_level=None)
        try:
            db.execute("BEGIN")
            moved = [(new, path, old) for old, (new, path) in displays.items()]
            db.execute("UPDATE files SET mtime_ns = 0, size = -1")
            db.executemany("UPDATE files SET display = ?, path = ? WHERE display = ?", moved)
            rename = {old: new for old, (new, _path) in displays.items()}
            for display, blob in db.execute("SELECT display, shared_results FROM files "
                                            "WHERE shared_results IS NOT NULL").fetchall():
                items = [(*item[:1], rename.get(item[1], item[1]), *item[2:11], [rename.get(f, f) for f in item[11]])
                         for item in unpack(blob)]
                db.execute("UPDATE files SET shared_results = ? WHERE display = ?", (pack(items), display))
            db.execute("COMMIT")
        finally:
            db.close()
        write_meta(work, {**{k: v for k, v in kept.items() if k not in ("kind", "format")}, "sources": sources,
                          "dirty": False})
        swap_in(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return True


class Rows:
    """The per-file table (SQLite)."""

    def __init__(self, path: Path, *, fresh: bool = False):
        self.db = sqlite3.connect(str(path), isolation_level=None)
        if fresh:
            self.db.execute("PRAGMA journal_mode=OFF")
            self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute(_SCHEMA)
        self.db.execute(_STAMPS)  # made once for an index written without it
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
        self.flush()  # rows still pending would be written later without their results
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


__all__ = ["FILES", "FORMAT", "NotAnIndexError", "META", "Rows", "STORE", "check_target", "file_stamp", "matching", "pack",
           "partial_dir", "read_meta", "seed", "shapes_digest", "source_key", "swap_in", "unpack", "write_meta"]
