"""The precomputed answers (server/precompute.py, server/answers.py) equal the live queries.

Every answer read from ``answers.sqlite`` is compared with the same prepared query run on
the store without it: the same rows (as a multiset), the same total, and the same order on
the query's ORDER BY columns (rows that tie on all of them may come in any order, as in
SPARQL). ``path`` names the kinds of a step in a fixed order (path.rq, ``step_label``), so
its kind columns are compared as they are.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from pyoxigraph import Store

from patternkg.converter.storedir import open_generation, open_store
from patternkg.server.answers import AnswerIndex, open_answers
from patternkg.server.precompute import write_answers
from patternkg.server.prepared import PreparedQueries, store_runner

from qhelpers import LIBRARY, fact_tables

#: columns of each query's ORDER BY that are projected (the order the index must keep)
ORDER = {
    "by-domain": ("overall_score", "slug"), "community": ("confidence", "slug"),
    "top-assessed": ("score", "slug"), "similar": ("score", "shared_entities", "slug"),
    "path": ("hops", "via1", "via2", "via3"), "dangling-references": ("token", "slug"),
    "one-sided-relations": ("slug", "kind", "target_slug"), "review-queue": ("confidence", "slug", "target"),
    "stats": ("facet", "count", "value"), "search": ("match", "slug"), "enablers": ("source", "weight", "slug"),
}


def canonical(name: str, binding: dict) -> str:
    return json.dumps(binding, sort_keys=True)


class Pinned:
    """Runs a query live and from the index, and compares."""

    def __init__(self, store: Store, index: AnswerIndex) -> None:
        self.live = PreparedQueries(store_runner(store))
        self.index = index
        self.checked = 0

    def check(self, name: str, raw: dict[str, str], limit: int | None = None, offset: int = 0) -> int:
        query = self.live.get(name)
        terms = query.parse_values(raw, self.live.library)
        found = self.index.answer(query, terms, limit, offset)
        assert found is not None, f"{name} is not precomputed"
        rows, total = found
        live = self.live.run(name, raw, limit, offset)
        where = f"{name} {raw} limit={limit} offset={offset}"
        assert total == live.total, where
        assert sorted(canonical(name, b) for b in rows) == sorted(canonical(name, b) for b in live.bindings), where
        keys = ORDER[name]
        assert [[b.get(k) for k in keys] for b in rows] == [[b.get(k) for k in keys] for b in live.bindings], where
        self.checked += 1
        return total


def values(store: Store, sparql: str) -> list[str]:
    return sorted({row[0].value for row in store.query(sparql)})


PKG = "https://w3id.org/patternkg/ontology#"
DIMENSIONS = ["overall", "stakeholder_architecture", "value_creation", "resilience", "ownership", "autonomy",
              "composability", "fractal_value", "vitality"]


def local(iri: str) -> str:
    return iri.rsplit("/", 1)[1]


def check_library(pinned: Pinned, store: Store, *, sample: int | None, paths: int, long_paths: int,
                  seed: int = 14) -> None:
    """Compare every precomputed query (all its keys, or *sample* of them) with the live one."""
    rng = random.Random(seed)

    def some(items: list[str]) -> list[str]:
        return items if sample is None or len(items) <= sample else rng.sample(items, sample)

    for name in ("dangling-references", "one-sided-relations", "review-queue", "stats"):
        total = pinned.check(name, {})
        pinned.check(name, {}, limit=7, offset=min(3, total))
        pinned.check(name, {}, limit=0)
    domains = [local(d) for d in values(store, f"SELECT ?d WHERE {{ ?d a <{PKG}Domain> }}")]
    communities = [local(c) for c in values(store, f"SELECT ?c WHERE {{ ?c a <{PKG}Community> }}")]
    patterns = [local(p) for p in values(store, f"SELECT ?p WHERE {{ ?p a <{PKG}Pattern> }}")]
    for domain in domains:
        pinned.check("by-domain", {"domain": domain})
    for community in some(communities):
        pinned.check("community", {"community": community})
    for dimension in DIMENSIONS:
        pinned.check("top-assessed", {"dimension": dimension, "limit": "1000"}, limit=1000)
        pinned.check("top-assessed", {"dimension": dimension}, limit=10, offset=5)
        for domain in some(domains):
            pinned.check("top-assessed", {"dimension": dimension, "domain": domain, "limit": "1000"}, limit=1000)
    for target in some(patterns):
        pinned.check("enablers", {"target": target})
        for domain in some(domains)[:3]:
            pinned.check("enablers", {"target": target, "domain": domain})
    for pattern in some(patterns):
        total = pinned.check("similar", {"pattern": pattern})
        if total > 3:
            pinned.check("similar", {"pattern": pattern}, limit=3, offset=total // 2)
    for text in ("trust", "SYSTEM", "a", "ng", "e-", "*", "[a", "%", "_", "ü", "commons ", "zzzz-nothing"):
        total = pinned.check("search", {"text": text})
        if total > 5:
            pinned.check("search", {"text": text}, limit=3, offset=total // 2)
    linked = [local(p) for p in values(store, f"SELECT ?p WHERE {{ ?p <{PKG}qualifiedRelationship> ?r }}")]
    ends = some(linked)
    pairs = [(a, b) for a in ends for b in ends if a != b][:paths] + [(p, p) for p in ends[:2]]
    for a, b in pairs:
        for most in ("1", "2", "3"):
            pinned.check("path", {"from": a, "to": b, "max": most})
    for a, b in pairs[:long_paths]:
        total = pinned.check("path", {"from": a, "to": b, "max": "4"})
        if total > 4:
            pinned.check("path", {"from": a, "to": b, "max": "4"}, limit=4, offset=total - 5)


def test_the_test_library_every_key(tmp_path):
    from patternkg.converter.api import convert

    store = convert(sources=[LIBRARY]).store
    write_answers(store, tmp_path)
    pinned = Pinned(store, open_answers(tmp_path))
    check_library(pinned, store, sample=None, paths=60, long_paths=60)
    assert pinned.checked > 50


@pytest.fixture(scope="module")
def corpus_answers(corpus_store_dir) -> tuple[Store, AnswerIndex]:
    """The corpus store and the answers its build wrote into the generation (a sidecar)."""
    generation = open_generation(corpus_store_dir[0])
    index = open_answers(generation.directory)
    assert index is not None, "the build wrote no answers.sqlite"
    return open_store(corpus_store_dir[0]), index


@pytest.mark.slow
def test_corpus(corpus_answers):
    """Every parameterless list, every domain, and a sample of every other key (the test library
    above covers every key of every query)."""
    store, index = corpus_answers
    pinned = Pinned(store, index)
    check_library(pinned, store, sample=5, paths=10, long_paths=3)
    assert pinned.checked > 100


def test_a_pattern_without_neighbours_has_no_path_and_no_similar(tmp_path):
    from patternkg.converter.api import convert

    store = convert(sources=[LIBRARY]).store
    write_answers(store, tmp_path)
    index = open_answers(tmp_path)
    live = PreparedQueries(store_runner(store))
    query = live.get("path")
    terms = query.parse_values({"from": "nowhere-at-all", "to": "nowhere-else"}, live.library)
    assert index.answer(query, terms, 10) == ([], 0)


def test_no_sidecar_means_live(tmp_path):
    assert open_answers(tmp_path) is None
    assert open_answers(None) is None
    (tmp_path / "answers.sqlite").write_bytes(b"not a database")
    assert open_answers(Path(tmp_path)) is None


def test_the_server_answers_from_its_generation(app, client, prepared):
    """The app opens the answers of the generation it serves and its HTTP answers equal the live ones."""
    from patternkg.server.query_api import EXTENSION

    assert isinstance(app.extensions[EXTENSION].answers(), AnswerIndex)
    for name, params in (("similar", {"pattern": "alpha"}), ("path", {"from": "alpha", "to": "gamma", "max": "4"}),
                         ("dangling-references", {}), ("top-assessed", {"dimension": "overall"})):
        served = client.get(f"/api/queries/{name}", query_string=params, headers={"Accept": "application/sparql-results+json"})
        assert served.status_code == 200, served.get_data(as_text=True)
        live = prepared.run(name, params, limit=prepared.page_size(prepared.get(name), None))
        assert sorted(canonical(name, b) for b in served.get_json()["results"]["bindings"]) == \
            sorted(canonical(name, b) for b in live.bindings)
        assert int(served.headers["X-Total-Count"]) == live.total


def test_the_helper_process_reads_what_one_process_reads(corpus_store_dir, tmp_path, monkeypatch):
    """The fact tables read by two processes (as for a big store) are those one process reads."""
    from patternkg.server import bulk_facts

    generation = open_generation(corpus_store_dir[0])
    store = open_store(corpus_store_dir[0])
    schemas, alone = fact_tables(store, tmp_path / "one")
    assert "facts_helper" not in schemas
    monkeypatch.setattr(bulk_facts, "HELPER_MIN_BYTES", 0)
    schemas, shared = fact_tables(store, tmp_path / "two", store_path=generation.store_path)
    assert "facts_helper" in schemas
    assert shared == alone
    assert sum(map(len, alone.values())) > 50_000  # 83,925 rows on the shared corpus
