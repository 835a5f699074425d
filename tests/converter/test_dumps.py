"""Dumps: every format parses back to the store's graph; output is deterministic; golden snapshots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rdflib
from pyld import jsonld
from rdflib.compare import isomorphic, to_isomorphic

from patternkg.converter.api import build, export
from patternkg.converter.dumps import FORMATS
from patternkg.converter.storedir import open_store

HERE = Path(__file__).resolve().parent
SEED = HERE.parents[1] / "seeds" / "distributed-organizing.md"
GOLDEN = HERE / "golden"


def store_graph(store) -> rdflib.Graph:
    """The store's content as an rdflib graph, via pyoxigraph's own N-Triples writer."""
    from pyoxigraph import DefaultGraph, RdfFormat

    return rdflib.Graph().parse(data=store.dump(format=RdfFormat.N_TRIPLES, from_graph=DefaultGraph()),
                                format="nt")


def jsonld_graph(data: bytes) -> rdflib.Graph:
    """Expand a JSON-LD document with pyld (an independent processor) into an rdflib graph."""
    nquads = jsonld.to_rdf(json.loads(data), {"format": "application/n-quads"})
    return rdflib.Graph().parse(data=nquads, format="nt")


@pytest.fixture(scope="module")
def seed_store(tmp_path_factory):

    path = tmp_path_factory.mktemp("seed") / "store"
    build(store=path, sources=[SEED])
    return open_store(path), path


def test_turtle_reparsed_by_rdflib_is_isomorphic_to_the_store(seed_store):
    store, _ = seed_store
    parsed = rdflib.Graph().parse(data=export(format="turtle", store=store), format="turtle")
    assert len(parsed) == len(store)
    assert isomorphic(parsed, store_graph(store))


def test_jsonld_expanded_by_pyld_is_isomorphic_to_the_store(seed_store):
    store, _ = seed_store
    data = export(format="jsonld", store=store)
    document = json.loads(data)
    assert "@context" in document and "@graph" in document
    parsed = jsonld_graph(data)
    assert len(parsed) == len(store)
    assert isomorphic(parsed, store_graph(store))


def test_jsonld_is_compacted_with_the_project_context(seed_store):
    store, _ = seed_store
    nodes = {n["id"]: n for n in json.loads(export(format="jsonld", store=store))["@graph"]}
    pattern = nodes["pattern:distributed-organizing"]
    assert pattern["type"] == "pkg:Pattern"
    assert pattern["title"] == "Distributed Organizing"
    assert "pattern:advocacy-without-mandate" in pattern["enables"]
    relationship = nodes["pattern:distributed-organizing#rel-enables-advocacy-without-mandate"]
    assert relationship["weight"] == "0.85"  # coerced to xsd:decimal by the context


@pytest.mark.parametrize("fmt", ["ntriples", "nquads", "trig"])
def test_other_formats_parse_back(seed_store, fmt):
    store, _ = seed_store
    data = export(format=fmt, store=store)
    if fmt == "trig":
        parsed = rdflib.Dataset().parse(data=data, format="trig")
        graph = rdflib.Graph()
        for s, p, o, _ in parsed.quads((None, None, None, None)):
            graph.add((s, p, o))
    else:
        graph = rdflib.Graph().parse(data=data, format="nt" if fmt == "ntriples" else "nquads")
    assert isomorphic(graph, store_graph(store))


def test_turtle_uses_the_project_prefixes(seed_store):
    store, _ = seed_store
    text = export(format="turtle", store=store).decode()
    for prefix in ("pkg:", "skos:", "dcterms:", "prov:", "pattern:"):
        assert f"@prefix {prefix}" in text


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_dumps_are_byte_identical_across_builds_and_paths(seed_store, fmt, tmp_path):
    store, path = seed_store
    again = tmp_path / "again"
    build(store=again, sources=[SEED])
    first = export(format=fmt, store=path)
    assert export(format=fmt, store=again) == first
    assert export(format=fmt, sources=[SEED]) == first


def test_every_dump_carries_a_void_description(seed_store):
    store, _ = seed_store
    graph = rdflib.Graph().parse(data=export(format="turtle", store=store), format="turtle")
    void = rdflib.Namespace("http://rdfs.org/ns/void#")
    dataset = rdflib.URIRef("https://w3id.org/patternkg/library/dataset")
    assert (dataset, rdflib.RDF.type, void.Dataset) in graph
    assert int(graph.value(dataset, void.entities)) == 1
    triples = int(graph.value(dataset, void.triples))
    partition = rdflib.URIRef(str(dataset) + "#patterns")
    description = len(list(graph.triples((dataset, None, None)))) + len(list(graph.triples((partition, None, None))))
    # the library's concept schemes are described with the dataset (they are part of it)
    schemes = set(graph.subjects(rdflib.URIRef("http://purl.org/dc/terms/isPartOf"), dataset))
    assert {str(s).rsplit("/", 1)[1] for s in schemes} == {"patterns", "domains", "commons-domains", "communities"}
    description += sum(len(list(graph.triples((s, None, None)))) for s in schemes)
    assert triples == len(graph) - description
    assert graph.value(dataset, rdflib.URIRef("http://purl.org/dc/terms/license")) == rdflib.URIRef(
        "https://spdx.org/licenses/CC-BY-SA-4.0")
    assert "issued" not in export(format="turtle", store=store).decode()


def test_timestamp_only_when_asked(tmp_path):
    path = tmp_path / "s"
    build(store=path, sources=[SEED], issued="2026-11-24T12:00:00Z")
    assert b"dcterms:issued" in export(format="turtle", store=path)


@pytest.mark.parametrize("fmt,rdflib_format", [("turtle", "turtle"), ("jsonld", None)])
def test_golden_snapshot(seed_store, regen_golden, fmt, rdflib_format):
    """The seed's dump compared as a graph with the committed snapshot (regenerate: --regen-golden)."""
    store, _ = seed_store
    data = export(format=fmt, store=store)
    golden = GOLDEN / f"distributed-organizing.{FORMATS[fmt][1]}"
    if regen_golden or not golden.exists():
        golden.write_bytes(data)
        pytest.skip(f"golden file {golden.name} written")
    expected = golden.read_bytes()
    load = (lambda d: rdflib.Graph().parse(data=d, format=rdflib_format)) if rdflib_format else jsonld_graph
    got, want = load(data), load(expected)
    if not isomorphic(got, want):
        only_got = sorted(str(t) for t in to_isomorphic(got) - to_isomorphic(want))[:10]
        only_want = sorted(str(t) for t in to_isomorphic(want) - to_isomorphic(got))[:10]
        pytest.fail(f"dump differs from {golden.name}:\n+ {only_got}\n- {only_want}\n(run pytest --regen-golden "
                    "if the change is intended)")
