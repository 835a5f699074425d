"""The library's own graph format: ``data/graph.json`` of Commons-OS/patterns.

Contract of :func:`write_commons_graph`: writes one JSON document that validates
against the library's ``schema/graph_schema.json`` (JSON Schema draft-07, version
1.0), holding every pattern of the store as a node and every relationship as an
edge: each curated relationship (``pkg:Relationship``) with ``source_type:
manual`` and each inferred link (``pkg:InferredLink``) with ``source_type:
ai_suggested``, so there are exactly as many edges as the store has such nodes.
Nodes and edges come out sorted, so the same store gives the same document except
for ``generated`` (the store's ``dcterms:issued`` when the build recorded one,
else the time of the export).

What the schema cannot say is mapped as it allows (docs/vocabulary.md has the
table): edge types it lacks (``alternatives``, ``complementary``, ``tools``, and
inferred links of no known kind) become ``related``; statuses become its enum
(``stable`` -> ``mature``, missing or unknown -> ``draft``); ids must be
``pat_`` TypeIDs, so a pattern without one, and a relationship target that is
neither a pattern nor written as a ``pat_`` id, get one derived from its IRI
(:func:`derived_id`);
weights, confidences and alignments outside the schema's ranges are left out.
A store of several libraries (named graphs) is read as the union of its graphs.
Node fields the library's own builder writes beside the schema's (``domains``,
``categories``, ``universality``) are written too, so its tools read the export
as they read their own file.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from decimal import Decimal, InvalidOperation
from typing import IO

from pyoxigraph import Literal, NamedNode, Store

from patternkg.converter.namespaces import DCTERMS, PKG, RELATIONSHIP_KINDS

__all__ = ["SCHEMA_VERSION", "derived_id", "commons_graph", "write_commons_graph"]

#: the version of graph_schema.json the document follows
SCHEMA_VERSION = "1.0"
_TYPEID = re.compile(r"^pat_[a-z0-9]{20,30}$")
#: relationship kind (local name of the pkg: property) -> edge type of the schema
_EDGE_TYPE = {local: key for key, local in RELATIONSHIP_KINDS.items()}
_EDGE_TYPE.update({"alternativeTo": "related", "complementaryTo": "related", "usesTool": "related"})
_STATUS = {"draft": "draft", "published": "published", "stable": "mature", "deprecated": "deprecated"}

_PREFIXES = f"PREFIX pkg: <{PKG}>\nPREFIX dcterms: <{DCTERMS}>\nPREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
_PATTERNS = _PREFIXES + "SELECT ?p ?slug WHERE { ?p a pkg:Pattern ; pkg:slug ?slug }"
#: node field -> query giving (?p ?v) pairs for it
_FIELDS = {
    "identifier": "SELECT ?p ?v WHERE { ?p a pkg:Pattern ; dcterms:identifier ?v }",
    "title": "SELECT ?p ?v WHERE { ?p a pkg:Pattern ; dcterms:title ?v }",
    "status": "SELECT ?p ?v WHERE { ?p a pkg:Pattern ; pkg:status ?v }",
    "commons_alignment": "SELECT ?p ?v WHERE { ?p a pkg:Pattern ; pkg:commonsAlignment ?v }",
    "domain": "SELECT ?p ?v WHERE { ?p a pkg:Pattern ; pkg:domain ?d . ?d skos:prefLabel ?v }",
    "domains": "SELECT ?p ?v WHERE { ?p a pkg:Pattern ; pkg:commonsDomain ?d . ?d skos:prefLabel ?v }",
    "category": "SELECT ?p ?v WHERE { ?p a pkg:Pattern ; pkg:category ?v }",
    "universality": "SELECT ?p ?v WHERE { ?p a pkg:Pattern ; pkg:universality ?v }",
    "created": "SELECT ?p ?v WHERE { ?p a pkg:Pattern ; dcterms:created ?v }",
    "modified": "SELECT ?p ?v WHERE { ?p a pkg:Pattern ; dcterms:modified ?v }",
}
_CURATED = _PREFIXES + """SELECT ?p ?n ?t ?k ?w WHERE {
    ?p pkg:qualifiedRelationship ?n . ?n a pkg:Relationship ; pkg:target ?t .
    OPTIONAL { ?n pkg:relationshipKind ?k } OPTIONAL { ?n pkg:weight ?w } }"""
_INFERRED = _PREFIXES + """SELECT ?p ?n ?t ?k ?w WHERE {
    ?p pkg:qualifiedInferredLink ?n . ?n a pkg:InferredLink ; pkg:target ?t .
    OPTIONAL { ?n pkg:relationshipKind ?k } OPTIONAL { ?n pkg:confidence ?w } }"""
_ISSUED = _PREFIXES + "SELECT ?v WHERE { ?d dcterms:issued ?v } ORDER BY ?v LIMIT 1"


def derived_id(iri: str) -> str:
    """A ``pat_`` TypeID-shaped id for a pattern IRI that has none: ``pat_`` and the first 26
    base32 characters (a-z, 2-7) of the IRI's SHA-256. The same IRI always gets the same id, and
    the same slug in two libraries (two base IRIs) two different ids."""
    digest = base64.b32encode(hashlib.sha256(iri.encode("utf-8")).digest()).decode("ascii").lower()
    return f"pat_{digest[:26]}"


def _number(term, low: float, high: float) -> float | int | None:
    """The numeric value of a literal in [low, high], or None."""
    if not isinstance(term, Literal):
        return None
    try:
        value = Decimal(term.value)
    except InvalidOperation:
        return None
    if not value.is_finite() or not low <= value <= high:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _datetime(term) -> str | None:
    """An RFC 3339 date-time for an xsd:date or xsd:dateTime literal (dates at midnight UTC)."""
    if not isinstance(term, Literal):
        return None
    text = term.value.strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text).isoformat() + "T00:00:00Z"
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _query(store: Store, query: str):
    return store.query(query, use_default_graph_as_union=True)


def _values(store: Store, query: str) -> dict[str, list]:
    out: dict[str, set] = {}
    for row in _query(store, _PREFIXES + query):
        out.setdefault(row["p"].value, set()).add(row["v"])
    return {iri: sorted(terms, key=lambda t: t.value) for iri, terms in out.items()}


def commons_graph(store: Store, *, generated: str | None = None) -> dict:
    """The graph.json document for *store* (see the module docstring).

    *generated* (an RFC 3339 date-time) overrides the ``generated`` field."""
    slugs = {row["p"].value: row["slug"].value for row in _query(store, _PATTERNS)}
    fields = {name: _values(store, query) for name, query in _FIELDS.items()}
    ids: dict[str, str] = {}
    for iri, slug in slugs.items():
        typeids = [t.value for t in fields["identifier"].get(iri, ()) if _TYPEID.match(t.value)]
        ids[iri] = typeids[0] if typeids else derived_id(iri)

    def node_id(term: NamedNode) -> str:
        if term.value in ids:
            return ids[term.value]
        token = term.value.rsplit("/", 1)[-1]  # <B>pattern/<token>
        return token if _TYPEID.match(token) else derived_id(term.value)

    nodes, by_status, by_domain, multi = [], {}, {}, 0
    for iri in sorted(slugs, key=lambda i: (slugs[i], i)):
        get = {name: values.get(iri, []) for name, values in fields.items()}
        status_terms = [_STATUS.get(t.value.rsplit("/", 1)[-1]) for t in get["status"]]
        node = {"id": ids[iri], "slug": slugs[iri],
                "title": get["title"][0].value if get["title"] else slugs[iri],
                "status": next((s for s in status_terms if s), "draft"), "iri": iri}
        alignment = next((n for t in get["commons_alignment"] if (n := _number(t, 1, 5)) is not None), None)
        if alignment is not None:
            node["commons_alignment"] = round(alignment)
        if get["domain"]:
            node["domain"] = get["domain"][0].value
        node["domains"] = [t.value for t in get["domains"]]
        node["category"] = node["categories"] = [t.value for t in get["category"]]
        if get["universality"]:
            node["universality"] = get["universality"][0].value
        for name in ("created", "modified"):
            stamp = next((s for t in get[name] if (s := _datetime(t))), None)
            if stamp:
                node[name] = stamp
        nodes.append(node)
        by_status[node["status"]] = by_status.get(node["status"], 0) + 1
        for domain in node["domains"]:
            by_domain[domain] = by_domain.get(domain, 0) + 1
        multi += len(node["domains"]) > 1

    edges = []
    for query, source_type in ((_CURATED, "manual"), (_INFERRED, "ai_suggested")):
        seen: set[str] = set()
        rows = sorted(_query(store, query), key=lambda r: tuple("" if t is None else t.value for t in r))
        for row in rows:
            if row["n"].value in seen:  # a second weight or kind (kept in the store, flagged by SHACL)
                continue
            seen.add(row["n"].value)
            kind = row["k"].value.rsplit("#", 1)[-1] if row["k"] is not None else ""
            edge = {"type": _EDGE_TYPE.get(kind, "related"), "source": node_id(row["p"]),
                    "target": node_id(row["t"]), "source_type": source_type}
            weight = _number(row["w"], 0, 1)
            if weight is not None:
                edge["weight"] = weight
            edges.append(edge)
    edges.sort(key=lambda e: (e["source"], e["source_type"], e["type"], e["target"], e.get("weight", -1)))

    if generated is None:
        issued = [_datetime(row["v"]) for row in _query(store, _ISSUED)]
        generated = next((s for s in issued if s), None) or \
            dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return {
        "version": SCHEMA_VERSION,
        "generated": generated,
        "stats": {"total_patterns": len(nodes), "total_lighthouses": 0, "total_relationships": len(edges),
                  "patterns_by_status": dict(sorted(by_status.items())), "lighthouses_by_status": {},
                  "patterns_by_domain": dict(sorted(by_domain.items())), "multi_domain_patterns": multi},
        "nodes": {"patterns": nodes, "lighthouses": []},
        "edges": edges,
    }


def write_commons_graph(store: Store, output: IO[bytes], *, generated: str | None = None) -> None:
    """Write :func:`commons_graph` of *store* to the binary stream *output* as UTF-8 JSON."""
    document = commons_graph(store, generated=generated)
    output.write(json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8"))
    output.write(b"\n")
