"""The VoID/DCAT description every dump carries (subject ``<BASE>dataset``).

Contract: :func:`describe_dataset` computes counts from the store with SPARQL
(so they describe exactly what was loaded) and returns triples to add. It is
deterministic: no wall-clock time unless *issued* is given, and sources are
named by folder or file name, never by absolute path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pyoxigraph import DefaultGraph, Literal, NamedNode, Quad, Store, Triple

from patternkg.converter.diagnostics import BuildReport
from patternkg.converter.namespaces import DCAT, DCTERMS, ONTOLOGY_IRI, RDF, SKOS, VOID, Library, pkg
from patternkg.converter.values import XSD_DATETIME, XSD_INTEGER

A = NamedNode(RDF + "type")


def _v(local: str) -> NamedNode:
    return NamedNode(VOID + local)


def _count(store: Store, query: str) -> int:
    for row in store.query(query):
        return int(row[0].value)
    return 0


def _int(n: int) -> Literal:
    return Literal(str(n), datatype=XSD_INTEGER)


def _distinct_iris(store: Store, predicate: NamedNode) -> list[NamedNode]:
    """The IRIs that are objects of *predicate*, in IRI order. Filtered and sorted here, not in
    the query: SPARQL orders and filters every solution before DISTINCT (0.6 s at 100k patterns,
    against 0.08 s for the distinct objects alone)."""
    rows = store.query(f"SELECT DISTINCT ?o WHERE {{ ?s {predicate} ?o }}")
    return sorted((row[0] for row in rows if isinstance(row[0], NamedNode)), key=lambda iri: iri.value)


#: scheme name (``B scheme/<name>``) -> label
SCHEME_LABELS = {
    "patterns": "Patterns",
    "domains": "Domains",
    "commons-domains": "Commons domains",
    "communities": "Communities",
}


def describe_schemes(store: Store, library: Library) -> list[Triple]:
    """``skos:ConceptScheme`` descriptions of the library's schemes that concepts are in, so that
    every scheme IRI the data mints has a description of its own."""
    space = library.base + "scheme/"
    out = []
    for scheme in _distinct_iris(store, NamedNode(SKOS + "inScheme")):
        if not scheme.value.startswith(space):
            continue
        name = scheme.value[len(space):]
        out += [
            Triple(scheme, A, NamedNode(SKOS + "ConceptScheme")),
            Triple(scheme, NamedNode(SKOS + "prefLabel"), Literal(SCHEME_LABELS.get(name, name), language="en")),
            Triple(scheme, NamedNode(DCTERMS + "isPartOf"), library.dataset),
        ]
    return out


def describe_dataset(store: Store, library: Library, report: BuildReport, *, sources: Sequence[Path],
                     issued: str | None = None, triples: int | None = None) -> list[Quad]:
    """VoID/DCAT quads for the dataset; *triples* is ``len(store)`` when the caller knows it."""
    d = library.dataset
    pattern_class = pkg("Pattern")
    counts = {
        "triples": len(store) if triples is None else triples,
        "patterns": _count(store, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a {pattern_class} }}"),
    }
    names = sorted({Path(s).name or str(s) for s in sources})
    title = f"Pattern library: {', '.join(names)}"
    out = [
        Triple(d, A, _v("Dataset")),
        Triple(d, A, NamedNode(DCAT + "Dataset")),
        Triple(d, NamedNode(DCTERMS + "title"), Literal(title)),
        Triple(d, NamedNode(DCTERMS + "description"),
               Literal("Patterns converted to RDF by patternkg: curated relationships and machine-written "
                       "graph-garden knowledge, told apart by vocabulary (see the patternkg ontology).")),
        Triple(d, _v("triples"), _int(counts["triples"])),
        Triple(d, _v("entities"), _int(counts["patterns"])),
        Triple(d, pkg("patternCount"), _int(counts["patterns"])),
        Triple(d, pkg("sourceCount"), _int(report.files)),
        Triple(d, _v("vocabulary"), NamedNode(ONTOLOGY_IRI)),
        Triple(d, _v("uriSpace"), Literal(library.pattern_space)),
    ]
    partition = NamedNode(d.value + "#patterns")
    out += [
        Triple(d, _v("classPartition"), partition),
        Triple(partition, _v("class"), pattern_class),
        Triple(partition, _v("entities"), _int(counts["patterns"])),
    ]
    for name in names:
        out.append(Triple(d, NamedNode(DCTERMS + "source"), Literal(name)))
    for licence in _distinct_iris(store, NamedNode(DCTERMS + "license")):
        out.append(Triple(d, NamedNode(DCTERMS + "license"), licence))
    if issued:
        out.append(Triple(d, NamedNode(DCTERMS + "issued"), Literal(issued, datatype=XSD_DATETIME)))
    out += describe_schemes(store, library)
    graph = DefaultGraph()
    return [Quad(t.subject, t.predicate, t.object, graph) for t in out]
