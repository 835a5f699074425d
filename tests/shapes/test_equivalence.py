"""Both engines find exactly what one pySHACL run of the whole shapes file over the whole,
unreduced graph finds: the pySHACL engine (reduced, chunked data graph + SPARQL constraints in
Oxigraph) and the Oxigraph engine (SHACL Core compiled to SPARQL + the same SPARQL constraints)."""

from __future__ import annotations

from pathlib import Path

import pyshacl
import pytest
import rdflib
from pyoxigraph import RdfFormat, serialize

from patternkg.converter.api import convert
from patternkg.converter.namespaces import Library
from patternkg.shapes.shapes_graph import load_shapes
from patternkg.shapes.shacl_sparql import run_checks
from patternkg.shapes.validation import (
    _to_rdflib, findings_from_report, reduced_chunks, run_core, run_sparql,
)

HERE = Path(__file__).resolve().parent
SEED = HERE.parent.parent / "seeds"
MIXED = ["duplicate-id", "duplicate-slug", "inverse-one-sided", "overall-score", "self-link", "legacy-dialect",
         "inferred-type-value", "inferred-type-missing", "v71-missing-section", "v71-missing-field",
         "weight-range", "date-format", "entity-type-value", "slug-file-name", "unresolved-target"]


def _key(f):
    return (f.focus, f.path, f.value, f.shape, f.component, f.severity)


def _reference(store, shapes):
    graph = rdflib.Graph()
    for quad in store:
        graph.add((_to_rdflib(quad.subject), _to_rdflib(quad.predicate), _to_rdflib(quad.object)))
    _c, report, _t = pyshacl.validate(graph, shacl_graph=shapes.graph, allow_infos=True, allow_warnings=True)
    return {_key(f) for f in findings_from_report(report, shapes)}


def _fast(store, shapes, parts):
    digests: dict[str, str] = {}
    findings = []
    for chunk in reduced_chunks(store, Library(), shapes, parts, None, digests):
        findings += run_core(chunk)
    findings += run_sparql(store, shapes)
    return {(f.focus, f.path, digests.get(f.value, f.value), f.shape, f.component, f.severity) for f in findings}


def _oxigraph(store, shapes):
    return {_key(f) for f in run_checks(store, shapes) + run_sparql(store, shapes)}


@pytest.mark.parametrize("name", MIXED)
def test_fast_engine_equals_full_pyshacl(name):
    shapes = load_shapes()
    store = convert(sources=[HERE / "cases" / name / "fail"], track=True).store
    reference = _reference(store, shapes)
    assert reference, "the failing case must produce results"
    assert _fast(store, shapes, parts=2) == reference
    assert _oxigraph(store, shapes) == reference


def test_fast_engine_equals_full_pyshacl_on_seed():
    shapes = load_shapes()
    store = convert(sources=[SEED], track=True).store
    reference = _reference(store, shapes)
    assert len(reference) == 23  # 11 unresolved curated targets, 12 unresolved inferred ones
    assert _fast(store, shapes, parts=1) == reference
    assert _oxigraph(store, shapes) == reference


def test_reduced_graph_is_smaller_and_digests_long_literals():
    shapes = load_shapes()
    store = convert(sources=[SEED], track=True).store
    digests: dict[str, str] = {}
    (chunk,) = reduced_chunks(store, Library(), shapes, 1, None, digests)
    full = serialize([q.triple for q in store], format=RdfFormat.N_TRIPLES)
    assert len(chunk) < len(full) - 15000  # the seed's body text is no longer there
    assert b"Signs of life" not in chunk
    assert digests and all(len(text) > 64 for text in digests.values())
