"""Mapping one read pattern file (:class:`~.reader.Document`) to RDF quads.

Contract of :meth:`Mapper.map`: returns a :class:`Mapped` holding the triples of
this file as N-Triples lines, its warnings (each naming the file,
field path and line), the relationship targets it names, and -- when tracking is
on -- where each (subject, predicate) came from, for mapping SHACL results back
to the source. It raises :class:`~.reader.ReadError` only when the file cannot
yield a pattern at all (no usable slug). Unknown keys are warned about, never
dropped silently. Three front-matter dialects are handled, detected per file by
:func:`detect_dialect` (see docs/vocabulary.md).

Every term is a pyoxigraph ``NamedNode`` or ``Literal`` (which validate IRIs and
escape text) and a line is only ever three such terms in their own N-Triples form
(``str(term)``): text from a file cannot change the structure of the output.
Lines rather than ``Triple`` objects because building a ``Triple`` and serialising
it again costs some 3.5 us per triple, formatting the terms under 1 us.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyoxigraph import Literal, NamedNode

from patternkg.converter import values as v
from patternkg.converter.body import split_body
from patternkg.converter.diagnostics import Diagnostic, field_path
from patternkg.converter.namespaces import (
    ASSESSMENT_DIMENSIONS, CC, DCTERMS, OWL, PROV, RDF, RDFS, RELATIONSHIP_KINDS, SCHEMA, SKOS,
    SPDX_LICENSE, QID, WIKIDATA_ENTITY, Library, is_safe_segment, pkg, slugify, vocab,
)
from patternkg.converter.reader import Document, ReadError

A = NamedNode(RDF + "type")
P_PATTERN = pkg("Pattern")
SKOS_PREF, SKOS_ALT, SKOS_DEF, SKOS_SCHEME = (NamedNode(SKOS + n) for n in ("prefLabel", "altLabel", "definition", "inScheme"))
DC = {n: NamedNode(DCTERMS + n) for n in ("identifier", "title", "contributor", "creator", "source", "license",
                                          "description", "created", "modified", "isPartOf")}
RDFS_LABEL = NamedNode(RDFS + "label")
OWL_SAMEAS = NamedNode(OWL + "sameAs")
PROV_AGENT = NamedNode(PROV + "Agent")
SCHEMA_VERSION = NamedNode(SCHEMA + "version")
SCHEMA_URL = NamedNode(SCHEMA + "url")
CC_ATTRIBUTION = NamedNode(CC + "attributionName")
DIALECT_V71 = vocab("dialect", "v7.1")
DIALECT_LEGACY = vocab("dialect", "legacy")
DIALECT_ENGINEERING = vocab("dialect", "engineering")
_DIALECT = {"v7.1": DIALECT_V71, "legacy": DIALECT_LEGACY, "engineering": DIALECT_ENGINEERING}
SKOS_COLLECTION, SKOS_MEMBER = NamedNode(SKOS + "Collection"), NamedNode(SKOS + "member")
_P = {name: pkg(name) for name in (
    "slug", "sourceFile", "dialect", "contextLabel", "ContextLabel", "audience", "labelText", "domain",
    "crossDomain", "commonsDomain", "Domain", "CommonsDomain", "primaryTension", "keyword",
    "specificationLayer", "assessment", "CommonsAssessment", "vitalityReasoning", "overallScore",
    "usageStage", "adoptionStage", "status", "confidenceRating", "universality", "category", "era", "origin",
    "commonsAlignment", "confidenceScore", "lastUpdated", "sourceDocument", "repository",
    "qualifiedRelationship", "Relationship", "source", "target", "relationshipKind", "kindName", "weight",
    "inferredLink", "qualifiedInferredLink", "InferredLink", "confidence", "reason", "lastPruned", "backedBy",
    "mentions", "entityMention", "EntityMention", "entity", "Entity", "relevance", "entityType",
    "memberOf", "communityMembership", "CommunityMembership", "community", "Community", "communitySource",
    "preamble", "ratingStars", "ratingLabel", "ratingNote", "section", "Section", "heading", "position",
    "markdown", "arcStage", "orbitalLayer", "vitality",
)}
_KIND = {key: pkg(local) for key, local in RELATIONSHIP_KINDS.items()}
_DIMENSION = {key: pkg(local) for key, local in ASSESSMENT_DIMENSIONS.items()}

V71_KEYS = {"id", "slug", "title", "aliases", "summary", "context_labels", "ontology", "lifecycle",
            "relationships", "graph_garden", "contributors", "sources", "license", "attribution"}
LEGACY_KEYS = {"page_url", "github_url", "version", "created", "modified", "classification", "generalizes_from",
               "specializes_to", "enables", "requires", "related", "repository", "confidence_score",
               "last_updated", "provenance", "commons_domain", "commons_alignment", "author"}
#: the commons.engineering site's flat front matter (Hugo pages written by its import scripts), and the
#: keys its v7.1 files add (collection, collection_ring, 7cs_arc)
ENGINEERING_KEYS = {"type", "collection", "collection_ring", "7cs_arc", "aliases_list", "tags", "domain",
                    "universality", "vitality_score", "orbital_layer"}
V71_BLOCKS = ("ontology", "lifecycle", "relationships", "graph_garden")
#: top-level keys that mark a file without v7.1 blocks or classification as the site dialect
_ENGINEERING_MARKERS = ENGINEERING_KEYS - {"collection_ring", "7cs_arc"}


def detect_dialect(data: dict) -> str:
    """The front-matter dialect of one file: ``v7.1`` when it has any v7.1 block, else ``legacy``
    when it has a ``classification`` block, else ``engineering`` when it has a key of the
    commons.engineering site's flat front matter, else ``v7.1`` (title, slug and summary alone)."""
    if any(key in data for key in V71_BLOCKS):
        return "v7.1"
    if "classification" in data:
        return "legacy"
    if any(key in data for key in _ENGINEERING_MARKERS):
        return "engineering"
    return "v7.1"


@dataclass
class Mapped:
    slug: str
    ident: str | None
    dialect: str
    ntriples: list[str]  # one triple per line, each ending in "\n"
    diagnostics: list[Diagnostic]
    targets: list[tuple[str, str]]  # (relationship kind, target token) of curated relationships
    locations: dict[tuple[str, str], tuple] = field(default_factory=dict)
    id_targets: set[str] = field(default_factory=set)  # targets written as pat_ ids (all link kinds)
    lines: tuple[int | None, int | None] = (None, None)  # lines of slug and id
    #: descriptions of nodes many patterns name (see :meth:`Mapper._describe`); merged by the pipeline
    shared: list[str] = field(default_factory=list)
    #: pkg:backedBy could not be settled in this file: a target is a pat_ id (the pipeline
    #: rechecks the pattern once ids are resolved; see Mapper._backing)
    recheck_backing: bool = False


class Mapper:
    """Maps documents of one library (one base IRI). Not thread-safe; cheap to create."""

    def __init__(self, library: Library, *, track: bool = False):
        self.lib = library
        self.track = track
        self.g_curated = self.g_garden = None  # one default graph; see docs/vocabulary.md
        self.s_patterns = library.scheme("patterns")
        self.s_domains = library.scheme("domains")
        self.s_commons = library.scheme("commons-domains")
        self.s_communities = library.scheme("communities")
        self.described: set[str] = set()  # shared triples (lines) this process has sent

    # -- plumbing ---------------------------------------------------------------------------

    def _emit(self, s, p, o, graph=None, path: tuple = ()) -> None:
        """Add (s, p, o) unless o is None. Replaced per document by a fast path when not tracking."""
        if o is None:
            return
        self.ntriples.append(f"{s} {p} {o} .\n")
        self.locations.setdefault((s.value, p.value), path)

    def _bind_emit(self) -> None:
        if self.track:
            return
        append = self.ntriples.append

        def emit(s, p, o, graph=None, path=()):
            if o is not None:
                append(f"{s} {p} {o} .\n")

        self._emit = emit

    def _describe(self, node: NamedNode, p: NamedNode, o, path: tuple = ()) -> None:
        """Describe a node many patterns name (domain, community, entity, agent, collection).

        These triples go to :attr:`Mapped.shared`, not to the pattern's own triples: the
        pipeline merges them across files in file order, so the result does not depend on
        which worker process read which file (the first file's label is the preferred
        one, other labels become alternatives). Without tracking, a mapper sends each
        triple once per process; that is enough, because the first file naming a triple
        is always the first one its process sees with it."""
        if o is None:
            return
        line = f"{node} {p} {o} .\n"
        if self.track:
            self.locations.setdefault((node.value, p.value), path)
        elif line in self.described:
            return
        else:
            self.described.add(line)
        self.shared.append(line)

    def _warn(self, code: str, message: str, path: tuple) -> None:
        self.diagnostics.append(Diagnostic("warning", code, self.doc.path, message, field_path(path),
                                           self.doc.line_of(path)))

    def _unknown(self, key: str, path: tuple) -> None:
        self._warn("unknown-key", f"unknown key '{key}' is not converted", path)

    def _mapping(self, value, path: tuple) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self._warn("invalid-type", f"expected a mapping, found {v.describe(value)}", path)
            return {}
        return value

    def _segment(self, value, path: tuple, what: str, *, from_label: bool = False) -> str | None:
        """A safe IRI segment for an id-like value, or None (warned) when there is none.

        Ids that are not safe segments are slugified with a warning; names and labels
        (*from_label*) are slugified silently, as their text is kept as a label."""
        if isinstance(value, str) and is_safe_segment(value):
            return value
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip():
            seg = slugify(str(value))
            if seg != str(value) and not from_label:
                self._warn("unsafe-id", f"{what} {str(value)!r} is not a safe IRI segment; using {seg!r}", path)
            return seg
        self._warn("invalid-type", f"expected a {what}, found {v.describe(value)}", path)
        return None

    def _concept(self, scheme: str, value, path: tuple) -> NamedNode | None:
        seg = self._segment(value, path, f"{scheme} value")
        return vocab(scheme, seg) if seg else None

    # -- entry point ------------------------------------------------------------------------

    def map(self, doc: Document) -> Mapped:
        self.doc = doc
        self.ntriples: list[str] = []
        self.shared: list[str] = []
        self._bind_emit()
        self.diagnostics: list[Diagnostic] = [*doc.duplicates, *doc.warnings]
        self.targets: list[tuple[str, str]] = []
        self.locations: dict = {}
        self.id_targets: set[str] = set()
        self.used_fragments: set[str] = set()
        self.curated_nodes: list[tuple[NamedNode, str, NamedNode]] = []  # (kind, token, node)
        self.inferred_nodes: list[tuple[NamedNode | None, str, NamedNode, tuple]] = []  # (kind, token, node, path)
        data = doc.data
        slug = data.get("slug")
        if not isinstance(slug, str) or not is_safe_segment(slug):
            found = "missing" if slug is None else f"{v.describe(slug)} is not a safe IRI segment"
            raise ReadError(Diagnostic("error", "invalid-slug", doc.path,
                                       f"slug {found}: use letters, digits, '-', '_', '.' or '~'",
                                       "slug", doc.line_of(("slug",)) or 1))
        self.slug = slug
        self.P = P = self.lib.pattern(slug)
        dialect = detect_dialect(data)
        C = self.g_curated
        self._emit(P, A, P_PATTERN, C, ())
        self._emit(P, SKOS_SCHEME, self.s_patterns, C, ())
        self._emit(P, _P["slug"], Literal(slug), C, ("slug",))
        self._emit(P, _P["sourceFile"], Literal(doc.relpath or doc.path), C, ())
        self._emit(P, _P["dialect"], _DIALECT[dialect], C, ())
        ident = data.get("id")
        for key, value in data.items():
            handler = _HANDLERS.get(key)
            if handler is None:
                self._unknown(key, (key,))
            else:
                handler(self, value, (key,))
        self._body(dialect)
        recheck = self._backing()
        locations = {}
        if self.track:
            locations = {key: (field_path(path), doc.line_of(path)) for key, path in self.locations.items()}
        return Mapped(slug, ident if isinstance(ident, str) else None, dialect, self.ntriples, self.diagnostics,
                      self.targets, locations, self.id_targets, (doc.line_of(("slug",)), doc.line_of(("id",))),
                      self.shared, recheck)

    # -- identity -----------------------------------------------------------------------------

    def _id(self, value, path):
        self._emit(self.P, DC["identifier"], v.text(value, path, self._warn), None, path)

    def _slug(self, value, path):
        pass  # written in map()

    def _title(self, value, path):
        lit = v.text(value, path, self._warn)
        self._emit(self.P, DC["title"], lit, None, path)
        self._emit(self.P, SKOS_PREF, lit, None, path)

    def _aliases(self, value, path):
        for i, alias in enumerate(v.as_list(value)):
            self._emit(self.P, SKOS_ALT, v.text(alias, path + (i,), self._warn), None, path + (i,))

    def _summary(self, value, path):
        self._emit(self.P, SKOS_DEF, v.text(value, path, self._warn), None, path)

    def _context_labels(self, value, path):
        C = self.g_curated
        for audience, label in self._mapping(value, path).items():
            sub = path + (audience,)
            seg = self._segment(audience, sub, "audience")
            if seg is None:
                continue
            node = self.lib.node(self.slug, f"label-{seg}")
            self._emit(self.P, _P["contextLabel"], node, C, sub)
            self._emit(node, A, _P["ContextLabel"], C, sub)
            self._emit(node, _P["audience"], vocab("audience", seg), C, sub)
            self._emit(node, _P["labelText"], v.text(label, sub, self._warn), C, sub)

    # -- ontology block -------------------------------------------------------------------------

    def _ontology(self, value, path):
        for key, item in self._mapping(value, path).items():
            sub = path + (key,)
            if key == "domain":
                self._domain(item, sub, _P["domain"])
            elif key == "cross_domains":
                for i, d in enumerate(v.as_list(item)):
                    self._domain(d, sub + (i,), _P["crossDomain"])
            elif key == "commons_domain":
                self._commons_domain(item, sub)
            elif key == "search_hints":
                self._search_hints(item, sub)
            elif key == "commons_assessment":
                self._assessment(item, sub)
            elif key == "specification_layer":
                self._emit(self.P, _P["specificationLayer"], v.text(item, sub, self._warn), None, sub)
            else:
                self._unknown(key, sub)

    def _domain(self, value, path, prop):
        seg = self._segment(value, path, "domain", from_label=True)
        if seg is None:
            return
        node = self.lib.domain(seg)
        C = self.g_curated
        self._emit(self.P, prop, node, C, path)
        self._describe(node, A, _P["Domain"], path)
        self._describe(node, SKOS_SCHEME, self.s_domains, path)
        self._describe(node, SKOS_PREF, Literal(str(value)), path)

    def _commons_domain(self, value, path):
        C = self.g_curated
        for i, d in enumerate(v.as_list(value)):
            sub = path + (i,) if isinstance(value, list) else path
            seg = self._segment(d, sub, "commons domain", from_label=True)
            if seg is None:
                continue
            node = self.lib.commons_domain(seg)
            self._emit(self.P, _P["commonsDomain"], node, C, sub)
            self._describe(node, A, _P["CommonsDomain"], sub)
            self._describe(node, SKOS_SCHEME, self.s_commons, sub)
            self._describe(node, SKOS_PREF, Literal(str(d)), sub)

    def _search_hints(self, value, path):
        for key, item in self._mapping(value, path).items():
            sub = path + (key,)
            if key == "primary_tension":
                self._emit(self.P, _P["primaryTension"], v.text(item, sub, self._warn), None, sub)
            elif key == "vector_keywords":
                for i, kw in enumerate(v.as_list(item)):
                    self._emit(self.P, _P["keyword"], v.text(kw, sub + (i,), self._warn), None, sub + (i,))
            else:
                self._unknown(key, sub)

    def _assessment(self, value, path):
        C = self.g_curated
        node = self.lib.node(self.slug, "assessment")
        self._emit(self.P, _P["assessment"], node, C, path)
        self._emit(node, A, _P["CommonsAssessment"], C, path)
        for key, item in self._mapping(value, path).items():
            sub = path + (key,)
            if key in _DIMENSION:
                self._emit(node, _DIMENSION[key], v.decimal(item, sub, self._warn, low=0, high=5), C, sub)
            elif key == "overall_score":
                self._emit(node, _P["overallScore"], v.decimal(item, sub, self._warn, low=0, high=5), C, sub)
            elif key == "vitality_reasoning":
                self._emit(node, _P["vitalityReasoning"], v.text(item, sub, self._warn), C, sub)
            else:
                self._unknown(key, sub)

    # -- lifecycle and the older dialect's classification -----------------------------------------

    def _lifecycle(self, value, path):
        C = self.g_curated
        for key, item in self._mapping(value, path).items():
            sub = path + (key,)
            if key == "usage_stage":
                self._emit(self.P, _P["usageStage"], self._concept("usage-stage", item, sub), C, sub)
            elif key == "adoption_stage":
                self._emit(self.P, _P["adoptionStage"], self._concept("adoption-stage", item, sub), C, sub)
            elif key == "status":
                self._emit(self.P, _P["status"], self._concept("status", item, sub), C, sub)
            elif key == "version":
                self._version(item, sub)
            elif key == "confidence":
                self._emit(self.P, _P["confidenceRating"], v.integer(item, sub, self._warn, low=1, high=3), C, sub)
            else:
                self._unknown(key, sub)

    def _version(self, value, path):
        self._emit(self.P, SCHEMA_VERSION, v.text(value, path, self._warn, lenient=True), None, path)

    def _classification(self, value, path):
        C = self.g_curated
        for key, item in self._mapping(value, path).items():
            sub = path + (key,)
            if key == "universality":
                self._emit(self.P, _P["universality"], v.text(item, sub, self._warn, lenient=True), C, sub)
            elif key in ("category", "era", "origin"):
                for i, x in enumerate(v.as_list(item)):
                    p = sub + (i,) if isinstance(item, list) else sub
                    self._emit(self.P, _P[key], v.text(x, p, self._warn), C, p)
            elif key == "domain":
                self._domain(item, sub, _P["domain"])
            elif key == "status":
                self._emit(self.P, _P["status"], self._concept("status", item, sub), C, sub)
            elif key == "commons_alignment":
                self._commons_alignment(item, sub)
            elif key == "commons_domain":
                self._commons_domain(item, sub)
            else:
                self._unknown(key, sub)

    def _commons_alignment(self, value, path):
        self._emit(self.P, _P["commonsAlignment"], v.decimal(value, path, self._warn, low=0, high=5),
                   self.g_curated, path)

    def _confidence_score(self, value, path):
        self._emit(self.P, _P["confidenceScore"], v.decimal(value, path, self._warn, low=0, high=1),
                   self.g_curated, path)

    @staticmethod
    def _dates(prop):
        def handler(self, value, path):
            self._emit(self.P, prop, v.temporal(value, path, self._warn), None, path)
        return handler

    @staticmethod
    def _links(prop):
        def handler(self, value, path):
            self._emit(self.P, prop, v.iri(value, path, self._warn), None, path)
        return handler

    # -- provenance -------------------------------------------------------------------------------

    def _contributors(self, value, path, *, prop=DC["contributor"]):
        C = self.g_curated
        for i, item in enumerate(v.as_list(value)):
            sub = path + (i,)
            name, role = item, None
            if isinstance(item, dict):
                name, role = item.get("name"), item.get("role")
                for key in item:
                    if key not in ("name", "role"):
                        self._unknown(key, sub + (key,))
            seg = self._segment(name, sub, "contributor name", from_label=True)
            if seg is None:
                continue
            agent = self.lib.agent(seg)
            self._describe(agent, A, PROV_AGENT, sub)
            self._describe(agent, RDFS_LABEL, Literal(str(name)), sub)
            if role is None or role == "author":
                self._emit(self.P, DC["creator"] if role == "author" else prop, agent, C, sub)
            else:
                self._emit(self.P, prop, agent, C, sub)
                self._warn("invalid-value", f"contributor role {role!r} has no mapping; recorded as contributor",
                           sub + ("role",))

    def _author(self, value, path):
        self._contributors(value, path, prop=DC["creator"])

    def _sources(self, value, path):
        for i, item in enumerate(v.as_list(value)):
            self._emit(self.P, DC["source"], v.text(item, path + (i,), self._warn), None, path + (i,))

    def _license(self, value, path):
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            obj = v.iri(value, path, self._warn)
        elif isinstance(value, str) and is_safe_segment(value):
            obj = NamedNode(SPDX_LICENSE + value)
        else:
            self._warn("invalid-value", f"expected an SPDX license id or URL, found {v.describe(value)}", path)
            obj = Literal(str(value)) if value is not None else None
        self._emit(self.P, DC["license"], obj, None, path)

    def _attribution(self, value, path):
        self._emit(self.P, CC_ATTRIBUTION, v.text(value, path, self._warn), None, path)

    def _provenance(self, value, path):
        for key, item in self._mapping(value, path).items():
            sub = path + (key,)
            handler = {"contributors": Mapper._contributors, "license": Mapper._license,
                       "attribution": Mapper._attribution, "sources": Mapper._sources}.get(key)
            if handler is None:
                self._unknown(key, sub)
            else:
                handler(self, item, sub)

    # -- the commons.engineering site dialect ------------------------------------------------------

    def _type(self, value, path):
        if value != "pattern":  # a Hugo content type; "pattern" is what `a pkg:Pattern` says
            self._warn("invalid-value", f"type {v.describe(value)} is not 'pattern'; the file is converted as a "
                       "pattern", path)

    def _collection_node(self, value, path, *, quiet: bool = False) -> NamedNode | None:
        if quiet and not (isinstance(value, str) and value.strip()):
            return None
        seg = self._segment(value, path, "collection", from_label=True)
        return self.lib.collection(seg) if seg else None

    def _collections(self, value, path, *, ring: bool = False) -> None:
        """``collection`` and ``collection_ring``: the pattern is a skos:member of a skos:Collection
        (``P dcterms:isPartOf C`` too); a ring is itself a member of the file's collections."""
        C = self.g_curated
        parents = []
        if ring:
            parents = [n for c in v.as_list(self.doc.data.get("collection"))
                       if (n := self._collection_node(c, ("collection",), quiet=True)) is not None]
        for i, item in enumerate(v.as_list(value)):
            sub = path + (i,) if isinstance(value, list) else path
            node = self._collection_node(item, sub)
            if node is None:
                continue
            self._emit(self.P, DC["isPartOf"], node, C, sub)
            self._emit(node, SKOS_MEMBER, self.P, C, sub)
            self._describe(node, A, SKOS_COLLECTION, sub)
            self._describe(node, SKOS_PREF, Literal(str(item)), sub)
            for parent in parents:
                self._describe(parent, SKOS_MEMBER, node, sub)

    def _rings(self, value, path):
        self._collections(value, path, ring=True)

    def _arc(self, value, path):
        for i, item in enumerate(v.as_list(value)):
            sub = path + (i,) if isinstance(value, list) else path
            self._emit(self.P, _P["arcStage"], self._concept("7cs-arc", item, sub), self.g_curated, sub)

    def _tags(self, value, path):
        if isinstance(value, dict):  # the mapping form (universality, domain, ...) reads as classification
            self._classification(value, path)
            return
        for i, tag in enumerate(v.as_list(value)):
            sub = path + (i,) if isinstance(value, list) else path
            self._emit(self.P, _P["keyword"], v.text(tag, sub, self._warn, lenient=True), None, sub)

    def _top_domain(self, value, path):
        self._domain(value, path, _P["domain"])

    def _universality(self, value, path):
        self._emit(self.P, _P["universality"], v.text(value, path, self._warn, lenient=True), self.g_curated, path)

    def _vitality_score(self, value, path):
        C = self.g_curated
        node = self.lib.node(self.slug, "assessment")
        self._emit(self.P, _P["assessment"], node, C, path)
        self._emit(node, A, _P["CommonsAssessment"], C, path)
        self._emit(node, _P["vitality"], v.decimal(value, path, self._warn, low=0, high=5), C, path)

    def _orbital_layer(self, value, path):
        self._emit(self.P, _P["orbitalLayer"], v.integer(value, path, self._warn, low=0, high=9), self.g_curated,
                   path)

    # -- curated relationships ----------------------------------------------------------------------

    def _relationships(self, value, path):
        for kind, items in self._mapping(value, path).items():
            sub = path + (kind,)
            if kind not in _KIND:
                self._unknown(kind, sub)
                continue
            self._relationship_list(kind, items, sub)

    def _relationship_list(self, kind, items, path):
        for i, item in enumerate(v.as_list(items)):
            self._relationship(kind, item, path + (i,) if isinstance(items, list) else path)

    def _fragment(self, base: str) -> str:
        frag, n = base, 1
        while frag in self.used_fragments:
            n += 1
            frag = f"{base}-{n}"
        self.used_fragments.add(frag)
        return frag

    def _target(self, token, path) -> str | None:
        if isinstance(token, str) and is_safe_segment(token):
            if token.startswith("pat_"):
                self.id_targets.add(token)
            return token
        self._warn("invalid-target", f"relationship target {v.describe(token)} is not a pattern slug or id; "
                   "item not converted", path)
        return None

    def _relationship(self, kind, item, path):
        C = self.g_curated
        weight = description = None
        if isinstance(item, dict):
            token = item.get("slug", item.get("id"))
            for key in item:
                if key not in ("slug", "id", "weight", "description"):
                    self._unknown(key, path + (key,))
            if "slug" in item and "id" in item and item["slug"] != item["id"]:
                self._warn("invalid-item", "item has both slug and id; the slug is used", path)
            weight, description = item.get("weight"), item.get("description")
        else:
            token = item
        token = self._target(token, path)
        if token is None:
            return
        self.targets.append((kind, token))
        target, prop = self.lib.pattern(token), _KIND[kind]
        frag = self._fragment(f"rel-{kind}-{token}")
        if frag != f"rel-{kind}-{token}":
            self._warn("duplicate-item", f"{kind} lists {token!r} more than once", path)
        node = self.lib.node(self.slug, frag)
        self._emit(self.P, prop, target, C, path)
        self._emit(self.P, _P["qualifiedRelationship"], node, C, path)
        self._emit(node, A, _P["Relationship"], C, path)
        self._emit(node, _P["target"], target, C, path)
        self._emit(node, _P["relationshipKind"], prop, C, path)
        self._emit(node, _P["weight"], v.decimal(weight, path + ("weight",), self._warn, low=0, high=1), C,
                   path + ("weight",))
        self._emit(node, DC["description"], v.text(description, path + ("description",), self._warn), C,
                   path + ("description",))
        self.curated_nodes.append((prop, token, node))

    @staticmethod
    def _legacy_list(kind):
        def handler(self, value, path):
            self._relationship_list(kind, value, path)
        return handler

    # -- graph garden (machine-written) --------------------------------------------------------------

    def _graph_garden(self, value, path):
        for key, item in self._mapping(value, path).items():
            sub = path + (key,)
            if key == "last_pruned":
                self._emit(self.P, _P["lastPruned"], v.temporal(item, sub, self._warn), None, sub)
            elif key == "entities":
                for i, e in enumerate(v.as_list(item)):
                    self._entity(e, sub + (i,))
            elif key == "communities":
                for i, c in enumerate(v.as_list(item)):
                    self._community(c, sub + (i,))
            elif key == "inferred_links":
                for i, link in enumerate(v.as_list(item)):
                    self._inferred_link(link, sub + (i,))
            else:
                self._unknown(key, sub)

    def _item(self, item, path, keys: tuple[str, ...], scalar_key: str) -> dict | None:
        if isinstance(item, str):
            return {scalar_key: item}
        if not isinstance(item, dict):
            self._warn("invalid-item", f"expected a mapping or text, found {v.describe(item)}; item not converted",
                       path)
            return None
        for key in item:
            if key not in keys:
                self._unknown(key, path + (key,))
        return item

    def _entity(self, item, path):
        G = self.g_garden
        e = self._item(item, path, ("id", "type", "label", "relevance"), "label")
        if e is None:
            return
        raw = e.get("id", e.get("label"))
        seg = self._segment(raw, path + ("id",) if "id" in e else path, "entity id", from_label="id" not in e)
        if seg is None:
            return
        entity = self.lib.entity(seg)
        node = self.lib.node(self.slug, self._fragment(f"entity-{seg}"))
        self._emit(self.P, _P["mentions"], entity, G, path)
        self._emit(self.P, _P["entityMention"], node, G, path)
        self._emit(node, A, _P["EntityMention"], G, path)
        self._emit(node, _P["entity"], entity, G, path)
        self._emit(node, _P["relevance"], v.decimal(e.get("relevance"), path + ("relevance",), self._warn,
                                                      low=0, high=1), G, path + ("relevance",))
        self._describe(entity, A, _P["Entity"], path)
        self._describe(entity, RDFS_LABEL, v.text(e.get("label"), path + ("label",), self._warn), path + ("label",))
        if e.get("type") is not None:
            self._describe(entity, _P["entityType"], self._concept("entity-type", e["type"], path + ("type",)),
                           path + ("type",))
        if isinstance(raw, str) and QID.fullmatch(raw):
            self._describe(entity, OWL_SAMEAS, NamedNode(WIKIDATA_ENTITY + raw), path + ("id",))

    def _community(self, item, path):
        G = self.g_garden
        c = self._item(item, path, ("id", "label", "source", "confidence"), "id")
        if c is None:
            return
        seg = self._segment(c.get("id"), path + ("id",) if isinstance(item, dict) else path, "community id")
        if seg is None:
            return
        community = self.lib.community(seg)
        node = self.lib.node(self.slug, self._fragment(f"community-{seg}"))
        self._emit(self.P, _P["memberOf"], community, G, path)
        self._emit(self.P, _P["communityMembership"], node, G, path)
        self._emit(node, A, _P["CommunityMembership"], G, path)
        self._emit(node, _P["community"], community, G, path)
        self._emit(node, _P["confidence"], v.decimal(c.get("confidence"), path + ("confidence",), self._warn,
                                                       low=0, high=1), G, path + ("confidence",))
        if c.get("source") is not None:
            self._emit(node, _P["communitySource"], self._concept("community-source", c["source"],
                                                                   path + ("source",)), G, path + ("source",))
        self._describe(community, A, _P["Community"], path)
        self._describe(community, SKOS_SCHEME, self.s_communities, path)
        self._describe(community, SKOS_PREF, v.text(c.get("label"), path + ("label",), self._warn), path + ("label",))

    def _inferred_link(self, item, path):
        G = self.g_garden
        link = self._item(item, path, ("target", "type", "confidence", "strength", "reason"), "target")
        if link is None:
            return
        token = self._target(link.get("target"), path + ("target",))
        if token is None:
            return
        kind = link.get("type")
        kind_text = kind if isinstance(kind, str) and is_safe_segment(kind) else "untyped"
        target = self.lib.pattern(token)
        node = self.lib.node(self.slug, self._fragment(f"inferred-{kind_text}-{token}"))
        self._emit(self.P, _P["inferredLink"], target, G, path)
        self._emit(self.P, _P["qualifiedInferredLink"], node, G, path)
        self._emit(node, A, _P["InferredLink"], G, path)
        self._emit(node, _P["target"], target, G, path + ("target",))
        self._emit(node, _P["kindName"], v.text(kind, path + ("type",), self._warn), G, path + ("type",))
        if kind in _KIND:
            self._emit(node, _P["relationshipKind"], _KIND[kind], G, path + ("type",))
        key = "confidence" if "confidence" in link else "strength"
        self._emit(node, _P["confidence"], v.decimal(link.get(key), path + (key,), self._warn, low=0, high=1), G,
                   path + (key,))
        self._emit(node, _P["reason"], v.text(link.get("reason"), path + ("reason",), self._warn), G,
                   path + ("reason",))
        self.inferred_nodes.append((_KIND.get(kind) if isinstance(kind, str) else None, token, node, path))

    def _backing(self) -> bool:
        """``link pkg:backedBy rel`` for each inferred link of this pattern that one of its curated
        relationships backs: same target, and the same kind, or any kind when the link's type names
        no known kind. Targets are compared as written; returns True when one of them is a pat_ id
        (it may name the same pattern as a slug does, which only the whole library tells)."""
        curated: dict[str, list[tuple[NamedNode, NamedNode]]] = {}
        for kind, token, node in self.curated_nodes:
            curated.setdefault(token, []).append((kind, node))
        for kind, token, node, path in self.inferred_nodes:
            for curated_kind, rel in curated.get(token, ()):
                if kind is None or kind == curated_kind:
                    self._emit(node, _P["backedBy"], rel, self.g_garden, path)
        tokens = {t for _, t, _ in self.curated_nodes} | {t for _, t, _, _ in self.inferred_nodes}
        return bool(self.inferred_nodes and self.curated_nodes and tokens & self.id_targets)

    # -- body -----------------------------------------------------------------------------------------

    def _body(self, dialect: str) -> None:
        C, P = self.g_curated, self.P
        body = split_body(self.doc.body, canonical=dialect != "legacy")
        where = ("<body>",)
        # Body fields get file lines too: the body start, and each section's heading line.
        self.doc.lines.setdefault(where, self.doc.body_line)
        for section in body.sections:
            self.doc.lines.setdefault(("<body>", section.heading), self.doc.body_line + section.line - 1)
        if body.preamble:
            self._emit(P, _P["preamble"], Literal(body.preamble), C, where)
        if body.rating_stars is not None:
            self._emit(P, _P["ratingStars"], Literal(str(body.rating_stars), datatype=v.XSD_INTEGER), C, where)
            self._emit(P, _P["ratingLabel"], Literal(body.rating_label) if body.rating_label else None, C, where)
            self._emit(P, _P["ratingNote"], Literal(body.rating_note) if body.rating_note else None, C, where)
        for section in body.sections:
            if section.canonical:
                self._emit(P, pkg(section.canonical), Literal(section.markdown), C, ("<body>", section.heading))
                continue
            node = self.lib.node(self.slug, self._fragment(f"section-{section.position}"))
            at = ("<body>", section.heading)
            self._emit(P, _P["section"], node, C, at)
            self._emit(node, A, _P["Section"], C, at)
            self._emit(node, _P["heading"], Literal(section.heading), C, at)
            self._emit(node, _P["position"], Literal(str(section.position), datatype=v.XSD_INTEGER), C, at)
            self._emit(node, _P["markdown"], Literal(section.markdown), C, at)


_HANDLERS = {
    "id": Mapper._id, "slug": Mapper._slug, "title": Mapper._title, "aliases": Mapper._aliases,
    "summary": Mapper._summary, "context_labels": Mapper._context_labels, "ontology": Mapper._ontology,
    "lifecycle": Mapper._lifecycle, "relationships": Mapper._relationships, "graph_garden": Mapper._graph_garden,
    "contributors": Mapper._contributors, "sources": Mapper._sources, "license": Mapper._license,
    "attribution": Mapper._attribution,
    # the older dialect
    "page_url": Mapper._links(SCHEMA_URL), "github_url": Mapper._links(_P["sourceDocument"]),
    "repository": Mapper._links(_P["repository"]), "version": Mapper._version,
    "created": Mapper._dates(DC["created"]), "modified": Mapper._dates(DC["modified"]),
    "last_updated": Mapper._dates(_P["lastUpdated"]), "classification": Mapper._classification,
    "confidence_score": Mapper._confidence_score, "provenance": Mapper._provenance,
    "commons_domain": Mapper._commons_domain, "commons_alignment": Mapper._commons_alignment,
    "author": Mapper._author,
    **{kind: Mapper._legacy_list(kind) for kind in ("generalizes_from", "specializes_to", "enables", "requires",
                                                    "related")},
    # the commons.engineering site
    "type": Mapper._type, "collection": Mapper._collections, "collection_ring": Mapper._rings,
    "7cs_arc": Mapper._arc, "aliases_list": Mapper._aliases, "tags": Mapper._tags, "domain": Mapper._top_domain,
    "universality": Mapper._universality, "vitality_score": Mapper._vitality_score,
    "orbital_layer": Mapper._orbital_layer,
}
assert set(_HANDLERS) == V71_KEYS | LEGACY_KEYS | ENGINEERING_KEYS
