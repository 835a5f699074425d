"""Documentation of the ontology generated from its graph (what pyLODE or Widoco make), for ``/ontology``
in HTML.

Contract of :func:`documentation`: from the ontology's triples and the library's usage
counts, the ontology's metadata and, in order of label, every class (label, comment,
super-classes, restrictions named in words, how many instances the library has) and
every property (kind, label, comment, domain, range, super-properties, inverse,
characteristics, notation, how many triples the library states with it), and every
concept scheme with its concepts (how many times the library names each). Terms from
other vocabularies that the ontology declares (``skos:Concept``, ``dcterms:title``, ...)
are listed too, marked as reused. Nothing is hard-coded: a term added to the ontology
file appears here.

:func:`usage_counts` computes the counts with three aggregate queries (per predicate, per
class, per vocabulary concept); the caller caches them per served generation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from patternkg.converter.namespaces import DCTERMS, OWL, PREFIXES, RDF, RDFS, SKOS, VOCAB

from .descriptions import OntologyDocument

__all__ = ["Term", "documentation", "usage_counts"]

_PROPERTY_KINDS = {OWL + "ObjectProperty": "object property", OWL + "DatatypeProperty": "datatype property",
                   OWL + "AnnotationProperty": "annotation property"}
_CHARACTERISTICS = {OWL + "FunctionalProperty": "functional", OWL + "SymmetricProperty": "symmetric",
                    OWL + "TransitiveProperty": "transitive", OWL + "InverseFunctionalProperty": "inverse functional"}


@dataclass
class Term:
    """One class, property or concept as the documentation shows it."""

    iri: str
    curie: str
    anchor: str
    label: str
    comment: str = ""
    kind: str = ""
    reused: bool = False
    domain: list[str] = field(default_factory=list)
    range: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    inverse: list[str] = field(default_factory=list)
    characteristics: list[str] = field(default_factory=list)
    restrictions: list[str] = field(default_factory=list)
    notation: str = ""
    uses: int = 0
    members: list["Term"] = field(default_factory=list)


def curie(iri: str) -> str:
    for prefix, ns in sorted(PREFIXES.items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns):]}"
    if iri.startswith(VOCAB):
        return "vocab:" + iri[len(VOCAB):]
    return iri


def usage_counts(select: Callable[[str], list[dict[str, Any]]], concepts: list[str]) -> dict[str, int]:
    """How many triples use each predicate, how many instances each class has, how many triples
    name each vocabulary concept (IRI -> count)."""
    counts: dict[str, int] = {}
    for row in select("SELECT ?t (COUNT(*) AS ?n) WHERE { ?s ?t ?o } GROUP BY ?t"):
        counts[row["t"]["value"]] = int(row["n"]["value"])
    for row in select("SELECT ?t (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?t } GROUP BY ?t"):
        counts["class:" + row["t"]["value"]] = int(row["n"]["value"])
    if concepts:
        values = " ".join(str(ox.NamedNode(c)) for c in concepts)
        for row in select(f"SELECT ?t (COUNT(*) AS ?n) WHERE {{ VALUES ?t {{ {values} }} ?s ?p ?t }} GROUP BY ?t"):
            counts["concept:" + row["t"]["value"]] = int(row["n"]["value"])
    return counts


def documentation(ontology: OntologyDocument, counts: dict[str, int]) -> dict[str, Any]:
    """The ontology documented (see the module docstring): ``meta``, ``classes``, ``properties``
    (grouped by kind), ``schemes``."""
    by_subject: dict[ox.Term, list[ox.Triple]] = {}
    for t in ontology.triples:
        by_subject.setdefault(t.subject, []).append(t)

    def values(subject: ox.Term, predicate: str) -> list[ox.Term]:
        return [t.object for t in by_subject.get(subject, ()) if t.predicate.value == predicate]

    def text(subject: ox.Term, predicate: str) -> str:
        found = [v for v in values(subject, predicate) if isinstance(v, ox.Literal)]
        english = [v.value for v in found if v.language in (None, "en")]
        return (english or [v.value for v in found] or [""])[0]

    def iris(subject: ox.Term, predicate: str) -> list[str]:
        return sorted(v.value for v in values(subject, predicate) if isinstance(v, ox.NamedNode))

    def restriction(node: ox.Term) -> str | None:
        on = iris(node, OWL + "onProperty")
        if not on:
            return None
        for predicate, words in ((OWL + "hasValue", "has value"), (OWL + "someValuesFrom", "some"),
                                 (OWL + "allValuesFrom", "only")):
            target = values(node, predicate)
            if target:
                return f"{curie(on[0])} {words} {curie(target[0].value)}"
        return f"a restriction on {curie(on[0])}"

    def term(iri: str, **extra: Any) -> Term:
        node = ox.NamedNode(iri)
        c = curie(iri)
        return Term(iri=iri, curie=c, anchor=c.replace(":", "-").replace("/", "-"),
                    label=text(node, RDFS + "label") or text(node, SKOS + "prefLabel") or c,
                    comment=text(node, RDFS + "comment"), notation=text(node, SKOS + "notation"),
                    reused=not iri.startswith((ontology.iri, VOCAB)), **extra)

    typed: dict[str, set[str]] = {}
    for t in ontology.triples:
        if t.predicate.value == RDF + "type" and isinstance(t.subject, ox.NamedNode):
            typed.setdefault(t.object.value, set()).add(t.subject.value)

    classes = []
    for iri in typed.get(OWL + "Class", set()):
        node = ox.NamedNode(iri)
        parents = [v for v in values(node, RDFS + "subClassOf")]
        entry = term(iri, kind="class", uses=counts.get("class:" + iri, 0),
                     parents=sorted(p.value for p in parents if isinstance(p, ox.NamedNode)))
        entry.restrictions = sorted(r for r in (restriction(p) for p in parents if isinstance(p, ox.BlankNode)) if r)
        classes.append(entry)

    properties: dict[str, list[Term]] = {kind: [] for kind in _PROPERTY_KINDS.values()}
    for type_iri, kind in _PROPERTY_KINDS.items():
        for iri in typed.get(type_iri, set()):
            node = ox.NamedNode(iri)
            inverse = iris(node, OWL + "inverseOf") + [t.subject.value for t in ontology.triples
                                                      if t.predicate.value == OWL + "inverseOf" and t.object == node]
            properties[kind].append(term(
                iri, kind=kind, uses=counts.get(iri, 0), domain=iris(node, RDFS + "domain"),
                range=iris(node, RDFS + "range"), parents=iris(node, RDFS + "subPropertyOf"),
                inverse=sorted(set(inverse)),
                characteristics=sorted(_CHARACTERISTICS[c] for c in _CHARACTERISTICS if iri in typed.get(c, set()))))

    schemes = []
    for scheme in ontology.schemes:
        entry = term(scheme, kind="concept scheme")
        entry.members = [term(m, kind="concept", uses=counts.get("concept:" + m, 0)) for m in ontology.members(scheme)]
        entry.uses = sum(m.uses for m in entry.members)
        schemes.append(entry)

    def order(items: list[Term]) -> list[Term]:
        return sorted(items, key=lambda t: (t.reused, t.label.lower(), t.iri))

    root = ox.NamedNode(ontology.iri)
    meta = {
        "iri": ontology.iri,
        "title": text(root, DCTERMS + "title") or ontology.iri,
        "description": text(root, DCTERMS + "description"),
        "version_iris": ontology.version_iris,
        "version": text(root, OWL + "versionInfo"),
        "license": iris(root, DCTERMS + "license"),
        "see_also": ontology.see_also,
    }
    every = classes + [t for items in properties.values() for t in items] + schemes + [
        m for s in schemes for m in s.members]
    anchors = {t.iri: t.anchor for t in every}
    names = {t.iri: t.curie for t in every}
    for t in every:  # domains, ranges and parents from other vocabularies, shown as CURIEs
        for iri in t.domain + t.range + t.parents + t.inverse:
            names.setdefault(iri, curie(iri))
    return {"meta": meta, "classes": order(classes), "anchors": anchors, "names": names,
            "properties": {kind: order(items) for kind, items in properties.items() if items},
            "schemes": sorted(schemes, key=lambda t: t.label.lower())}
