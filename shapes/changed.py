"""Checking a few changed files against a kept cross-pattern index (``validate --only F --index DIR``).

Contract of :func:`check_changed`: with an index written by an earlier validation of the
same library (same sources, base IRI, size limit and shapes), returns exactly the results
a full validation would report for the *only* files -- or ``None`` when the index cannot
be used (missing, another library, left dirty, too many changed files), and the caller
runs a full validation, which rewrites the index.

What is converted: the *only* files; every file whose size, mtime and SHA-1 differ from the
index (they are brought up to date too, so the library-wide checks see the library as it
is now); the other files defining the slug of any of those; and, when a file's slug or id
changed, the files linking to its old or new id (their ``pat_`` targets resolve
differently). A file whose size or mtime changed but not its SHA-1 is not converted: its
new stamp is kept. Their rows and their triples in the index are replaced; everything else is
read from the index: the ids, relationship ends and types of the other patterns, and the
results on shared nodes (recomputed from the kept descriptions of every file when a
converted file's shared-node descriptions changed or files were added or removed; moved
to the new lines when only their lines changed).

Cost per file of the library (what grows with it): one ``stat``, its row's stamp, slug and
id read once, and a dictionary entry; nothing is resolved, parsed or hashed for an
unchanged file.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Collection, Sequence
from pathlib import Path

from pyoxigraph import NamedNode, RdfFormat, Store

from patternkg.converter import pipeline
from patternkg.converter.diagnostics import BuildReport
from patternkg.converter.namespaces import Library
from patternkg.converter.pipeline import SourceFile
from patternkg.shapes import index as ix
from patternkg.shapes import streaming as st
from patternkg.shapes.locating import FileLocs
from patternkg.shapes.shapes_graph import Shapes
from patternkg.shapes.validation import Result, Validation, finding_key, locate, run_sparql

#: more changed files than this (besides the *only* ones): a full run is cheaper
MAX_CHANGED = 500

__all__ = ["MAX_CHANGED", "check_changed"]


def check_changed(*, index: Path, files: Sequence[SourceFile], only: Sequence[os.PathLike | str], shapes: Shapes,
                  meta: dict, base_iri: str, max_file_size: int,
                  neighbours_of: Collection[str] = ()) -> Validation | None:
    """Results of the *only* files, from the index plus a conversion of what changed (see above).

    *neighbours_of* (slugs and ids): the files whose patterns link to one of them (a triple
    of the updated index naming that pattern, or a ``pat_`` target naming that id) or have
    that slug or id are checked too (where the cross-pattern checks put results about
    those patterns); :attr:`~.validation.Validation.checked` lists every file checked."""
    kept = ix.read_meta(index)
    if kept is None or kept.get("format") != ix.FORMAT or kept.get("dirty") or kept.get("shared_cross") \
            or any(kept.get(k) != v for k, v in meta.items()):
        return None
    current = {f.display: f for f in files}
    only_displays = ix.matching(current, only)
    rows = ix.Rows(index / ix.FILES)
    try:
        return _check(index, rows, files, current, only_displays, shapes, {**kept, **meta}, base_iri, max_file_size,
                      set(neighbours_of))
    finally:
        rows.close()


def _check(index: Path, rows: ix.Rows, files: Sequence[SourceFile], current: dict[str, SourceFile],
           only_displays: set[str], shapes: Shapes, meta: dict, base_iri: str, max_size: int,
           around: set[str]) -> Validation | None:
    # (mtime_ns, size, digest, slug, ident) of every file, in file order (a covering index)
    stored = {row[0]: row[1:] for row in
              rows.db.execute("SELECT display, mtime_ns, size, digest, slug, ident FROM files ORDER BY ord")}
    removed = stored.keys() - current.keys()
    added = current.keys() - stored.keys()
    changed = set(added)
    touched = []  # same bytes, new size or mtime (a checkout, a copy): the stamp is brought up to date
    stat, get = os.stat, stored.get
    for display in current:  # the one loop over every file: a stat each
        old = get(display)
        if old is None:
            continue
        try:
            st_ = stat(display)
        except OSError:
            changed.add(display)
            continue
        if st_.st_mtime_ns != old[0] or st_.st_size != old[1]:
            stamp = ix.file_stamp(display)
            if stamp[2] != old[2]:
                changed.add(display)
            else:
                touched.append((stamp[0], stamp[1], display))
    if touched:
        rows.db.execute("BEGIN")
        rows.db.executemany("UPDATE files SET mtime_ns = ?, size = ? WHERE display = ?", touched)
        rows.db.execute("COMMIT")
    if len(changed | removed) > MAX_CHANGED:
        return None
    library = Library(base_iri)
    ctx = st._context(shapes, library, meta.get("plan"))
    st._CTX = ctx
    pipeline._init_worker(base_iri, max_size, True)
    slugs_of = defaultdict(list)  # slug -> displays in file order (as stored, then updated below)
    for display, row in stored.items():
        if row[3] is not None and display not in removed:
            slugs_of[row[3]].append(display)
    convert = set(changed) | only_displays
    converted: dict[str, pipeline.FileResult] = {}
    for _round in range(4):  # the closure below is reached in one or two rounds in practice
        for display in sorted(convert - set(converted)):
            converted[display] = pipeline._convert_one(current[display])
        before = len(convert)
        moved_ids: set[str] = set()
        touched_slugs: set[str] = set()
        for display in (changed | removed):
            old = stored.get(display)
            new = converted.get(display)
            old_key = (old[3], old[4]) if old else (None, None)
            new_key = (new.slug, new.ident) if new else (None, None)
            touched_slugs |= {s for s in (old_key[0], new_key[0]) if s}
            if old_key != new_key:
                moved_ids |= {i for i in (old_key[1], new_key[1]) if i}
        touched_slugs |= {converted[d].slug for d in only_displays if converted[d].slug}
        convert |= {d for s in touched_slugs for d in slugs_of.get(s, []) if d in current}
        convert |= {d for s in touched_slugs for d, r in converted.items() if r.slug == s}
        for ident in moved_ids:
            pattern = f'%"{ident}"%'
            convert |= {d for (d,) in rows.db.execute("SELECT display FROM files WHERE id_targets LIKE ?", (pattern,))
                        if d in current}
        if len(convert) == before and convert <= set(converted):
            break
    if len(convert) > MAX_CHANGED + len(only_displays):
        return None
    ix.write_meta(index, {**meta, "dirty": True, "shared_cross": False})
    store = Store(str(index / ix.STORE))
    space = library.pattern_space
    # Out with the old triples of every file converted again or removed ...
    old_rows = rows.get(sorted(convert | removed), "locator, shared, shared_results")
    for display, (locator, _shared, _results) in old_rows.items():
        subjects = {s for s, _p in FileLocs.from_reduced(locator).entries} if locator else set()
        for s in subjects:
            for quad in list(store.quads_for_pattern(NamedNode(s), None, None)):
                store.remove(quad)
    # ... and their rows updated, in discovery order.
    order = dict(zip(current, range(len(current))))  # *current* is in file order
    renumber = bool(removed) or bool(added)
    if removed:
        rows.db.executemany("DELETE FROM files WHERE display = ?", [(d,) for d in removed])
    shared_changed = renumber
    relocated: dict[str, list] = {}  # the same shared descriptions, only at other lines
    keys = {d: row[3:5] for d, row in stored.items()}
    for display in removed:
        del keys[display]
    for display in sorted(convert, key=order.__getitem__):
        r = converted[display]
        outcome = _outcome(current[display], r, ctx)
        keys[display] = (outcome.slug, outcome.ident)
        row = outcome.row(order[display])
        # the results on shared nodes kept at this file stay (recomputed below when they change)
        rows.add((*row[:-1], old_rows[display][2]) if display in old_rows else row)
        before_shared = ix.unpack(old_rows[display][1]) if display in old_rows else None
        now_shared = (outcome.shared, outcome.shared_locs) if outcome.slug is not None else None
        if before_shared == now_shared:
            continue
        if before_shared is not None and now_shared is not None and before_shared[0] == now_shared[0] \
                and [loc[:3] for loc in before_shared[1]] == [loc[:3] for loc in now_shared[1]]:
            relocated[display] = now_shared[1]
        else:
            shared_changed = True
    rows.flush()
    if renumber:
        rows.db.execute("BEGIN")
        rows.db.executemany("UPDATE files SET ord = ? WHERE display = ?", [(i, d) for d, i in order.items()])
        rows.db.execute("COMMIT")
    slug_by_id: dict[str, str] = {}
    files_by_slug: dict[str, list[str]] = defaultdict(list)
    none = (None, None)
    for display in current:  # discovery order: the order of the rows
        slug, ident = keys.get(display, none)
        if slug is not None:
            files_by_slug[slug].append(display)
            if ident:
                slug_by_id.setdefault(ident, slug)
    # The new triples, ids resolved against the whole (updated) library.
    scratch = Store()
    id_targets: set[str] = set()
    lines = [st.select_cross(converted[d].ntriples, ctx.keep, ctx.types) for d in convert if converted[d].slug]
    scratch.bulk_load(b"".join(lines), format=RdfFormat.N_TRIPLES, lenient=True)
    for d in convert:
        id_targets |= converted[d].id_targets
    pipeline._resolve_ids(scratch, library, slug_by_id, id_targets)
    store.extend(list(scratch))
    store.flush()
    if around:  # the neighbours, and the other files of their patterns
        extra = _neighbours(store, rows, around, files_by_slug, keys, library) - only_displays
        extra |= {d for e in extra for d in files_by_slug.get(keys[e][0], ())}
        for display in sorted(extra - set(converted)):
            converted[display] = pipeline._convert_one(current[display])
        only_displays = only_displays | {d for d in extra if d in current}
    # The checks of the only files' patterns: batch-local on their files, library-wide on the index.
    only_slugs = {converted[d].slug for d in only_displays if converted[d].slug}
    mine = sorted((d for d in converted if converted[d].slug in only_slugs), key=order.__getitem__)
    local_store, conversion = st._load([converted[d] for d in mine])
    conversion.files_by_slug = {s: files_by_slug[s] for s in only_slugs}
    focus = {library.pattern(s).value for s in only_slugs}
    focus |= {s for d in mine for (s, _p) in (converted[d].locations or {}) if s.startswith(space)}

    def owned(f) -> bool:
        return f.focus.startswith(space) and f.focus[len(space):].split("#", 1)[0] in only_slugs

    findings = {f for f in st.check_store(local_store, ctx) if owned(f)}
    findings |= {f for f in run_sparql(store, shapes, focus, base_iri, constraints=ctx.plan.library, restrict=True)
                 if owned(f)}
    results: list[Result] = locate(sorted(findings, key=finding_key), conversion, library, shapes)
    del store, local_store
    results += _shared_results(rows, only_displays, shared_changed, ctx, relocated)
    report = BuildReport(files=len(files), patterns=len(files_by_slug))
    for display in sorted(only_displays, key=order.__getitem__):
        report.diagnostics.extend(converted[display].diagnostics)
    validation = st.finish_results(results, report, [], files_by_slug, only_files=only_displays)
    ix.write_meta(index, {**meta, "dirty": False, "shared_cross": False})
    validation.reused_index = len(converted)
    validation.checked = sorted(only_displays, key=order.__getitem__)
    return validation


def _neighbours(store: Store, rows: ix.Rows, words: set[str], files_by_slug: dict[str, list[str]],
                keys: dict[str, tuple], library: Library) -> set[str]:
    """Files whose patterns link to a pattern with one of the slugs *words* (a triple of the
    index naming it; targets by id are resolved there), whose ``pat_`` targets name one of
    the ids *words* (resolved or not), or whose slug or id is one of *words*."""
    space = library.pattern_space
    out = {d for d, (slug, ident) in keys.items() if slug in words or ident in words}
    for word in words:
        try:
            target = library.pattern(word)
        except ValueError:  # not a slug
            continue
        for quad in store.quads_for_pattern(None, None, target):
            subject = quad.subject.value
            if subject.startswith(space):
                out.update(files_by_slug.get(subject[len(space):].split("#", 1)[0], ()))
    if words:
        ordered = sorted(words)
        where = " OR ".join("id_targets LIKE ?" for _ in ordered)
        out |= {d for (d,) in rows.db.execute(f"SELECT display FROM files WHERE {where}",
                                              [f'%"{w}"%' for w in ordered])}
    return {d for d in out if d in keys}


def _outcome(source: SourceFile, r: pipeline.FileResult, ctx: st._Context) -> st.FileOutcome:
    outcome = st.FileOutcome(r.display, r.slug, r.ident, r.diagnostics, path=str(source.path.resolve()),
                             stamp=ix.file_stamp(source.path))
    if r.slug is not None:
        space = ctx.library.pattern_space
        locs = r.locations or {}
        outcome.id_targets, outcome.lines, outcome.shared = r.id_targets, r.lines, r.shared
        outcome.locator = FileLocs(locs).reduce(predicates=set(ctx.plan.predicates), declared=ctx.plan.declared,
                                                space=space)
        outcome.shared_locs = [(s, p, fld, line) for (s, p), (fld, line) in locs.items() if not s.startswith(space)]
    return outcome


def _shared_results(rows: ix.Rows, only_displays: set[str], changed: bool, ctx: st._Context,
                    relocated: dict[str, list]) -> list[Result]:
    """Results on shared nodes reported at the only files: kept, or recomputed from every file's
    kept descriptions when they changed. A file whose descriptions are the same, at other
    lines (*relocated*: its new location list), keeps its results at the new lines."""
    if changed:
        shared = st.SharedState()
        for display, blob in rows.db.execute("SELECT display, shared FROM files WHERE slug IS NOT NULL ORDER BY ord"):
            lines, locs = ix.unpack(blob)
            shared.add(display, lines, locs, ctx)
        found = shared.results([], ctx)
        by_file: dict[str, list] = defaultdict(list)
        for r in found:
            by_file[r.file].append(st.result_tuple(r))
        rows.set_shared_results({file: ix.pack(items) for file, items in by_file.items()})
        return [r for r in found if r.file in only_displays]
    if relocated:
        moved = {}
        for display, (blob,) in rows.get(sorted(relocated), "shared_results").items():
            if blob:
                moved[display] = ix.pack([_relocate(item, relocated[display]) for item in ix.unpack(blob)])
        if moved:
            rows.db.execute("BEGIN")
            rows.db.executemany("UPDATE files SET shared_results = ? WHERE display = ?",
                                [(blob, display) for display, blob in moved.items()])
            rows.db.execute("COMMIT")
    out = []
    for (blob,) in (rows.get(sorted(only_displays), "shared_results").values()):
        for item in ix.unpack(blob) or []:
            out.append(Result(*item[:11], also=list(item[11])))
    return out


def _relocate(item: tuple, locs: list) -> tuple:
    """A kept result on a shared node (:func:`~.streaming.result_tuple`) placed as
    :meth:`~.streaming.SharedState.results` places it, in a file whose (node, predicate,
    field) list is unchanged and whose lines are now *locs*: at the node and path's
    entry, else at the node's first entry."""
    exact: dict[tuple[str, str], tuple[str, int | None]] = {}
    first: dict[str, tuple[str, int | None]] = {}
    for s, p, fld, line in locs:
        exact.setdefault((s, p), (fld, line))
        first.setdefault(s, (fld, line))
    focus, path = item[8], item[9]
    place = (exact.get((focus, path)) if path else None) or first.get(focus)
    if place is None:
        return item
    return (item[0], item[1], place[1] or 1, place[0], *item[4:])
