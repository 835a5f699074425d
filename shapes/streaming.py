"""Validation in bounded batches: a library of any size without holding its graph.

Contract of :func:`validate_streaming`: the same results, in the same order, as the
whole-graph Oxigraph engine (``validate(batch_files=0)``; ``tests/shapes/test_streaming.py``
compares them with batches forced small), with memory bounded by the batch size plus
what the library-wide checks need.

How it runs. Files are converted and checked in batches of whole files (``batch_files``,
default :data:`BATCH_FILES`) by worker processes; each batch is one in-memory Oxigraph
store that is dropped once checked:

- in each batch: every SHACL Core check (:mod:`~.shacl_sparql`) and every SHACL-SPARQL
  constraint that reads only triples about its focus node (*pattern-scope*: every triple
  pattern of its query has ``$this`` as subject; decided by parsing the query, see
  :func:`plan_for`). Results on nodes of the batch's patterns are located in the worker
  with the files' full location tables. The batch also holds the descriptions of the
  shared nodes (domains, entities, ...) its files name, so ``sh:class`` on them holds.
- kept for the whole library (the *cross-pattern index*): per file its slug, id, ``pat_``
  targets and diagnostics; the triples whose predicate a *library-scope* constraint names
  (ids, relationship ends and kinds, the direct relationship triples that make inverse
  pairs, the types of patterns and statement nodes), bulk-loaded into a temporary
  on-disk Oxigraph store; per file a compressed reduced location table
  (:meth:`~.locating.FileLocs.reduce`); the merged shared-node descriptions.
- at the end: ``pat_`` targets are resolved in the index as the build does, the
  library-scope constraints run on it, and the shared nodes are checked on their merged
  descriptions. A pattern defined by more than one file (rare) is converted and checked
  again with all its files together.

The library-scope constraints must name (as IRIs in their query) every predicate they
read and every path they report; the shapes' queries do.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from pyoxigraph import RdfFormat, Store
from rdflib.paths import Path as RdfPath
from rdflib.term import URIRef, Variable

from patternkg.converter import pipeline
from patternkg.converter.diagnostics import BuildReport, Diagnostic
from patternkg.converter.namespaces import Library
from patternkg.converter.pipeline import Conversion, SharedDescriptions, SourceFile
from patternkg.shapes import index as ix
from patternkg.shapes.locating import RDF_TYPE, FileLocs, where
from patternkg.shapes.progress import checks_status
from patternkg.shapes.severities import RANK
from patternkg.shapes.shacl_sparql import run_checks
from patternkg.shapes.shapes_graph import Finding, Shapes, SparqlConstraint
from patternkg.shapes.validation import (
    Result, Validation, converter_results, finding_key, locate, make_result, run_sparql,
)

_log = logging.getLogger(__name__)  # debug: the time each phase took
BATCH_FILES = 500  # files per batch: ~100K triples, ~100 MB per worker at most
PARALLEL_BATCHES = 2  # fewer batches than this are checked in this process

__all__ = ["BATCH_FILES", "Plan", "analysis", "plan_for", "validate_streaming"]


# -- which constraints need the whole library -------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """How the shapes split between the batches and the cross-pattern index."""

    local: tuple[SparqlConstraint, ...]  # pattern-scope: run in each batch
    library: tuple[SparqlConstraint, ...]  # library-scope: run on the index at the end
    predicates: frozenset[str]  # predicates the library-scope constraints name
    classes: frozenset[str]  # rdf:type objects the index keeps
    declared: frozenset[str]  # YAML fields their results can be declared at


def _walk(node, iris: set[str], triples: list) -> None:
    if isinstance(node, URIRef):
        iris.add(str(node))
    elif isinstance(node, dict):  # CompValue
        if getattr(node, "name", None) in ("BGP", "TriplesBlock"):  # the latter inside FILTER (NOT) EXISTS
            for t in node.get("triples") or []:
                triples.extend(tuple(t[i:i + 3]) for i in range(0, len(t), 3))
        for value in node.values():
            _walk(value, iris, triples)
    elif isinstance(node, (list, tuple, set)):
        for value in node:
            _walk(value, iris, triples)
    elif isinstance(node, RdfPath):
        for value in vars(node).values():
            _walk(value, iris, triples)


def _analyse(constraint: SparqlConstraint) -> tuple[bool, set[str]]:
    """(pattern-scope?, IRIs the query names)."""
    from rdflib.plugins.sparql import prepareQuery  # ~0.5 s to import; not needed when a kept index has the plan

    prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in sorted(constraint.prefixes.items()))
    query = prepareQuery(prologue + constraint.query.replace("$this", "?this"))
    iris: set[str] = set()
    triples: list = []
    _walk(query.algebra, iris, triples)
    this = Variable("this")
    local = all(s == this and isinstance(p, (URIRef, Variable)) for s, p, _o in triples)
    return local, iris


_PLANS: dict[int, tuple[Shapes, Plan]] = {}


def analysis(shapes: Shapes) -> list[list]:
    """Per SHACL-SPARQL constraint of *shapes*, in order: [pattern-scope?, sorted IRIs it names].

    Parsing the queries with rdflib costs about 1.5 s of CPU; a kept index stores this
    (its ``meta.json`` key ``plan``) so a later ``--only`` check needs no parsing."""
    return [[local, sorted(iris)] for local, iris in map(_analyse, shapes.sparql)]


def plan_for(shapes: Shapes, analysed: Sequence[Sequence] | None = None) -> Plan:
    """Split the SHACL-SPARQL constraints of *shapes* into pattern-scope and library-scope ones
    (*analysed*: :func:`analysis` of the same shapes, kept earlier; parsed when not given)."""
    cached = _PLANS.get(id(shapes))
    if cached is not None and cached[0] is shapes:
        return cached[1]
    if analysed is None or len(analysed) != len(shapes.sparql):
        analysed = analysis(shapes)
    local, library, iris = [], [], set()
    for constraint, (is_local, named) in zip(shapes.sparql, analysed):
        if is_local:
            local.append(constraint)
        else:
            library.append(constraint)
            iris |= set(named) | set(constraint.target_classes)
    declared = {c.shape.field for c in library if c.shape.field}
    declared |= {shapes.field_by_path[p] for p in iris if p in shapes.field_by_path}
    # rdf:type is kept for the classes named, not for every class (shared nodes' types included)
    plan = Plan(tuple(local), tuple(library), frozenset(iris - {RDF_TYPE}), frozenset(iris), frozenset(declared))
    _PLANS[id(shapes)] = (shapes, plan)
    return plan


# -- worker side ---------------------------------------------------------------------------------------

@dataclass
class FileOutcome:
    """What the index keeps of one converted file."""

    display: str
    slug: str | None
    ident: str | None
    diagnostics: list[Diagnostic]
    id_targets: set[str] = field(default_factory=set)
    lines: tuple[int | None, int | None] = (None, None)
    locator: bytes = b""  # FileLocs.reduce()
    shared: bytes = b""  # the file's shared-node descriptions, as written
    shared_locs: list[tuple[str, str, str, int | None]] = field(default_factory=list)
    path: str = ""
    stamp: tuple[int, int, str] = (0, -1, "")  # index.file_stamp

    def row(self, order: int) -> tuple:
        """This file's row of the index (:class:`~patternkg.shapes.index.Rows`)."""
        return (order, self.display, self.path, *self.stamp, self.slug, self.ident,
                json.dumps(sorted(self.id_targets)), self.locator,
                ix.pack((self.shared, self.shared_locs)) if self.slug is not None else None, None)


@dataclass
class BatchOutcome:
    files: list[FileOutcome]
    results: list[Result]  # located results on the batch's pattern nodes
    cross: bytes  # the index's triples of the batch's patterns (N-Triples)


@dataclass
class _Context:
    shapes: Shapes
    plan: Plan
    library: Library
    keep: frozenset[bytes]  # N-Triples predicate terms the index keeps
    types: frozenset[bytes]  # N-Triples rdf:type objects the index keeps


_CTX: _Context | None = None
_TYPE = f"<{RDF_TYPE}>".encode()


def select_cross(ntriples: bytes, keep: frozenset[bytes], types: frozenset[bytes]) -> bytes:
    """The lines of *ntriples* the cross-pattern index keeps."""
    out = []
    for line in ntriples.splitlines(keepends=True):
        _s, p, rest = line.split(b" ", 2)
        if p in keep or (p == _TYPE and rest[:-3].rstrip() in types):
            out.append(line)
    return b"".join(out)


def check_store(store: Store, ctx: _Context) -> list[Finding]:
    """The batch-local checks: SHACL Core and the pattern-scope SHACL-SPARQL constraints."""
    return run_checks(store, ctx.shapes) + run_sparql(store, ctx.shapes, base_iri=ctx.library.base,
                                                      constraints=ctx.plan.local)


def _convert(sources: Sequence[SourceFile]) -> list[pipeline.FileResult]:
    return [pipeline._convert_one(source) for source in sources]


def _load(converted: Iterable[pipeline.FileResult]) -> tuple[Store, Conversion]:
    """An in-memory store of *converted* (own triples and merged shared descriptions)."""
    store = Store()
    merge = SharedDescriptions()
    conversion = Conversion(BuildReport())
    files_by_slug: dict[str, list[str]] = defaultdict(list)
    parts = []
    for r in converted:
        if r.slug is None:
            continue
        files_by_slug[r.slug].append(r.display)
        conversion.locations[r.display] = r.locations or {}
        parts.append(r.ntriples)
        if r.shared:
            parts.append(merge.merge(r.shared))
    store.bulk_load(b"".join(parts), format=RdfFormat.N_TRIPLES, lenient=True)
    conversion.files_by_slug = dict(files_by_slug)
    return store, conversion


def _check_batch(sources: list[SourceFile]) -> BatchOutcome:
    ctx = _CTX
    space = ctx.library.pattern_space
    converted = _convert(sources)
    store, conversion = _load(converted)
    findings = sorted({f for f in check_store(store, ctx) if f.focus.startswith(space)}, key=finding_key)
    del store
    results = locate(findings, conversion, ctx.library, ctx.shapes)
    files, cross = [], []
    for source, r in zip(sources, converted):
        outcome = FileOutcome(r.display, r.slug, r.ident, r.diagnostics, path=str(source.path.resolve()),
                              stamp=ix.file_stamp(source.path))
        files.append(outcome)
        if r.slug is None:
            continue
        outcome.id_targets, outcome.lines, outcome.shared = r.id_targets, r.lines, r.shared
        locs = r.locations or {}
        outcome.locator = FileLocs(locs).reduce(predicates=set(ctx.plan.predicates), declared=ctx.plan.declared,
                                                space=space)
        outcome.shared_locs = [(s, p, fld, line) for (s, p), (fld, line) in locs.items() if not s.startswith(space)]
        cross.append(select_cross(r.ntriples, ctx.keep, ctx.types))
    return BatchOutcome(files, results, b"".join(cross))


# -- the engine ----------------------------------------------------------------------------------------

def _context(shapes: Shapes, library: Library, analysed: Sequence[Sequence] | None = None) -> _Context:
    plan = plan_for(shapes, analysed)
    return _Context(shapes, plan, library, frozenset(f"<{p}>".encode() for p in plan.predicates),
                    frozenset(f"<{c}>".encode() for c in plan.classes))


def _outcomes(batches: list[list[SourceFile]], *, base_iri: str, max_size: int, jobs: int) -> Iterable[BatchOutcome]:
    if jobs <= 1 or len(batches) < PARALLEL_BATCHES:
        pipeline._init_worker(base_iri, max_size, True)
        yield from map(_check_batch, batches)
        return
    ctx = get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ctx.Pool(min(jobs, len(batches)), initializer=_init_batch_worker,
                  initargs=(base_iri, max_size, _CTX)) as pool:
        yield from pool.imap(_check_batch, batches)


def _init_batch_worker(base_iri: str, max_size: int, context: _Context) -> None:
    global _CTX
    _CTX = context
    pipeline._init_pool_worker(base_iri, max_size, True)


def validate_streaming(
    *,
    files: Sequence[SourceFile],
    base_iri: str,
    max_file_size: int,
    jobs: int,
    shapes: Shapes,
    batch_files: int = BATCH_FILES,
    only: Sequence[os.PathLike | str] = (),
    index: Path | None = None,
    meta: dict | None = None,
    progress: bool = False,
) -> Validation:
    """Validate the library of *files* (:func:`~patternkg.converter.pipeline.discover`) in batches
    of *batch_files* files (see the module docstring). With *index* (a directory), the
    cross-pattern index is kept there (:mod:`~patternkg.shapes.index`, *meta* describing the
    run) for later ``only`` checks; otherwise it lives in a temporary directory."""
    global _CTX
    started = time.perf_counter()
    library = Library(base_iri)
    _CTX = ctx = _context(shapes, library)
    _log.debug("plan: %.2f s", time.perf_counter() - started)
    files = list(files)
    batches = [files[i:i + max(1, batch_files)] for i in range(0, len(files), max(1, batch_files))]
    report = BuildReport(files=len(files))
    files_by_slug: dict[str, list[str]] = defaultdict(list)
    slug_by_id: dict[str, str] = {}
    id_targets: set[str] = set()
    shared = SharedState()
    results: list[Result] = []
    if index is not None:
        ix.check_target(index)
    with tempfile.TemporaryDirectory(prefix="patternkg-validate-") as tmp:
        work = ix.partial_dir(index) if index is not None else Path(tmp)
        try:
            store = Store(str(work / ix.STORE))
            rows = ix.Rows(work / ix.FILES, fresh=True)
            loader = _Buffered(pipeline._store_loader(store))
            order = 0
            bar = pipeline._progress(len(files), progress)
            try:
                for batch in _outcomes(batches, base_iri=base_iri, max_size=max_file_size, jobs=jobs):
                    bar.update(len(batch.files))
                    results += batch.results
                    if batch.cross:
                        loader.put(batch.cross)
                    for f in batch.files:
                        report.diagnostics.extend(f.diagnostics)
                        rows.add(f.row(order))
                        order += 1
                        if f.slug is None:
                            continue
                        _register(f, report, files_by_slug, slug_by_id)
                        id_targets |= f.id_targets
                        cross = shared.add(f.display, f.shared, f.shared_locs, ctx)
                        if cross:
                            loader.put(cross)
            finally:
                bar.close()
                loader.close()
            checking = checks_status(len(files), len(ctx.plan.library), enabled=progress)
            _log.debug("batches: %.2f s", time.perf_counter() - started)
            pipeline._resolve_ids(store, library, slug_by_id, id_targets)
            store.optimize()  # one compaction: the queries below visit every bulk load's tables otherwise
            library_findings = run_sparql(store, shapes, base_iri=base_iri, constraints=ctx.plan.library)
            _log.debug("library-scope constraints: %.2f s", time.perf_counter() - started)
            results = _finish(results, library_findings, files, files_by_slug, rows, ctx, base_iri, max_file_size)
            _log.debug("located: %.2f s", time.perf_counter() - started)
            on_shared = shared.results(library_findings, ctx)
            _log.debug("shared nodes: %.2f s", time.perf_counter() - started)
            if index is not None:
                by_file: dict[str, list] = defaultdict(list)
                for r in on_shared:
                    by_file[r.file].append(result_tuple(r))
                rows.set_shared_results({file: ix.pack(items) for file, items in by_file.items()})
            results += on_shared
            checking.close()
            rows.close()
            del store, loader
            if index is not None:
                gc.collect()  # the store is closed before its directory moves
                ix.write_meta(work, {**(meta or {}), "dirty": False, "shared_cross": shared.crossed,
                                     "plan": analysis(shapes)})
                ix.swap_in(work, index)
        except BaseException:
            if index is not None:
                shutil.rmtree(work, ignore_errors=True)
            raise
    report.patterns = len(files_by_slug)
    validation = finish_results(results, report, only, files_by_slug)
    _log.debug("done: %.2f s", time.perf_counter() - started)
    return validation


def finish_results(results: list[Result], report: BuildReport, only: Sequence[os.PathLike | str],
                   files_by_slug: dict[str, list[str]], only_files: set[str] | None = None) -> Validation:
    """Converter results added, *only* applied (or *only_files*, the displays of those files
    when known), sorted as the whole-graph engine sorts."""
    results.sort(key=lambda r: (r.focus, r.path, r.shape, r.component, r.value, r.message))  # finding_key
    results += converter_results(report.diagnostics, results)
    if only_files is None and only:
        named = {f for owners in files_by_slug.values() for f in owners} | {d.file for d in report.diagnostics}
        only_files = ix.matching(named, only)
    if only_files is not None:
        results = [r for r in results if r.file in only_files]
    results.sort(key=lambda r: (r.file, r.line, -RANK[r.severity], r.shape, r.field, r.value))
    return Validation(results, report.files, report.patterns, None, report)


def result_tuple(r: Result) -> tuple:
    return (r.severity, r.file, r.line, r.field, r.message, r.fix, r.shape, r.component, r.focus, r.path, r.value,
            list(r.also))


def _finish(results: list[Result], library_findings: list[Finding], files: Sequence[SourceFile],
            files_by_slug: dict[str, list[str]], rows: ix.Rows, ctx: _Context, base_iri: str,
            max_size: int) -> list[Result]:
    """The batches' results with patterns of several files checked again, plus the located
    results of the library-scope constraints."""
    space = ctx.library.pattern_space
    duplicates = {slug for slug, owners in files_by_slug.items() if len(owners) > 1}

    def owner(focus: str) -> str | None:
        return focus[len(space):].split("#", 1)[0] if focus.startswith(space) else None

    if duplicates:
        results = [r for r in results if owner(r.focus) not in duplicates]
        results += _recheck_duplicates(files, duplicates, files_by_slug, library_findings, ctx, base_iri, max_size)
    return results + _locate_library(library_findings, duplicates, files_by_slug, rows.locator, ctx, owner)


class SharedState:
    """The shared-node descriptions merged in file order, and where each node is first named."""

    def __init__(self) -> None:
        self.merge = SharedDescriptions()
        self.parts: list[bytes] = []
        self.exact: dict[tuple[str, str], tuple[str, str, int | None]] = {}
        self.first: dict[str, tuple[str, str, int | None]] = {}
        self.crossed = False  # some shared triple is one the library-scope constraints read

    def add(self, display: str, lines: bytes, locs: Iterable[tuple[str, str, str, int | None]],
            ctx: _Context) -> bytes:
        """Merge one file's descriptions; returns the merged lines the cross-pattern index keeps."""
        for s, p, fld, line in locs:
            self.exact.setdefault((s, p), (display, fld, line))
            self.first.setdefault(s, (display, fld, line))
        if not lines:
            return b""
        merged = self.merge.merge(lines)
        self.parts.append(merged)
        cross = select_cross(merged, ctx.keep, ctx.types)
        self.crossed = self.crossed or bool(cross)
        return cross

    def results(self, library_findings: Iterable[Finding], ctx: _Context) -> list[Result]:
        """Results on shared nodes (checked on the merged descriptions), at the first file naming them."""
        space = ctx.library.pattern_space
        store = Store()
        if self.parts:
            store.bulk_load(b"".join(self.parts), format=RdfFormat.N_TRIPLES, lenient=True)
        findings = {f for f in check_store(store, ctx) if not f.focus.startswith(space)}
        findings |= {f for f in library_findings if not f.focus.startswith(space)}
        out = []
        for f in sorted(findings, key=finding_key):
            place = (self.exact.get((f.focus, f.path)) if f.path else None) or self.first.get(f.focus)
            out.append(make_result(f, ctx.shapes, [place] if place else []))
        return out


class _Buffered:
    """Gathers small N-Triples parts into loads of about BATCH_BYTES (each bulk load costs a fixed
    amount of work on disk)."""

    def __init__(self, loader: pipeline._Loader):
        self.loader, self.parts, self.size = loader, [], 0

    def put(self, part: bytes) -> None:
        self.parts.append(part)
        self.size += len(part)
        if self.size >= pipeline.BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.loader.put(b"".join(self.parts))
            self.parts, self.size = [], 0

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.loader.close()


def _register(f: FileOutcome, report: BuildReport, files_by_slug: dict[str, list[str]],
              slug_by_id: dict[str, str]) -> None:
    """Record a converted file as the build does (duplicate slugs and ids are warned about)."""
    others = files_by_slug[f.slug]
    if others:
        report.diagnostics.append(Diagnostic(
            "warning", "duplicate-slug", f.display,
            f"slug {f.slug!r} is also the slug of {', '.join(others)}; both files describe one pattern",
            "slug", f.lines[0]))
    others.append(f.display)
    if f.ident:
        first = slug_by_id.setdefault(f.ident, f.slug)
        if first != f.slug:
            report.diagnostics.append(Diagnostic(
                "warning", "duplicate-id", f.display, f"id {f.ident!r} is also the id of pattern {first!r}",
                "id", f.lines[1]))


def _recheck_duplicates(files: Sequence[SourceFile], duplicates: set[str], files_by_slug: dict[str, list[str]],
                        library_findings: list[Finding], ctx: _Context, base_iri: str,
                        max_size: int) -> list[Result]:
    """Patterns defined by several files: converted and checked again with all their files."""
    space = ctx.library.pattern_space
    displays = {f for slug in duplicates for f in files_by_slug[slug]}
    pipeline._init_worker(base_iri, max_size, True)
    store, conversion = _load(_convert([s for s in files if s.display in displays]))
    conversion.files_by_slug = {slug: files_by_slug[slug] for slug in duplicates}

    def mine(f: Finding) -> bool:
        return f.focus.startswith(space) and f.focus[len(space):].split("#", 1)[0] in duplicates

    findings = {f for f in check_store(store, ctx) if mine(f)} | {f for f in library_findings if mine(f)}
    return locate(sorted(findings, key=finding_key), conversion, ctx.library, ctx.shapes)


def _locate_library(findings: list[Finding], duplicates: set[str], files_by_slug: dict[str, list[str]],
                    locator: Callable[[str], bytes], ctx: _Context, owner) -> list[Result]:
    """Results of the library-scope constraints, located with the files' reduced tables."""
    out: list[Result] = []
    table: tuple[str, FileLocs | None] = ("", None)
    for f in sorted(findings, key=finding_key):
        slug = owner(f.focus)
        if slug is None or slug in duplicates:
            continue
        places = []
        for file in files_by_slug.get(slug, []):
            if table[0] != file:
                table = (file, FileLocs.from_reduced(locator(file)))
            places.append((file, *where(table[1], f, ctx.shapes.info_by_name.get(f.shape),
                                        ctx.shapes.field_by_path)))
        out.append(make_result(f, ctx.shapes, places))
    return out
