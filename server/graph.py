"""Graph data for the graph views (cytoscape.js elements as JSON) and the full-size graph page.

- a pattern: the pattern, every pattern one relationship away (both
  directions, curated and inferred) and the patterns those point at (the
  second hop, the strongest first, at most :data:`MAX_SECOND_HOP`);
- a domain or community: its patterns (at most :data:`MAX_MEMBERS`, in the store's order) and the
  relationships among them.

Nodes: ``{"id": IRI, "label", "href" (local path), "center", "missing", "hop" (0-2)}``;
edges: ``{"source", "target", "kind", "weight", "inferred"}``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import Response, abort, jsonify

from patternkg.converter.namespaces import PKG, is_safe_segment

from . import pages

MAX_SECOND_HOP = 60
MAX_MEMBERS = 150
_KINDS = {"pattern": "pattern", "domain": "domain", "community": "community", "commons-domain": "commons-domain"}
_MEMBER = {"domain": PKG + "domain", "community": PKG + "memberOf", "commons-domain": PKG + "commonsDomain"}


def _edges_from(sources: set[str]) -> list[dict[str, dict[str, str]]]:
    values = " ".join(f"<{s}>" for s in sorted(sources))
    # one branch per link property, each starting from the sources (see pages.incoming_links)
    return pages.select(f"""SELECT ?a ?b ?link ?kind ?w ?c WHERE {{
        {{ SELECT ?a ?n ?link WHERE {{
            {{ VALUES ?a {{ {values} }} ?a <{PKG}qualifiedRelationship> ?n .
               BIND(<{PKG}qualifiedRelationship> AS ?link) }}
            UNION
            {{ VALUES ?a {{ {values} }} ?a <{PKG}qualifiedInferredLink> ?n .
               BIND(<{PKG}qualifiedInferredLink> AS ?link) }}
        }} }}
        ?n <{PKG}target> ?b .
        OPTIONAL {{ ?n <{PKG}relationshipKind> ?kind }}
        OPTIONAL {{ ?n <{PKG}weight> ?w }}
        OPTIONAL {{ ?n <{PKG}confidence> ?c }}
    }}""")


def _edges_to(target: str) -> list[dict[str, dict[str, str]]]:
    return pages.select(f"""SELECT ?a ?b ?link ?kind ?w ?c WHERE {{
        {pages.incoming_links(target).replace("?src", "?a").replace("?node", "?n")}
        BIND(<{target}> AS ?b)
        OPTIONAL {{ ?n <{PKG}relationshipKind> ?kind }}
        OPTIONAL {{ ?n <{PKG}weight> ?w }}
        OPTIONAL {{ ?n <{PKG}confidence> ?c }}
    }}""")


def _edge(row: dict[str, dict[str, str]]) -> dict[str, Any]:
    inferred = row["link"]["value"].endswith("qualifiedInferredLink")
    weight = pages._number(pages._value(row, "c" if inferred else "w"))
    kind = pages._value(row, "kind")
    return {"source": row["a"]["value"], "target": row["b"]["value"],
            "kind": pages.local_name(kind) if kind else "linked", "weight": weight, "inferred": inferred}


def elements(kind: str, key: str) -> dict[str, Any]:
    """The nodes and edges of the view of *kind* / *key* (404 when there is nothing to draw)."""
    if kind not in _KINDS or not is_safe_segment(key):
        abort(404)
    base = pages.base_iri()
    center: str | None = None
    if kind == "pattern":
        center = f"{base}pattern/{key}"
        first = _edges_from({center}) + _edges_to(center)
        if not first and not pages.select(f"SELECT ?t WHERE {{ <{center}> a ?t }} LIMIT 1"):
            abort(404, f"no pattern {key!r}")
        edges = [_edge(r) for r in first]
        hop1 = {e["source"] for e in edges} | {e["target"] for e in edges}
        hop1.discard(center)
        # second hop: the out-links of the first hop, strongest first
        second = [_edge(r) for r in _edges_from(hop1)] if hop1 else []
        known = hop1 | {center}
        far: dict[str, float] = defaultdict(float)
        for e in second:
            if e["target"] not in known:
                far[e["target"]] = max(far[e["target"]], e["weight"] or 0.0)
        keep = known | set(sorted(far, key=lambda t: (-far[t], t))[:MAX_SECOND_HOP])
        edges += [e for e in second if e["target"] in keep]
        nodes = keep
    else:
        iri = f"{base}{kind}/{key}"
        # the store's own order (stable within a generation): ORDER BY ?p over the tens of thousands of
        # members of a domain at 100,000 patterns costs seconds, this milliseconds
        rows = pages.select(f"SELECT ?p WHERE {{ ?p <{_MEMBER[kind]}> <{iri}> }} LIMIT {MAX_MEMBERS}")
        nodes = {r["p"]["value"] for r in rows}
        if not nodes:
            abort(404, f"no patterns in {iri}")
        edges = [_edge(r) for r in _edges_from(nodes)]
        edges = [e for e in edges if e["target"] in nodes]
    # one edge per (source, target, kind, inferred): the heaviest
    unique: dict[tuple[str, str, str, bool], dict[str, Any]] = {}
    for e in edges:
        k = (e["source"], e["target"], e["kind"], e["inferred"])
        if k not in unique or (e["weight"] or 0) > (unique[k]["weight"] or 0):
            unique[k] = e
    info = pages.details(nodes)
    hops = {center: 0} if center else {}
    if center:
        for e in edges:
            for a, b in ((e["source"], e["target"]), (e["target"], e["source"])):
                if a == center and b != center:
                    hops[b] = 1
    out_nodes = []
    for n in sorted(nodes):
        ref = info.ref(n)
        out_nodes.append({"data": {"id": n, "label": ref.label, "href": ref.href, "center": n == center,
                                   "missing": not ref.exists, "hop": hops.get(n, 2 if center else 1)}})
    out_edges = [{"data": {"id": f"e{i}", **e}} for i, e in enumerate(unique.values())]
    return {"nodes": out_nodes, "edges": out_edges}


def graph_json(kind: str, key: str) -> Response:
    response = jsonify(elements(kind, key))
    response.headers["Vary"] = "Cookie"
    return response


def graph_page(kind: str, key: str) -> Response:
    if kind not in _KINDS or not is_safe_segment(key):
        abort(404)
    iri = f"{pages.base_iri()}{kind}/{key}"
    label = pages.details({iri}).ref(iri).label
    html = pages.render("graph.html", title=f"Graph of {label}", kind=kind, key=key, center=iri, label=label,
                        back=pages.href(iri))
    return pages.html_response(html)


__all__ = ["elements", "graph_json", "graph_page", "MAX_SECOND_HOP", "MAX_MEMBERS"]
