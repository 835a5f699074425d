"""The third dialect: commons.engineering's flat front matter, on hand-written fixtures in its shape.

The fixtures (tests/converter/fixtures/engineering) mix the site's flat files with a v7.1 file
that carries the site's extra keys and an older-dialect file, in one folder tree.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
import rdflib
import yaml
from rdflib.compare import isomorphic, to_isomorphic

from patternkg.converter.api import convert, export
from patternkg.converter.mapper import ENGINEERING_KEYS, detect_dialect
from patternkg.converter.namespaces import DEFAULT_BASE_IRI, PREFIXES
from patternkg.shapes.validation import validate_library

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures" / "engineering"
GOLDEN = HERE / "golden" / "engineering.ttl"
PREFIX_TEXT = "".join(f"PREFIX {k}: <{v}>\n" for k, v in PREFIXES.items())
B = DEFAULT_BASE_IRI


@pytest.fixture(scope="module")
def converted():
    return convert(sources=[FIXTURES], jobs=1)


def rows(store, query):
    return sorted(tuple(t.value for t in r) for r in store.query(PREFIX_TEXT + query))


def front_matter(path: Path) -> dict:
    return yaml.safe_load(re.match(r"---\n(.*?)\n---\n", path.read_text(encoding="utf-8"), re.S).group(1))


def test_fixtures_use_every_key_of_the_dialect():
    keys = set().union(*(front_matter(p) for p in FIXTURES.rglob("*.md")))
    assert ENGINEERING_KEYS <= keys


def test_every_key_maps_without_a_warning(converted):
    assert converted.report.diagnostics == []
    assert converted.report.patterns == 4


def test_dialect_is_detected_per_file(converted):
    assert converted.report.dialects == {"engineering": 2, "legacy": 1, "v7.1": 1}
    assert rows(converted.store, "SELECT ?s ?d WHERE { ?p pkg:slug ?s ; pkg:dialect ?d }") == [
        ("ferry-keeping", "https://w3id.org/patternkg/vocab/dialect/legacy"),
        ("pay-what-you-harvest", "https://w3id.org/patternkg/vocab/dialect/v7.1"),
        ("river-crossing-rotas", "https://w3id.org/patternkg/vocab/dialect/engineering"),
        ("seed-library-circle", "https://w3id.org/patternkg/vocab/dialect/engineering"),
    ]


@pytest.mark.parametrize("data,dialect", [
    ({"slug": "a", "ontology": {}, "domain": "x"}, "v7.1"),  # a v7.1 block wins
    ({"slug": "a", "classification": {}, "tags": ["x"]}, "legacy"),
    ({"slug": "a", "type": "pattern"}, "engineering"),
    ({"slug": "a", "vitality_score": 4}, "engineering"),
    ({"slug": "a", "collection": "c"}, "engineering"),
    ({"slug": "a", "title": "A", "summary": "s"}, "v7.1"),  # nothing marks another dialect
])
def test_detect_dialect(data, dialect):
    assert detect_dialect(data) == dialect


def test_domain_is_kept(converted):
    assert rows(converted.store, "SELECT ?s ?d ?l WHERE { ?p pkg:slug ?s ; pkg:domain ?d . ?d skos:prefLabel ?l }") == [
        ("ferry-keeping", f"{B}domain/urban", "urban"),
        ("pay-what-you-harvest", f"{B}domain/business", "business"),
        ("river-crossing-rotas", f"{B}domain/urban", "urban"),
        ("seed-library-circle", f"{B}domain/ecology", "ecology"),
    ]


def test_flat_keys_map_onto_the_vocabulary(converted):
    store = converted.store
    P = f"<{B}pattern/river-crossing-rotas>"
    assert rows(store, f"SELECT ?a WHERE {{ {P} skos:altLabel ?a }}") == [("Crossing Stewardship",), ("Ferry Duty",)]
    assert rows(store, f"SELECT ?k WHERE {{ {P} pkg:keyword ?k }}") == [("commons-blueprint",), ("domain",), ("urban",)]
    assert rows(store, f"SELECT ?u ?o WHERE {{ {P} pkg:universality ?u ; pkg:orbitalLayer ?o }}") == [("domain", "2")]
    assert rows(store, f"SELECT ?v WHERE {{ {P} pkg:assessment/pkg:vitality ?v }}") == [("4.2",)]
    assert rows(store, f"SELECT ?d WHERE {{ {P} skos:definition ?d }}")[0][0].startswith("Sharing the work")
    assert rows(store, f"SELECT ?n WHERE {{ {P} pkg:ratingStars ?n }}") == [("2",)]


def test_body_sections_of_the_flat_files_are_the_v71_sections(converted):
    for slug in ("river-crossing-rotas", "seed-library-circle"):
        found = rows(converted.store, f"SELECT ?p WHERE {{ <{B}pattern/{slug}> ?p ?o "
                                      "FILTER(STRENDS(STR(?p), 'Section')) }")
        assert len(found) == 8, (slug, found)
        assert not converted.store.query(PREFIX_TEXT + f"ASK {{ <{B}pattern/{slug}> pkg:section ?s }}")


def test_collections_and_rings(converted):
    store = converted.store
    assert rows(store, "SELECT ?s ?c WHERE { ?p pkg:slug ?s ; dcterms:isPartOf ?c . ?c a skos:Collection ; "
                       "skos:member ?p }") == [
        ("pay-what-you-harvest", f"{B}collection/c3-capital"),
        ("pay-what-you-harvest", f"{B}collection/commons-engineer"),
        ("river-crossing-rotas", f"{B}collection/commons-blueprint"),
        ("seed-library-circle", f"{B}collection/commons-engineer"),
    ]
    # the ring is a member of the file's collection
    assert rows(store, "SELECT ?c ?r WHERE { ?c skos:member ?r . ?r a skos:Collection }") == [
        (f"{B}collection/commons-engineer", f"{B}collection/c3-capital")]
    assert rows(store, f"SELECT ?a WHERE {{ <{B}pattern/pay-what-you-harvest> pkg:arcStage ?a }}") == [
        ("https://w3id.org/patternkg/vocab/7cs-arc/capital",), ("https://w3id.org/patternkg/vocab/7cs-arc/commons",)]


def test_bad_values_are_warned_about_by_field(write_pattern, tmp_path):
    write_pattern("a.md", "---\nslug: a\ntitle: A\ntype: raw\nvitality_score: 7\norbital_layer: deep\n"
                          "tags:\n  universality: domain\n  era: [digital]\n---\nBody\n")
    result = convert(sources=[tmp_path / "lib"], jobs=1)
    got = sorted((d.code, d.field, d.line) for d in result.report.diagnostics)
    assert got == [("invalid-type", "orbital_layer", 6), ("invalid-value", "type", 4),
                   ("out-of-range", "vitality_score", 5)]
    assert result.report.dialects == {"engineering": 1}
    # the mapping form of tags reads as the older dialect's classification
    assert rows(result.store, f"SELECT ?u ?e WHERE {{ <{B}pattern/a> pkg:universality ?u ; pkg:era ?e }}") == [
        ("domain", "digital")]


def test_everything_the_dialect_uses_is_declared(converted):
    """Every predicate and class the fixtures use is declared in the ontology, and so is every
    controlled-vocabulary concept (the dialect and 7Cs arc values)."""
    graph = rdflib.Graph().parse(data=resources.files("patternkg.ontology").joinpath("patternkg.ttl")
                                 .read_text(encoding="utf-8"), format="turtle")
    owl = rdflib.OWL
    declared = {str(s) for kind in (owl.Class, owl.ObjectProperty, owl.DatatypeProperty, owl.AnnotationProperty)
                for s in graph.subjects(rdflib.RDF.type, kind)}
    store = converted.store
    predicates = {r[0].value for r in store.query("SELECT DISTINCT ?p WHERE { ?s ?p ?o }")} - {str(rdflib.RDF.type)}
    classes = {r[0].value for r in store.query("SELECT DISTINCT ?c WHERE { ?s a ?c }")}
    assert (predicates | classes) - declared == set()
    concepts = {r[0].value for r in store.query(
        "SELECT DISTINCT ?o WHERE { ?s ?p ?o FILTER(STRSTARTS(STR(?o), 'https://w3id.org/patternkg/vocab/')) }")}
    assert concepts - {str(s) for s in graph.subjects()} == set()


def test_golden_snapshot(regen_golden):
    """The fixtures' Turtle dump compared as a graph with the committed snapshot (regenerate: --regen-golden)."""
    data = export(format="turtle", sources=[FIXTURES])
    if regen_golden or not GOLDEN.exists():
        GOLDEN.write_bytes(data)
        pytest.skip(f"golden file {GOLDEN.name} written")
    got = rdflib.Graph().parse(data=data, format="turtle")
    want = rdflib.Graph().parse(data=GOLDEN.read_bytes(), format="turtle")
    if not isomorphic(got, want):
        only_got = sorted(str(t) for t in to_isomorphic(got) - to_isomorphic(want))[:10]
        only_want = sorted(str(t) for t in to_isomorphic(want) - to_isomorphic(got))[:10]
        pytest.fail(f"dump differs from {GOLDEN.name}:\n+ {only_got}\n- {only_want}\n(run pytest --regen-golden "
                    "if the change is intended)")


def test_shacl_gives_the_expected_results():
    validation = validate_library(sources=[FIXTURES], jobs=1)
    got = sorted((r.severity, r.shape, Path(r.file).relative_to(FIXTURES).as_posix(), r.field)
                 for r in validation.results)
    assert got == sorted([
        # the site's flat pages carry no pat_ id: the one identity every dialect must have
        ("violation", "PatternShape/identifier", "river-crossing-rotas.md", "id"),
        ("violation", "PatternShape/identifier", "seed-library-circle.md", "id"),
        # each flat file is reported once as such (v7.1 checks do not apply), as the older dialect is
        ("info", "EngineeringDialectShape/dialect", "river-crossing-rotas.md", "type"),
        ("info", "EngineeringDialectShape/dialect", "seed-library-circle.md", "type"),
        ("info", "LegacyDialectShape/dialect", "ferry-keeping.md", "classification"),
        # the fixtures' own graph: one-sided pairs, and targets outside the library
        ("warning", "InversePairShape", "business/pay-what-you-harvest.md", "relationships.enables[0]"),
        ("warning", "InversePairShape", "ferry-keeping.md", "specializes_to[0]"),
        ("warning", "UnresolvedTargetShape", "business/pay-what-you-harvest.md", "relationships.alternatives[0]"),
        ("info", "UnresolvedInferredTargetShape", "business/pay-what-you-harvest.md",
         "graph_garden.inferred_links[1].target"),
    ])


def test_jsonld_dump_of_the_new_terms_expands_to_the_same_graph():
    """The context's new terms (member, arcStage, orbitalLayer, Collection) compact and expand losslessly."""
    import json

    from pyld import jsonld

    data = export(format="jsonld", sources=[FIXTURES])
    expanded = rdflib.Graph().parse(data=jsonld.to_rdf(json.loads(data), {"format": "application/n-quads"}),
                                    format="nt")
    assert isomorphic(expanded, rdflib.Graph().parse(data=export(format="ntriples", sources=[FIXTURES]), format="nt"))
    assert b'"member"' in data and b'"orbitalLayer"' in data and b'"arcStage"' in data
