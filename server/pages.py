"""HTML pages of the library's resources, written for a reader.

:func:`resource_page` renders the page of any IRI the converter mints; the
linked-data routes call it when a browser asks for ``text/html`` (``kind`` is
one of :data:`KINDS`, ``key`` the local part after the kind's path segment):

- ``pattern``: title, aliases, summary, the body sections rendered from
  Markdown (markdown-it-py, raw HTML escaped), rating, lifecycle, the
  assessment as an inline SVG chart, provenance and license; relationships
  grouped by kind in both directions, curated and machine-inferred apart;
  entities (Wikidata linked out), communities, domains; targets without a file
  shown as such; the raw triples in a collapsed section;
- ``domain``, ``commons-domain``, ``community``, ``entity``, ``agent``,
  ``concept``, ``scheme``: the resource's labels and links, and its patterns;
- ``dataset``: the VoID/DCAT description with links to the dumps;
- ``missing-pattern``: a target that is referenced but has no file, with the
  patterns that point at it (status 404 at the target's IRI; the site links to
  the same page at ``/missing/<token>``, status 200).

Every link to a library IRI is a local path on this server (:func:`local_path`),
whatever the base IRI; the canonical IRI is shown and given as
``rel=canonical``. Titles of patterns in lists are in the words of the chosen
audience (:mod:`.audience`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Response, abort, current_app, render_template, request
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from patternkg.converter.namespaces import (
    ASSESSMENT_DIMENSIONS,
    BODY_SECTIONS,
    DCTERMS,
    ONTOLOGY_IRI,
    OWL,
    PKG,
    PREFIXES,
    RDF,
    RDFS,
    SKOS,
    VOCAB,
    WIKIDATA_ENTITY,
)

from . import audience as lens

KINDS = ("pattern", "domain", "commons-domain", "community", "entity", "agent", "scheme", "collection",
         "concept", "dataset", "missing-pattern")

#: Path segment of each kind under the base IRI (``concept`` lives under the vocabulary namespace).
SEGMENTS = {"pattern": "pattern", "domain": "domain", "commons-domain": "commons-domain",
            "community": "community", "entity": "entity", "agent": "agent", "scheme": "scheme",
            "collection": "collection"}

TYPE = RDF + "type"
LABEL_PROPERTIES = (SKOS + "prefLabel", DCTERMS + "title", RDFS + "label")
_LABELS = " ".join(f"<{p}>" for p in LABEL_PROPERTIES)

#: Curated relationship kinds: (heading for "out", heading for "in").
KIND_HEADINGS: dict[str, tuple[str, str]] = {
    "enables": ("Enables", "Enabled by"),
    "requires": ("Requires", "Required by"),
    "specializesTo": ("Specializes to", "Specialization of"),
    "generalizesFrom": ("Generalizes from", "Generalized into"),
    "alternativeTo": ("Alternative to", "Named as an alternative by"),
    "complementaryTo": ("Complementary to", "Named as complementary by"),
    "usesTool": ("Uses as a tool", "Used as a tool by"),
    "relatedTo": ("Related to", "Named as related by"),
}
KIND_ORDER = list(KIND_HEADINGS)

SECTION_TITLES = {local: name.title().replace("Known Uses", "Known uses").replace("Cognitive Era", "Cognitive era")
                  for name, local in BODY_SECTIONS.items()}
DIMENSION_TITLES = {local: key.replace("_", " ").capitalize() for key, local in ASSESSMENT_DIMENSIONS.items()}

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def markdown(text: str) -> str:
    """HTML of a Markdown text; raw HTML in it is escaped, unsafe link schemes are dropped."""
    return _markdown.render(text)


def _state() -> Any:
    return current_app.extensions["patternkg"]


def base_iri() -> str:
    return _state().config.base_iri


def select(query: str) -> list[dict[str, dict[str, str]]]:
    """Run a SELECT through the app's worker pool: the SPARQL JSON bindings."""
    _, body = _state().pool.run("query", query=query, results_format="JSON", graph_format="N_TRIPLES")
    return json.loads(body)["results"]["bindings"]


def local_path(iri: str) -> str | None:
    """The path on this server of a library, vocabulary or ontology IRI; ``None`` for any other IRI."""
    base = base_iri()
    if iri.startswith(base):
        rest = iri[len(base):]
        return "/" + rest if rest else "/"
    if iri.startswith(VOCAB):
        return "/vocab/" + iri[len(VOCAB):]
    if iri == ONTOLOGY_IRI or iri.startswith(ONTOLOGY_IRI + "#"):
        return "/ontology" + iri[len(ONTOLOGY_IRI):]
    return None


def href(iri: str) -> str:
    """Where a link to *iri* goes: its local path (audience kept), or the IRI itself."""
    path = local_path(iri)
    if path is None:
        return iri
    return lens.keep(path)


def missing_href(token: str) -> str:
    """The page of a relationship target that has no file (``/missing/<token>``, answered 200: the
    site's own links all resolve; the target's IRI itself answers 404)."""
    return "/missing/" + token


def local_name(iri: str) -> str:
    for sep in ("#", "/"):
        if sep in iri:
            iri = iri.rsplit(sep, 1)[1] or iri
    return iri


def curie(iri: str) -> str:
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns):]}"
    base = base_iri()
    if iri.startswith(base):
        return iri[len(base):]
    return iri


def _value(binding: dict[str, dict[str, str]], name: str) -> str | None:
    term = binding.get(name)
    return term["value"] if term else None


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


@dataclass
class Ref:
    """A link to a resource as a reader sees it: its label (audience words when known) and local link."""

    iri: str
    label: str
    href: str
    exists: bool = True
    original: str | None = None  # the plain title when ``label`` is an audience label
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Details:
    labels: dict[str, str] = field(default_factory=dict)
    audience_labels: dict[str, str] = field(default_factory=dict)
    patterns: set[str] = field(default_factory=set)
    same_as: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def ref(self, iri: str, **extra: Any) -> Ref:
        label = self.labels.get(iri) or local_name(iri)
        words = self.audience_labels.get(iri)
        space = base_iri() + "pattern/"
        exists = iri in self.patterns or not iri.startswith(space)
        link = href(iri) if exists else missing_href(iri[len(space):])
        return Ref(iri=iri, label=words or label, href=link, exists=exists,
                   original=label if words and words != label else None, extra=extra)


def details(iris: set[str]) -> Details:
    """Labels, audience labels, pattern-ness and ``owl:sameAs`` of *iris* (one query)."""
    found = Details()
    if not iris:
        return found
    chosen = lens.current()
    audience = f"OPTIONAL {{ ?x <{PKG}contextLabel> ?cl . ?cl <{PKG}audience> <{VOCAB}audience/{chosen}> ; " \
               f"<{PKG}labelText> ?words }}" if chosen else ""
    values = " ".join(f"<{i}>" for i in sorted(iris))
    rows = select(f"""SELECT ?x ?label ?pattern ?same ?words WHERE {{
        VALUES ?x {{ {values} }}
        {{ ?x ?lp ?label . VALUES ?lp {{ {_LABELS} }} }}
        UNION {{ ?x a <{PKG}Pattern> BIND(true AS ?pattern) }}
        UNION {{ ?x <{OWL}sameAs> ?same }}
        {"UNION { " + audience.replace("OPTIONAL ", "") + " }" if audience else ""}
    }}""")
    for x in iris:  # controlled values are described by the ontology file, not the store
        if x.startswith(VOCAB):
            label = ontology_label(x)
            if label:
                found.labels[x] = label
    for row in rows:
        x = row["x"]["value"]
        if "label" in row:
            found.labels.setdefault(x, row["label"]["value"])
        if "pattern" in row:
            found.patterns.add(x)
        if "same" in row:
            found.same_as[x].append(row["same"]["value"])
        if "words" in row:
            found.audience_labels.setdefault(x, row["words"]["value"])
    return found


def ontology_document() -> Any:
    """The ontology file of the app, parsed once (:class:`.descriptions.OntologyDocument`)."""
    from .descriptions import OntologyDocument

    cached = current_app.extensions.get("patternkg.site.ontology")
    if cached is None:
        cached = current_app.extensions["patternkg.site.ontology"] = OntologyDocument(
            Path(_state().config.ontology_file))
    return cached


def ontology_label(iri: str) -> str | None:
    labels = ontology_document().labels(iri)
    preferred = [t.object.value for t in labels if t.predicate.value == SKOS + "prefLabel"
                 and getattr(t.object, "language", None) in (None, "", "en")]
    return (preferred or [t.object.value for t in labels] or [None])[0]


def _json_term(term: Any) -> dict[str, str]:
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype and term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        out["datatype"] = term.datatype.value
    return out


#: The Content-Security-Policy of the site's pages: scripts only from this server's files (no
#: inline script, no CDN), requests only to this server. Inline *styles* are allowed: the
#: vendored YASGUI table (its column resizer) and cytoscape.js insert <style> elements.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'")


def term_html(term: dict[str, str]) -> str:
    """One RDF term (SPARQL JSON form) as HTML: IRIs linked (locally when they can be), literals escaped."""
    kind, value = term["type"], term["value"]
    if kind == "uri":
        return f'<a href="{escape(href(value))}">{escape(curie(value))}</a>'
    if kind == "bnode":
        return f'<span class="muted">_:{escape(value)}</span>'
    text = value if len(value) <= 400 else value[:400] + "…"
    out = f'<span class="literal">{escape(text)}</span>'
    if term.get("datatype"):
        out += f' <span class="muted">^^{escape(curie(term["datatype"]))}</span>'
    elif term.get("xml:lang"):
        out += f' <span class="muted">@{escape(term["xml:lang"])}</span>'
    return out


def triples_table(rows: list[tuple[str | None, str, dict[str, str]]], subject: str | None = None) -> Markup:
    """The raw statements as an HTML table (rendered here: hundreds of rows through template macros
    cost more than the rest of a page). Rows are (subject or None, predicate, object term)."""
    with_subject = any(s is not None for s, _, _ in rows)
    head = "<th>subject</th>" if with_subject else ""
    out = [f'<div class="table-wrap"><table class="triples"><thead><tr>{head}<th>predicate</th><th>object</th>'
           "</tr></thead><tbody>"]
    for s, p, o in rows:
        cell = ""
        if with_subject:
            cell = ('<td><span class="muted">this</span></td>' if s == subject or s is None
                    else f"<td>#{escape(s.split('#', 1)[-1])}</td>")
        out.append(f'<tr>{cell}<td><a href="{escape(href(p))}">{escape(curie(p))}</a></td><td>{term_html(o)}</td></tr>')
    out.append("</tbody></table></div>")
    return Markup("".join(out))


def html_response(html: str, status: int = 200, canonical: str | None = None) -> Response:
    response = Response(html, status=status, content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept, Cookie"
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if canonical:
        response.headers["Link"] = f'<{canonical}>; rel="canonical"'
    return response


def render(template: str, **context: Any) -> str:
    """Render a site template with the link helpers; a page about one resource passes its ``iri``
    (shown, and given as ``rel=canonical``)."""
    if "iri" in context:
        context.setdefault("canonical", context["iri"])
    return render_template(template, href=href, curie=curie, local_path=local_path, lens=lens, **context)


# --------------------------------------------------------------------------------------------- pattern


def _description(iri: str) -> list[dict[str, dict[str, str]]]:
    return select(f"""SELECT ?s ?p ?o WHERE {{
        {{ BIND(<{iri}> AS ?s) }}
        UNION {{ <{iri}> ?link ?s . FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{iri}#")) }}
        ?s ?p ?o }}""")


def incoming_links(iri: str) -> str:
    """The qualified relationships and inferred links that end at *iri*: ``?src ?link ?node``.

    One branch per link property, each starting from the target (a ``VALUES ?link`` over both
    makes Oxigraph scan every link first: 200 ms instead of 0.5 ms on the sample corpus)."""
    return f"""{{ SELECT ?src ?node ?link WHERE {{
        {{ ?node <{PKG}target> <{iri}> . ?src <{PKG}qualifiedRelationship> ?node .
           BIND(<{PKG}qualifiedRelationship> AS ?link) }}
        UNION
        {{ ?node <{PKG}target> <{iri}> . ?src <{PKG}qualifiedInferredLink> ?node .
           BIND(<{PKG}qualifiedInferredLink> AS ?link) }}
    }} }}"""


def _incoming(iri: str) -> list[dict[str, dict[str, str]]]:
    return select(f"""SELECT ?src ?node ?link ?kind ?weight ?confidence ?reason ?kindName ?description WHERE {{
        {incoming_links(iri)}
        OPTIONAL {{ ?node <{PKG}relationshipKind> ?kind }}
        OPTIONAL {{ ?node <{PKG}weight> ?weight }}
        OPTIONAL {{ ?node <{PKG}confidence> ?confidence }}
        OPTIONAL {{ ?node <{PKG}reason> ?reason }}
        OPTIONAL {{ ?node <{PKG}kindName> ?kindName }}
        OPTIONAL {{ ?node <{DCTERMS}description> ?description }}
    }}""")


@dataclass
class Link:
    """One relationship as shown on a page."""

    other: Ref
    weight: float | None
    note: str | None = None  # curated description or inferred reason
    kind_name: str | None = None
    backed: bool = False


@dataclass
class Group:
    key: str
    heading: str
    links: list[Link]


def _group(links: dict[tuple[str, str], list[Link]], direction: str) -> list[Group]:
    groups = []
    keys = sorted({k for d, k in links if d == direction},
                  key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else 99, k))
    for kind in keys:
        heading = KIND_HEADINGS.get(kind, (kind, f"{kind} (by others)"))[0 if direction == "out" else 1]
        items = sorted(links[(direction, kind)], key=lambda link: (-(link.weight or 0), link.other.label.lower()))
        groups.append(Group(kind, heading, items))
    return groups


def pattern_page(iri: str, slug: str) -> Response:
    rows = _description(iri)
    if not rows:
        abort(404, f"no pattern {slug!r} in this library")
    incoming = _incoming(iri)
    props: dict[str, list[dict[str, str]]] = defaultdict(list)  # predicate -> objects of the pattern
    nodes: dict[str, dict[str, list[dict[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        s, p, o = row["s"]["value"], row["p"]["value"], row["o"]
        if s == iri:
            props[p].append(o)
        else:
            nodes[s][p].append(o)

    def one(p: str, where: dict[str, list[dict[str, str]]] | None = None) -> str | None:
        values = (where if where is not None else props).get(p)
        return values[0]["value"] if values else None

    def many(p: str) -> list[str]:
        return sorted({v["value"] for v in props.get(p, [])})

    wanted = {o["value"] for row in rows if (o := row["o"])["type"] == "uri"} | {
        r["src"]["value"] for r in incoming}
    wanted.discard(iri)
    wanted = {w for w in wanted if not w.startswith(iri + "#")}
    info = details(wanted | {iri})

    title = one(DCTERMS + "title") or one(SKOS + "prefLabel") or slug
    words = info.audience_labels.get(iri)

    # relationships: (direction, kind local name) -> links
    curated: dict[tuple[str, str], list[Link]] = defaultdict(list)
    inferred: dict[tuple[str, str], list[Link]] = defaultdict(list)
    missing: list[Ref] = []
    for node_iri in many(PKG + "qualifiedRelationship"):
        node = nodes.get(node_iri, {})
        target, kind = one(PKG + "target", node), one(PKG + "relationshipKind", node)
        if not target:
            continue
        ref = info.ref(target)
        curated[("out", local_name(kind or PKG + "relatedTo"))].append(
            Link(ref, _number(one(PKG + "weight", node)), one(DCTERMS + "description", node)))
        if not ref.exists:
            missing.append(ref)
    for node_iri in many(PKG + "qualifiedInferredLink"):
        node = nodes.get(node_iri, {})
        target = one(PKG + "target", node)
        if not target:
            continue
        kind = one(PKG + "relationshipKind", node)
        kind_name = one(PKG + "kindName", node)
        key = local_name(kind) if kind else (kind_name or "linked")
        inferred[("out", key)].append(Link(info.ref(target), _number(one(PKG + "confidence", node)),
                                           one(PKG + "reason", node), kind_name,
                                           backed=PKG + "backedBy" in node))
    for row in incoming:
        src = row["src"]["value"]
        kind = _value(row, "kind")
        is_inferred = row["link"]["value"] == PKG + "qualifiedInferredLink"
        key = local_name(kind) if kind else (_value(row, "kindName") or "linked")
        link = Link(info.ref(src), _number(_value(row, "confidence" if is_inferred else "weight")),
                    _value(row, "reason" if is_inferred else "description"), _value(row, "kindName"))
        (inferred if is_inferred else curated)[("in", key)].append(link)

    seen: set[str] = set()
    missing = [m for m in missing if not (m.iri in seen or seen.add(m.iri))]

    sections = []
    for name, local in BODY_SECTIONS.items():
        text = one(PKG + local)
        if text:
            sections.append({"id": local.removesuffix("Section"), "title": SECTION_TITLES[local],
                             "html": markdown(text)})
    extra_sections = []
    for node_iri in many(PKG + "section"):
        node = nodes.get(node_iri, {})
        text = one(PKG + "markdown", node)
        if text is None:
            continue
        extra_sections.append({"position": int(_number(one(PKG + "position", node)) or 0),
                               "id": local_name(node_iri), "title": one(PKG + "heading", node) or "",
                               "html": markdown(text)})
    extra_sections.sort(key=lambda s: s["position"])

    assessment = None
    node_iri = one(PKG + "assessment")
    if node_iri and node_iri in nodes:
        node = nodes[node_iri]
        scores = [(DIMENSION_TITLES[local], _number(one(PKG + local, node)))
                  for local in ASSESSMENT_DIMENSIONS.values()]
        assessment = {"scores": [(t, s) for t, s in scores if s is not None],
                      "overall": _number(one(PKG + "overallScore", node)),
                      "reasoning": one(PKG + "vitalityReasoning", node)}

    audience_labels = []
    for node_iri in many(PKG + "contextLabel"):
        node = nodes.get(node_iri, {})
        aud, text = one(PKG + "audience", node), one(PKG + "labelText", node)
        if aud and text:
            audience_labels.append((local_name(aud), text))
    audience_labels.sort()

    def refs(p: str, **kw: Any) -> list[Ref]:
        return sorted((info.ref(i, **kw) for i in many(p)), key=lambda r: r.label.lower())

    memberships = []
    for node_iri in many(PKG + "communityMembership"):
        node = nodes.get(node_iri, {})
        community = one(PKG + "community", node)
        if community:
            memberships.append(info.ref(community, confidence=_number(one(PKG + "confidence", node)),
                                        source=local_name(one(PKG + "communitySource", node) or "")))
    memberships.sort(key=lambda r: (-(r.extra.get("confidence") or 0), r.label.lower()))
    mentions = []
    for node_iri in many(PKG + "entityMention"):
        node = nodes.get(node_iri, {})
        entity = one(PKG + "entity", node)
        if entity:
            wikidata = [s for s in info.same_as.get(entity, []) if s.startswith(WIKIDATA_ENTITY)]
            mentions.append(info.ref(entity, relevance=_number(one(PKG + "relevance", node)),
                                     wikidata=wikidata[0] if wikidata else None))
    mentioned = {m.iri for m in mentions}
    for entity in many(PKG + "mentions"):  # bare mentions without a qualified node
        if entity not in mentioned:
            wikidata = [s for s in info.same_as.get(entity, []) if s.startswith(WIKIDATA_ENTITY)]
            mentions.append(info.ref(entity, relevance=None, wikidata=wikidata[0] if wikidata else None))
    mentions.sort(key=lambda r: (-(r.extra.get("relevance") or 0), r.label.lower()))

    facts = []

    def fact(name: str, p: str) -> None:
        values = many(p)
        if values:
            facts.append((name, [info.ref(v) if props[p][0]["type"] == "uri" else v for v in values]))

    for name, p in (("Status", PKG + "status"), ("Usage stage", PKG + "usageStage"),
                    ("Adoption stage", PKG + "adoptionStage"), ("Version", "https://schema.org/version"),
                    ("Specification layer", PKG + "specificationLayer"), ("Category", PKG + "category"),
                    ("Universality", PKG + "universality"), ("Era", PKG + "era"), ("Origin", PKG + "origin"),
                    ("Created", DCTERMS + "created"), ("Modified", DCTERMS + "modified"),
                    ("Last updated", PKG + "lastUpdated")):
        fact(name, p)
    provenance = []
    for name, p in (("Authors", DCTERMS + "creator"), ("Contributors", DCTERMS + "contributor"),
                    ("License", DCTERMS + "license"), ("Attribution", "http://creativecommons.org/ns#attributionName"),
                    ("Sources", DCTERMS + "source"), ("Page", "https://schema.org/url"),
                    ("Source document", PKG + "sourceDocument"), ("Repository", PKG + "repository"),
                    ("Source file", PKG + "sourceFile"), ("Dialect", PKG + "dialect"),
                    ("Identifier", DCTERMS + "identifier"), ("Last pruned", PKG + "lastPruned")):
        values = many(p)
        if values:
            provenance.append((name, [info.ref(v) if props[p][0]["type"] == "uri" else v for v in values]))

    triples = sorted(
        ((row["s"]["value"], row["p"]["value"], row["o"]) for row in rows),
        key=lambda t: (t[0] != iri, t[0], t[1], t[2]["value"]))
    raw = triples_table(triples, iri)
    html = render(
        "pattern.html", iri=iri, slug=slug, title=title, words=words,
        aliases=many(SKOS + "altLabel"), summary=one(SKOS + "definition"), preamble=one(PKG + "preamble"),
        keywords=many(PKG + "keyword"), tension=one(PKG + "primaryTension"),
        sections=sections, extra_sections=extra_sections, markdown=markdown,
        rating={"stars": _number(one(PKG + "ratingStars")), "label": one(PKG + "ratingLabel"),
                "note": one(PKG + "ratingNote"), "confidence": _number(one(PKG + "confidenceRating"))},
        assessment=assessment, audience_labels=audience_labels,
        domains=refs(PKG + "domain"), cross_domains=refs(PKG + "crossDomain"),
        commons_domains=refs(PKG + "commonsDomain"), communities=memberships,
        bare_communities=[r for r in refs(PKG + "memberOf") if r.iri not in {m.iri for m in memberships}],
        mentions=mentions, facts=facts, provenance=provenance,
        curated_out=_group(curated, "out"), curated_in=_group(curated, "in"),
        inferred_out=_group(inferred, "out"), inferred_in=_group(inferred, "in"),
        missing=missing, triples=triples, raw=raw, info=info,
        formats=_formats(),
    )
    return html_response(html, canonical=iri)


def _formats() -> list[tuple[str, str, str]]:
    path = request.path
    return [("Turtle", f"{path}?format=ttl", "text/turtle"),
            ("JSON-LD", f"{path}?format=jsonld", "application/ld+json"),
            ("N-Triples", f"{path}?format=nt", "application/n-triples")]


# ----------------------------------------------------------------------------------- other resources

#: kind -> (the predicate linking a pattern to it, a heading for its patterns)
MEMBERSHIP = {
    "domain": ((PKG + "domain", "Patterns in this domain"), (PKG + "crossDomain", "Patterns that cross into it")),
    "commons-domain": ((PKG + "commonsDomain", "Patterns in this commons domain"),),
    "community": ((PKG + "memberOf", "Patterns in this community"),),
    "entity": ((PKG + "mentions", "Patterns that mention it"),),
    "agent": ((DCTERMS + "creator", "Patterns written by this agent"),
              (DCTERMS + "contributor", "Patterns this agent contributed to")),
    "collection": ((DCTERMS + "isPartOf", "Patterns in this collection"),),
    "concept": ((PKG + "status", "Patterns with this status"), (PKG + "usageStage", "Patterns at this usage stage"),
                (PKG + "adoptionStage", "Patterns at this adoption stage"), (PKG + "dialect", "Patterns in this dialect"),
                (PKG + "arcStage", "Patterns at this stage of the 7Cs arc")),
}
KIND_TITLES = {"domain": "Domain", "commons-domain": "Commons domain", "community": "Community",
               "entity": "Entity", "agent": "Contributor", "concept": "Concept", "scheme": "Concept scheme",
               "collection": "Collection",
               "dataset": "Dataset", "missing-pattern": "Missing pattern", "pattern": "Pattern"}
MAX_LIST = 500


#: a group larger than MAX_LIST is shown a page at a time, PAGE_SIZE patterns a page
PAGE_SIZE = 100
#: kind -> the prepared query (and its parameter) that ranks a large group's patterns
RANKED = {"domain": ("by-domain", "domain"), "community": ("community", "community")}


def _page_number() -> int:
    """The ``?page=`` of the request (1-based), as a 0-based index."""
    raw = request.args.get("page", "1")
    return max(0, int(raw) - 1) if raw.isdigit() and len(raw) < 7 else 0


def _patterns_linked(iri: str, predicate: str, page: int = 0) -> tuple[list[Ref], int, int | None]:
    """Patterns that point at *iri* with *predicate*: (refs, total, first) where *first* is None
    for a whole group (at most MAX_LIST patterns, by title) and the index of the first ref for
    a page of a larger group.

    A large group (a domain or a status of a 100,000-pattern library holds tens of
    thousands) is paged in the store's own order (stable within a generation), each page
    sorted by title: ordering every member by title (or by IRI) costs seconds at that size,
    a page costs milliseconds; the prepared queries rank the whole group."""
    probe = select(f"SELECT ?p WHERE {{ ?p <{predicate}> <{iri}> }} LIMIT {MAX_LIST + 1}")
    if len(probe) > MAX_LIST:
        count = select(f"SELECT (COUNT(?p) AS ?n) WHERE {{ ?p <{predicate}> <{iri}> }}")
        total = int(count[0]["n"]["value"]) if count else 0
        page = min(page, max(0, (total - 1) // PAGE_SIZE))
        first = page * PAGE_SIZE
        members = [r["p"]["value"] for r in select(
            f"SELECT ?p WHERE {{ ?p <{predicate}> <{iri}> }} LIMIT {PAGE_SIZE} OFFSET {first}")]
        values = "VALUES ?p { " + " ".join(f"<{m}>" for m in members) + " }"
        return _refs(values, ""), total, first
    if not probe:
        return [], 0, None
    items = _refs(f"?p <{predicate}> <{iri}> .", f"LIMIT {MAX_LIST * 4}")
    return items, len(items), None


def _refs(where: str, tail: str) -> list[Ref]:
    """The patterns *where* binds to ?p, by title, with their score, summary and audience words."""
    chosen = lens.current()
    words = f"""OPTIONAL {{ ?p <{PKG}contextLabel> ?cl . ?cl <{PKG}audience> <{VOCAB}audience/{chosen}> ;
                <{PKG}labelText> ?words }}""" if chosen else ""
    rows = select(f"""SELECT ?p ?title ?words ?score ?summary WHERE {{
        {where}
        OPTIONAL {{ ?p <{DCTERMS}title> ?title }}
        OPTIONAL {{ ?p <{PKG}assessment>/<{PKG}overallScore> ?score }}
        OPTIONAL {{ ?p <{SKOS}definition> ?summary }}
        {words}
    }} ORDER BY LCASE(STR(?title)) ?p {tail}""")
    refs: dict[str, Ref] = {}
    for row in rows:
        p = row["p"]["value"]
        if p in refs:
            continue
        title = _value(row, "title") or local_name(p)
        w = _value(row, "words")
        summary = _value(row, "summary")
        refs[p] = Ref(p, w or title, href(p), original=title if w and w != title else None,
                      extra={"score": _number(_value(row, "score")),
                             "summary": summary[:220] + ("…" if summary and len(summary) > 220 else "")
                             if summary else None})
    return list(refs.values())[:MAX_LIST]


def _own_triples(iri: str) -> list[dict[str, dict[str, str]]]:
    return select(f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }} ORDER BY ?p ?o LIMIT 2000")


def generic_page(kind: str, iri: str, key: str) -> Response:
    rows = _own_triples(iri)
    vocabulary_members: list[str] = []
    if iri.startswith(VOCAB):  # a controlled value or scheme: described by the ontology file
        doc = ontology_document()
        rows += [{"p": {"type": "uri", "value": t.predicate.value}, "o": _json_term(t.object)}
                 for t in doc.describe(iri) if t.subject.value == iri]
        vocabulary_members = doc.schemes if iri == VOCAB else doc.members(iri)
    groups = []
    page = _page_number()
    for predicate, heading in MEMBERSHIP.get(kind, ()):
        items, total, first = _patterns_linked(iri, predicate, page)
        if items:
            group = {"heading": heading, "items": items, "total": total, "predicate": predicate, "first": first}
            if first is not None:
                group["previous"] = first // PAGE_SIZE if first else None  # 1-based page numbers
                group["next"] = first // PAGE_SIZE + 2 if first + PAGE_SIZE < total else None
                ranked = RANKED.get(kind)
                if ranked is not None:
                    group["ranked"] = lens.keep(f"/api/queries/{ranked[0]}?{ranked[1]}={quote(key, safe='')}")
            groups.append(group)
    members = list(dict.fromkeys(vocabulary_members + (_scheme_members(iri) if kind == "scheme" else [])
                                 + (_collection_rings(iri) if kind == "collection" else [])))
    if not rows and not groups and not members:
        abort(404, f"nothing is known of {iri}")
    objects = {r["o"]["value"] for r in rows if r["o"]["type"] == "uri"}
    info = details(objects | {iri} | set(members))
    labels = [r["o"]["value"] for r in rows if r["p"]["value"] in LABEL_PROPERTIES]
    title = info.labels.get(iri) or (labels[0] if labels else None) or key.rsplit("/", 1)[-1]
    alt = sorted({r["o"]["value"] for r in rows if r["p"]["value"] in (SKOS + "altLabel", RDFS + "label")} - {title})
    same = [r["o"]["value"] for r in rows if r["p"]["value"] == OWL + "sameAs"]
    description = next((r["o"]["value"] for r in rows if r["p"]["value"] in
                        (SKOS + "definition", DCTERMS + "description", RDFS + "comment")), None)
    member_refs = sorted((info.ref(m) for m in members), key=lambda r: r.label.lower())
    properties = [(r["p"]["value"], r["o"]) for r in rows]
    raw = triples_table([(None, p, o) for p, o in properties])
    html = render("resource.html", raw=raw, kind=kind, kind_title=KIND_TITLES[kind], iri=iri, key=key, title=title,
                  alt=alt, same=same, description=description, groups=groups, members=member_refs,
                  properties=properties, info=info, formats=_formats() if kind != "concept" else [],
                  graph=kind in ("domain", "community"))
    return html_response(html, canonical=iri)


def _scheme_members(iri: str) -> list[str]:
    rows = select(f"SELECT ?c WHERE {{ ?c <{SKOS}inScheme> <{iri}> }} LIMIT {MAX_LIST}")
    return [r["c"]["value"] for r in rows]


def _collection_rings(iri: str) -> list[str]:
    """The collections (rings) that are members of the collection *iri*."""
    rows = select(f"SELECT ?c WHERE {{ <{iri}> <{SKOS}member> ?c . ?c a <{SKOS}Collection> }} LIMIT {MAX_LIST}")
    return [r["c"]["value"] for r in rows]


def missing_page(iri: str, key: str, status: int = 404) -> Response:
    incoming = _incoming(iri)
    direct = select(f"SELECT DISTINCT ?src ?p WHERE {{ ?src ?p <{iri}> . FILTER(!STRSTARTS(STR(?src), "
                    f"\"{iri}#\")) }} LIMIT {MAX_LIST}")
    sources = {r["src"]["value"] for r in incoming} | {r["src"]["value"] for r in direct}
    sources = {s.split("#", 1)[0] for s in sources}
    info = details(sources)
    referrers = []
    for row in incoming:
        src = row["src"]["value"]
        is_inferred = row["link"]["value"] == PKG + "qualifiedInferredLink"
        kind = _value(row, "kind")
        referrers.append({"ref": info.ref(src), "kind": local_name(kind) if kind else _value(row, "kindName"),
                          "source": "inferred" if is_inferred else "curated"})
    if not referrers:
        for row in direct:
            referrers.append({"ref": info.ref(row["src"]["value"].split("#", 1)[0]),
                              "kind": local_name(row["p"]["value"]), "source": "curated"})
    if not referrers:
        abort(404, f"no pattern {key!r} in this library, and nothing points at it")
    referrers.sort(key=lambda r: (r["source"], r["ref"].label.lower()))
    html = render("missing.html", iri=iri, key=key, referrers=referrers)
    return html_response(html, status=status, canonical=iri)


def dataset_page(iri: str) -> Response:
    rows = select(f"""SELECT ?s ?p ?o WHERE {{
        {{ BIND(<{iri}> AS ?s) ?s ?p ?o }}
        UNION {{ <{iri}> ?x ?s . FILTER(isBlank(?s) || STRSTARTS(STR(?s), "{iri}")) ?s ?p ?o }} }}""")
    properties = [(r["p"]["value"], r["o"]) for r in rows if r["s"]["value"] == iri]
    title = next((o["value"] for p, o in properties if p in (DCTERMS + "title", RDFS + "label")), "The dataset")
    description = next((o["value"] for p, o in properties if p == DCTERMS + "description"), None)
    raw = triples_table([(None, p, o) for p, o in properties])
    html = render("resource.html", raw=raw, kind="dataset", kind_title="Dataset", iri=iri, key="", title=title, alt=[],
                  same=[], description=description, groups=[], members=[], properties=properties,
                  info=details(set()), formats=[("Turtle", "/void?format=ttl", "text/turtle"),
                                                ("JSON-LD", "/void?format=jsonld", "application/ld+json")],
                  graph=False)
    return html_response(html, canonical=iri)


def resource_page(*, kind: str, iri: str, key: str) -> Response:
    """The HTML page of the resource *iri* of *kind* (one of :data:`KINDS`); *key* is its local part.

    Aborts with 404 when the store knows nothing of *iri* (a ``missing-pattern``
    page is itself a 404 that lists who points at the target)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if kind == "pattern":
        return pattern_page(iri, key)
    if kind == "missing-pattern":
        return missing_page(iri, key)
    if kind == "dataset":
        return dataset_page(iri)
    return generic_page(kind, iri, key)


__all__ = ["KINDS", "resource_page", "local_path", "href", "markdown", "select", "details", "curie"]
