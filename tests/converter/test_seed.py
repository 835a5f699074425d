"""The seed pattern, field by field: every front-matter value and the whole body end up in the graph."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import yaml
from pyoxigraph import Literal, NamedNode

from patternkg.converter.body import split_body
from patternkg.converter.namespaces import DEFAULT_BASE_IRI, PREFIXES

PREFIX_TEXT = "".join(f"PREFIX {k}: <{v}>\n" for k, v in PREFIXES.items())
P = f"<{DEFAULT_BASE_IRI}pattern/distributed-organizing>"


@pytest.fixture(scope="module")
def seed(seed_converted):
    import importlib.util
    from pathlib import Path

    here = Path(__file__).resolve().parents[1] / "conftest.py"
    spec = importlib.util.spec_from_file_location("root_conftest", here)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.SEED.read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body, seed_converted.store


def ask(store, query: str) -> bool:
    return store.query(PREFIX_TEXT + query)


def select(store, query: str) -> list[tuple]:
    return [tuple(t.value if t is not None else None for t in row) for row in store.query(PREFIX_TEXT + query)]


def leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, path + (i,))
    else:
        yield path, value


def test_every_front_matter_value_is_in_the_graph(seed):
    data, _, store = seed
    literals: set[str] = set()
    numbers: set[Decimal] = set()
    iris: set[str] = set()
    for quad in store:
        for term in (quad.subject, quad.object):
            if isinstance(term, NamedNode):
                iris.add(term.value)
            elif isinstance(term, Literal):
                literals.add(term.value)
                try:
                    numbers.add(Decimal(term.value))
                except ArithmeticError:
                    pass
    missing = []
    for path, value in leaves(data):
        if isinstance(value, bool) or value is None:
            missing.append((path, value))
        elif isinstance(value, (int, float)):
            # numbers: scores, weights, confidences; lifecycle.version is text ("0.1")
            if Decimal(repr(value)) not in numbers and str(value) not in literals:
                missing.append((path, value))
        elif isinstance(value, dt.date):
            if value.isoformat() not in literals:
                missing.append((path, value))
        elif value not in literals and not any(i.endswith(("/" + value, "#" + value)) for i in iris):
            missing.append((path, value))
    # Keys that are themselves data (audiences, assessment dimensions, relationship kinds):
    for audience in data["context_labels"]:
        assert f"https://w3id.org/patternkg/vocab/audience/{audience}" in iris
    assert missing == []


def test_identity(seed):
    data, _, store = seed
    rows = select(store, f"SELECT ?id ?slug ?title ?def WHERE {{ {P} a pkg:Pattern ; dcterms:identifier ?id ; "
                         "pkg:slug ?slug ; dcterms:title ?title ; skos:prefLabel ?title ; skos:definition ?def }")
    assert rows == [(data["id"], data["slug"], data["title"], data["summary"])]
    assert not ask(store, f"ASK {{ {P} skos:altLabel ?a }}")  # aliases: []


def test_context_labels_per_audience(seed):
    data, _, store = seed
    rows = select(store, f"SELECT ?a ?text WHERE {{ {P} pkg:contextLabel ?l . ?l a pkg:ContextLabel ; "
                         "pkg:audience ?a ; pkg:labelText ?text }")
    got = {a.rsplit("/", 1)[1]: text for a, text in rows}
    assert got == data["context_labels"]


def test_ontology_block(seed):
    data, _, store = seed
    onto = data["ontology"]
    assert select(store, f"SELECT ?d ?l WHERE {{ {P} pkg:domain ?d . ?d a pkg:Domain ; skos:prefLabel ?l }}") == [
        (f"{DEFAULT_BASE_IRI}domain/deep-work-flow", "deep-work-flow")]
    assert select(store, f"SELECT ?d WHERE {{ {P} pkg:commonsDomain ?d }}") == [
        (f"{DEFAULT_BASE_IRI}commons-domain/life",)]
    assert not ask(store, f"ASK {{ {P} pkg:crossDomain ?d }}")
    assert select(store, f"SELECT ?t WHERE {{ {P} pkg:primaryTension ?t }}") == [
        (onto["search_hints"]["primary_tension"],)]
    keywords = {r[0] for r in select(store, f"SELECT ?k WHERE {{ {P} pkg:keyword ?k }}")}
    assert keywords == set(onto["search_hints"]["vector_keywords"])


def test_commons_assessment(seed):
    data, _, store = seed
    ca = data["ontology"]["commons_assessment"]
    names = {"stakeholder_architecture": "stakeholderArchitecture", "value_creation": "valueCreation",
             "resilience": "resilience", "ownership": "ownership", "autonomy": "autonomy",
             "composability": "composability", "fractal_value": "fractalValue", "vitality": "vitality",
             "overall_score": "overallScore"}
    for key, local in names.items():
        rows = select(store, f"SELECT ?v (DATATYPE(?v) AS ?dt) WHERE {{ {P} pkg:assessment ?a . "
                             f"?a a pkg:CommonsAssessment ; pkg:{local} ?v }}")
        assert len(rows) == 1, key
        assert Decimal(rows[0][0]) == Decimal(repr(ca[key])), key
        assert rows[0][1] == "http://www.w3.org/2001/XMLSchema#decimal"
    assert select(store, f"SELECT ?r WHERE {{ {P} pkg:assessment/pkg:vitalityReasoning ?r }}") == [
        (ca["vitality_reasoning"],)]


def test_lifecycle(seed):
    _, _, store = seed
    rows = select(store, f"SELECT ?u ?a ?s ?v ?c WHERE {{ {P} pkg:usageStage ?u ; pkg:adoptionStage ?a ; "
                         "pkg:status ?s ; schema:version ?v ; pkg:confidenceRating ?c }")
    vocab = "https://w3id.org/patternkg/vocab/"
    assert rows == [(f"{vocab}usage-stage/application", f"{vocab}adoption-stage/growth", f"{vocab}status/draft",
                     "0.1", "1")]


KINDS = {"generalizes_from": "generalizesFrom", "specializes_to": "specializesTo", "enables": "enables",
         "requires": "requires", "alternatives": "alternativeTo", "complementary": "complementaryTo",
         "tools": "usesTool"}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_relationships_truthy_and_qualified(seed, kind):
    data, _, store = seed
    expected = {(f"{DEFAULT_BASE_IRI}pattern/{item['slug']}", Decimal(repr(item["weight"])))
                for item in data["relationships"][kind]}
    prop = KINDS[kind]
    truthy = {r[0] for r in select(store, f"SELECT ?t WHERE {{ {P} pkg:{prop} ?t }}")}
    qualified = {(t, Decimal(w)) for t, w in select(
        store, f"SELECT ?t ?w WHERE {{ {P} pkg:qualifiedRelationship ?n . ?n a pkg:Relationship ; "
               f"pkg:relationshipKind pkg:{prop} ; pkg:target ?t ; pkg:weight ?w }}")}
    assert qualified == expected
    assert truthy == {t for t, _ in expected}


def test_graph_garden(seed):
    data, _, store = seed
    gg = data["graph_garden"]
    assert select(store, f"SELECT ?d WHERE {{ {P} pkg:lastPruned ?d }}") == [(gg["last_pruned"].isoformat(),)]
    entities = {(e.rsplit("/", 1)[1], t.rsplit("/", 1)[1], label, Decimal(r)) for e, t, label, r in select(
        store, f"SELECT ?e ?t ?l ?r WHERE {{ {P} pkg:mentions ?e ; pkg:entityMention ?m . ?m a pkg:EntityMention ; "
               "pkg:entity ?e ; pkg:relevance ?r . ?e a pkg:Entity ; rdfs:label ?l ; pkg:entityType ?t }")}
    assert entities == {(e["id"], e["type"], e["label"], Decimal(repr(e["relevance"]))) for e in gg["entities"]}
    communities = {(c.rsplit("/", 1)[1], label, s.rsplit("/", 1)[1], Decimal(conf)) for c, label, s, conf in select(
        store, f"SELECT ?c ?l ?s ?conf WHERE {{ {P} pkg:memberOf ?c ; pkg:communityMembership ?m . "
               "?m a pkg:CommunityMembership ; pkg:community ?c ; pkg:communitySource ?s ; pkg:confidence ?conf . "
               "?c a pkg:Community ; skos:prefLabel ?l }")}
    assert communities == {(c["id"], c["label"], c["source"], Decimal(repr(c["confidence"])))
                           for c in gg["communities"]}
    links = {(t.rsplit("/", 1)[1], k, Decimal(c), r) for t, k, c, r in select(
        store, f"SELECT ?t ?k ?c ?r WHERE {{ {P} pkg:inferredLink ?t ; pkg:qualifiedInferredLink ?n . "
               "?n a pkg:InferredLink ; pkg:target ?t ; pkg:kindName ?k ; pkg:confidence ?c ; pkg:reason ?r }")}
    assert links == {(i["target"], i["type"], Decimal(repr(i["confidence"])), i["reason"])
                     for i in gg["inferred_links"]}
    # an inferred link of a known type also names the truthy property it would be
    assert ask(store, f"ASK {{ {P} pkg:qualifiedInferredLink ?n . ?n pkg:kindName \"enables\" ; "
                      "pkg:relationshipKind pkg:enables }")


def test_curated_and_machine_written_are_distinguishable(seed):
    _, _, store = seed
    # The inferred 'enables' link to acting-despite-irreducible-uncertainty is not a curated enables.
    target = f"<{DEFAULT_BASE_IRI}pattern/acting-despite-irreducible-uncertainty>"
    assert ask(store, f"ASK {{ {P} pkg:inferredLink {target} }}")
    assert not ask(store, f"ASK {{ {P} pkg:enables {target} }}")


def test_provenance(seed):
    data, _, store = seed
    contributors = {r[0] for r in select(store, f"SELECT ?n WHERE {{ {P} dcterms:contributor ?a . "
                                                "?a a prov:Agent ; rdfs:label ?n }")}
    assert contributors == set(data["contributors"])
    assert {r[0] for r in select(store, f"SELECT ?s WHERE {{ {P} dcterms:source ?s }}")} == set(data["sources"])
    assert select(store, f"SELECT ?l ?a WHERE {{ {P} dcterms:license ?l ; cc:attributionName ?a }}") == [
        ("https://spdx.org/licenses/CC-BY-SA-4.0", data["attribution"])]
    assert select(store, f"SELECT ?f WHERE {{ {P} pkg:sourceFile ?f }}") == [("distributed-organizing.md",)]


def test_body_sections_and_rating(seed):
    _, body, store = seed
    expected = split_body(body)
    locals_ = ["contextSection", "problemSection", "solutionSection", "implementationSection",
               "consequencesSection", "knownUsesSection", "cognitiveEraSection", "vitalitySection"]
    for position, local in enumerate(locals_, start=1):
        rows = select(store, f"SELECT ?md WHERE {{ {P} pkg:{local} ?md }}")
        assert len(rows) == 1, local
        assert rows[0][0] == expected.sections[position - 1].markdown
    # every non-separator line of the body is in some literal
    literals = "\n".join(r[0] for r in select(store, f"SELECT ?v WHERE {{ {P} ?p ?v FILTER(isLiteral(?v)) }}"))
    for line in body.splitlines():
        text = line.strip()
        if not text or text == "---" or text.startswith("### Section") or text.startswith("> [!NOTE]"):
            continue
        assert text.lstrip("> ") in literals, line
    assert select(store, f"SELECT ?s ?l ?n WHERE {{ {P} pkg:ratingStars ?s ; pkg:ratingLabel ?l ; pkg:ratingNote ?n }}") == [
        ("3", "Established", "This pattern draws on Organizational Design, Distributed Networks.")]
    assert select(store, f"SELECT ?p WHERE {{ {P} pkg:preamble ?p }}") == [
        ("Creating coordination and coherence among autonomous local groups without central control.",)]


def test_no_warnings_or_errors_on_the_seed(seed_converted):
    report = seed_converted.report
    assert report.diagnostics == []
    assert report.patterns == 1 and report.dialects == {"v7.1": 1}
    # the seed's relationship targets are patterns of the full library, not of the seed alone
    assert set(report.unresolved_targets) == {
        "advocacy-without-mandate", "active-listening-depth", "accountability-partnership",
        "adaptive-action-in-complex-systems", "adaptive-leadership-under-uncertainty", "adaptive-facilitation",
        "accountability-without-shame", "achievement-celebration", "abundance-vs-scarcity-mindset"}
