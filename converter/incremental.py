"""``patternkg build``: a new generation from the previous one plus the files that changed.

Contract of :func:`build_library`: the new generation of the store directory holds, triple
for triple, what a full build of the same files would hold (``tests/converter/
test_incremental.py`` compares them, with the sidecars row for row and the build report).
A full build (:func:`~.pipeline.load_library`) is made when ``full`` is asked, when the
directory has no current generation or it has no file index (:mod:`.fileindex`), or when
the settings differ: the patternkg version, a fingerprint of the code and data that decide
the output (the converter's modules, the prepared and bulk queries, the shapes), the base
IRI, the file size limit, or the sources as given. Otherwise, when more than a quarter of
the files changed, it is also a full build (cheaper then).

How the incremental path reaches the same result. A file's own triples are those whose
subject is its pattern's IRI or one of its ``#`` nodes; every other triple comes from a
step that crosses files, and each is redone for exactly what a change touches:

- files: a file whose size and mtime match its record is unchanged; otherwise its content
  is digested, and only a different digest makes it changed (renamed = removed + added);
- patterns (slugs) touched: the old and new slugs of changed, added and removed files, and
  the patterns that name as a ``pat_`` id an id whose pattern changed (first file in
  discovery order wins, as in a full build). All triples of their subjects are deleted and
  the triples of every file with that slug are inserted (unchanged files of such a slug are
  read again), ``pat_`` targets resolved with the new ids, ``pkg:backedBy`` settled again
  for those that need the whole library (:func:`~.pipeline.derive_backing`);
- shared nodes (domains, communities, entities, agents) named by a changed file before or
  after: merged again from every file's recorded lines, in discovery order
  (:class:`~.pipeline.SharedDescriptions`), and replaced;
- the VoID description: replaced (the triple count follows from the counts replaced);
- the report (diagnostics in file order, duplicate slugs and ids, unresolved targets,
  dialects) from the index, which is updated in step;
- sidecars: the search index is updated for the touched patterns
  (:func:`update_search_index`), the answers sidecar too (rows, list places, memberships,
  texts and path adjacency of what they touch: :mod:`patternkg.server.answers_update`);
  any other is written again from the new store. The previous sidecars (and file index) are
  copied into the scratch folder on a thread (:class:`_Copies`) while the plan is applied;
- the unresolved-targets report: worked out again only for the targets the changed files name
  and their slugs and ids, before and after (:meth:`~.fileindex.FileIndex.update_unresolved`).

The new generation is a copy of the current store (``Store.backup``: hard links of
RocksDB's files on the same filesystem) changed in place, then the sidecars; the
previous generation is never written to. The store is not compacted again (the few new
files RocksDB adds do not slow queries measurably).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyoxigraph import NamedNode, Quad, RdfFormat, Store, parse

from patternkg.converter import search_index
from patternkg.converter.diagnostics import BuildReport, Diagnostic
from patternkg.converter.fileindex import (
    FORMAT_VERSION, INDEX_FILE, FileIndex, FileRecord, IndexWriter, read_records, shared_ids,
)
from patternkg.converter.namespaces import DCTERMS, Library
from patternkg.converter.pipeline import (
    SharedDescriptions, SourceFile, convert_files, default_sources, derive_backing, discover, generation_metadata,
    load_library,
)
from patternkg.converter.reader import DEFAULT_MAX_FILE_SIZE
from patternkg.converter.void import describe_dataset
from patternkg.server.precompute import ANSWERS_FILE

__all__ = ["FULL_BUILD_MIN", "FULL_BUILD_SHARE", "build_library", "code_fingerprint", "update_search_index"]

#: above this share of changed files (and FULL_BUILD_MIN files), a full build is cheaper
FULL_BUILD_SHARE = 0.25
FULL_BUILD_MIN = 256
FACTS_FILE = "answers-facts.sqlite"  # a full build's FactFeed, in its scratch folder
ANSWERS_STARTED = "answers-started.sqlite"  # the answers sidecar its process writes there


def code_fingerprint() -> str:
    """SHA-256 over the modules and data that decide what a build writes."""
    import patternkg.converter
    import patternkg.server

    converter = Path(patternkg.converter.__file__).parent
    server = Path(patternkg.server.__file__).parent
    files = sorted(converter.glob("*.py")) + [server / n for n in ("precompute.py", "answers_update.py", "catalogue.py")]
    files += sorted((server / "queries").rglob("*.rq"))
    shapes = converter.parent / "shapes"
    files += sorted(p for p in shapes.rglob("*") if p.is_file() and p.suffix in (".ttl", ".py"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _settings(*, sources: Sequence[Path], base_iri: str, max_file_size: int) -> dict[str, Any]:
    from patternkg import __version__

    return {"index_format": FORMAT_VERSION, "patternkg_version": __version__, "code": code_fingerprint(),
            "base_iri": base_iri, "max_file_size": max_file_size, "sources": [str(s) for s in sources]}


def _source_digest(records: Sequence[tuple[str, bytes]]) -> str:
    """:func:`~.storedir.source_digest` from recorded digests (files are not read again)."""
    digest = hashlib.sha256()
    for name, content in records:
        digest.update(name.encode() + b"\0")
        digest.update(content or b"unreadable")
    return digest.hexdigest()


def _scratch(target: Path) -> Path:
    """A scratch folder in *target* (under its build lock) that the stale-partial sweep of
    :mod:`.storedir` removes if this process dies."""
    from patternkg.converter.storedir import GENERATIONS, PARTIAL_PREFIX

    path = target / GENERATIONS / f"{PARTIAL_PREFIX}{os.getpid()}-index-{secrets.token_hex(3)}"
    path.mkdir()
    return path


def _void_subjects(store: Store, library: Library) -> list[NamedNode]:
    """Subjects of the VoID description: the dataset, its partition and the schemes it describes."""
    part_of = NamedNode(DCTERMS + "isPartOf")
    schemes = [q.subject for q in store.quads_for_pattern(None, part_of, library.dataset)]
    return [library.dataset, NamedNode(library.dataset.value + "#patterns"), *schemes]


def _count(store: Store, subjects: Sequence[Any]) -> int:
    return sum(1 for s in subjects for _ in store.quads_for_pattern(s, None, None))


def build_library(
    *,
    store: Path,
    sources: Sequence[Path],
    base_iri: str,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    jobs: int | None = None,
    progress: bool = False,
    issued: str | None = None,
    compact: bool = True,
    full: bool = False,
    notify: Callable[[str], None] | None = None,
) -> BuildReport:
    """Write a new generation of store directory *store* (see the module docstring)."""
    from patternkg.converter import sidecars as sidecar_module
    from patternkg.converter.storedir import (
        StoreBusy, check_target, current_id, open_generation, read_metadata, write_generation,
    )

    target = Path(store)
    roots = list(sources) or default_sources()
    check_target(target, sources=roots)
    settings = _settings(sources=roots, base_iri=base_iri, max_file_size=max_file_size)
    previous = None
    if not full and read_metadata(target) is not None and current_id(target) is not None:
        generation = open_generation(target)
        index = generation.directory / INDEX_FILE
        if index.is_file() and _stored_settings(index) == settings:
            previous = generation
    writers = sidecar_module.load_writers(sidecar_module.SIDECARS)
    state: dict[str, Any] = {}

    def move_index(_store: Store, directory: Path, _report: Any) -> None:
        os.replace(state["index"], directory / INDEX_FILE)

    def metadata(report: BuildReport) -> dict:
        return {**generation_metadata(report, base_iri, state.get("digest")), "build": state["build"]}

    try:
        if previous is not None:
            plan = _Plan.make(previous, roots)
            if plan.dirty <= max(FULL_BUILD_MIN, FULL_BUILD_SHARE * len(plan.files)):
                def fill_incremental(new: Store) -> BuildReport:
                    if current_id(target) != previous.id:
                        raise StoreBusy(f"{target}: another build made a new generation meanwhile; run again")
                    state["scratch"] = _scratch(target)
                    state["index"] = state["scratch"] / INDEX_FILE
                    state["copies"] = _Copies({
                        INDEX_FILE: (previous.directory / INDEX_FILE, state["index"]),
                        **{name: (previous.directory / name, state["scratch"] / f"previous-{name}")
                           for name in (search_index.FILENAME, ANSWERS_FILE)}})
                    state["copies"].take(INDEX_FILE)
                    report = plan.apply(new, state["index"], base_iri=base_iri, max_file_size=max_file_size,
                                        jobs=jobs, issued=issued, settings=settings, sources=roots)
                    state["digest"] = plan.source_digest
                    state["build"] = {"kind": "incremental", "from": previous.id, "changed": len(plan.changed),
                                      "removed": len(plan.removed), "read": plan.read}
                    return report

                def search(new: Store, directory: Path, _report: Any) -> None:
                    update_search_index(new, directory, previous.directory, plan.touched,
                                        copy=state["copies"].take(search_index.FILENAME))

                def answers(new: Store, directory: Path, _report: Any) -> None:
                    from patternkg.server.answers_update import update_answers

                    update_answers(new, directory, previous=previous.directory, previous_store=previous.store_path,
                                   touched=plan.touched, shared_changed=plan.shared_changed,
                                   copy=state["copies"].take(ANSWERS_FILE))

                replaced = {"search": search, "answers": answers}
                sidecars = [(name, replaced.get(name, fn)) for name, fn in writers]
                return write_generation(target, fill_incremental, from_current=True,
                                        sidecars=[*sidecars, ("files", move_index)], metadata=metadata,
                                        report=lambda r: r, sources=roots, notify=notify)

        def fill_full(new: Store) -> BuildReport:
            from patternkg.server.fact_feed import FactFeed

            state["scratch"] = _scratch(target)
            state["index"] = state["scratch"] / INDEX_FILE
            writer = IndexWriter(state["index"])
            digests: list[tuple[str, bytes]] = []

            def record(source: SourceFile, result: Any) -> None:
                writer.add(source.relpath, source.display, result)
                digests.append((source.relpath, result.digest))

            feed = state["feed"] = FactFeed(state["scratch"] / FACTS_FILE, answers=state["scratch"] / ANSWERS_STARTED)
            try:
                report = load_library(new, sources=roots, base_iri=base_iri, compact=compact,
                                      max_file_size=max_file_size, jobs=jobs, progress=progress, issued=issued,
                                      recorder=record, facts=feed).report
                void = _count(new, _void_subjects(new, Library(base_iri)))
                writer.finish({"settings": settings, "data_triples": report.triples - void},
                              unresolved=report.unresolved_targets)
            except BaseException:
                writer.abandon()
                feed.abort()
                raise
            state["digest"] = _source_digest(digests)
            state["build"] = {"kind": "full", "read": len(digests)}
            return report

        def answers(new: Store, directory: Path, _report: Any) -> None:
            from patternkg.server.precompute import complete_answers

            # the feed's process has been writing them since the last file was loaded
            complete_answers(new, directory, state["feed"].wait())

        full_writers = [(name, answers if name == "answers" else fn) for name, fn in writers]
        return write_generation(target, fill_full, sidecars=[*full_writers, ("files", move_index)],
                                metadata=metadata, report=lambda r: r, sources=roots, notify=notify)
    finally:
        if "copies" in state:
            state["copies"].close()
        if "feed" in state:
            state["feed"].abort()  # when a step failed before the answers (harmless after them)
        if "scratch" in state:
            shutil.rmtree(state["scratch"], ignore_errors=True)


class _Copies:
    """Copies of the previous generation's sidecars, made one after the other on a thread while
    the plan is applied: at 100,000 patterns they are 900 MB (the answers 690 MB), and copying
    them took 1-4 s on the main thread although the copy (``sendfile``) needs no GIL.

    *files* maps a name to (source, copy). :meth:`take` waits for the copy of a name and returns
    its path (the caller moves or changes it), or None when the source is missing; a copy that
    failed raises there. :meth:`close` stops before the next copy and waits for the thread."""

    def __init__(self, files: dict[str, tuple[Path, Path]]) -> None:
        self.files = files
        self.done = {name: threading.Event() for name in files}
        self.errors: dict[str, BaseException] = {}
        self.closed = False
        self.thread = threading.Thread(target=self._run, name="patternkg-copies", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for name, (source, copy) in self.files.items():
            try:
                if not self.closed and source.is_file():
                    shutil.copyfile(source, copy)
            except BaseException as exc:  # raised in take()
                self.errors[name] = exc
            finally:
                self.done[name].set()

    def take(self, name: str) -> Path | None:
        self.done[name].wait()
        if name in self.errors:
            raise self.errors[name]
        copy = self.files[name][1]
        return copy if copy.is_file() else None

    def close(self) -> None:
        self.closed = True
        self.thread.join()


def _stored_settings(index: Path) -> dict | None:
    import json

    try:
        db = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE name = 'settings'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return json.loads(row[0]) if row else None


@dataclass
class _Tally:
    """The cross-file bookkeeping of :func:`~.pipeline.load_library`, over records in file order."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    files_by_slug: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    relpaths_by_slug: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    slug_by_id: dict[str, str] = field(default_factory=dict)
    recheck: set[str] = field(default_factory=set)
    dialects: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, record: FileRecord) -> None:
        self.diagnostics.extend(record.diagnostic_list())
        if record.slug is None:
            return
        others = self.files_by_slug[record.slug]
        if others or record.recheck:
            self.recheck.add(record.slug)
        if others:
            self.diagnostics.append(Diagnostic(
                "warning", "duplicate-slug", record.display,
                f"slug {record.slug!r} is also the slug of {', '.join(others)}; both files describe one pattern",
                "slug", record.lines[0]))
        others.append(record.display)
        self.relpaths_by_slug[record.slug].append(record.relpath)
        if record.ident:
            first = self.slug_by_id.setdefault(record.ident, record.slug)
            if first != record.slug:
                self.diagnostics.append(Diagnostic(
                    "warning", "duplicate-id", record.display,
                    f"id {record.ident!r} is also the id of pattern {first!r}", "id", record.lines[1]))
        self.dialects[record.dialect] += 1


class _Plan:
    """What changed since the previous generation, and how to apply it to a copy of its store."""

    def __init__(self) -> None:
        self.index: FileIndex
        self.previous_index: Path
        self.files: list[SourceFile] = []
        self.old: dict[str, FileRecord] = {}
        self.changed: list[SourceFile] = []  # changed or added
        self.removed: list[str] = []
        self.restat: dict[str, tuple[int, int]] = {}  # unchanged content, new stat
        self.dirty = 0
        self.touched: set[str] = set()  # pattern IRIs whose triples were replaced
        self.shared_changed = False  # a shared node's description changed
        self.source_digest: str | None = None
        self.read = 0  # files read and converted

    @classmethod
    def make(cls, previous: Any, roots: Sequence[Path]) -> "_Plan":
        plan = cls()
        plan.previous_index = previous.directory / INDEX_FILE
        plan.old = {r.relpath: r for r in read_records(plan.previous_index)}
        plan.files = discover(roots)
        current = set()
        for source in plan.files:
            current.add(source.relpath)
            record = plan.old.get(source.relpath)
            try:
                info = os.stat(source.display)  # a str: no Path made for each of 100k files
                stat = (info.st_size, info.st_mtime_ns)
            except OSError:
                stat = None
            if record is None or stat is None or record.display != source.display:
                plan.changed.append(source)
            elif stat != (record.size, record.mtime_ns):
                try:
                    with open(source.path, "rb") as stream:
                        digest = hashlib.file_digest(stream, "sha256").digest()
                except OSError:
                    digest = b""
                if digest and digest == record.digest:
                    plan.restat[source.relpath] = stat
                else:
                    plan.changed.append(source)
        plan.removed = [r for r in plan.old if r not in current]
        plan.dirty = len(plan.changed) + len(plan.removed)
        return plan

    def apply(self, store: Store, index_path: Path, *, base_iri: str, max_file_size: int, jobs: int | None,
              issued: str | None, settings: dict, sources: Sequence[Path]) -> BuildReport:
        started = time.perf_counter()
        library = Library(base_iri)
        index = self.index = FileIndex(index_path)
        old_tally = _Tally()
        for record in sorted(self.old.values(), key=lambda r: r.pos):
            if record.ident and record.slug is not None:
                old_tally.slug_by_id.setdefault(record.ident, record.slug)
        results = dict(zip((s.relpath for s in self.changed),
                           convert_files(self.changed, base_iri=base_iri, max_size=max_file_size, jobs=jobs)))
        # the new records, in discovery order (the index is updated in step)
        changed = {s.relpath for s in self.changed}
        gone = [self.old[r] for r in (*self.removed, *(r for r in changed if r in self.old))]
        # the targets whose unresolved-report entry the change can alter (FileIndex.update_unresolved)
        tokens = index.targets_of(r.relpath for r in gone)
        tokens.update(t for r in changed for _kind, t in results[r].targets)
        tokens.update(t for r in gone for t in (r.slug, r.ident) if t)
        tokens.update(t for r in changed for t in (results[r].slug, results[r].ident) if t)
        index.remove(r.relpath for r in gone)
        records: list[FileRecord] = []
        updates = []
        for pos, source in enumerate(self.files):
            if source.relpath in changed:
                records.append(index.add(source.relpath, source.display, pos, results[source.relpath]))
                continue
            record = self.old[source.relpath]
            stat = self.restat.get(source.relpath, (record.size, record.mtime_ns))
            if record.pos != pos or stat != (record.size, record.mtime_ns):
                record.pos, (record.size, record.mtime_ns) = pos, stat
                updates.append((pos, stat[0], stat[1], source.relpath))
            records.append(record)
        index.update(updates)
        tally = _Tally()
        for record in records:
            tally.add(record)
        # patterns whose triples are replaced
        slugs = {r.slug for r in gone} | {results[r].slug for r in changed}
        ids = set(old_tally.slug_by_id) | set(tally.slug_by_id)
        moved = {i for i in ids if old_tally.slug_by_id.get(i) != tally.slug_by_id.get(i)}
        referring = index.referring(moved) if moved else set()
        slugs |= {r.slug for r in records if r.relpath in referring}
        slugs.discard(None)
        by_relpath = {s.relpath: s for s in self.files}
        again = [by_relpath[r] for slug in sorted(slugs) for r in tally.relpaths_by_slug.get(slug, ())
                 if r not in changed]
        if again:
            results.update(zip((s.relpath for s in again),
                               convert_files(again, base_iri=base_iri, max_size=max_file_size, jobs=jobs)))
        self.read = len(results)
        delta = self._replace_patterns(store, library, sorted(slugs), tally, results)
        delta += self._replace_shared(store, gone, records, results, changed)
        # the VoID description, counted as a full build counts it
        old_void = [q for s in _void_subjects(store, library) for q in store.quads_for_pattern(s, None, None)]
        for quad in old_void:
            store.remove(quad)
        data_triples = index.meta()["data_triples"] + delta
        report = BuildReport(files=len(self.files))
        description = describe_dataset(store, library, report, sources=sources, issued=issued,
                                       triples=data_triples)
        store.extend(description)
        report.patterns = len(tally.files_by_slug)
        report.diagnostics = tally.diagnostics
        report.dialects = dict(tally.dialects)
        report.duplicate_patterns = {s: f for s, f in tally.files_by_slug.items() if len(f) > 1}
        report.unresolved_targets = index.update_unresolved(tokens)
        report.triples = report.quads = data_triples + len(description)
        index.finish({"settings": settings, "data_triples": data_triples})
        self.source_digest = _source_digest([(r.relpath, r.digest) for r in records])
        report.seconds = time.perf_counter() - started
        return report

    def _replace_patterns(self, store: Store, library: Library, slugs: Sequence[str], tally: _Tally,
                          results: dict[str, Any]) -> int:
        """Replace every triple of the patterns *slugs*; returns the change in the store's size."""
        def subjects(slug: str) -> list[NamedNode]:
            pattern = library.pattern(slug)
            nodes = {q.object for q in store.quads_for_pattern(pattern, None, None)
                     if isinstance(q.object, NamedNode) and q.object.value.startswith(pattern.value + "#")}
            return [pattern, *nodes]

        before = [q for slug in slugs for s in subjects(slug) for q in store.quads_for_pattern(s, None, None)]
        for quad in before:
            store.remove(quad)
        quads: set[Quad] = set()
        for slug in slugs:
            for relpath in tally.relpaths_by_slug.get(slug, ()):
                result = results[relpath]
                resolve = {library.pattern(t): library.pattern(tally.slug_by_id[t])
                           for t in result.id_targets if t in tally.slug_by_id}
                for quad in parse(result.ntriples, format=RdfFormat.N_TRIPLES):
                    target = resolve.get(quad.object) if isinstance(quad.object, NamedNode) else None
                    quads.add(quad if target is None else Quad(quad.subject, quad.predicate, target, quad.graph_name))
        store.extend(quads)
        derive_backing(store, [library.pattern(s) for s in slugs if s in tally.recheck])
        self.touched = {library.pattern(s).value for s in slugs}
        return _count(store, [s for slug in slugs for s in subjects(slug)]) - len(before)

    def _replace_shared(self, store: Store, gone: Sequence[FileRecord], records: Sequence[FileRecord],
                        results: dict[str, Any], changed: set[str]) -> int:
        """Merge again the descriptions of the shared nodes a changed file names (before or after)."""
        nodes = self.index.nodes_of({i for r in gone for i in shared_ids(r.shared)})
        for relpath in changed:
            nodes.update(line.split(b" ", 1)[0].decode() for line in results[relpath].shared.splitlines())
        if not nodes:
            return 0
        known = self.index.line_texts(nodes)
        wanted = set(known)
        merge = SharedDescriptions()
        merged = []
        for record in records:
            ids = shared_ids(record.shared)
            if wanted.isdisjoint(ids):
                continue
            lines = b"".join(known[i] for i in ids if i in wanted)
            merged.append(merge.merge(lines))
        subjects = [NamedNode(n[1:-1]) for n in sorted(nodes)]
        before = {q for s in subjects for q in store.quads_for_pattern(s, None, None)}
        after = set(parse(b"".join(merged), format=RdfFormat.N_TRIPLES)) if merged else set()
        for quad in before - after:
            store.remove(quad)
        store.extend(after - before)
        self.shared_changed = before != after
        return len(after) - len(before)


def update_search_index(store: Store, directory: Path, previous: Path, touched: set[str], *,
                        copy: Path | None = None) -> None:
    """The search sidecar of *previous* with the rows of the *touched* patterns (IRIs) written again
    from *store*; rows equal, as a set, to what :func:`~.search_index.write_search_index` writes.
    *copy*, when given, is a copy of that sidecar already made, which is changed and moved."""
    source = Path(previous) / search_index.FILENAME
    if not source.is_file():
        search_index.write_search_index(store, directory)
        return
    target = Path(directory) / search_index.FILENAME
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    if copy is None:
        shutil.copyfile(source, tmp)
    else:
        os.replace(copy, tmp)
    iris = sorted(touched)
    select = search_index.store_select(store)
    db = sqlite3.connect(tmp)
    try:
        for start in range(0, len(iris), 500):
            chunk = iris[start:start + 500]
            db.executemany("DELETE FROM patterns WHERE iri = ?", [(i,) for i in chunk])
            values = "VALUES ?p { " + " ".join(str(NamedNode(i)) for i in chunk) + " } "

            def limited(query: str) -> Any:
                return select(query.replace("WHERE {", "WHERE { " + values, 1))

            rows = search_index.index_rows(limited)
            db.executemany("INSERT INTO patterns VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        # no 'optimize': it rewrites the whole full-text index (seconds at 100k); the few rows
        # added make a small segment that FTS5's automerge folds in as they accumulate
        count = db.execute("SELECT count(*) FROM patterns").fetchone()[0]
        db.execute("UPDATE meta SET value = ? WHERE key = 'patterns'", (str(count),))
        db.commit()
    finally:
        db.close()
    os.replace(tmp, target)
