"""The SHACL shapes of patternkg: where they are, and what the engine needs to know about them.

Contract: :func:`shapes_path` is the Turtle file other SHACL engines can read;
:func:`load_shapes` parses it once per process and returns a :class:`Shapes`
that splits it into the *core* shapes graph (SHACL Core, run by pySHACL), the
SHACL-SPARQL constraints (run as whole-graph queries, see
:mod:`~patternkg.shapes.validation`), the predicates the shapes look at (the
reduced data graph keeps only those), and for every shape a stable name, the
YAML field it is about and a fix hint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

import rdflib
from rdflib import RDF, RDFS, Graph, URIRef

SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
PKS = rdflib.Namespace("https://w3id.org/patternkg/shapes#")
SHAPES_FILE = "patternkg-shapes.ttl"


def shapes_path() -> Path:
    """Path of the bundled shapes file (``shapes/patternkg-shapes.ttl``)."""
    return Path(str(resources.files("patternkg.shapes") / SHAPES_FILE))


@dataclass(frozen=True)
class ShapeInfo:
    name: str  # stable across processes: "PatternShape/identifier", "DuplicateIdShape"
    field: str | None  # YAML field the shape is about (pks:field), if declared
    fix: str | None
    message: str | None
    severity: str  # "violation" | "warning" | "info"


@dataclass(frozen=True)
class Finding:
    """One raw SHACL result (terms as plain strings: IRI or lexical form), before source mapping."""

    focus: str
    path: str | None
    value: str | None
    shape: str  # ShapeInfo.name
    component: str  # local name of the constraint component
    severity: str
    message: str


@dataclass(frozen=True)
class SparqlConstraint:
    shape: ShapeInfo
    target_classes: tuple[str, ...]
    query: str  # the sh:select text, prefixes resolved by the caller
    prefixes: dict[str, str]


@dataclass
class Shapes:
    graph: Graph  # the whole shapes graph
    core: Graph  # the same without SHACL-SPARQL shapes
    sparql: list[SparqlConstraint]
    info: dict[rdflib.term.Node, ShapeInfo]  # shape node -> info (property and node shapes)
    predicates: set[str] | None  # predicates the data graph must keep; None = keep all
    classes: set[str] = field(default_factory=set)
    #: predicates whose literal values no shape reads (only datatype/nodeKind/counts)
    opaque: set[str] = field(default_factory=set)
    #: predicate -> YAML field (pks:field of the property shapes on it, when they all name the same one;
    #: pkg:dialect is not here: each dialect's shape names the field that marks that dialect)
    field_by_path: dict[str, str] = field(default_factory=dict)

    @cached_property
    def info_by_name(self) -> dict[str, ShapeInfo]:
        """Shape name -> info (the name a :class:`Finding` carries)."""
        return {i.name: i for i in self.info.values()}


def _local(term) -> str:
    text = str(term)
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _severity(graph: Graph, *nodes) -> str:
    for node in nodes:
        value = graph.value(node, SH.severity)
        if value is not None:
            return _local(value).lower()
    return "violation"


@lru_cache(maxsize=4)
def load_shapes(path: str | None = None) -> Shapes:
    """Parse the shapes file (default: the bundled one); cached per process."""
    graph = Graph().parse(path or shapes_path(), format="turtle")
    info: dict = {}
    keep: set[str] | None = {str(RDF.type), str(RDFS.subClassOf)}
    classes: set[str] = set()
    value_blind = {SH.path, SH.datatype, SH.minCount, SH.maxCount, SH.nodeKind, SH.message, SH.severity,
                   PKS.field, PKS.fix}
    opaque: dict[str, bool] = {}
    fields_of_path: dict[str, set[str]] = {}
    for shape in sorted(set(graph.subjects(RDF.type, SH.NodeShape)), key=str):
        base = _local(shape)
        shape_field = graph.value(shape, PKS.field)
        info[shape] = ShapeInfo(base, str(shape_field) if shape_field else None,
                                _str(graph.value(shape, PKS.fix)), None, _severity(graph, shape))
        classes |= {str(c) for c in graph.objects(shape, SH.targetClass)}
        seen: dict[str, int] = {}
        for prop in sorted(graph.objects(shape, SH.property), key=lambda n: graph.value(n, SH.path) or ""):
            path = graph.value(prop, SH.path)
            if isinstance(path, URIRef):
                if keep is not None:
                    keep.add(str(path))
                blind = all(p in value_blind for p in graph.predicates(prop, None))
                opaque[str(path)] = opaque.get(str(path), True) and blind
                if graph.value(prop, PKS.field) is not None:
                    fields_of_path.setdefault(str(path), set()).add(str(graph.value(prop, PKS.field)))
            else:
                keep = None  # a complex path: keep every triple (conservative)
            name = f"{base}/{_local(path)}"
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name += f"#{seen[name]}"
            info[prop] = ShapeInfo(name, _str(graph.value(prop, PKS.field)), _str(graph.value(prop, PKS.fix)),
                                   _str(graph.value(prop, SH.message)), _severity(graph, prop, shape))
    core = Graph()
    for prefix, namespace in graph.namespaces():  # generic messages name terms by the file's prefixes
        core.bind(prefix, namespace, override=True, replace=True)
    sparql: list[SparqlConstraint] = []
    sparql_shapes = set(graph.subjects(SH.sparql, None))
    for triple in graph:
        if triple[0] not in sparql_shapes:
            core.add(triple)
    for shape in sorted(sparql_shapes, key=str):
        for constraint in graph.objects(shape, SH.sparql):
            prefixes = _prefixes(graph, graph.value(constraint, SH.prefixes))
            base = info[shape]
            shape_info = ShapeInfo(base.name, base.field, base.fix,
                                   _str(graph.value(constraint, SH.message)), base.severity)
            sparql.append(SparqlConstraint(shape_info, tuple(sorted(str(c) for c in graph.objects(shape, SH.targetClass))),
                                           str(graph.value(constraint, SH.select)), prefixes))
    field_by_path = {path: next(iter(fields)) for path, fields in fields_of_path.items() if len(fields) == 1}
    return Shapes(graph, core, sparql, info, keep, classes, {p for p, o in opaque.items() if o}, field_by_path)


def _str(value) -> str | None:
    return str(value) if value is not None else None


def _prefixes(graph: Graph, owner) -> dict[str, str]:
    out: dict[str, str] = {}
    if owner is None:
        return out
    for decl in graph.objects(owner, SH.declare):
        out[str(graph.value(decl, SH.prefix))] = str(graph.value(decl, SH.namespace))
    return out


__all__ = ["SH", "PKS", "Finding", "Shapes", "ShapeInfo", "SparqlConstraint", "load_shapes", "shapes_path"]
