"""Store directories: where ``patternkg build --store DIR`` writes, and what a server opens.

Layout of a patternkg store directory (``DIR``)::

    DIR/patternkg-store.json      the marker: this directory is a patternkg store (metadata below)
    DIR/current -> generations/ID  the pointer: a relative symlink, replaced atomically (rename)
    DIR/generations/ID/            one immutable generation
        store/                     its Oxigraph store (``oxigraph query --location DIR/current/store``)
        generation.json            its metadata
        ...                        sidecar files (see :mod:`patternkg.converter.sidecars`)
    DIR/generations/.partial-PID-ID/   a generation being written by process PID
    DIR/leases/ID                 lock files: a server holds a shared flock on the one it serves
    DIR/.build.lock               a build holds an exclusive flock on it while it writes

Metadata (``generation.json``, copied to ``patternkg-store.json`` once the pointer
moved): ``format`` (``patternkg-store``), ``format_version``, ``generation``,
``patternkg_version``, ``base_iri``, ``source_digest`` (SHA-256 over the discovered
source files, path and content), ``built_at`` (UTC), ``triples``, ``files``, ``patterns``,
``errors``, ``warnings``, ``sidecars``, and ``build``: how it was made (``kind`` ``full``
or ``incremental``, the files ``read``; an incremental build also names the generation it
started ``from`` and counts the files ``changed`` and ``removed``; see
:mod:`patternkg.converter.incremental`). The generation's own file is authoritative;
the top-level copy is what people read.

Contracts:

- :func:`check_target` refuses (:class:`StoreRefused`, exit status 2) to write where
  it would touch foreign data: ``/``, the working directory, a source folder or one of
  its ancestors, a path that is not a directory, a non-empty directory without the
  marker (including an Oxigraph store written by other tools: it can be served, never
  overwritten). Nothing is ever deleted outside ``DIR/generations`` and ``DIR/leases``,
  and there only what patternkg wrote.
- :func:`write_generation` takes the build lock (:class:`StoreBusy` at once when another
  build holds it), removes stale partial generations whose process is gone (and
  reports them), fills a new store, runs the sidecar writers, writes the metadata, moves
  the generation into place and flips ``current`` with one ``rename``. A failure or a
  kill at any point leaves the previous generation served and intact.
- A generation is never changed once it is in ``generations/``. Old generations are
  removed by :func:`remove_unused_generations` (at the end of every build) only when
  no process holds a lease on them (:class:`Lease`, an ``flock`` that the kernel
  releases when the process dies, so a crashed server never pins a generation).
- :func:`open_generation` resolves ``DIR`` to what should be served: the current
  generation of a patternkg store, or a plain Oxigraph store written by other tools
  (served as the one generation ``external``). Anything else is :class:`NotAStore`.
- OS failures (read-only directory, a parent that is a file, ``/proc``) raise
  :class:`StoreWriteError` (exit status 1) with one line naming the path.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import gc
import hashlib
import json
import os
import secrets
import shutil
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pyoxigraph import Store

__all__ = [
    "FORMAT", "FORMAT_VERSION", "METADATA_FILE", "GENERATION_FILE", "EXTERNAL",
    "Generation", "Lease", "StoreDirError", "StoreRefused", "StoreBusy", "NotAStore", "StoreWriteError",
    "check_target", "current_id", "generation_ids", "is_oxigraph_store", "is_patternkg_store", "open_generation",
    "open_store", "read_metadata", "remove_unused_generations", "source_digest", "write_generation",
]

FORMAT = "patternkg-store"
FORMAT_VERSION = 1
METADATA_FILE = "patternkg-store.json"
GENERATION_FILE = "generation.json"
STORE_SUBDIR = "store"
CURRENT = "current"
GENERATIONS = "generations"
LEASES = "leases"
LOCK_FILE = ".build.lock"
PARTIAL_PREFIX = ".partial-"
#: The generation id of a plain Oxigraph store (written by other tools; it never changes under us).
EXTERNAL = "external"
_SYSTEM_TREES = (Path("/proc"), Path("/sys"), Path("/dev"))

T = TypeVar("T")


class StoreDirError(Exception):
    """A store directory problem, said in one line; ``exit_code`` is what the CLI exits with."""

    exit_code = 2


class StoreRefused(StoreDirError):
    """Writing there would touch data patternkg did not write."""


class StoreBusy(StoreDirError):
    """Another build holds the directory's build lock."""


class NotAStore(StoreDirError):
    """The directory holds neither a patternkg store nor an Oxigraph store."""


class StoreWriteError(StoreDirError):
    """The operating system refused a write (read-only, a parent that is a file, ...)."""

    exit_code = 1


@dataclass(frozen=True)
class Generation:
    """One servable state of a store directory."""

    id: str
    directory: Path
    """The generation's folder (its sidecars live here); for an external store, the store itself."""
    store_path: Path
    """The Oxigraph store to open."""
    metadata: dict[str, Any] = field(default_factory=dict)
    root: Path | None = None
    """The store directory it belongs to (None for an external store)."""

    @property
    def external(self) -> bool:
        return self.root is None


# -- reading -------------------------------------------------------------------------------------


def is_oxigraph_store(path: Path) -> bool:
    """Whether *path* looks like a RocksDB-backed Oxigraph store (``CURRENT`` and ``OPTIONS-*``)."""
    path = Path(path)
    return (path / "CURRENT").is_file() and any(path.glob("OPTIONS-*"))


def is_patternkg_store(path: Path) -> bool:
    """Whether *path* carries the patternkg store marker."""
    return read_metadata(path) is not None


def read_metadata(path: Path) -> dict[str, Any] | None:
    """The marker of the store directory *path* (None when it has none or it is not ours)."""
    try:
        data = json.loads((Path(path) / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def current_id(path: Path) -> str | None:
    """The id the ``current`` pointer of store directory *path* names (None when none)."""
    try:
        target = os.readlink(Path(path) / CURRENT)
    except OSError:
        return None
    return Path(target).name


def generation_ids(path: Path) -> list[str]:
    """The finished generations of *path*, oldest first (by metadata build time, then id)."""
    folder = Path(path) / GENERATIONS
    try:
        names = [p.name for p in folder.iterdir() if not p.name.startswith(".") and p.is_dir()]
    except OSError:
        return []
    return sorted(names)


def open_generation(path: os.PathLike | str) -> Generation:
    """What *path* serves now (see the module docstring); raises :class:`NotAStore`."""
    path = Path(path)
    if not path.is_dir():
        raise NotAStore(f"{path}: not a directory (expected a store written by `patternkg build --store`)")
    if read_metadata(path) is not None:
        ident = current_id(path)
        if ident is None:
            raise NotAStore(f"{path}: a patternkg store without a finished build (run `patternkg build --store`)")
        directory = path / GENERATIONS / ident
        try:
            metadata = json.loads((directory / GENERATION_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise NotAStore(f"{directory}: cannot read the generation's metadata ({exc})") from None
        return Generation(ident, directory, directory / STORE_SUBDIR, metadata, path)
    if is_oxigraph_store(path):
        return Generation(EXTERNAL, path, path, {})
    raise NotAStore(f"{path}: not a store (neither written by `patternkg build --store` nor an Oxigraph store)")


def open_store(path: os.PathLike | str) -> Store:
    """The current generation's store of *path*, read-only (see :func:`open_generation`)."""
    generation = open_generation(path)
    try:
        return Store.read_only(str(generation.store_path))
    except OSError as exc:
        raise NotAStore(f"{path}: cannot open the store: {exc}") from None


# -- refusals ------------------------------------------------------------------------------------


def check_target(path: os.PathLike | str, *, sources: Sequence[os.PathLike | str] = (),
                 cwd: os.PathLike | str | None = None) -> Path:
    """Refuse (:class:`StoreRefused`) a build target that holds or contains foreign data.

    Returns the absolute path. Does not create anything."""
    path = Path(path)
    resolved = path.resolve()
    here = Path(cwd or os.getcwd()).resolve()
    if resolved == Path(resolved.anchor):
        raise StoreRefused(f"{path}: refusing to build into the root directory")
    if resolved == here:
        raise StoreRefused(f"{path}: refusing to build into the working directory; name a folder of its own")
    for source in sources:
        src = Path(source).resolve()
        if src == resolved or src.is_relative_to(resolved):
            raise StoreRefused(f"{path}: refusing to build into a source folder or one of its ancestors ({source})")
    if any(resolved.is_relative_to(tree) for tree in _SYSTEM_TREES):
        raise StoreWriteError(f"{path}: cannot write a store under {resolved.parts[0]}{resolved.parts[1]}")
    if path.is_symlink() and not path.is_dir():
        raise StoreRefused(f"{path}: is a symbolic link to something that is not a directory")
    if path.exists() and not path.is_dir():
        raise StoreRefused(f"{path}: exists and is not a directory; refusing to replace it")
    _check_contents(path)
    return resolved


def _check_contents(path: Path) -> None:
    try:
        entries = {p.name for p in path.iterdir()} if path.is_dir() else set()
    except OSError as exc:
        raise StoreWriteError(f"{path}: cannot read the directory: {exc.strerror or exc}") from None
    if not entries or entries <= {LOCK_FILE} or read_metadata(path) is not None:
        return
    if is_oxigraph_store(path):
        raise StoreRefused(f"{path}: an Oxigraph store not written by patternkg; it can be served "
                           "(`patternkg serve --store`) but is never overwritten; build elsewhere")
    raise StoreRefused(f"{path}: not empty and not a patternkg store; refusing to write into it "
                       "(patternkg never deletes files it did not write)")


# -- writing -------------------------------------------------------------------------------------


@contextlib.contextmanager
def _os_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        where = exc.filename or path
        if exc.filename is not None and not os.path.abspath(exc.filename).startswith(os.path.abspath(path) + os.sep):
            # a file the build reads or writes elsewhere (a source, a package file): not the store
            raise StoreWriteError(f"{where}: {exc.strerror or exc} (while building the store {path})") from None
        raise StoreWriteError(f"{where}: cannot write the store: {exc.strerror or exc}") from None


@contextlib.contextmanager
def build_lock(path: Path) -> Iterator[None]:
    """Hold the build lock of store directory *path*; :class:`StoreBusy` at once if taken."""
    with _os_errors(path):
        fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise StoreBusy(f"{path}: another build is writing this store (process {holder}); "
                            "try again when it has finished") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_partials(path: Path) -> list[Path]:
    """Remove partial generations of *path* whose writing process is gone; returns them."""
    removed = []
    folder = path / GENERATIONS
    for partial in sorted(folder.glob(PARTIAL_PREFIX + "*")) if folder.is_dir() else ():
        pid = partial.name[len(PARTIAL_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid))):
            shutil.rmtree(partial, ignore_errors=True)
            removed.append(partial)
    return removed


def new_generation_id() -> str:
    """Sortable by time, unique: ``20261201T050102.123Z-1a2b3c``."""
    now = time.time()
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z-{secrets.token_hex(3)}"


def source_digest(files: Iterable[tuple[str, Path]]) -> str:
    """SHA-256 over (name, content) of each source file, in the given order."""
    digest = hashlib.sha256()
    for name, path in files:
        digest.update(name.encode() + b"\0")
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as stream:
        json.dump(data, stream, indent=2, ensure_ascii=False)
        stream.write("\n")
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


Writer = Callable[[Store, Path, Any], None]


def write_generation(
    directory: os.PathLike | str,
    fill: Callable[[Store], T],
    *,
    metadata: Callable[[T], dict[str, Any]] | None = None,
    sidecars: Sequence[tuple[str, Writer]] = (),
    report: Callable[[T], Any] | None = None,
    sources: Sequence[os.PathLike | str] = (),
    from_current: bool = False,
    notify: Callable[[str], None] | None = None,
) -> T:
    """Write a new generation of store directory *directory* and make it current.

    *fill* gets the new, empty store (or, with *from_current*, a copy of the current
    generation's store made with ``Store.backup``) and returns a result. Then each
    sidecar ``(name, fn)`` runs as ``fn(store, generation_dir, report(result))``, the
    metadata (``metadata(result)`` merged over the defaults) is written, the generation
    is moved into ``generations/`` and ``current`` flipped. Unused old generations are
    then removed. *notify* gets one line per stale partial removed. See the module
    docstring for the refusals and errors."""
    target = Path(directory)
    check_target(target, sources=sources)
    with _os_errors(target):
        target.mkdir(parents=True, exist_ok=True)
    with build_lock(target):
        _check_contents(target)  # another build may have written here meanwhile: still ours?
        with _os_errors(target):
            if read_metadata(target) is None:
                _write_json(target / METADATA_FILE, {"format": FORMAT, "format_version": FORMAT_VERSION})
            (target / GENERATIONS).mkdir(exist_ok=True)
            (target / LEASES).mkdir(exist_ok=True)
        for partial in remove_stale_partials(target):
            if notify is not None:
                notify(f"removed {partial}, left by a build that was interrupted")
        ident = new_generation_id()
        partial = target / GENERATIONS / f"{PARTIAL_PREFIX}{os.getpid()}-{ident}"
        result = _fill_generation(target, partial, fill, from_current=from_current)
        try:
            with _os_errors(target):
                _finish(target, partial, ident, result, metadata=metadata, sidecars=sidecars, report=report)
        except BaseException as exc:
            traceback.clear_frames(exc.__traceback__)  # a writer's frame may still hold the store
            gc.collect()
            shutil.rmtree(partial, ignore_errors=True)
            raise
        remove_unused_generations(target, locked=True)
    return result


def _fill_generation(target: Path, partial: Path, fill: Callable[[Store], T], *,
                     from_current: bool) -> T:
    """Fill a new store in *partial* and close it; returns *fill*'s result."""
    store_path = partial / STORE_SUBDIR
    with _os_errors(partial):
        partial.mkdir()
        if from_current and current_id(target) is not None:
            previous = Store.read_only(str(open_generation(target).store_path))
            previous.backup(str(store_path))
            del previous
            gc.collect()
        store = Store(str(store_path))
    try:
        result = fill(store)
        store.flush()
    except BaseException as exc:
        # Frames in the traceback still reference the store; clear them so RocksDB
        # closes before its directory is removed.
        traceback.clear_frames(exc.__traceback__)
        del store
        gc.collect()  # RocksDB closes when the last reference goes
        shutil.rmtree(partial, ignore_errors=True)
        raise
    # Closed here (RocksDB closes with the last reference): its write buffers and the caches
    # of the load and the compaction, and the build's freed heap, are given back before the
    # sidecar writers run.
    del store
    gc.collect()
    _release_free_memory()
    return result


def _release_free_memory() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``; elsewhere nothing)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):
        pass


def _finish(target: Path, partial: Path, ident: str, result: Any, *, metadata, sidecars, report) -> None:
    """Sidecars, metadata, then the generation moves into place and ``current`` flips."""
    # the writers get the finished store read-only: they must not change it
    store = Store.read_only(str(partial / STORE_SUBDIR))
    try:
        for _name, writer in sidecars:
            writer(store, partial, report(result) if report else result)
    finally:
        del store
        gc.collect()
    from patternkg import __version__

    data: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "generation": ident,
        "patternkg_version": __version__,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "sidecars": [name for name, _ in sidecars],
    }
    data.update(metadata(result) if metadata else {})
    _write_json(partial / GENERATION_FILE, data)
    _fsync_dir(partial)
    final = target / GENERATIONS / ident
    os.rename(partial, final)
    _fsync_dir(target / GENERATIONS)
    link = target / f".{CURRENT}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    os.symlink(f"{GENERATIONS}/{ident}", link)
    os.replace(link, target / CURRENT)  # the flip: one rename
    _fsync_dir(target)
    _write_json(target / METADATA_FILE, data)


# -- leases and clean-up --------------------------------------------------------------------------


class Lease:
    """A shared flock on ``DIR/leases/ID``: while held, no build removes generation ID.

    :meth:`acquire` returns False when the generation is gone by the time the lease is
    held (a build removed it just before): re-read the pointer then. A store directory
    the process cannot write to gets no lease file (nothing could remove generations
    there either); the lease then holds nothing."""

    def __init__(self, root: Path, ident: str) -> None:
        self.root = Path(root)
        self.ident = ident
        self.fd: int | None = None

    def acquire(self) -> bool:
        try:
            self.fd = os.open(self.root / LEASES / self.ident, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            self.fd = None
            return (self.root / GENERATIONS / self.ident).is_dir()
        fcntl.flock(self.fd, fcntl.LOCK_SH)
        if not (self.root / GENERATIONS / self.ident).is_dir():
            self.release()
            return False
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def remove_unused_generations(directory: os.PathLike | str, *, locked: bool = False) -> list[str]:
    """Remove the generations of *directory* that are not current and that nothing serves.

    Takes the build lock unless *locked* (the caller holds it); when another build holds
    it, removes nothing (that build cleans up when it ends). Returns the removed ids."""
    target = Path(directory)
    if not locked:
        try:
            with build_lock(target):
                return remove_unused_generations(target, locked=True)
        except StoreDirError:
            return []
    keep = current_id(target)
    removed = []
    for ident in generation_ids(target):
        if ident == keep:
            continue
        try:
            fd = os.open(target / LEASES / ident, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # served
            shutil.rmtree(target / GENERATIONS / ident, ignore_errors=True)
            with contextlib.suppress(OSError):
                os.unlink(target / LEASES / ident)
            removed.append(ident)
        finally:
            os.close(fd)
    return removed

