"""Serialising a store: Turtle, N-Triples, N-Quads, TriG and compacted JSON-LD.

Contract: :func:`dump` writes the whole store in one format, deterministically
(the same store content gives byte-identical output: terms come out in the
store's index order, and JSON-LD keys and values are sorted). Turtle and TriG
carry the project prefixes plus ones for the library's own namespaces. JSON-LD
is compacted with ``ontology/context.jsonld``.

Why JSON-LD compaction is written here rather than done by pyld: pyld's
compaction is pure Python and handles the general case; on the shared corpus
(~180K triples) it is orders of magnitude too slow for a dump. The data only
ever has the shapes the context was generated for (one default graph, IRIs and
typed literals, no language maps or lists), for which compaction is a table
lookup per predicate. The tests expand every dump with pyld (an independent
processor) and compare it with the store as graphs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import IO

from pyoxigraph import DefaultGraph, Literal, NamedNode, RdfFormat, Store, serialize

from patternkg.converter.namespaces import PREFIXES, RDF, XSD, Library

#: format name -> (pyoxigraph format or None for JSON-LD, file extension, media type)
FORMATS: dict[str, tuple[RdfFormat | None, str, str]] = {
    "turtle": (RdfFormat.TURTLE, "ttl", "text/turtle"),
    "ntriples": (RdfFormat.N_TRIPLES, "nt", "application/n-triples"),
    "nquads": (RdfFormat.N_QUADS, "nq", "application/n-quads"),
    "trig": (RdfFormat.TRIG, "trig", "application/trig"),
    "jsonld": (None, "jsonld", "application/ld+json"),
}

_XSD_STRING = XSD + "string"
_RDF_TYPE = RDF + "type"


def library_prefixes(base_iri: str) -> dict[str, str]:
    """The project prefixes plus prefixes for the library's own namespaces under *base_iri*."""
    lib = Library(base_iri)
    return {
        **PREFIXES,
        "pattern": lib.pattern_space,
        "domain": f"{base_iri}domain/",
        "community": f"{base_iri}community/",
        "entity": f"{base_iri}entity/",
        "agent": f"{base_iri}agent/",
        "collection": f"{base_iri}collection/",
        "lib": base_iri,
        "vocab": "https://w3id.org/patternkg/vocab/",
    }


@cache
def jsonld_context() -> dict:
    """The project's JSON-LD context (the value of ``@context``)."""
    text = resources.files("patternkg.ontology").joinpath("context.jsonld").read_text(encoding="utf-8")
    return json.loads(text)["@context"]


def dump(store: Store, fmt: str, output: IO[bytes], *, base_iri: str) -> None:
    """Write all of *store* to the binary stream *output* in format *fmt* (a key of :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    rdf_format = FORMATS[fmt][0]
    prefixes = library_prefixes(base_iri)
    # A store of several libraries (named graphs, see converter/libraries.py): the triple formats
    # hold the union of its graphs; N-Quads and TriG keep the graphs.
    union = next(iter(store.named_graphs()), None) is not None
    if rdf_format is None:
        JsonLdCompactor(prefixes).write(store, output, union=union)
    elif rdf_format in (RdfFormat.TURTLE, RdfFormat.N_TRIPLES) and union:
        serialize((quad.triple for quad in store), output, rdf_format,
                  prefixes=prefixes if rdf_format is RdfFormat.TURTLE else None)
    elif rdf_format in (RdfFormat.TURTLE, RdfFormat.N_TRIPLES):
        store.dump(output, rdf_format, from_graph=DefaultGraph(),
                   prefixes=prefixes if rdf_format is RdfFormat.TURTLE else None)
    else:
        store.dump(output, rdf_format, prefixes=prefixes if rdf_format is RdfFormat.TRIG else None)


class JsonLdCompactor:
    """Compacts default-graph triples to JSON-LD node objects using the project context."""

    def __init__(self, extra_prefixes: dict[str, str]):
        context = jsonld_context()
        self.context = {**context, **{k: v for k, v in extra_prefixes.items() if k not in context}}
        self.prefixes = sorted(
            ((k, v) for k, v in self.context.items() if isinstance(v, str) and not k.startswith("@")
             and v.endswith(("/", "#"))),
            key=lambda kv: -len(kv[1]),
        )
        self.terms: dict[str, tuple[str, str | None]] = {}  # predicate IRI -> (term, expanded @type)
        for term, definition in self.context.items():
            if isinstance(definition, dict):
                iri = self._expand(definition["@id"])
                coerce = definition.get("@type")
                self.terms[iri] = (term, self._expand(coerce) if coerce and coerce != "@id" else coerce)

    def _expand(self, curie: str) -> str:
        prefix, _, rest = curie.partition(":")
        base = self.context.get(prefix)
        return base + rest if isinstance(base, str) and not rest.startswith("//") else curie

    def compact_iri(self, iri: str) -> str:
        for prefix, ns in self.prefixes:
            if iri.startswith(ns) and len(iri) > len(ns):
                rest = iri[len(ns):]
                if not rest.startswith("//"):
                    return f"{prefix}:{rest}"
        return iri

    def _value(self, obj, coerce: str | None):
        if isinstance(obj, NamedNode):
            return self.compact_iri(obj.value) if coerce == "@id" else {"id": self.compact_iri(obj.value)}
        if isinstance(obj, Literal):
            if obj.language:
                return {"@value": obj.value, "@language": obj.language}
            datatype = obj.datatype.value
            if coerce is None and datatype == _XSD_STRING:
                return obj.value
            if coerce == datatype:
                return obj.value
            if datatype == _XSD_STRING:
                return {"@value": obj.value}
            return {"@value": obj.value, "@type": self.compact_iri(datatype)}
        return {"id": f"_:{obj.value}"}

    def nodes(self, store: Store, *, union: bool = False) -> Iterator[dict]:
        """Node objects, one per subject, in the store's subject order (of the default graph; with
        *union*, of every graph: a subject described in two graphs then has two node objects,
        which JSON-LD processors merge)."""
        current, node = None, {}
        for quad in store.quads_for_pattern(None, None, None, None if union else DefaultGraph()):
            subject = quad.subject
            if subject != current:
                if current is not None:
                    yield self._finish(node)
                current = subject
                sid = self.compact_iri(subject.value) if isinstance(subject, NamedNode) else f"_:{subject.value}"
                node = {"id": sid}
            predicate = quad.predicate.value
            if predicate == _RDF_TYPE and isinstance(quad.object, NamedNode):
                node.setdefault("type", []).append(self.compact_iri(quad.object.value))
                continue
            term, coerce = self.terms.get(predicate, (None, None))
            if term is None:
                term = self.compact_iri(predicate)
            elif coerce != "@id" and isinstance(quad.object, NamedNode):
                term = self.compact_iri(predicate)  # the term would coerce an IRI to a literal
            node.setdefault(term, []).append(self._value(quad.object, coerce))
        if current is not None:
            yield self._finish(node)

    @staticmethod
    def _finish(node: dict) -> dict:
        out = {}
        for key in sorted(node, key=lambda k: (k not in ("id", "type"), k)):
            value = node[key]
            if isinstance(value, list):
                value = sorted(value, key=lambda x: json.dumps(x, sort_keys=True, ensure_ascii=False))
                value = value[0] if len(value) == 1 else value
            out[key] = value
        return out

    def write(self, store: Store, output: IO[bytes], *, union: bool = False) -> None:
        output.write(b'{\n"@context": ')
        output.write(json.dumps(self.context, indent=1, ensure_ascii=False).encode())
        output.write(b',\n"@graph": [')
        first = True
        for node in self.nodes(store, union=union):
            output.write(b"\n" if first else b",\n")
            output.write(json.dumps(node, ensure_ascii=False, sort_keys=False).encode())
            first = False
        output.write(b"\n]}\n")
