"""SHACL Core shapes compiled to SPARQL and run in Oxigraph: the fast validation engine.

Contract of :func:`compile_core`: every constraint of every node shape in the core
shapes graph (see :class:`~.shapes_graph.Shapes`) becomes one :class:`Check`, a SPARQL
SELECT returning ``?this`` (the focus node) and, for value-level constraints,
``?value`` for each violation, plus what a result needs (source shape name,
constraint component, path, severity, message). The queries are generated from the
shapes graph, never written per shape. The compiler accepts exactly the SHACL
features listed in :data:`SUPPORTED`; anything else in the shapes graph (another
constraint component, a non-predicate path, a property shape outside a node
shape, ...) raises :class:`UnsupportedShape` when the shapes are compiled, so the
shapes and this compiler cannot drift apart silently.

Contract of :func:`run_checks`: runs the checks on a pyoxigraph store and returns
the same :class:`~.shapes_graph.Finding` records pySHACL gives for those shapes on the
same graph (focus, path, value, source shape, component, severity, message;
``tests/shapes/test_engines.py`` proves it). With *focus*, only those focus nodes
are checked (a ``VALUES`` clause): the ``--only`` case.

Semantics follow pySHACL where SHACL leaves room: a datatype check accepts a
literal when rdflib can read its lexical form as the datatype (SPARQL pre-selects
the values that are not surely valid, Python rechecks them with rdflib); range
checks fail on values that do not compare; ``sh:pattern`` uses Python's ``$``
(end, or before a final newline); property shapes do not inherit the severity of
their node shape. Messages are ``sh:message`` or pySHACL's generic text for the
component, with terms written as pySHACL writes them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

import rdflib
from pyoxigraph import Literal as OxLiteral
from pyoxigraph import NamedNode, Store
from rdflib import RDF, RDFS, XSD, BNode, Graph, URIRef
from rdflib.namespace import NamespaceManager

from patternkg.shapes.shapes_graph import PKS, SH, Finding, Shapes

RDF_LANGSTRING = RDF.langString


class UnsupportedShape(ValueError):
    """The shapes graph uses a SHACL feature the compiler does not implement."""


#: sh: predicates the compiler understands (constraint parameters, targets, annotations,
#: and the SHACL-SPARQL vocabulary, whose constraints run in :mod:`~.validation`).
SUPPORTED = {SH[n] for n in (
    "targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf", "property", "path",
    "minCount", "maxCount", "datatype", "nodeKind", "pattern", "flags", "minInclusive", "maxInclusive",
    "minExclusive", "maxExclusive", "in", "class", "hasValue", "minLength", "maxLength", "or",
    "message", "severity", "name", "description", "order", "group",
    "sparql", "select", "prefixes", "declare", "prefix", "namespace")}
#: predicates of a property shape that are not constraints
_PROPERTY_META = {SH.path, SH.message, SH.severity, SH.name, SH.description, SH.order, SH.group, SH.flags,
                  PKS.field, PKS.fix, RDF.type}
_NODE_META = {SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.property, SH.sparql,
              SH.message, SH.severity, SH.name, SH.description, PKS.field, PKS.fix, RDF.type, RDFS.label,
              RDFS.comment}
_VALUE_COMPONENTS = {SH.datatype: "Datatype", SH.nodeKind: "NodeKind", SH.pattern: "Pattern",
                     SH.minInclusive: "MinInclusive", SH.maxInclusive: "MaxInclusive",
                     SH.minExclusive: "MinExclusive", SH.maxExclusive: "MaxExclusive", SH["in"]: "In",
                     SH["class"]: "Class", SH.minLength: "MinLength", SH.maxLength: "MaxLength",
                     SH["or"]: "Or"}
_NODE_KINDS = {SH.IRI: "isIRI({v})", SH.BlankNode: "isBlank({v})", SH.Literal: "isLiteral({v})",
               SH.BlankNodeOrIRI: "(isBlank({v}) || isIRI({v}))", SH.BlankNodeOrLiteral: "(isBlank({v}) || isLiteral({v}))",
               SH.IRIOrLiteral: "(isIRI({v}) || isLiteral({v}))"}
# Lexical forms rdflib surely reads as the datatype; other values of the datatype are rechecked.
_SURELY_VALID = {
    XSD.integer: r"^[+-]?[0-9]+$",
    XSD.decimal: r"^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)$",
    XSD.date: r"^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$",
    XSD.dateTime: r"^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
                  r"(\\.[0-9]{1,6})?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])?$",
    XSD.boolean: r"^(true|false)$",
}
_INSTANCE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>/<http://www.w3.org/2000/01/rdf-schema#subClassOf>*"


@dataclass(frozen=True)
class Check:
    """One compiled constraint: a query and what each of its rows becomes."""

    shape: str  # ShapeInfo name of the property shape
    component: str  # e.g. "MinCountConstraintComponent"
    path: str
    severity: str
    query: str  # contains "#VALUES#" where a focus restriction goes
    message: str | None  # sh:message, or None for pySHACL's generic message
    generic: Callable[[rdflib.term.Node, rdflib.term.Node | None], str]
    conforms: Callable[[rdflib.term.Node], bool] | None = None  # exact check of the rows SPARQL returns
    has_value: bool = True


# -- terms and messages as pySHACL writes them ------------------------------------------------------

def _data_namespaces() -> NamespaceManager:
    manager = Graph().namespace_manager
    manager.bind("sh", SH, override=False, replace=False)
    return manager


def _stringify(node, manager: NamespaceManager) -> str:
    """pySHACL's ``stringify_node`` for IRIs and literals."""
    if isinstance(node, rdflib.Literal):
        value = None if node.value is None else str(node.value)
        if value is not None and " object at 0x" in value:
            value = value[:value.find(" object at 0x")]
        lexical = str(node)
        text = f'"{lexical}" = {value}' if value is not None and value != lexical else f'"{lexical}"'
        lang = f", lang={node.language}" if node.language else ""
        datatype = f", datatype={_stringify(node.datatype, manager)}" if node.datatype else ""
        return f"Literal({text}{lang}{datatype})"
    if isinstance(node, URIRef):
        try:
            return node.n3(namespace_manager=manager)
        except Exception:  # noqa: BLE001 - as pySHACL does
            return str(node)
    return str(node)


def to_rdflib(term):
    """A pyoxigraph term as the rdflib term pySHACL would see (plain literals for xsd:string)."""
    if isinstance(term, NamedNode):
        return URIRef(term.value)
    if isinstance(term, OxLiteral):
        if term.language:
            return rdflib.Literal(term.value, lang=term.language)
        if term.datatype.value == str(XSD.string):
            return rdflib.Literal(term.value)
        return rdflib.Literal(term.value, datatype=URIRef(term.datatype.value))
    return BNode(term.value)


def _sparql(node) -> str:
    """An rdflib term in SPARQL syntax."""
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, rdflib.Literal):
        text = _string(str(node))
        if node.language:
            return f"{text}@{node.language}"
        return f"{text}^^<{node.datatype or XSD.string}>"
    raise UnsupportedShape(f"blank node {node} as a constraint parameter")


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


def _python_dollar(pattern: str) -> str:
    """Python's ``$`` (end or before a final newline) for an engine whose ``$`` is the end only."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
        elif c == "]" and in_class:
            in_class = False
        elif c == "$" and not in_class:
            c = "(?:\\n)?$"
        out.append(c)
        i += 1
    return "".join(out)


# -- value-level constraints: a SPARQL "conforms" expression and, when needed, a Python recheck ---------

_quiet = logging.getLogger("rdflib.term")


def _datatype_ok(value, datatype: URIRef) -> bool:
    """pySHACL's DatatypeConstraintComponent on one rdflib value."""
    if not isinstance(value, rdflib.Literal):
        return False
    if value.datatype == datatype:
        if getattr(value, "ill_typed", None) is True:
            return False
        return _actual(value.value, datatype)
    if datatype == RDFS.Literal:
        return True
    if datatype == RDFS.Datatype and value.datatype:
        return True
    if value.datatype is None and value.language is None and datatype == XSD.string:
        return isinstance(value.value, (str, bytes))
    if datatype == RDF_LANGSTRING and value.language:
        return isinstance(value.value, (str, bytes))
    return False


def _actual(value, datatype: URIRef) -> bool:
    kinds = {XSD.string: (str, bytes), RDF_LANGSTRING: (str, bytes), XSD.integer: int, XSD.float: float,
             XSD.decimal: Decimal, XSD.boolean: bool, XSD.date: date, XSD.time: time, XSD.dateTime: datetime}
    return isinstance(value, kinds[datatype]) if datatype in kinds else True


def _value_constraint(graph: Graph, param, obj, v: str, flags: str | None):
    """(SPARQL expression true when ?v surely conforms, exact Python check or None)."""
    if param == SH.datatype:
        if obj in (XSD.string, RDF_LANGSTRING):
            return f"(isLiteral({v}) && datatype({v}) = <{obj}>)", None
        regex = _SURELY_VALID.get(obj)
        sure = f" && REGEX(STR({v}), \"{regex}\")" if regex else " && false"
        return f"(isLiteral({v}) && datatype({v}) = <{obj}>{sure})", lambda value: _datatype_ok(value, obj)
    if param == SH.nodeKind:
        if obj not in _NODE_KINDS:
            raise UnsupportedShape(f"sh:nodeKind {obj}")
        return _NODE_KINDS[obj].format(v=v), None
    if param == SH.pattern:
        flag = f", {_string(flags)}" if flags else ""
        return f"(!isBlank({v}) && REGEX(STR({v}), {_string(_python_dollar(str(obj)))}{flag}))", None
    if param in (SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive):
        op = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">", SH.maxExclusive: "<"}[param]
        return f"(!isBlank({v}) && COALESCE({v} {op} {_sparql(obj)}, false))", None
    if param in (SH.minLength, SH.maxLength):
        op = ">=" if param == SH.minLength else "<="
        if param == SH.minLength and int(obj) == 0:
            return "true", None
        return f"(!isBlank({v}) && STRLEN(STR({v})) {op} {int(obj)})", None
    if param == SH["in"]:
        items = list(rdflib.collection.Collection(graph, obj))
        return "(" + (" || ".join(f"sameTerm({v}, {_sparql(i)})" for i in items) or "false") + ")", None
    if param == SH["class"]:
        return f"EXISTS {{ {v} {_INSTANCE} <{obj}> }}", None
    if param == SH["or"]:
        members = []
        for member in rdflib.collection.Collection(graph, obj):
            pairs = [(p, o) for p, o in graph.predicate_objects(member) if p != RDF.type]
            if not pairs or any(p not in (SH.datatype, SH.nodeKind, SH["in"], SH.pattern) for p, _o in pairs):
                raise UnsupportedShape(f"sh:or member with {sorted(str(p) for p, _o in pairs)}")
            members.append(pairs)
        sparql = " || ".join("(" + " && ".join(_value_constraint(graph, p, o, v, None)[0] for p, o in pairs) + ")"
                             for pairs in members)
        exact = [[_exact_for(graph, p, o) for p, o in pairs] for pairs in members]
        return f"({sparql})", lambda value: any(all(c(value) for c in checks) for checks in exact)
    raise UnsupportedShape(f"constraint {param}")


def _exact_for(graph: Graph, param, obj) -> Callable[[rdflib.term.Node], bool]:
    """A Python check for the constraints allowed inside sh:or (their SPARQL form is exact)."""
    if param == SH.nodeKind:
        kinds = {SH.IRI: (URIRef,), SH.BlankNode: (BNode,), SH.Literal: (rdflib.Literal,),
                 SH.BlankNodeOrIRI: (BNode, URIRef), SH.BlankNodeOrLiteral: (BNode, rdflib.Literal),
                 SH.IRIOrLiteral: (URIRef, rdflib.Literal)}[obj]
        return lambda value: isinstance(value, kinds)
    if param == SH.datatype:
        return lambda value: _datatype_ok(value, obj)
    if param == SH["in"]:
        items = set(rdflib.collection.Collection(graph, obj))
        return lambda value: value in items
    if param == SH.pattern:
        compiled = re.compile(str(obj))
        return lambda value: not isinstance(value, BNode) and compiled.search(str(value)) is not None
    raise UnsupportedShape(f"{param} inside sh:or")


# -- the compiler ---------------------------------------------------------------------------------------

def _severity(graph: Graph, shape) -> str:
    value = graph.value(shape, SH.severity)
    return str(value).rsplit("#", 1)[-1].lower() if value is not None else "violation"


def _one(graph: Graph, subject, predicate):
    values = list(graph.objects(subject, predicate))
    if len(values) > 1:
        raise UnsupportedShape(f"{subject}: several {predicate} (only one per shape is supported)")
    return values[0] if values else None


def _targets(graph: Graph, shape) -> str | None:
    """A group pattern binding ?this to the focus nodes of *shape* (None: no target)."""
    parts = [f"?this {_INSTANCE} <{c}> ." for c in sorted(graph.objects(shape, SH.targetClass))]
    parts += [f"VALUES ?this {{ {_sparql(n)} }}" for n in sorted(graph.objects(shape, SH.targetNode))]
    parts += [f"?this <{p}> ?_t ." for p in sorted(graph.objects(shape, SH.targetSubjectsOf))]
    parts += [f"?_t <{p}> ?this ." for p in sorted(graph.objects(shape, SH.targetObjectsOf))]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return " UNION ".join(f"{{ {p} }}" for p in parts)


def _check_vocabulary(graph: Graph) -> None:
    """Every sh: term used as a predicate is one the compiler implements; shapes are where it expects."""
    for predicate in set(graph.predicates()):
        if str(predicate).startswith(str(SH)) and predicate not in SUPPORTED:
            raise UnsupportedShape(f"{predicate} is not supported by the Oxigraph engine "
                                   "(use --engine pyshacl, or teach shapes/shacl_sparql.py)")
    owned = set(graph.objects(None, SH.property))
    owned |= {m for lst in graph.objects(None, SH["or"]) for m in rdflib.collection.Collection(graph, lst)}
    for shape in set(graph.subjects(SH.path, None)):
        if shape not in owned:
            raise UnsupportedShape(f"property shape {shape} outside a node shape")


_COMPILED: dict[int, tuple[Shapes, list[Check]]] = {}


def compile_core(shapes: Shapes) -> list[Check]:
    """The checks of every SHACL Core constraint in *shapes* (cached per Shapes object)."""
    cached = _COMPILED.get(id(shapes))
    if cached is not None and cached[0] is shapes:
        return cached[1]
    graph = shapes.core
    _check_vocabulary(graph)
    node_shapes = set(graph.subjects(RDF.type, SH.NodeShape))
    node_shapes |= {s for p in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
                    for s in graph.subjects(p, None)}
    checks: list[Check] = []
    for shape in sorted(node_shapes, key=str):
        extra = set(graph.predicates(shape, None)) - _NODE_META
        if extra:
            raise UnsupportedShape(f"{shape}: node-level {sorted(map(str, extra))} not supported")
        if (shape, RDF.type, SH.PropertyShape) in graph:
            raise UnsupportedShape(f"{shape}: a property shape with targets")
        targets = _targets(graph, shape)
        if targets is None:
            continue
        for prop in sorted(graph.objects(shape, SH.property), key=lambda n: str(graph.value(n, SH.path))):
            checks += _compile_property(graph, shapes, prop, targets)
    _COMPILED[id(shapes)] = (shapes, checks)
    return checks


def _compile_property(graph: Graph, shapes: Shapes, prop, targets: str) -> list[Check]:
    path = _one(graph, prop, SH.path)
    if not isinstance(path, URIRef):
        raise UnsupportedShape(f"sh:path {path!r}: only predicate paths are supported")
    info = shapes.info[prop]
    severity = _severity(graph, prop)
    message = _one(graph, prop, SH.message)
    message = str(message) if message is not None else None
    flags = _one(graph, prop, SH.flags)
    sg = graph_namespaces(shapes)
    p_text = _stringify(path, sg)
    out: list[Check] = []

    def add(component: str, query: str, generic, conforms=None, has_value=True):
        out.append(Check(info.name, f"{component}ConstraintComponent", str(path), severity, query, message,
                         generic, conforms, has_value))

    # Value and maxCount checks scan the predicate first and test the target only on violations
    # (a class-membership test per value is what costs); minCount and hasValue subtract the
    # focus nodes that have the value (MINUS is a hash anti-join).
    for param in sorted(set(graph.predicates(prop, None)) - _PROPERTY_META, key=str):
        obj = _one(graph, prop, param)
        if param == SH.minCount:
            n = int(obj)
            if n <= 0:
                continue
            text = f"Less than {obj.value} values on {{}}->{p_text}"
            if n == 1:
                query = f"SELECT DISTINCT ?this WHERE {{ #VALUES# {targets} MINUS {{ ?this <{path}> ?_v }} }}"
            else:
                query = (f"SELECT ?this WHERE {{ #VALUES# {{ SELECT DISTINCT ?this WHERE {{ {targets} }} }} "
                         f"OPTIONAL {{ ?this <{path}> ?_v }} }} GROUP BY ?this HAVING (COUNT(DISTINCT ?_v) < {n})")
            add("MinCount", query, _focus_message(text), has_value=False)
        elif param == SH.maxCount:
            text = f"More than {obj.value} values on {{}}->{p_text}"
            query = (f"SELECT ?this WHERE {{ {{ SELECT ?this WHERE {{ #VALUES# ?this <{path}> ?_v }} GROUP BY ?this "
                     f"HAVING (COUNT(DISTINCT ?_v) > {int(obj)}) }} FILTER EXISTS {{ {targets} }} }}")
            add("MaxCount", query, _focus_message(text), has_value=False)
        elif param == SH.hasValue:
            text = f"Node {{}}->{p_text} does not contain a value in the set: {[_stringify(obj, sg)]}"
            query = f"SELECT DISTINCT ?this WHERE {{ #VALUES# {targets} MINUS {{ ?this <{path}> {_sparql(obj)} }} }}"
            add("HasValue", query, _focus_message(text), has_value=False)
        elif param in _VALUE_COMPONENTS:
            if param == SH["or"] and message is None:
                raise UnsupportedShape(f"{info.name}: sh:or needs an sh:message for the Oxigraph engine")
            sure, conforms = _value_constraint(graph, param, obj, "?value", str(flags) if flags else None)
            query = (f"SELECT ?this ?value WHERE {{ #VALUES# ?this <{path}> ?value . "
                     f"FILTER (!{sure} && EXISTS {{ {targets} }}) }}")
            add(_VALUE_COMPONENTS[param], query, _value_message(graph, param, obj, sg), conforms)
        else:
            raise UnsupportedShape(f"{info.name}: {param} is not supported")
    return out


def graph_namespaces(shapes: Shapes) -> NamespaceManager:
    manager = shapes.graph.namespace_manager
    manager.bind("sh", SH, override=False, replace=False)
    return manager


_DATA_NS: NamespaceManager | None = None


def _data_ns() -> NamespaceManager:
    global _DATA_NS
    if _DATA_NS is None:
        _DATA_NS = _data_namespaces()
    return _DATA_NS


def _focus_message(template: str):
    return lambda focus, _value: template.format(_stringify(focus, _data_ns()))


def _value_message(graph: Graph, param, obj, sg: NamespaceManager):
    """pySHACL's generic message of a value-level component."""
    if param == SH.datatype:
        text = f"Value is not Literal with datatype {_stringify(obj, sg)}"
    elif param == SH.nodeKind:
        text = f"Value is not of Node Kind {_stringify(obj, sg)}"
    elif param == SH.pattern:
        text = f"Value does not match pattern '{obj.value}'"
    elif param == SH["class"]:
        text = f"Value does not have class {_stringify(obj, sg)}"
    elif param in (SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive):
        op = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">", SH.maxExclusive: "<"}[param]
        text = f"Value is not {op} {_stringify(obj, sg)}"
    elif param in (SH.minLength, SH.maxLength):
        text = f"String length not {'>=' if param == SH.minLength else '<='} {_stringify(obj, _data_ns())}"
    elif param == SH["in"]:
        items = [_stringify(i, sg) for i in rdflib.collection.Collection(graph, obj)]
        return lambda _focus, value: f"Value {_stringify(value, _data_ns())} not in list {items}"
    else:
        text = ""
    return lambda _focus, _value: text


# -- running ----------------------------------------------------------------------------------------------

def _values(focus: Iterable[str] | None) -> str:
    if focus is None:
        return ""
    return "VALUES ?this { " + " ".join(f"<{iri}>" for iri in sorted(focus)) + " }"


def run_checks(store: Store, shapes: Shapes, focus: Iterable[str] | None = None) -> list[Finding]:
    """Every compiled check on *store*; with *focus* (IRIs), only those focus nodes."""
    values = _values(focus)
    # Without rdfs:subClassOf triples in the data, instances of C are exactly the subjects of
    # "?x rdf:type C": the (costlier) property path is then left out.
    plain = not store.query("ASK { ?a <http://www.w3.org/2000/01/rdf-schema#subClassOf> ?b }")
    out: list[Finding] = []
    disabled = _quiet.disabled
    _quiet.disabled = True  # rdflib logs every ill-typed literal it is asked to read
    try:
        for check in compile_core(shapes):
            query = check.query.replace("#VALUES#", values)
            if plain:
                query = query.replace(_INSTANCE, "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>")
            for row in store.query(query):
                term = row[1] if check.has_value else None
                value = to_rdflib(term) if term is not None else None
                if check.conforms is not None and check.conforms(value):
                    continue
                focus_term = to_rdflib(row[0])
                message = check.message if check.message is not None else check.generic(focus_term, value)
                out.append(Finding(str(focus_term), check.path, str(value) if value is not None else None,
                                   check.shape, check.component, check.severity, message))
    finally:
        _quiet.disabled = disabled
    return out


__all__ = ["Check", "SUPPORTED", "UnsupportedShape", "compile_core", "run_checks", "to_rdflib"]
