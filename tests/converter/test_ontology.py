"""The vocabulary: well-formed OWL, documented, and covering everything the converter emits."""

from __future__ import annotations

import json
from importlib import resources

import pytest
import rdflib
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS
from patternkg.converter.storedir import open_store

PKG = rdflib.Namespace("https://w3id.org/patternkg/ontology#")


@pytest.fixture(scope="module")
def ontology() -> rdflib.Graph:
    path = resources.files("patternkg.ontology").joinpath("patternkg.ttl")
    return rdflib.Graph().parse(data=path.read_text(encoding="utf-8"), format="turtle")


def declared(ontology, kinds) -> set:
    return {s for kind in kinds for s in ontology.subjects(RDF.type, kind)}


def test_header(ontology):
    onto = rdflib.URIRef("https://w3id.org/patternkg/ontology")
    assert (onto, RDF.type, OWL.Ontology) in ontology
    # dcterms:rightsHolder, not dcterms:creator: the latter is an object property of the data (OWL 2 DL)
    for prop in (DCTERMS.title, DCTERMS.description, OWL.versionIRI, DCTERMS.license, DCTERMS.rightsHolder):
        assert ontology.value(onto, prop) is not None, prop


def test_every_class_and_property_has_label_and_comment(ontology):
    terms = declared(ontology, (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty))
    assert len(terms) > 100
    missing = [t for t in terms if ontology.value(t, RDFS.label) is None or ontology.value(t, RDFS.comment) is None]
    assert missing == []


def test_relationship_logic(ontology):
    assert (PKG.specializesTo, OWL.inverseOf, PKG.generalizesFrom) in ontology
    assert (PKG.enables, OWL.inverseOf, PKG.requires) in ontology
    for prop in (PKG.complementaryTo, PKG.alternativeTo, PKG.relatedTo):
        assert (prop, RDF.type, OWL.SymmetricProperty) in ontology
    for prop in (PKG.generalizesFrom, PKG.specializesTo, PKG.enables, PKG.requires, PKG.alternativeTo,
                 PKG.complementaryTo, PKG.usesTool, PKG.relatedTo):
        assert (prop, RDFS.subPropertyOf, PKG.linksTo) in ontology
    assert (PKG.inferredLink, RDFS.subPropertyOf, PKG.linksTo) not in ontology


def used_terms(store):
    predicates = {r[0].value for r in store.query("SELECT DISTINCT ?p WHERE { ?s ?p ?o }")}
    classes = {r[0].value for r in store.query("SELECT DISTINCT ?c WHERE { ?s a ?c }")}
    return predicates, classes


def check_declared(ontology, store):
    props = {str(t) for t in declared(ontology, (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty))}
    classes = {str(t) for t in declared(ontology, (OWL.Class,))}
    predicates, used_classes = used_terms(store)
    predicates.discard(str(RDF.type))
    assert predicates - props == set()
    assert used_classes - classes == set()


def test_everything_the_seed_uses_is_declared(ontology, seed_converted):
    check_declared(ontology, seed_converted.store)


def test_everything_the_corpus_uses_is_declared(ontology, corpus_store_dir):

    check_declared(ontology, open_store(corpus_store_dir[0]))


def test_jsonld_context_has_a_term_for_every_property(ontology):
    context = json.loads(resources.files("patternkg.ontology").joinpath("context.jsonld").read_text())["@context"]
    expanded = set()
    for value in context.values():
        if isinstance(value, dict):
            prefix, _, local = value["@id"].partition(":")
            expanded.add(context[prefix] + local)
    props = {str(t) for t in declared(ontology, (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty))}
    assert props - {str(RDF.type)} - expanded == set()
