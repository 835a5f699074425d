"""Item shapes and dialect details, on a fixture library written for them (tests/converter/library)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rdflib
from pyld import jsonld
from rdflib.compare import isomorphic

from patternkg.converter.api import build, convert, export
from patternkg.converter.namespaces import DEFAULT_BASE_IRI, PREFIXES
from patternkg.converter.storedir import open_store

LIBRARY = Path(__file__).resolve().parent / "library"
BAD = Path(__file__).resolve().parent / "bad"
PREFIX_TEXT = "".join(f"PREFIX {k}: <{v}>\n" for k, v in PREFIXES.items())
LEGACY = f"<{DEFAULT_BASE_IRI}pattern/legacy-lean-canvas>"
MODERN = f"<{DEFAULT_BASE_IRI}pattern/modern-canvas>"


@pytest.fixture(scope="module")
def library():
    return convert(sources=[LIBRARY], jobs=1)


def rows(store, query):
    return sorted(tuple(t.value for t in r) for r in store.query(PREFIX_TEXT + query))


def test_converts_cleanly_with_both_dialects(library):
    report = library.report
    assert report.diagnostics == []
    assert report.dialects == {"legacy": 1, "v7.1": 1}
    assert report.unresolved_targets == {"pat_01kg5023vyfzhvteh04eykysqz": ["legacy-lean-canvas"]}


def test_id_targets_resolve_to_the_slug_iri(library):
    store = library.store
    assert rows(store, f"SELECT ?t WHERE {{ {LEGACY} pkg:generalizesFrom ?t }}") == [(f"{DEFAULT_BASE_IRI}pattern/modern-canvas",)]
    assert rows(store, f"SELECT ?t WHERE {{ {MODERN} pkg:requires ?t }}") == [(f"{DEFAULT_BASE_IRI}pattern/legacy-lean-canvas",)]
    related = rows(store, f"SELECT ?t WHERE {{ {LEGACY} pkg:relatedTo ?t }}")
    assert related == [(f"{DEFAULT_BASE_IRI}pattern/modern-canvas",),
                       (f"{DEFAULT_BASE_IRI}pattern/pat_01kg5023vyfzhvteh04eykysqz",)]
    # the dangling one keeps its IRI but is not a pattern
    assert not store.query(PREFIX_TEXT + f"ASK {{ <{DEFAULT_BASE_IRI}pattern/pat_01kg5023vyfzhvteh04eykysqz> a pkg:Pattern }}")


def test_item_shapes(library):
    store = library.store
    # {id, weight, description}
    assert rows(store, f"SELECT ?w ?d WHERE {{ {MODERN} pkg:qualifiedRelationship ?n . ?n pkg:relationshipKind "
                       "pkg:enables ; pkg:weight ?w ; dcterms:description ?d }") == [
        ("0.7", "The old canvas is a special case.")]
    # bare strings
    assert rows(store, f"SELECT ?t WHERE {{ {MODERN} pkg:specializesTo ?t }}") == [
        (f"{DEFAULT_BASE_IRI}pattern/legacy-lean-canvas",)]
    # strength as confidence; a type outside the vocabulary is kept as written
    links = rows(store, f"SELECT ?t ?c WHERE {{ {MODERN} pkg:qualifiedInferredLink ?n . ?n pkg:target ?t ; "
                        "pkg:confidence ?c }")
    assert links == [(f"{DEFAULT_BASE_IRI}pattern/legacy-lean-canvas", "0.6"),
                     (f"{DEFAULT_BASE_IRI}pattern/nowhere-pattern", "0.5")]
    assert rows(store, f"SELECT ?k WHERE {{ {MODERN} pkg:qualifiedInferredLink/pkg:kindName ?k }}") == [("enabler",)]
    assert not store.query(PREFIX_TEXT + f"ASK {{ {MODERN} pkg:qualifiedInferredLink/pkg:relationshipKind ?k }}")
    # bare-string entity and community
    assert rows(store, f"SELECT ?e ?l WHERE {{ {MODERN} pkg:mentions ?e . ?e rdfs:label ?l "
                       "FILTER(?l = 'Feedback Loop') }") == [(f"{DEFAULT_BASE_IRI}entity/feedback-loop", "Feedback Loop")]
    assert rows(store, f"SELECT ?c WHERE {{ {MODERN} pkg:memberOf ?c }}") == [
        (f"{DEFAULT_BASE_IRI}community/sensing-and-adaptation",)]


def test_wikidata_qids_and_unicode_ids(library):
    store = library.store
    assert rows(store, f"SELECT ?w WHERE {{ {MODERN} pkg:mentions ?e . ?e owl:sameAs ?w }}") == [
        ("http://www.wikidata.org/entity/Q42",)]
    assert rows(store, f"SELECT ?l WHERE {{ <{DEFAULT_BASE_IRI}entity/kierkegaard-søren> rdfs:label ?l }}") == [
        ("Søren Kierkegaard",)]


def test_audiences_beyond_the_four(library):
    assert rows(library.store, f"SELECT ?t WHERE {{ {MODERN} pkg:contextLabel ?l . ?l pkg:audience "
                               "<https://w3id.org/patternkg/vocab/audience/community> ; pkg:labelText ?t }") == [
        ("Canvas for Neighbourhoods",)]


def test_legacy_fields(library):
    store = library.store
    assert rows(store, f"SELECT ?u ?c ?e ?o ?a WHERE {{ {LEGACY} pkg:universality ?u ; pkg:category ?c ; pkg:era ?e ; "
                       "pkg:origin ?o ; pkg:commonsAlignment ?a }") == [
        ("implementation", "tool", "digital", "startup-ecosystem", "3")]  # xsd:decimal, canonical form
    assert rows(store, f"SELECT ?c ?m WHERE {{ {LEGACY} dcterms:created ?c ; dcterms:modified ?m }}") == [
        ("2026-01-28T00:00:00Z", "2026-02-01T14:53:55Z")]
    assert rows(store, f"SELECT ?n WHERE {{ {LEGACY} dcterms:creator/rdfs:label ?n }}") == [("Ada Lovelace",)]
    assert rows(store, f"SELECT ?n WHERE {{ {LEGACY} dcterms:contributor/rdfs:label ?n }}") == [("higgerix",)]
    assert rows(store, f"SELECT ?u ?g WHERE {{ {LEGACY} schema:url ?u ; pkg:sourceDocument ?g }}") == [
        ("https://example.org/patterns/legacy-lean-canvas/", "https://example.org/repo/blob/main/legacy-lean-canvas.md")]


def test_legacy_body_sections_ignore_headings_in_code(library):
    sections = rows(library.store, f"SELECT ?pos ?h ?md WHERE {{ {LEGACY} pkg:section ?s . ?s pkg:position ?pos ; "
                                   "pkg:heading ?h ; pkg:markdown ?md }")
    assert [(p, h) for p, h, _ in sections] == [("1", "Legacy Lean Canvas"), ("2", "1. Overview"),
                                               ("3", "2. Core Principles")]
    assert "# not a heading" in sections[1][2]


def test_rating_callout_and_canonical_numbered_sections(library):
    store = library.store
    assert rows(store, f"SELECT ?s ?l WHERE {{ {MODERN} pkg:ratingStars ?s ; pkg:ratingLabel ?l }}") == [("2", "Emerging")]
    assert rows(store, f"SELECT ?c ?p WHERE {{ {MODERN} pkg:contextSection ?c ; pkg:problemSection ?p }}") == [
        ("Context text.", "Problem text.")]


def test_jsonld_round_trip_with_odd_values(tmp_path):
    """Mistyped values under typed terms, IRIs where literals are expected, unicode IRIs."""
    sources = [LIBRARY] + [BAD / f"{n}.md" for n in ("weight-high", "weight-is-list", "date-not-a-date", "score-nine")]
    build(store=tmp_path / "s", sources=sources)
    from pyoxigraph import DefaultGraph, RdfFormat

    store = open_store(tmp_path / "s")
    expected = rdflib.Graph().parse(data=store.dump(format=RdfFormat.N_TRIPLES, from_graph=DefaultGraph()), format="nt")
    data = export(format="jsonld", store=store)
    got = rdflib.Graph().parse(data=jsonld.to_rdf(json.loads(data), {"format": "application/n-quads"}), format="nt")
    assert isomorphic(got, expected)
