"""On-disk stores: written atomically, readable by other Oxigraph tools, never left half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from patternkg.converter.api import build
from patternkg.converter.pipeline import load_library, write_store
from patternkg.converter.storedir import current_id, generation_ids, open_generation, open_store

SEED = Path(__file__).resolve().parents[2] / "seeds" / "distributed-organizing.md"


def count(path: Path) -> int:
    store = open_store(path)
    try:
        return len(store)
    finally:
        del store


def test_failed_build_leaves_the_existing_store_intact(tmp_path):
    target = tmp_path / "store"
    build(store=target, sources=[SEED])
    before = count(target)

    def fill_then_fail(store):
        load_library(store, sources=[SEED], base_iri="https://example.org/other/")
        raise RuntimeError("disk full (simulated)")

    with pytest.raises(RuntimeError):
        write_store(target, fill_then_fail)
    assert count(target) == before
    assert open_store(target).query(
        "ASK { <https://w3id.org/patternkg/library/pattern/distributed-organizing> ?p ?o }")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]
    assert len(generation_ids(target)) == 1 and not list((target / "generations").glob(".partial-*"))


def test_interrupted_build_leaves_the_existing_store_intact(tmp_path, corpus_dir):
    target = tmp_path / "store"
    build(store=target, sources=[SEED])
    before, served = count(target), current_id(target)
    proc = subprocess.Popen([sys.executable, "-m", "patternkg", "build", str(corpus_dir), "--store", str(target),
                             "-q", "--jobs", "1"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and partial is None:
        partial = next((target / "generations").glob(".partial-*"), None)
        time.sleep(0.01)
    assert partial is not None, "the build never started writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert count(target) == before and current_id(target) == served
    # the next build removes what the killed one left, and says so
    done = subprocess.run([sys.executable, "-m", "patternkg", "build", str(SEED), "--store", str(target), "-q"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"removed {partial}, left by a build that was interrupted" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]
    assert generation_ids(target) == [current_id(target)] and current_id(target) != served


def test_rebuild_replaces_the_store(tmp_path):
    target = tmp_path / "store"
    build(store=target, sources=[SEED])
    report = build(store=target, sources=[SEED], base_iri="https://example.org/lib/")
    store = open_store(target)
    assert len(store) == report.triples
    assert store.query("ASK { <https://example.org/lib/pattern/distributed-organizing> ?p ?o }")
    assert not store.query("ASK { <https://w3id.org/patternkg/library/pattern/distributed-organizing> ?p ?o }")


def test_store_is_readable_by_the_oxigraph_server_tool(tmp_path):
    oxigraph = Path(sys.executable).with_name("oxigraph")
    if not oxigraph.exists():
        pytest.skip("the oxigraph CLI (PyPI package 'oxigraph') is not installed")
    target = tmp_path / "store"
    build(store=target, sources=[SEED])
    assert (target / "current" / "store").resolve() == open_generation(target).store_path.resolve()
    out = subprocess.run([str(oxigraph), "query", "--location", str(target / "current" / "store"), "--query",
                          "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "--results-format", "csv"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["n", str(count(target))]



def test_build_compacts_the_store_and_a_plain_fill_does_not(tmp_path):
    """build compacts the store it writes (queries on it are up to 2-4x faster, see
    docs/benchmarks.md); load_library without compact=True (what export's throw-away store
    uses) does not. Same data either way."""
    built = build(store=tmp_path / "built", sources=[SEED])
    assert 0 < built.compact_seconds <= built.seconds
    assert "compaction" in built.to_text() and built.to_dict()["compact_seconds"] > 0

    def fill(store):
        return load_library(store, sources=[SEED], base_iri="https://w3id.org/patternkg/library/").report

    plain = write_store(tmp_path / "plain", fill)
    assert plain.compact_seconds == 0 and "compaction" not in plain.to_text()
    assert count(tmp_path / "plain") == count(tmp_path / "built") == built.triples


def test_build_command_compacts_unless_told_not_to(tmp_path):
    from click.testing import CliRunner

    from patternkg.cli import main

    runner = CliRunner()
    reports = {}
    for flag in ("--compact", "--no-compact"):
        result = runner.invoke(main, ["build", str(SEED), "--store", str(tmp_path / flag[2:]), flag, "--report", "json", "-q"])
        assert result.exit_code == 0, result.output
        reports[flag] = json.loads(result.stderr if hasattr(result, "stderr") else result.output)
    assert reports["--compact"]["compact_seconds"] > 0
    assert reports["--no-compact"]["compact_seconds"] == 0
    assert count(tmp_path / "compact") == count(tmp_path / "no-compact")



BACKING = """---
slug: a
title: a
relationships:
  enables:
    - {slug: b, weight: 0.9}
  complementary:
    - {id: pat_c1, weight: 0.5}
graph_garden:
  inferred_links:
    - {target: b, type: enables, confidence: 0.9, reason: same kind}
    - {target: b, type: requires, confidence: 0.8, reason: other kind}
    - {target: c, type: complementary, confidence: 0.7, reason: id on the curated side}
    - {target: b, type: analogous, confidence: 0.6, reason: no known kind}
    - {target: c, type: analogous, confidence: 0.6, reason: no known kind either}
    - {target: nowhere, type: enables, confidence: 0.5, reason: nothing curated}
---
Body.
"""


def test_backed_by_is_derived_after_targets_resolve(tmp_path):
    """pkg:backedBy links an inferred link to the curated relationship of the same pattern and
    target: of the same kind, or of any kind when its type names no known kind; a target written
    as a pat_ id on the curated side and as a slug on the inferred side still matches."""
    from patternkg.converter.api import convert

    (tmp_path / "a.md").write_text(BACKING, encoding="utf-8")
    for slug in ("b", "c"):
        (tmp_path / f"{slug}.md").write_text(f"---\nslug: {slug}\nid: pat_{slug}1\ntitle: {slug}\n---\nBody.\n",
                                             encoding="utf-8")
    store = convert(sources=[tmp_path]).store
    pkg = "https://w3id.org/patternkg/ontology#"
    rows = store.query(f"""SELECT ?reason ?kind WHERE {{
        ?link <{pkg}reason> ?reason .
        OPTIONAL {{ ?link <{pkg}backedBy> ?rel . ?rel <{pkg}relationshipKind> ?kind }} }}""")
    backed: dict[str, set] = {}
    for row in rows:
        kind = row["kind"].value.rsplit("#", 1)[1] if row["kind"] is not None else None
        backed.setdefault(row["reason"].value, set()).add(kind)
    assert backed == {
        "same kind": {"enables"},
        "other kind": {None},
        "id on the curated side": {"complementaryTo"},
        "no known kind": {"enables"},
        "no known kind either": {"complementaryTo"},
        "nothing curated": {None},
    }


def test_backed_by_across_two_files_of_one_pattern(tmp_path):
    """Two files with one slug describe one pattern: a curated relationship in one backs an
    inferred link in the other (settled on the whole store, as a file alone cannot tell)."""
    from patternkg.converter.api import convert

    (tmp_path / "a1.md").write_text("---\nslug: a\ntitle: a\nrelationships:\n  enables:\n    - {slug: b}\n---\n",
                                    encoding="utf-8")
    (tmp_path / "a2.md").write_text("---\nslug: a\ntitle: a\ngraph_garden:\n  inferred_links:\n"
                                    "    - {target: b, type: enables, confidence: 0.5, reason: r}\n---\n",
                                    encoding="utf-8")
    (tmp_path / "b.md").write_text("---\nslug: b\ntitle: b\n---\n", encoding="utf-8")
    store = convert(sources=[tmp_path]).store
    pkg = "https://w3id.org/patternkg/ontology#"
    assert store.query(f"ASK {{ ?link <{pkg}reason> 'r' ; <{pkg}backedBy> ?rel . "
                       f"?rel <{pkg}relationshipKind> <{pkg}enables> }}")
