"""The Oxigraph engine (SHACL Core compiled to SPARQL) gives exactly pySHACL's results.

Compared on every shape case (passing and failing input), the seed and a 100-file
sample of the shared corpus: first the raw findings of the SHACL Core shapes (focus,
path, value, severity, source shape, component, message) against pySHACL run on the
whole, unreduced graph; then the reported results of ``validate(engine=...)``.
Also: ``--only FILE`` gives exactly the whole-library results that name FILE, and a
shapes file with a feature the compiler does not implement fails at start-up.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyshacl
import pytest
import rdflib

from patternkg.converter.api import convert
from patternkg.shapes.shacl_sparql import UnsupportedShape, compile_core, run_checks, to_rdflib
from patternkg.shapes.shapes_graph import load_shapes, shapes_path
from patternkg.shapes.validation import findings_from_report, validate_library

HERE = Path(__file__).resolve().parent
SEED = HERE.parent.parent / "seeds"
CASES = sorted(p for p in (HERE / "cases").iterdir() if p.is_dir())
_IN_LIST = re.compile(r"^(Value .* not in list )\[(.*)\]$")


def _key(f) -> tuple:
    message = f.message
    match = _IN_LIST.match(message)
    if match and f.component == "InConstraintComponent":  # pySHACL lists sh:in values in set order
        message = match.group(1) + str(sorted(match.group(2).split(", ")))
    return (f.focus, f.path, f.value, f.severity, f.shape, f.component, message)


def _pyshacl_core(store, shapes) -> set[tuple]:
    graph = rdflib.Graph()
    for quad in store:
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    _c, report, _t = pyshacl.validate(graph, shacl_graph=shapes.core, allow_infos=True, allow_warnings=True)
    return {_key(f) for f in findings_from_report(report, shapes)}


def _compare(sources) -> set[tuple]:
    shapes = load_shapes()
    store = convert(sources=sources, track=True).store
    reference = _pyshacl_core(store, shapes)
    assert {_key(f) for f in run_checks(store, shapes)} == reference
    return reference


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_core_findings_equal_pyshacl_on_every_case(case):
    for side in ("pass", "fail"):
        _compare([case / side])


def test_core_findings_equal_pyshacl_on_the_seed():
    assert _compare([SEED]) == set()  # the seed's only results are SPARQL ones (unresolved targets)


def _sample(corpus_dir: Path, n: int = 100) -> list[Path]:
    files = sorted(corpus_dir.glob("*.md"))
    return files[::max(1, len(files) // n)][:n]


def test_core_findings_equal_pyshacl_on_a_corpus_sample(corpus_dir):
    reference = _compare(_sample(corpus_dir))
    assert len(reference) > 20  # the sample is not clean: the comparison means something


def _rows(validation) -> list[dict]:
    return [r.to_dict() for r in validation.results]


@pytest.mark.parametrize("sources", ["seed", "cases", "sample"])
def test_reported_results_equal_between_engines(sources, request):
    if sources == "seed":
        paths = [SEED]
    elif sources == "cases":
        paths = [c / "fail" for c in CASES]
    else:
        paths = _sample(request.getfixturevalue("corpus_dir"))
    fast = validate_library(sources=paths, engine="oxigraph")
    reference = validate_library(sources=paths, engine="pyshacl")
    assert _rows(fast) == _rows(reference)
    assert fast.results or sources == "seed"


def test_only_equals_the_whole_run_filtered(corpus_validation, corpus_dir):
    names = ["emotional-bid-responsiveness.md"]  # self-link, unresolved targets, shared nodes
    dup = {Path(r.file).name for r in corpus_validation.results if r.shape == "DuplicateIdShape"}
    legacy = sorted(Path(r.file).name for r in corpus_validation.results if r.shape == "LegacyDialectShape/dialect")
    for name in names + sorted(dup)[:1] + legacy[:1]:
        target = corpus_dir / name
        whole = [r.to_dict() for r in corpus_validation.results if r.file == str(target)]
        only = validate_library(sources=[corpus_dir], only=[target])
        assert _rows(only) == whole, name
        assert whole, name


def test_unsupported_constraint_fails_at_start_up(tmp_path):
    text = shapes_path().read_text(encoding="utf-8")
    broken = tmp_path / "shapes.ttl"
    broken.write_text(text.replace("sh:minCount 1 ; sh:maxCount 1 ; sh:datatype xsd:string ; pks:field \"title\"",
                                   "sh:minCount 1 ; sh:uniqueLang true ; sh:datatype xsd:string ; pks:field \"title\"",
                                   1), encoding="utf-8")
    assert "uniqueLang" in broken.read_text(encoding="utf-8")
    with pytest.raises(UnsupportedShape, match="uniqueLang"):
        compile_core(load_shapes(str(broken)))
    with pytest.raises(UnsupportedShape):
        validate_library(sources=[SEED], shapes_file=broken)
    assert validate_library(sources=[SEED], shapes_file=broken, engine="pyshacl").counts()["warning"] == 11


def test_every_core_constraint_of_the_shapes_file_is_compiled():
    shapes = load_shapes()
    checks = compile_core(shapes)
    components = {c.component for c in checks}
    assert components >= {"MinCountConstraintComponent", "MaxCountConstraintComponent",
                          "DatatypeConstraintComponent", "NodeKindConstraintComponent",
                          "PatternConstraintComponent", "InConstraintComponent", "ClassConstraintComponent",
                          "MinInclusiveConstraintComponent", "MaxInclusiveConstraintComponent",
                          "OrConstraintComponent"}
    assert all("?this" in c.query and "#VALUES#" in c.query for c in checks)
