"""The dataset description served at ``/void`` and at the dataset IRI ``<BASE>dataset``.

Contract of :func:`describe_dataset`: the VoID/DCAT triples the converter wrote
(``<BASE>dataset`` and its ``<BASE>dataset...`` or blank nodes, or an older
``<BASE>graph/meta`` graph; for a store without any, a minimal ``void:triples``
count; for a store of several libraries, also the description of each ``void:subset``: each
library's dataset, :mod:`patternkg.converter.libraries`), plus what only the server knows:

- ``void:sparqlEndpoint`` and a ``dcat:DataService`` for ``/sparql``;
- every dump: ``void:dataDump <url>`` and a ``dcat:distribution``
  (``<BASE>dataset#dump-<name>``) with ``dcat:downloadURL``, ``dcat:mediaType``
  (the IANA media-type IRI), ``dcat:byteSize`` and an ``spdx:checksum``
  (SHA-256) -- the dumps are written first when they are not yet;
- every prepared query as an ``sh:SPARQLExecutable`` and
  ``sh:SPARQLSelectExecutable`` (``<BASE>dataset#query-<name>``) with
  ``rdfs:label``, ``rdfs:comment``, ``sh:select`` (the runnable query text),
  ``schema:target`` (the endpoint), ``schema:keywords`` and ``rdfs:seeAlso`` its
  ``/api/queries/<name>`` URL: the convention of the SIB endpoints' SPARQL
  examples, so a client finds the queries without the OpenAPI document.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pyoxigraph as ox

from patternkg.converter.namespaces import DCAT, DCTERMS, RDF, RDFS, SCHEMA, VOID, XSD, Library

from .dumps import DumpFile

__all__ = ["describe_dataset", "SH", "SPDX"]

SH = "http://www.w3.org/ns/shacl#"
SPDX = "http://spdx.org/rdf/terms#"
IANA = "https://www.iana.org/assignments/media-types/"

Runner = Callable[[str], bytes]


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _typed(value: int | str, datatype: str) -> ox.Literal:
    return ox.Literal(str(value), datatype=_n(XSD + datatype))


def stored_description(library: Library, construct: Callable[[str], list[ox.Triple]],
                       count: Callable[[], int]) -> list[ox.Triple]:
    """The converter's description of the dataset (see the module docstring)."""
    meta = library.base + "graph/meta"  # older layout: a VoID graph of its own
    ds = library.dataset
    triples = construct(
        f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{
            {{ GRAPH {_n(meta)} {{ ?s ?p ?o }} }}
            UNION {{ BIND({ds} AS ?s) ?s ?p ?o }}
            UNION {{ {ds} ?x ?s . FILTER(isBlank(?s) || STRSTARTS(STR(?s), {ox.Literal(ds.value)})) ?s ?p ?o }}
            UNION {{ {ds} {_n(VOID + "subset")} ?s . ?s ?p ?o }}
        }}"""
    )
    if not triples:
        triples = [
            ox.Triple(ds, _n(RDF + "type"), _n(VOID + "Dataset")),
            ox.Triple(ds, _n(VOID + "triples"), _typed(count(), "integer")),
        ]
    return triples


def describe_dataset(*, library: Library, stored: list[ox.Triple], endpoint: str,
                     dumps: Iterable[tuple[DumpFile, str]], queries: Iterable[Any],
                     query_url: Callable[[str], str]) -> list[ox.Triple]:
    """The whole description: *stored* plus endpoint, dumps (file, URL) and prepared queries."""
    ds = library.dataset
    a = _n(RDF + "type")
    service = _n(endpoint)
    out = list(stored)
    out += [
        ox.Triple(ds, _n(VOID + "sparqlEndpoint"), service),
        ox.Triple(service, a, _n(DCAT + "DataService")),
        ox.Triple(service, _n(DCAT + "endpointURL"), service),
        ox.Triple(service, _n(DCAT + "servesDataset"), ds),
    ]
    for info, url in dumps:
        dist = _n(f"{ds.value}#dump-{info.name}")
        checksum = _n(f"{ds.value}#checksum-{info.name}")
        download = _n(url)
        out += [
            ox.Triple(ds, _n(VOID + "dataDump"), download),
            ox.Triple(ds, _n(DCAT + "distribution"), dist),
            ox.Triple(dist, a, _n(DCAT + "Distribution")),
            ox.Triple(dist, _n(DCTERMS + "title"), ox.Literal(f"{info.name}: the whole dataset as {info.media_type}")),
            ox.Triple(dist, _n(DCAT + "downloadURL"), download),
            ox.Triple(dist, _n(DCAT + "accessURL"), download),
            ox.Triple(dist, _n(DCAT + "mediaType"), _n(IANA + info.media_type)),
            ox.Triple(dist, _n(DCAT + "byteSize"), _typed(info.size, "nonNegativeInteger")),
            ox.Triple(dist, _n(SPDX + "checksum"), checksum),
            ox.Triple(checksum, a, _n(SPDX + "Checksum")),
            ox.Triple(checksum, _n(SPDX + "algorithm"), _n(SPDX + "checksumAlgorithm_sha256")),
            ox.Triple(checksum, _n(SPDX + "checksumValue"), _typed(info.sha256, "hexBinary")),
        ]
    for query in queries:
        node = _n(f"{ds.value}#query-{query.name}")
        out += [
            ox.Triple(node, a, _n(SH + "SPARQLExecutable")),
            ox.Triple(node, a, _n(SH + "SPARQLSelectExecutable")),
            ox.Triple(node, _n(RDFS + "label"), ox.Literal(query.title, language="en")),
            ox.Triple(node, _n(RDFS + "comment"), ox.Literal(query.description, language="en")),
            ox.Triple(node, _n(SH + "select"), ox.Literal(query.sparql)),
            ox.Triple(node, _n(SCHEMA + "target"), service),
            ox.Triple(node, _n(RDFS + "seeAlso"), _n(query_url(query.name))),
            ox.Triple(node, _n(DCTERMS + "isPartOf"), ds),
        ]
        for keyword in _keywords(query):
            out.append(ox.Triple(node, _n(SCHEMA + "keywords"), ox.Literal(keyword)))
    return list(dict.fromkeys(out))


def _keywords(query: Any) -> list[str]:
    """The query's name, the types of its parameters and the names of its columns."""
    words = [query.name, *(p.type for p in query.parameters if p.type not in ("integer", "decimal", "string")),
             *query.column_names]
    return list(dict.fromkeys(w for w in words if w))


def count_triples(run: Runner) -> int:
    body = json.loads(run("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"))
    return int(body["results"]["bindings"][0]["n"]["value"])
