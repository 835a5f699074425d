"""Converting a whole library into a pyoxigraph store.

Contract of :func:`load_library`: every discovered file is read and mapped (in
worker processes when there are enough files), its triples bulk-loaded into the
given store in bounded batches (memory stays flat whatever the library size),
relationship targets written as ``pat_`` ids are rewritten to the slug IRI of the
pattern with that id, ``pkg:backedBy`` is settled for the patterns whose files could
not tell (:func:`derive_backing`), and a VoID/DCAT description of the dataset is added; with
``compact=True`` (on-disk stores that will be queried) the store is then compacted. A file
that fails is reported and skipped; the others still convert. The returned
:class:`~.diagnostics.BuildReport` lists everything. :func:`write_store` writes a
fill as a new immutable generation of a store directory (:mod:`.storedir`), made
current by one atomic rename, so a failed or interrupted build never leaves a
half-written store where a good one was.
"""

from __future__ import annotations

import gc
import hashlib
import os
import queue
import shutil
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from multiprocessing import get_context
from pathlib import Path
from typing import Protocol, TypeVar

from pyoxigraph import NamedNode, RdfFormat, Store

from patternkg.converter.diagnostics import BuildReport, Diagnostic
from patternkg.converter.mapper import Mapper
from patternkg.converter.namespaces import PKG, Library
from patternkg.converter.reader import DEFAULT_MAX_FILE_SIZE, ReadError, read_document
from patternkg.converter.void import describe_dataset

BATCH_BYTES = 16 * 1024 * 1024
LOAD_BYTES = 64 * 1024 * 1024  # read per bulk load (see _StoreLoader)
# For the last files (a fifth, at most TAIL_FILES) batches shrink: the last batch is
# loaded after the workers have finished, with cores idle, so it should be small; but
# every bulk load costs some fixed work, so only a bounded number of them are small.
TAIL_FILES = 200
TAIL_BATCH_BYTES = 2 * 1024 * 1024
PARALLEL_THRESHOLD = 64  # fewer files than this are converted in-process


@dataclass(frozen=True)
class SourceFile:
    display: str  # the file's path as the user gave it (how diagnostics name it)
    relpath: str  # how the graph names it (relative to its source folder; stable across machines)

    @cached_property
    def path(self) -> Path:
        """``Path(display)``, made when first asked for (a library lists 100,000 of these)."""
        return Path(self.display)


@dataclass
class FileResult:
    display: str
    ntriples: bytes = b""
    triples: int = 0
    diagnostics: list[Diagnostic] = field(default_factory=list)
    slug: str | None = None
    ident: str | None = None
    dialect: str | None = None
    targets: list[tuple[str, str]] = field(default_factory=list)
    locations: dict | None = None
    id_targets: set[str] = field(default_factory=set)
    lines: tuple[int | None, int | None] = (None, None)  # of slug and id
    shared: bytes = b""  # N-Triples describing nodes many patterns name; see SharedDescriptions
    recheck_backing: bool = False  # see Mapped.recheck_backing
    #: with recording on (see :func:`convert_files`): SHA-256 of the content, and the size and
    #: mtime (ns) stat gave before it was read; ``shared`` is then every shared line of the file
    digest: bytes = b""
    stat: tuple[int, int] = (0, 0)


def default_sources() -> list[Path]:
    """The bundled seed library (``seeds/``)."""
    return [Path(str(resources.files("patternkg.seeds")))]


def discover(sources: Sequence[Path]) -> list[SourceFile]:
    """Pattern files of *sources* (folders searched recursively for ``*.md``), in a stable order.

    The files of a folder are those ``Path.rglob("*.md")`` finds that are files (symlinked
    folders are not entered), sorted by path; a file reached twice (overlapping sources,
    symlinks) is listed once, where first found. Only symlinked files are resolved one by
    one, so listing a library of 100,000 files costs one directory scan per folder.
    """
    found: list[SourceFile] = []
    seen: set[str] = set()
    roots = list(sources or default_sources())
    for source in roots:
        source = Path(source)
        if source.is_dir():
            real = str(source.resolve())
            # With several folders, name files by folder too, so two files never share a name.
            prefix = f"{os.path.basename(real)}/" if len(roots) > 1 else ""
            base = str(source)  # normalized by Path; the names scandir gives hold no "/", "." or ".."
            shown = "" if base == "." else base.rstrip("/") + "/"
            under = real.rstrip("/") + "/"
            items = [(shown + rel, prefix + rel, os.path.realpath(base + "/" + rel) if linked else under + rel)
                     for rel, linked in _markdown_files(base)]
        else:
            items = [(str(source), source.name, str(source.resolve()))]
        for display, rel, key in items:
            if key not in seen:
                seen.add(key)
                found.append(SourceFile(display, rel))
    return found


def has_pattern_files(sources: Sequence[Path]) -> bool:
    """Whether :func:`discover` finds any file in *sources*; stops at the first one found."""
    for source in sources or default_sources():
        if not Path(source).is_dir() or next(_walk_markdown(str(source), []), None) is not None:
            return True
    return False


def _markdown_files(root: str) -> list[tuple[str, bool]]:
    """(path relative to *root*, is a symlink) of the ``*.md`` files under *root*, in the order
    of ``sorted(Path(root).rglob("*.md"))`` (paths compared part by part)."""
    folders: list[str] = []
    out = list(_walk_markdown(root, folders))
    out.sort(key=(lambda item: item[0].split("/")) if folders else None)
    return out


def _walk_markdown(root: str, folders: list[str]) -> Iterator[tuple[str, bool]]:
    """The ``*.md`` files under *root* as :func:`_markdown_files` lists them, in directory order;
    the subfolders entered are appended to *folders*."""
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        try:
            with os.scandir(os.path.join(root, rel_dir) if rel_dir else root) as it:
                entries = list(it)
        except PermissionError:
            continue
        prefix = f"{rel_dir}/" if rel_dir else ""
        for entry in entries:
            name = entry.name
            try:
                if name.endswith(".md") and entry.is_file():
                    yield prefix + name, entry.is_symlink()
                elif entry.is_dir() and not entry.is_symlink():
                    pending.append(prefix + name)
                    folders.append(prefix + name)
            except OSError:
                continue


# -- worker side -------------------------------------------------------------------------------

_worker_mapper: Mapper | None = None
_worker_max_size = DEFAULT_MAX_FILE_SIZE
_worker_record = False


def _init_worker(base_iri: str, max_size: int, track: bool, record: bool = False) -> None:
    global _worker_mapper, _worker_max_size, _worker_record
    _worker_mapper = Mapper(Library(base_iri), track=track)
    _worker_max_size = max_size
    _worker_record = record


def _init_pool_worker(base_iri: str, max_size: int, track: bool, record: bool = False) -> None:
    # Parsing allocates many short-lived containers; with the default threshold the
    # cyclic GC runs thousands of times per file batch (about 6% of a worker's CPU).
    # Objects inherited from the parent are frozen out of its scans.
    gc.freeze()
    gc.set_threshold(100_000, 20, 20)
    _init_worker(base_iri, max_size, track, record)


def _convert_one(source: SourceFile) -> FileResult:
    digest, stat, raw = b"", (0, 0), None
    if _worker_record:
        # stat before reading: a file changed meanwhile then differs from its record next time;
        # the bytes digested are the bytes parsed (the file is read once)
        try:
            with open(source.path, "rb") as stream:
                info = os.fstat(stream.fileno())
                stat = (info.st_size, info.st_mtime_ns)
                if info.st_size <= _worker_max_size:
                    raw = stream.read()
                    digest = hashlib.sha256(raw).digest()
                else:  # read_document refuses it; its digest still records what it was
                    digest = hashlib.file_digest(stream, "sha256").digest()
        except OSError:
            pass  # read_document reports it
        _worker_mapper.described.clear()  # every shared line of the file, not only those new here
    try:
        doc = read_document(source.path, display=source.display, relpath=source.relpath,
                            max_size=_worker_max_size, raw=raw)
        mapped = _worker_mapper.map(doc)
    except ReadError as exc:
        return FileResult(source.display, diagnostics=[exc.diagnostic], digest=digest, stat=stat)
    return FileResult(
        source.display,
        "".join(mapped.ntriples).encode(),
        len(mapped.ntriples),
        mapped.diagnostics,
        mapped.slug,
        mapped.ident,
        mapped.dialect,
        mapped.targets,
        mapped.locations if _worker_mapper.track else None,
        mapped.id_targets,
        mapped.lines,
        "".join(mapped.shared).encode(),
        mapped.recheck_backing,
        digest,
        stat,
    )


def _results(files: list[SourceFile], *, base_iri: str, max_size: int, jobs: int, track: bool,
             record: bool = False) -> Iterable[FileResult]:
    if jobs <= 1 or len(files) < PARALLEL_THRESHOLD:
        _init_worker(base_iri, max_size, track, record)
        yield from map(_convert_one, files)
        return
    # Not multiprocessing.Pool: its worker-handler thread wakes whenever a result waits in the
    # pipe and polls every worker until the result thread has read it, in Python, holding the
    # GIL (at 100k, as much CPU as the loader thread). The executor's one thread reads results.
    ctx = get_context("fork" if sys.platform.startswith("linux") else "spawn")
    executor = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_pool_worker,
                                   initargs=(base_iri, max_size, track, record))
    try:
        yield from executor.map(_convert_one, files, chunksize=8)
    finally:  # closed early (a failure, or the caller's close()): drop the files not started
        executor.shutdown(wait=True, cancel_futures=True)


def convert_files(files: Sequence[SourceFile], *, base_iri: str, max_size: int = DEFAULT_MAX_FILE_SIZE,
                  jobs: int | None = None) -> Iterable[FileResult]:
    """Read and map *files* (in worker processes when there are many), yielding results in order,
    recorded: each with its content digest and stat and all of its shared lines (what
    :mod:`.incremental` keeps per file)."""
    return _results(list(files), base_iri=base_iri, max_size=max_size, jobs=jobs or os.cpu_count() or 1,
                    track=False, record=True)


# -- main side ------------------------------------------------------------------------------------

_PREF_LABEL = b"<http://www.w3.org/2004/02/skos/core#prefLabel>"
_ALT_LABEL = b"<http://www.w3.org/2004/02/skos/core#altLabel>"


class SharedDescriptions:
    """Merges the descriptions of nodes many patterns name, in file order.

    Fed each file's shared N-Triples in discovery order, :meth:`merge` returns the
    lines not written before. A node keeps the ``skos:prefLabel`` of the first file
    that names it; a different label from a later file becomes a ``skos:altLabel``
    (SKOS allows one preferred label), so nothing is dropped and the outcome does not
    depend on how files were spread over worker processes. Memory: one hash per
    distinct line and per labelled node (a 64-bit hash; a collision would need some
    4 billion distinct lines to become likely).
    """

    def __init__(self) -> None:
        self.written: set[int] = set()
        self.labelled: set[int] = set()

    def merge(self, ntriples: bytes) -> bytes:
        out = []
        for line in ntriples.splitlines(keepends=True):
            key = hash(line)
            if key in self.written:
                continue
            self.written.add(key)
            # N-Triples subjects and predicates are IRIs or blank nodes: no spaces inside.
            subject, predicate, rest = line.split(b" ", 2)
            if predicate == _PREF_LABEL:
                node = hash(subject)
                if node in self.labelled:
                    line = b" ".join((subject, _ALT_LABEL, rest))
                    if hash(line) in self.written:
                        continue
                    self.written.add(hash(line))
                self.labelled.add(node)
            out.append(line)
        return b"".join(out)


class _Loader:
    """Hands N-Triples batches to *consume* on a background thread (bulk loading: pyoxigraph
    releases the GIL; writing to a pipe: so does the write). A subclass that overrides
    :meth:`_run` reads :attr:`queue` itself (None ends it) and passes no *consume*."""

    def __init__(self, consume: Callable[[bytes], object] | None, name: str = "patternkg-loader"):
        self.consume = consume
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (batch := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.consume(batch)
                except BaseException as exc:  # re-raised in close()
                    self.error = exc

    def put(self, batch: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(batch)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


class _StoreLoader(_Loader):
    """Bulk-loads the batches put to it into *store* on a background thread: each bulk load
    reads a stream of batches until it has read *load_bytes* (or :meth:`end_load` is called).

    Oxigraph writes and ingests a set of sorted files per bulk load; fewer, larger ones cost
    less CPU in all (measured on the 10x library: a fifth less with 64 MiB than with 16 MiB
    per load, docs/benchmarks.md). Streaming keeps that size inside Oxigraph only: the batches
    themselves stay small, and each is dropped once read."""

    def __init__(self, store: Store, load_bytes: int):
        self.store, self.load_bytes = store, load_bytes
        self.pending = memoryview(b"")
        self.closed = False
        super().__init__(None, "patternkg-loader")

    def _run(self) -> None:
        while not self.closed:
            if self.error is None:
                try:
                    self._load_one()
                    continue
                except BaseException as exc:  # re-raised in close()
                    self.error = exc
            while not self.closed:  # after an error: drain, so put() never blocks
                self.closed = self.queue.get() is None

    def _load_one(self) -> None:
        self.read_in_load = 0
        if self._next():  # no empty bulk load at the end
            self.store.bulk_load(self, format=RdfFormat.N_TRIPLES, lenient=True)

    def _next(self) -> bool:
        """Make :attr:`pending` the next batch of this load; False at the end of the load."""
        if self.pending or self.closed or self.read_in_load >= self.load_bytes:
            return bool(self.pending)
        batch = self.queue.get()
        if batch is None:
            self.closed = True
            return False
        if not batch:  # end_load()
            self.read_in_load = self.load_bytes
            return False
        self.pending = memoryview(batch)
        return True

    def read(self, size: int = -1) -> bytes:
        """The stream pyoxigraph reads (on this thread); b"" ends the current bulk load."""
        if not self._next():
            return b""
        size = len(self.pending) if size is None or size < 0 else size
        chunk, self.pending = self.pending[:size], self.pending[size:]
        self.read_in_load += len(chunk)
        return bytes(chunk)

    def end_load(self) -> None:
        """End the bulk load being read after the batches put so far (each costs some fixed work:
        the last batches end their loads so that little is left to load when conversion ends)."""
        self.put(b"")


class FactSink(Protocol):
    """What :func:`load_library` hands the triples it loads to (see its *facts*): every line
    loaded is written to it; once the store's content is complete, before it is compacted,
    it is finished with the (``pat_`` id IRI, slug IRI) pairs of the rewritten targets (a
    :class:`~patternkg.server.fact_feed.FactFeed`: its process goes on while the store is
    compacted; the answers sidecar writer waits for it)."""

    def write(self, ntriples: bytes) -> object: ...

    def finish(self, renamed: Sequence[tuple[str, str]]) -> object: ...


@dataclass
class Conversion:
    """The outcome of :func:`load_library`: the report, and source locations when tracked."""

    report: BuildReport
    #: per file: {(subject IRI, predicate IRI): (field path, line)}; only with ``track=True``
    locations: dict[str, dict] = field(default_factory=dict)
    #: pattern slug -> files that define it
    files_by_slug: dict[str, list[str]] = field(default_factory=dict)


def load_library(
    store: Store,
    *,
    sources: Sequence[Path] = (),
    base_iri: str,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    jobs: int | None = None,
    progress: bool = False,
    track: bool = False,
    issued: str | None = None,
    compact: bool = False,
    recorder: Callable[[SourceFile, FileResult], None] | None = None,
    facts: FactSink | None = None,
) -> Conversion:
    """See the module docstring. *recorder*, when given, gets every file with its recorded
    result (see :func:`convert_files`), in discovery order, before it is loaded. *facts*, when
    given, gets every N-Triples line loaded into the store, with the ``pkg:backedBy`` and VoID
    lines (see :class:`FactSink`; a full build's answers sidecar is made from them)."""
    started = time.perf_counter()
    library = Library(base_iri)
    files = discover(sources)
    report = BuildReport(files=len(files))
    conversion = Conversion(report)
    files_by_slug: dict[str, list[str]] = defaultdict(list)
    slug_by_id: dict[str, str] = {}
    targets: list[tuple[str, str, str]] = []  # (source slug, kind, token)
    id_targets: set[str] = set()
    recheck: set[str] = set()  # slugs whose pkg:backedBy needs the whole library (see derive_backing)
    dialects: dict[str, int] = defaultdict(int)
    bar = _progress(len(files), progress)
    loader = _store_loader(store)
    feeder = None if facts is None else _Loader(facts.write, "patternkg-facts")
    batch: list[bytes] = []
    size = 0
    shared = SharedDescriptions()
    done, tail_from = 0, len(files) - min(len(files) // 5, TAIL_FILES)
    results = _results(files, base_iri=base_iri, max_size=max_file_size, jobs=jobs or os.cpu_count() or 1,
                       track=track, record=recorder is not None)
    try:
        for source, result in zip(files, results):
            bar.update(1)
            done += 1
            if recorder is not None:
                recorder(source, result)
            report.diagnostics.extend(result.diagnostics)
            if result.slug is None:
                continue
            others = files_by_slug[result.slug]
            if others or result.recheck_backing:
                recheck.add(result.slug)
            if others:
                report.diagnostics.append(Diagnostic(
                    "warning", "duplicate-slug", result.display,
                    f"slug {result.slug!r} is also the slug of {', '.join(others)}; both files describe one pattern",
                    "slug", result.lines[0]))
            others.append(result.display)
            if result.ident:
                first = slug_by_id.setdefault(result.ident, result.slug)
                if first != result.slug:
                    report.diagnostics.append(Diagnostic(
                        "warning", "duplicate-id", result.display,
                        f"id {result.ident!r} is also the id of pattern {first!r}", "id", result.lines[1]))
            dialects[result.dialect] += 1
            targets.extend((result.slug, kind, token) for kind, token in result.targets)
            id_targets |= result.id_targets
            if result.locations is not None:
                conversion.locations[result.display] = result.locations
            report.triples += result.triples
            batch.append(result.ntriples)
            size += len(result.ntriples)
            if result.shared:
                batch.append(shared.merge(result.shared))
            if size >= (BATCH_BYTES if done < tail_from else TAIL_BATCH_BYTES):
                _put(b"".join(batch), loader, feeder)
                batch, size = [], 0
                if done >= tail_from:
                    loader.end_load()
        if batch:
            _put(b"".join(batch), loader, feeder)
    finally:
        results.close()  # stops the parser processes now, not when collected
        bar.close()
        loader.close()
        if feeder is not None:
            feeder.close()
    renamed = _resolve_ids(store, library, slug_by_id, id_targets)
    derive_backing(store, [library.pattern(slug) for slug in sorted(recheck)],
                   sink=None if facts is None else facts.write)
    report.patterns = len(files_by_slug)
    report.dialects = dict(dialects)
    report.duplicate_patterns = {s: f for s, f in files_by_slug.items() if len(f) > 1}
    unresolved: dict[str, set[str]] = defaultdict(set)
    for source, _kind, token in targets:
        if token not in files_by_slug and token not in slug_by_id:
            unresolved[token].add(source)
    report.unresolved_targets = {t: sorted(s) for t, s in unresolved.items()}
    data_triples = len(store)  # a full scan: count once
    description = describe_dataset(store, library, report, sources=sources or default_sources(), issued=issued,
                                   triples=data_triples)
    store.extend(description)
    report.triples = data_triples + len(description)
    report.quads = report.triples
    if facts is not None:
        facts.write("".join(f"{q.subject} {q.predicate} {q.object} .\n" for q in description).encode())
        facts.finish([(str(old), str(new)) for old, new in renamed])
    if compact:
        # Each bulk load adds overlapping files to the store; a lookup visits every one.
        # One full compaction makes queries on the finished store up to 2-4x faster.
        compacting = time.perf_counter()
        status = _status("compacting the store", progress)
        store.optimize()
        status.close()
        report.compact_seconds = time.perf_counter() - compacting
    report.seconds = time.perf_counter() - started
    conversion.files_by_slug = dict(files_by_slug)
    return conversion


def _store_loader(store: Store, load_bytes: int = LOAD_BYTES) -> _StoreLoader:
    """A loader bulk-loading N-Triples batches into *store*, several batches per bulk load."""
    return _StoreLoader(store, load_bytes)


def _put(batch: bytes, *loaders: _Loader | None) -> None:
    for loader in loaders:
        if loader is not None:
            loader.put(batch)


def _resolve_ids(store: Store, library: Library, slug_by_id: dict[str, str],
                 tokens: set[str]) -> list[tuple[NamedNode, NamedNode]]:
    """Rewrite targets named by a pattern's ``pat_`` id to the pattern's slug IRI; returns the
    (id IRI, slug IRI) pairs."""
    pairs = sorted((library.pattern(t), library.pattern(slug_by_id[t])) for t in tokens if t in slug_by_id)
    for start in range(0, len(pairs), 5000):
        chunk = pairs[start:start + 5000]
        # Terms are pyoxigraph NamedNodes (validated); str() gives their N-Triples form.
        values = " ".join(f"({old} {new})" for old, new in chunk)
        store.update(f"DELETE {{ ?s ?p ?old }} INSERT {{ ?s ?p ?new }} "
                     f"WHERE {{ VALUES (?old ?new) {{ {values} }} ?s ?p ?old }}")
    return pairs


#: Inferred links of the given patterns and the curated relationships that back them (see
#: pkg:backedBy); the VALUES row of patterns is filled in per chunk.
_BACKING = """PREFIX pkg: <https://w3id.org/patternkg/ontology#>
SELECT ?link ?rel WHERE {
  VALUES ?pattern { %s }
  ?pattern pkg:qualifiedInferredLink ?link . ?link pkg:target ?target .
  ?pattern pkg:qualifiedRelationship ?rel . ?rel pkg:target ?target .
  OPTIONAL { ?link pkg:relationshipKind ?kind }
  OPTIONAL { ?rel pkg:relationshipKind ?curated_kind }
  FILTER(!BOUND(?kind) || sameTerm(?kind, ?curated_kind))
}"""
BACKING_CHUNK = 500


def derive_backing(store: Store, patterns: Sequence[NamedNode], *,
                   sink: Callable[[bytes], object] | None = None) -> int:
    """Settle pkg:backedBy for *patterns* on the whole store, once ``pat_`` targets are resolved.

    The mapper already links each inferred link to the curated relationships of its file that
    back it (same target as written; same kind, or any kind when the link's type names no known
    kind). What a file cannot tell -- a target written as a ``pat_`` id on one side and as a slug
    on the other, or one pattern described by two files -- is looked up here for the patterns
    concerned, a chunk at a time (memory stays flat). Returns the number of triples looked up;
    *sink*, when given, is also written them (N-Triples).
    """
    backed_by = NamedNode(PKG + "backedBy")
    found = 0
    for start in range(0, len(patterns), BACKING_CHUNK):
        values = " ".join(str(p) for p in patterns[start:start + BACKING_CHUNK])
        # Terms are pyoxigraph NamedNodes and store terms (valid); str() gives their N-Triples form.
        lines = [f"{row['link']} {backed_by} {row['rel']} .\n" for row in store.query(_BACKING % values)]
        if lines:
            data = "".join(lines).encode()
            store.bulk_load(data, format=RdfFormat.N_TRIPLES, lenient=True)
            if sink is not None:
                sink(data)
        found += len(lines)
    return found


def _progress(total: int, enabled: bool):
    """The files bar on a terminal; nothing otherwise."""
    if enabled and total and sys.stderr.isatty():
        return _bar(total=total, unit="file", desc="converting")
    return _NoProgress()


def _status(text: str, enabled: bool):
    """A one-line status on a terminal (for steps without a count, like compaction)."""
    if enabled and sys.stderr.isatty():
        return _bar(total=None, desc=text, bar_format="{desc}... {elapsed}")
    return _NoProgress()


def _bar(**options):
    from tqdm import tqdm

    # A terminal that reports no size (some ptys, CI log viewers) would hide the bar.
    size = shutil.get_terminal_size()
    return tqdm(file=sys.stderr, leave=False, ncols=size.columns, nrows=size.lines, **options)


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


T = TypeVar("T")


def generation_metadata(result: object, base_iri: str | None, digest: str | None) -> dict:
    """The build's part of a generation's metadata (see :mod:`.storedir`)."""
    data: dict = {"base_iri": base_iri, "source_digest": digest}
    if isinstance(result, BuildReport):
        data.update(triples=result.triples, files=result.files, patterns=result.patterns,
                    errors=len(result.errors), warnings=len(result.warnings))
    return data


def write_store(
    directory: Path,
    fill: Callable[[Store], T],
    *,
    sources: Sequence[Path] | None = None,
    base_iri: str | None = None,
    sidecars: Sequence[tuple[str, str]] | None = None,
    from_current: bool = False,
    notify: Callable[[str], None] | None = None,
) -> T:
    """Run *fill* on the store of a new generation of store directory *directory*.

    The generation becomes current only when *fill* and the sidecar writers (by default
    :data:`~.sidecars.SIDECARS`) complete; a failure or a kill (including
    KeyboardInterrupt) leaves the previous generation current and intact. Refusals,
    the build lock, stale partials and the layout: :mod:`~.storedir`. When *fill*
    returns a :class:`BuildReport`, its counts go into the generation's metadata, with
    *base_iri* and a digest of *sources* (the source folders are also refused as targets).
    """
    from patternkg.converter import sidecars as sidecar_module
    from patternkg.converter.storedir import source_digest, write_generation

    digest = None
    if sources is not None:
        digest = source_digest((f.relpath, f.path) for f in discover([Path(s) for s in sources]))

    def metadata(result: object) -> dict:
        return generation_metadata(result, base_iri, digest)

    def report(result: object) -> BuildReport:
        return result if isinstance(result, BuildReport) else BuildReport()

    writers = sidecar_module.load_writers(sidecar_module.SIDECARS if sidecars is None else sidecars)
    return write_generation(directory, fill, metadata=metadata, sidecars=writers, report=report,
                            sources=[] if sources is None else list(sources) or default_sources(), from_current=from_current, notify=notify)
