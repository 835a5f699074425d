"""Incremental builds: a generation made from the previous one plus the changed files holds,
triple for triple, what a full build of the same files holds; the sidecars row for row and the
build report too. Real builds into real on-disk stores; each comparison builds the same
files a second time with ``full=True`` into another store directory.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from pyoxigraph import Store

from patternkg.converter.api import build
from patternkg.converter.fileindex import INDEX_FILE
from patternkg.converter.storedir import open_generation

BASE = "https://w3id.org/patternkg/library/"


def pattern(slug: str, ident: str, *, title: str | None = None, domain: str = "governance",
            enables: tuple[str, ...] = (), community: str = "c1", community_label: str = "Community one",
            entity_label: str = "Entity one", inferred: tuple[str, ...] = (), score: float | None = None) -> str:
    lines = ["---", f"id: {ident}", f"slug: {slug}", f"title: {title or slug.title()}",
             f"summary: The {slug} pattern.", "ontology:", f"  domain: {domain}"]
    if score is not None:  # a place in every ranking of top-assessed
        lines += ["  commons_assessment:", f"    resilience: {score}", f"    autonomy: {5 - score}",
                  f"    overall_score: {score}"]
    lines += ["relationships:"]
    lines += ["  enables:"] + [f"  - {t}" for t in enables] if enables else ["  enables: []"]
    lines += ["graph_garden:", "  entities:", f"  - id: ent-one", f"    label: {entity_label}", "    type: concept",
              "  communities:", f"  - id: {community}", f"    label: {community_label}"]
    if inferred:
        lines += ["  inferred_links:"] + [f"  - target: {t}\n    type: enables\n    confidence: 0.5" for t in inferred]
    lines += ["---", "", f"# {slug}", "", "## Problem", "", f"Text of {slug}.", ""]
    return "\n".join(lines)


def quads(store_dir: Path) -> list[str]:
    store = Store.read_only(str(open_generation(store_dir).store_path))
    return sorted(str(q) for q in store)


def sidecar_rows(path: Path) -> dict[str, list[str]]:
    """Every row of every table of an SQLite sidecar (FTS shadow tables left out: they
    hold the same rows in an internal, rowid-dependent form), sorted."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        shadows = {f"{v}_{s}" for v in names for s in ("data", "idx", "content", "docsize", "config")}
        return {n: sorted(repr(r) for r in db.execute(f'SELECT * FROM "{n}"')) for n in names if n not in shadows}
    finally:
        db.close()


def report_dict(report) -> dict:
    data = report.to_dict()
    data.pop("seconds")
    data.pop("compact_seconds")
    return data


def assert_same_as_full(lib: Path, incremental: Path, scratch: Path, report) -> None:
    """A full build of *lib* equals the current generation of *incremental*."""
    full_dir = scratch / f"full-{time.monotonic_ns()}"
    full_report = build(store=full_dir, sources=[lib], base_iri=BASE, full=True)
    assert quads(incremental) == quads(full_dir)
    new, reference = open_generation(incremental), open_generation(full_dir)
    for name in ("search.sqlite", "answers.sqlite"):
        assert sidecar_rows(new.directory / name) == sidecar_rows(reference.directory / name), name
    assert report_dict(report) == report_dict(full_report)
    keys = ("triples", "files", "patterns", "errors", "warnings", "source_digest", "base_iri")
    assert {k: new.metadata[k] for k in keys} == {k: reference.metadata[k] for k in keys}
    shutil.rmtree(full_dir)


def touch_later(path: Path) -> None:
    """Make sure a rewrite is seen as a change even on a filesystem with coarse mtimes."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


@pytest.fixture
def library(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "alpha.md").write_text(pattern("alpha", "pat_alpha", enables=("pat_beta", "gamma"), inferred=("pat_beta",),
                                          score=4.0))
    (lib / "beta.md").write_text(pattern("beta", "pat_beta", enables=("pat_gamma",), community_label="First label",
                                         score=3.0))
    (lib / "gamma.md").write_text(pattern("gamma", "pat_gamma", domain="ecology", community_label="Second label",
                                          entity_label="Entity one again", score=2.5))
    (lib / "sub").mkdir()
    (lib / "sub" / "delta.md").write_text(pattern("delta", "pat_delta", enables=("pat_missing", "alpha")))
    return lib


def test_changes_of_every_kind_give_the_full_build_triple_for_triple(tmp_path, library):
    store = tmp_path / "store"
    build(store=store, sources=[library], base_iri=BASE)
    first = open_generation(store)
    assert (first.directory / INDEX_FILE).is_file()

    steps = [
        # a title and a domain change; the first-file label of a shared community changes
        lambda: (library / "beta.md").write_text(pattern("beta", "pat_beta", title="Beta two", domain="new-domain",
                                                         enables=("pat_gamma",), community_label="Changed label")),
        # a score moves a pattern up one ranking and down another (rows spliced at their new places)
        lambda: (library / "gamma.md").write_text(pattern("gamma", "pat_gamma", domain="ecology",
                                                          community_label="Second label",
                                                          entity_label="Entity one again", score=4.5)),
        # a title only: rows replaced in place; an inferred link is dropped (review queue, enablers)
        lambda: (library / "alpha.md").write_text(pattern("alpha", "pat_alpha", title="Alpha renamed",
                                                          enables=("pat_beta", "gamma"), score=4.0)),
        # a file added before the others in discovery order: its community label becomes the preferred one
        lambda: (library / "aardvark.md").write_text(pattern("aardvark", "pat_aardvark", community_label="Earliest")),
        # the pattern an id names moves to another file (pat_beta targets of alpha resolve to it)
        lambda: ((library / "beta.md").write_text(pattern("beta", "pat_beta2", enables=("pat_gamma",))),
                 (library / "zeta.md").write_text(pattern("zeta", "pat_beta"))),
        # a file removed: the id it held is unresolved again, its domain is no longer named
        lambda: (library / "zeta.md").unlink(),
        # a rename (removed + added, same content)
        lambda: (library / "sub" / "delta.md").rename(library / "sub" / "delta-renamed.md"),
        # a second file claims a slug (duplicate slug: backedBy settled on the whole pattern)
        lambda: (library / "alpha-too.md").write_text(pattern("alpha", "pat_alpha_too", enables=("beta",),
                                                              inferred=("beta",))),
        # a file that fails (no slug), then is fixed
        lambda: (library / "broken.md").write_text("---\ntitle: no slug\n---\n"),
        lambda: (library / "broken.md").write_text(pattern("broken", "pat_broken", enables=("pat_alpha", "omega"))),
        # unresolved targets resolved by a new file's id (delta's pat_missing), then by a new slug
        lambda: (library / "found.md").write_text(pattern("found", "pat_missing")),
        lambda: (library / "omega.md").write_text(pattern("omega", "pat_omega")),
        # a file names a target nothing names, then is removed: neither is reported any more
        lambda: (library / "found.md").write_text(pattern("found", "pat_missing", enables=("nowhere",))),
        lambda: (library / "found.md").unlink(),
    ]
    for step in steps:
        step()
        previous = open_generation(store).id
        report = build(store=store, sources=[library], base_iri=BASE)
        generation = open_generation(store)
        assert generation.metadata["build"]["kind"] == "incremental"
        assert generation.metadata["build"]["from"] == previous
        assert_same_as_full(library, store, tmp_path, report)


def test_a_file_whose_size_and_mtime_are_unchanged_is_not_read_again(tmp_path, library):
    store = tmp_path / "store"
    build(store=store, sources=[library], base_iri=BASE)
    gamma = library / "gamma.md"
    stat = gamma.stat()
    text = gamma.read_text()
    gamma.write_text(text.replace("title: Gamma", "title: GAMMA"))  # same size
    os.utime(gamma, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert gamma.stat().st_size == stat.st_size
    build(store=store, sources=[library], base_iri=BASE)
    assert open_generation(store).metadata["build"] == {
        "kind": "incremental", "from": open_generation(store).metadata["build"]["from"], "changed": 0, "removed": 0,
        "read": 0}
    assert any('"Gamma"' in q for q in quads(store))  # the record's stat matched: not read
    build(store=store, sources=[library], base_iri=BASE, full=True)
    assert not any('"Gamma"' in q for q in quads(store))


def test_a_touched_file_with_the_same_content_is_not_converted_again(tmp_path, library):
    store = tmp_path / "store"
    build(store=store, sources=[library], base_iri=BASE)
    before = quads(store)
    touch_later(library / "beta.md")
    report = build(store=store, sources=[library], base_iri=BASE)
    assert open_generation(store).metadata["build"]["read"] == 0  # digested, not converted
    assert quads(store) == before
    assert_same_as_full(library, store, tmp_path, report)


def test_a_different_base_iri_or_full_forces_a_full_build(tmp_path, library):
    store = tmp_path / "store"
    build(store=store, sources=[library], base_iri=BASE)
    other = "https://example.org/lib/"
    report = build(store=store, sources=[library], base_iri=other)
    assert open_generation(store).metadata["build"]["kind"] == "full"
    assert any(other in q for q in quads(store)) and not any(BASE + "pattern/" in q for q in quads(store))
    assert report.ok
    report = build(store=store, sources=[library], base_iri=BASE, full=True)
    assert report.compact_seconds > 0  # only a full build compacts
    assert_same_as_full(library, store, tmp_path, report)


@pytest.mark.slow
def test_the_shared_corpus_changed_added_removed_renamed(tmp_path, corpus_dir):
    lib = tmp_path / "corpus"
    shutil.copytree(corpus_dir, lib)
    store = tmp_path / "store"
    build(store=store, sources=[lib], base_iri=BASE)
    files = sorted(lib.rglob("*.md"))
    changed = files[0]
    text = changed.read_text(encoding="utf-8")
    changed.write_text(text.replace("\ntitle:", "\ntitle: Changed", 1).replace("domain:", "domain: brand-new-domain\n#", 1),
                       encoding="utf-8")
    touch_later(changed)
    files[1].unlink()
    files[2].rename(files[2].with_name("renamed-" + files[2].name))
    shutil.copyfile(files[3], lib / "a-copy-of-a-pattern.md")  # a duplicate slug and id
    report = build(store=store, sources=[lib], base_iri=BASE)
    made = open_generation(store).metadata["build"]
    assert made["kind"] == "incremental" and made["changed"] == 3 and made["removed"] == 2
    assert_same_as_full(lib, store, tmp_path, report)


def test_sidecar_copies_are_made_on_a_thread_and_their_errors_raised_where_taken(tmp_path):
    from patternkg.converter.incremental import _Copies

    source = tmp_path / "answers.sqlite"
    source.write_bytes(b"x" * 3_000_000)
    copies = _Copies({"present": (source, tmp_path / "copy"), "missing": (tmp_path / "none", tmp_path / "copy2"),
                      "failing": (source, tmp_path / "no-such-folder" / "copy3")})
    try:
        assert copies.take("present") == tmp_path / "copy"
        assert (tmp_path / "copy").read_bytes() == source.read_bytes()
        assert copies.take("missing") is None and not (tmp_path / "copy2").exists()
        with pytest.raises(FileNotFoundError):
            copies.take("failing")
    finally:
        copies.close()
