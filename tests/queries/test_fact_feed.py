"""The fact tables a build hands to a FactFeed equal the ones read back from the finished store.

A full build (``converter/incremental.py``) makes the answers sidecar from the tables of a
:class:`~patternkg.server.fact_feed.FactFeed` fed the N-Triples it loads; the other writers read
them from the store (:class:`~patternkg.server.bulk_facts.BulkFacts`). Both must give the same
rows: ``pat_`` targets rewritten, ``pkg:backedBy`` derived after that, typed literals in the form
the store gives back, one row per distinct triple, the VoID description included.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pyoxigraph import Store

from patternkg.converter.pipeline import load_library
from patternkg.server import bulk_facts
from patternkg.server.answers import open_answers
from patternkg.server.fact_feed import FactFeed
from patternkg.server.precompute import complete_answers

from qhelpers import BASE, LIBRARY, fact_tables
from test_precomputed import Pinned, check_library

#: what the fed path has to get right that the small query library does not show
HARD_CASES = {
    "zeta.md": '''---
id: pat_zeta0000000000000000000001
slug: zeta
title: "Zeta \\"quoted\\" \\\\ back\\nslash"
aliases: ["tab\\there", "ünïcode ☃"]
ontology:
  domain: governance
  search_hints:
    vector_keywords: ["a \\"kw\\"", plain]
  commons_assessment:
    overall_score: 4.50
    resilience: 3
relationships:
  requires:
    - {slug: pat_eta00000000000000000000001, weight: 0.90}
    - {slug: eta, weight: 0.9}
  enables:
    - {slug: eta, weight: 1}
graph_garden:
  communities:
    - {id: c-green, label: Green, confidence: 0.80}
  inferred_links:
    - {target: eta, type: requires, confidence: 0.70, reason: "by id \\"there\\""}
    - {target: pat_eta00000000000000000000001, type: enables, confidence: 0.5, reason: r}
---
Zeta.
''',
    "eta.md": '''---
id: pat_eta00000000000000000000001
slug: eta
title: Eta
ontology:
  domain: governance
  commons_assessment:
    overall_score: 2.0
relationships:
  related:
    - {slug: pat_zeta0000000000000000000001, weight: 0.5}
---
Eta.
''',
}


def _library(tmp_path: Path) -> Path:
    library = tmp_path / "library"
    shutil.copytree(LIBRARY, library)
    for name, text in HARD_CASES.items():
        (library / name).write_text(text, encoding="utf-8")
    # one pattern described by two files: the same triples twice
    shutil.copyfile(library / "eta.md", library / "eta-again.md")
    return library


def _fed(sources: list[Path], tmp_path: Path, *, answers: Path | None = None) -> tuple[Store, Path]:
    """A store loaded from *sources* and what its FactFeed made (the tables, or the answers)."""
    store = Store()
    feed = FactFeed(tmp_path / "facts.sqlite", answers=answers)
    try:
        report = load_library(store, sources=sources, base_iri=BASE, facts=feed).report
    except BaseException:
        feed.abort()
        raise
    assert report.triples > 0
    return store, feed.wait()  # finished by load_library


def _check_equal(sources: list[Path], tmp_path: Path) -> dict[str, list]:
    store, path = _fed(sources, tmp_path)
    fed = fact_tables(store, tmp_path / "fed", prepared=path)[1]
    assert not path.exists(), "the fed tables are used up"
    read = fact_tables(store, tmp_path / "read")[1]
    for table in bulk_facts.TABLES:
        assert fed[table] == read[table], table
    return read


def test_hard_cases(tmp_path):
    tables = _check_equal([_library(tmp_path)], tmp_path)
    zeta, eta = f"<{BASE}pattern/zeta>", f"<{BASE}pattern/eta>"
    # the cases are there: an id target rewritten (once: the same step is also written by slug),
    # a canonical decimal, an escaped title, backing
    assert tables["direct"].count((zeta, f"<{bulk_facts.PKG}requires>", eta)) == 1
    assert any(o == '"4.5"^^<http://www.w3.org/2001/XMLSchema#decimal>' for _s, _d, o in tables["score"])
    assert (zeta, "1", 'Zeta "quoted" \\ back\nslash') in tables["searchable"]
    assert tables["backed_by"] and tables["enabling_relationship"] and tables["enabling_inferred_link"]
    assert any("/dataset" in s for s, _o in tables["title"]), "the VoID description is fed too"


def test_answers_from_fed_facts_equal_the_live_queries(tmp_path):
    store, started = _fed([_library(tmp_path)], tmp_path, answers=tmp_path / "started.sqlite")
    assert started == tmp_path / "started.sqlite" and not (tmp_path / "facts.sqlite").exists()
    (tmp_path / "answers").mkdir()
    complete_answers(store, tmp_path / "answers", started)
    assert not started.exists()
    pinned = Pinned(store, open_answers(tmp_path / "answers"))
    check_library(pinned, store, sample=None, paths=30, long_paths=30)
    assert pinned.checked > 50


@pytest.mark.slow
def test_corpus(corpus_dir, tmp_path):
    tables = _check_equal([corpus_dir], tmp_path)
    assert sum(map(len, tables.values())) > 50_000


def test_a_helper_that_dies_fails_the_feed_and_leaves_nothing(tmp_path):
    feed = FactFeed(tmp_path / "facts.sqlite")
    feed.process.kill()
    feed.process.wait()
    with pytest.raises(RuntimeError, match="exit code -9"):
        feed.write(b"<urn:a> <urn:b> <urn:c> .\n" * 100_000)
        feed.finish()
        feed.wait()
    feed.abort()
    assert list(tmp_path.iterdir()) == []
