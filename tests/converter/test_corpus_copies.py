"""The benchmark library copier (tests/benchmarks/corpus10x.py) renames identity and link fields only."""

from __future__ import annotations

import sys
from pathlib import Path

from patternkg.converter.api import convert

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from corpus10x import make_corpus, rename_links  # noqa: E402

PKG = "https://w3id.org/patternkg/ontology#"


def test_rename_links_touches_identity_and_link_fields_only():
    front = "\n".join([
        "---", "id: pat_abc", "slug: alpha", "enables:", "- pat_def", "- beta",
        "classification:", "  domain: operations",
        "relationships:", "  requires:", "    - slug: gamma", "      weight: 0.5",
        "  enables: [{id: delta, weight: 0.8, description: \"alpha: beta, gamma\"}, epsilon]",
        "graph_garden:", "  entities:", "    - id: alpha", "  communities:", "    - id: beta",
        "  inferred_links:", "    - target: zeta", "      type: enables", "      reason: \"zeta\"",
    ])
    out = rename_links(front, 3).split("\n")
    assert out[1:6] == ["id: pat_abck3", "slug: alpha-k3", "enables:", "- pat_defk3", "- beta-k3"]
    assert out[7] == "  domain: operations"
    assert out[10:12] == ["    - slug: gamma-k3", "      weight: 0.5"]
    assert out[12] == '  enables: [{id: delta-k3, weight: 0.8, description: "alpha: beta, gamma"}, epsilon-k3]'
    assert out[15] == "    - id: alpha" and out[17] == "    - id: beta"  # entity and community ids stay
    assert out[19:22] == ["    - target: zeta-k3", "      type: enables", '      reason: "zeta"']


def test_copies_share_vocabulary_and_keep_links_inside_each_copy(corpus_dir, tmp_path):
    sample = tmp_path / "sample"
    sample.mkdir()
    for path in sorted(corpus_dir.glob("*.md"))[:60]:
        (sample / path.name).write_bytes(path.read_bytes())
    make_corpus(src=sample, dst=tmp_path / "copies", copies=3)

    def counts(store) -> list[int]:
        return [int(next(iter(store.query(f"SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE {{ ?s <{PKG}{p}> ?o }}")))[0].value)
                for p in ("slug", "domain", "memberOf", "mentions", "inferredLink", "target", "backedBy")]

    one, three = counts(convert(sources=[sample]).store), counts(convert(sources=[tmp_path / "copies"]).store)
    assert three[0] == 3 * one[0]  # slugs
    assert three[1:4] == one[1:4]  # domains, communities, entities: one vocabulary
    assert three[4:] == [3 * n for n in one[4:]]  # link targets and backings: one set per copy
