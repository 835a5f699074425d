"""IRIs of the patternkg vocabulary and of a converted library.

Everything that names an IRI goes through here, so the converter, the shapes,
the server and the prepared queries agree on one layout:

- vocabulary terms: ``https://w3id.org/patternkg/ontology#<term>`` (prefix ``pkg``);
- controlled values: ``https://w3id.org/patternkg/vocab/<scheme>/<value>``;
- library data under a configurable base IRI ``B`` (default :data:`DEFAULT_BASE_IRI`):
  ``B pattern/<slug>`` (with ``#fragment`` statement nodes), ``B domain/<d>``,
  ``B commons-domain/<d>``, ``B community/<id>``, ``B entity/<id>``, ``B agent/<name>``,
  ``B scheme/<name>`` and ``B dataset`` (the VoID/DCAT description).

All data is in the default graph. Human-curated and machine-written (graph
garden) statements are told apart by vocabulary, not by graph: the garden uses
its own predicates and classes (pkg:inferredLink, pkg:InferredLink, pkg:mentions,
pkg:EntityMention, pkg:memberOf, pkg:CommunityMembership, pkg:lastPruned, ...),
so the distinction survives every dump format and needs no GRAPH clause. (One
graph also halves Oxigraph's index writes compared with named graphs.) The one
exception is a store of several libraries (:mod:`.libraries`): one named graph per
library (its ``B dataset`` IRI) and one for the links between them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from pyoxigraph import NamedNode

ONTOLOGY_IRI = "https://w3id.org/patternkg/ontology"
PKG = ONTOLOGY_IRI + "#"
VOCAB = "https://w3id.org/patternkg/vocab/"
DEFAULT_BASE_IRI = "https://w3id.org/patternkg/library/"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS = "http://purl.org/dc/terms/"
PROV = "http://www.w3.org/ns/prov#"
SCHEMA = "https://schema.org/"
CC = "http://creativecommons.org/ns#"
VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
SD = "http://www.w3.org/ns/sparql-service-description#"
WIKIDATA_ENTITY = "http://www.wikidata.org/entity/"
SPDX_LICENSE = "https://spdx.org/licenses/"

#: Prefixes written into Turtle/TriG dumps and offered to SPARQL users.
PREFIXES: dict[str, str] = {
    "pkg": PKG,
    "rdf": RDF,
    "rdfs": RDFS,
    "xsd": XSD,
    "owl": OWL,
    "skos": SKOS,
    "dcterms": DCTERMS,
    "prov": PROV,
    "schema": SCHEMA,
    "cc": CC,
    "void": VOID,
    "dcat": DCAT,
}

#: YAML relationship key -> local name of the truthy property (curated kinds).
RELATIONSHIP_KINDS: dict[str, str] = {
    "generalizes_from": "generalizesFrom",
    "specializes_to": "specializesTo",
    "enables": "enables",
    "requires": "requires",
    "alternatives": "alternativeTo",
    "complementary": "complementaryTo",
    "tools": "usesTool",
    "related": "relatedTo",
}

#: Assessment dimension key -> local name (the eight scored dimensions, in spec order).
ASSESSMENT_DIMENSIONS: dict[str, str] = {
    "stakeholder_architecture": "stakeholderArchitecture",
    "value_creation": "valueCreation",
    "resilience": "resilience",
    "ownership": "ownership",
    "autonomy": "autonomy",
    "composability": "composability",
    "fractal_value": "fractalValue",
    "vitality": "vitality",
}

#: v7.1 body section name (normalised heading) -> local name of its property.
BODY_SECTIONS: dict[str, str] = {
    "context": "contextSection",
    "problem": "problemSection",
    "solution": "solutionSection",
    "implementation": "implementationSection",
    "consequences": "consequencesSection",
    "known uses": "knownUsesSection",
    "cognitive era": "cognitiveEraSection",
    "vitality": "vitalitySection",
}

# A value usable as one IRI path segment or fragment part: letters (any script),
# digits, '_', '-', '.', '~' -- the IRI "iunreserved" set minus anything that
# would need escaping -- not starting with '.', so "." and ".." cannot occur.
_SAFE_SEGMENT = re.compile(r"[^\W][\w.~-]*", re.UNICODE)
QID = re.compile(r"Q[1-9][0-9]*")


def is_safe_segment(value: object) -> bool:
    """True when *value* is a str that can be used verbatim as one IRI segment."""
    return isinstance(value, str) and len(value) <= 200 and _SAFE_SEGMENT.fullmatch(value) is not None


def slugify(text: str) -> str:
    """A safe segment made from free text (for entities and agents named by label)."""
    s = re.sub(r"[^\w]+", "-", text.strip().lower(), flags=re.UNICODE).strip("-_")
    return s[:200] or "unnamed"


def pkg(local: str) -> NamedNode:
    return NamedNode(PKG + local)


def vocab(scheme: str, value: str) -> NamedNode:
    return NamedNode(f"{VOCAB}{scheme}/{value}")


@dataclass(frozen=True)
class Library:
    """IRIs of one converted library, under ``base`` (which must end in '/' or '#')."""

    base: str = DEFAULT_BASE_IRI

    def __post_init__(self) -> None:
        if not self.base.endswith(("/", "#")):
            raise ValueError(f"base IRI must end with '/' or '#': {self.base!r}")
        NamedNode(self.base)  # validates the IRI

    def pattern(self, slug: str) -> NamedNode:
        return NamedNode(f"{self.base}pattern/{slug}")

    def node(self, slug: str, fragment: str) -> NamedNode:
        return NamedNode(f"{self.base}pattern/{slug}#{fragment}")

    def domain(self, name: str) -> NamedNode:
        return NamedNode(f"{self.base}domain/{name}")

    def commons_domain(self, name: str) -> NamedNode:
        return NamedNode(f"{self.base}commons-domain/{name}")

    def community(self, ident: str) -> NamedNode:
        return NamedNode(f"{self.base}community/{ident}")

    def entity(self, ident: str) -> NamedNode:
        return NamedNode(f"{self.base}entity/{ident}")

    def collection(self, name: str) -> NamedNode:
        return NamedNode(f"{self.base}collection/{name}")

    def agent(self, name: str) -> NamedNode:
        return NamedNode(f"{self.base}agent/{name}")

    def scheme(self, name: str) -> NamedNode:
        return NamedNode(f"{self.base}scheme/{name}")

    @cached_property
    def pattern_space(self) -> str:
        return f"{self.base}pattern/"

    @cached_property
    def dataset(self) -> NamedNode:
        return NamedNode(f"{self.base}dataset")
