"""``export --format commons-graph-json``: the library's own data/graph.json, validated against its schema.

The schema fixture (fixtures/commons-graph/graph_schema.json) is written by hand from the
published definition in Commons-OS/patterns. Edge counts are compared with SPARQL counts
on the built store, not with numbers written here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from patternkg.converter.api import build, export
from patternkg.converter.graph_json import derived_id
from patternkg.converter.namespaces import DEFAULT_BASE_IRI, PKG
from patternkg.converter.storedir import open_store

HERE = Path(__file__).resolve().parent
SCHEMA = json.loads((HERE / "fixtures" / "commons-graph" / "graph_schema.json").read_text(encoding="utf-8"))
SEEDS = HERE.parents[1] / "seeds"
ENGINEERING = HERE / "fixtures" / "engineering"
PATTERNKG = Path(sys.executable).with_name("patternkg")
B = DEFAULT_BASE_IRI + "pattern/"


def validate(document: dict) -> None:
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def count(store, query: str) -> int:
    return int(next(iter(store.query(f"PREFIX pkg: <{PKG}>\n" + query)))[0].value)


def check_against_store(document: dict, store) -> None:
    """Every pattern is a node and every curated relationship and inferred link an edge."""
    curated = count(store, "SELECT (COUNT(DISTINCT ?n) AS ?c) WHERE { ?p pkg:qualifiedRelationship ?n . "
                           "?n a pkg:Relationship }")
    inferred = count(store, "SELECT (COUNT(DISTINCT ?n) AS ?c) WHERE { ?p pkg:qualifiedInferredLink ?n . "
                            "?n a pkg:InferredLink }")
    patterns = count(store, "SELECT (COUNT(DISTINCT ?p) AS ?c) WHERE { ?p a pkg:Pattern }")
    edges = document["edges"]
    assert len(edges) == curated + inferred == document["stats"]["total_relationships"]
    assert sum(e["source_type"] == "manual" for e in edges) == curated
    assert sum(e["source_type"] == "ai_suggested" for e in edges) == inferred
    assert len(document["nodes"]["patterns"]) == patterns == document["stats"]["total_patterns"]
    slugs = {r[0].value for r in store.query(f"SELECT ?s WHERE {{ ?p a <{PKG}Pattern> ; <{PKG}slug> ?s }}")}
    assert {n["slug"] for n in document["nodes"]["patterns"]} == slugs


@pytest.fixture(scope="module")
def seed_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("graph-json") / "store"
    build(store=path, sources=[SEEDS])
    return path


def test_seed_export_validates_and_has_every_relationship(seed_store):
    document = json.loads(export(format="commons-graph-json", store=seed_store))
    validate(document)
    check_against_store(document, open_store(seed_store))
    assert document["edges"], "the seed states relationships"


def test_sources_and_store_give_the_same_graph(seed_store):
    from_store = json.loads(export(format="commons-graph-json", store=seed_store))
    from_sources = json.loads(export(format="commons-graph-json", sources=[SEEDS]))
    from_store.pop("generated"), from_sources.pop("generated")
    assert from_store == from_sources


def test_cli_writes_the_graph_from_a_store(seed_store, tmp_path):
    out = tmp_path / "graph.json"
    run = subprocess.run([str(PATTERNKG), "export", "--format", "commons-graph-json", "--store", str(seed_store),
                          "-o", str(out)], capture_output=True, text=True, env={**os.environ, "LC_ALL": "C.UTF-8"})
    assert run.returncode == 0, run.stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    validate(document)
    check_against_store(document, open_store(seed_store))


def test_kinds_the_schema_lacks_and_ids_it_requires():
    """On the commons.engineering fixtures: alternatives, complementary and tools become
    ``related``; patterns without a pat_ id, and targets outside the library, get ids derived from their IRIs."""
    document = json.loads(export(format="commons-graph-json", sources=[ENGINEERING]))
    validate(document)
    nodes = {n["slug"]: n for n in document["nodes"]["patterns"]}
    assert nodes["pay-what-you-harvest"]["id"] == "pat_01testengineeringfixture01"
    assert nodes["river-crossing-rotas"]["id"] == derived_id(f"{B}river-crossing-rotas")
    source = nodes["pay-what-you-harvest"]["id"]
    manual = sorted((e["type"], e["target"], e.get("weight")) for e in document["edges"]
                    if e["source"] == source and e["source_type"] == "manual")
    assert manual == sorted([("enables", nodes["seed-library-circle"]["id"], 0.6),
                             ("related", derived_id(f"{B}flat-membership-fee"), 0.8),  # alternatives
                             ("related", nodes["river-crossing-rotas"]["id"], 0.4)])  # complementary
    suggested = sorted((e["type"], e["target"], e.get("weight")) for e in document["edges"]
                       if e["source"] == source and e["source_type"] == "ai_suggested")
    assert suggested == sorted([("enables", nodes["seed-library-circle"]["id"], 0.7),
                                ("related", derived_id(f"{B}garden-ledger"), 0.5)])  # complementary
    # the older dialect's specializes_to, by slug
    assert {"type": "specializes_to", "source": nodes["ferry-keeping"]["id"],
            "target": nodes["river-crossing-rotas"]["id"], "source_type": "manual"} in document["edges"]
    assert nodes["pay-what-you-harvest"]["status"] == "draft"


def test_generated_is_the_recorded_build_time(tmp_path):
    path = tmp_path / "store"
    build(store=path, sources=[SEEDS], issued="2026-11-24T12:00:00Z")
    assert json.loads(export(format="commons-graph-json", store=path))["generated"] == "2026-11-24T12:00:00Z"


@pytest.mark.slow
@pytest.mark.corpus
def test_corpus_export_validates_and_has_every_relationship(corpus_store_dir):
    path, _ = corpus_store_dir
    document = json.loads(export(format="commons-graph-json", store=path))
    validate(document)
    check_against_store(document, open_store(path))
    # a pattern keeps the pat_ id its file gives
    store = open_store(path)
    written: dict[str, set[str]] = {}
    for r in store.query(
        f"SELECT ?s ?id WHERE {{ ?p a <{PKG}Pattern> ; <{PKG}slug> ?s ; <http://purl.org/dc/terms/identifier> ?id "
        "FILTER(REGEX(?id, '^pat_[a-z0-9]{20,30}$')) }"):
        written.setdefault(r[0].value, set()).add(r[1].value)
    nodes = {n["slug"]: n["id"] for n in document["nodes"]["patterns"]}
    assert written and all(nodes[slug] in ids for slug, ids in written.items())


def test_a_store_of_several_libraries_is_read_as_their_union(two_libraries):
    """Every pattern of every library is a node (the same slug in two libraries: two nodes, two
    ids), and every relationship of every library an edge."""
    import pyoxigraph as ox

    from patternkg.converter.libraries import LibrarySpec, load_libraries

    store = ox.Store()
    load_libraries(store, libraries=[LibrarySpec("a", (two_libraries.a,), two_libraries.base_a),
                                     LibrarySpec("b", (two_libraries.b,), two_libraries.base_b)],
                   base_iri="https://example.org/all/")
    document = json.loads(export(format="commons-graph-json", store=store))
    validate(document)
    union = ox.Store()
    union.extend(ox.Quad(q.subject, q.predicate, q.object) for q in store)  # the union, as one default graph
    check_against_store(document, union)
    assert len({n["id"] for n in document["nodes"]["patterns"]}) == len(document["nodes"]["patterns"])
