"""What a dereferenced IRI answers with: the SPARQL that describes each kind of resource,
and the descriptions taken from the ontology file (vocabulary concepts and schemes).

Contract:

- :func:`pattern_query`: a pattern's own triples, those of its ``#fragment`` nodes
  and the labels of everything it links to;
- :func:`resource_query`: any other library resource (domain, community, entity,
  agent, scheme, ...): its own triples with the labels of what they point to, and
  the triples that point at it from resources without a fragment (the patterns in
  a domain, the members of a scheme), with those resources' labels;
- :func:`referrers_query`: every triple that points at an IRI, with the labels of
  the referring resources (the body of a referenced pattern without a file);
- :func:`state_query`: one ASK-like SELECT telling whether an IRI is described
  (has triples as subject) or only referenced;
- :class:`OntologyDocument`: the ontology file parsed once; ``describe(iri)``
  gives a vocabulary concept's or concept scheme's triples (with the labels of the
  schemes and concepts they name), ``vocabulary()`` every scheme and concept.

IRIs reach query text only as pyoxigraph ``NamedNode`` N-Triples forms (validated
and escaped), never as raw request text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox

from patternkg.converter.namespaces import DCTERMS, OWL, RDF, RDFS, SKOS

__all__ = ["LABELS", "OntologyDocument", "missing_pattern_query", "pattern_query", "resource_query", "state_query"]

LABELS = (
    "<http://www.w3.org/2000/01/rdf-schema#label> <http://www.w3.org/2004/02/skos/core#prefLabel> "
    "<http://purl.org/dc/terms/title>"
)
_LABEL_IRIS = frozenset({RDFS + "label", SKOS + "prefLabel", "http://purl.org/dc/terms/title"})


def _term(iri: str) -> str:
    return str(ox.NamedNode(iri))


def pattern_query(iri: str) -> str:
    """CONSTRUCT: the pattern, its ``#fragment`` nodes and the labels of what they link to."""
    node = _term(iri)
    prefix = ox.Literal(iri + "#")
    return f"""CONSTRUCT {{ ?s ?p ?o . ?o ?lp ?label }} WHERE {{
    {{ BIND({node} AS ?s) }}
    UNION {{ {node} ?link ?s . FILTER(isIRI(?s) && STRSTARTS(STR(?s), {prefix})) }}
    ?s ?p ?o .
    OPTIONAL {{ ?o ?lp ?label . VALUES ?lp {{ {LABELS} }} FILTER(!isBlank(?o)) }}
    }}"""


def resource_query(iri: str) -> str:
    """CONSTRUCT: the resource's own triples and the triples of fragment-less IRIs that point at it."""
    node = _term(iri)
    return f"""CONSTRUCT {{ {node} ?p ?o . ?o ?lp ?label . ?s ?sp {node} . ?s ?slp ?slabel }} WHERE {{
    {{ {node} ?p ?o OPTIONAL {{ ?o ?lp ?label . VALUES ?lp {{ {LABELS} }} FILTER(!isBlank(?o)) }} }}
    UNION
    {{ ?s ?sp {node} FILTER(isIRI(?s) && !CONTAINS(STR(?s), "#"))
       OPTIONAL {{ ?s ?slp ?slabel . VALUES ?slp {{ {LABELS} }} }} }}
    }}"""


def _label_union(var: str) -> str:
    """One UNION branch per label property (Oxigraph joins these by index; ``VALUES ?lp`` scans)."""
    return " UNION ".join(f"{{ {var} <{p}> ?label BIND(<{p}> AS ?lp) }}" for p in sorted(_LABEL_IRIS))


def missing_pattern_query(iri: str, slug: str) -> str:
    """CONSTRUCT: every triple pointing at *iri* (a pattern no file describes), the labels of the
    fragment-less resources that point at it (the patterns that name it), and
    an ``rdfs:comment`` on *iri* saying that no file describes it and how many resources refer to it."""
    node = _term(iri)
    head = ox.Literal(f"No pattern file describes {slug!r}: this library has no such pattern. ")
    tail = ox.Literal(" resource(s) reference it; the other triples of this document are their references.")
    return f"""CONSTRUCT {{ ?s ?p {node} . ?owner ?lp ?label . {node} <{RDFS}comment> ?note }} WHERE {{
    {{ ?s ?p {node} . FILTER(!isBlank(?s)) }}
    UNION {{
      ?owner ?link {node} . FILTER(isIRI(?owner) && !CONTAINS(STR(?owner), "#"))
      {_label_union("?owner")}
    }} UNION {{
      SELECT (STRLANG(CONCAT({head}, STR(COUNT(DISTINCT ?referrer)), {tail}), "en") AS ?note) WHERE {{
        ?r ?q {node} . FILTER(!isBlank(?r)) BIND(STRBEFORE(CONCAT(STR(?r), "#"), "#") AS ?referrer)
      }}
    }}
    }}"""


def state_query(iri: str) -> str:
    """SELECT ?described ?referenced: whether *iri* has triples as subject, and as object."""
    node = _term(iri)
    # STRDT(IF(...)) rather than BIND(EXISTS ...) alone: Virtuoso answers a boolean as 1/0 integers
    # (serve --backend); the typed "true"/"false" literal reads the same on every engine
    boolean = "<http://www.w3.org/2001/XMLSchema#boolean>"
    return (f"SELECT ?described ?referenced WHERE {{ "
            f'BIND(STRDT(IF(EXISTS {{ {node} ?p ?o }}, "true", "false"), {boolean}) AS ?described) '
            f'BIND(STRDT(IF(EXISTS {{ ?s ?q {node} }}, "true", "false"), {boolean}) AS ?referenced) }}')


@dataclass(frozen=True)
class OntologyDocument:
    """The ontology file, parsed once: its bytes, triples and the IRIs it describes."""

    path: Path

    @cached_property
    def data(self) -> bytes:
        return self.path.read_bytes()

    @cached_property
    def triples(self) -> list[ox.Triple]:
        return [q.triple for q in ox.parse(self.data, format=ox.RdfFormat.TURTLE)]

    @cached_property
    def _by_subject(self) -> dict[str, list[ox.Triple]]:
        out: dict[str, list[ox.Triple]] = {}
        for t in self.triples:
            if isinstance(t.subject, ox.NamedNode):
                out.setdefault(t.subject.value, []).append(t)
        return out

    def objects(self, subject: str, predicate: str) -> list[str]:
        return [t.object.value for t in self._by_subject.get(subject, ()) if t.predicate.value == predicate]

    @cached_property
    def iri(self) -> str:
        for t in self.triples:
            if t.predicate.value == RDF + "type" and t.object.value == OWL + "Ontology":
                return t.subject.value
        raise ValueError(f"{self.path}: no owl:Ontology")

    @cached_property
    def version_iris(self) -> list[str]:
        return self.objects(self.iri, OWL + "versionIRI")

    @cached_property
    def see_also(self) -> list[str]:
        return self.objects(self.iri, RDFS + "seeAlso")

    @cached_property
    def schemes(self) -> list[str]:
        return sorted(t.subject.value for t in self.triples
                      if t.predicate.value == RDF + "type" and t.object.value == SKOS + "ConceptScheme"
                      and isinstance(t.subject, ox.NamedNode))

    def members(self, scheme: str) -> list[str]:
        return sorted(t.subject.value for t in self.triples
                      if t.predicate.value == SKOS + "inScheme" and t.object.value == scheme)

    def labels(self, iri: str) -> list[ox.Triple]:
        return [t for t in self._by_subject.get(iri, ()) if t.predicate.value in _LABEL_IRIS]

    def describe(self, iri: str) -> list[ox.Triple]:
        """A concept or scheme of the ontology's controlled vocabularies: its triples, plus its
        members (for a scheme) and the labels of the IRIs named; ``[]`` when it is not in the file."""
        own = list(self._by_subject.get(iri, ()))
        if not own:
            return []
        out = own + [t for m in self.members(iri) for t in self._by_subject.get(m, ())]
        for t in own:
            if isinstance(t.object, ox.NamedNode):
                out += self.labels(t.object.value)
        return list(dict.fromkeys(out))

    def vocabulary(self, root: str) -> list[ox.Triple]:
        """Every concept scheme and concept (the document at the vocabulary root *root*)."""
        node = ox.NamedNode(root)
        out = [ox.Triple(node, ox.NamedNode(RDFS + "label"), ox.Literal("patternkg controlled vocabularies", language="en")),
               ox.Triple(node, ox.NamedNode(RDFS + "isDefinedBy"), ox.NamedNode(self.iri))]
        out += [ox.Triple(node, ox.NamedNode(DCTERMS + "hasPart"), ox.NamedNode(s)) for s in self.schemes]
        for scheme in self.schemes:
            out += self.describe(scheme)
        out += self.labels(self.iri)
        return list(dict.fromkeys(out))
