"""The streaming engine (batches of files, a cross-pattern index) gives exactly the results of
one whole-graph validation: the same results, fields, lines, messages and order."""

from __future__ import annotations

from pathlib import Path

import pytest

from patternkg.shapes.locating import FileLocs, where
from patternkg.shapes.shapes_graph import Finding, load_shapes
from patternkg.shapes.streaming import plan_for
from patternkg.shapes.validation import validate_library

HERE = Path(__file__).resolve().parent
CASES = sorted(p for p in (HERE / "cases").iterdir() if p.is_dir())


def _rows(validation) -> list[dict]:
    return [r.to_dict() for r in validation.results]


@pytest.mark.slow
def test_batches_equal_the_whole_graph_on_the_corpus(corpus_dir, corpus_validation):
    whole = validate_library(sources=[corpus_dir], batch_files=0)
    assert whole.converted is not None  # really the whole-graph engine
    small = validate_library(sources=[corpus_dir], batch_files=97)  # 10 batches, the last one short
    assert small.converted is None and corpus_validation.converted is None  # really streamed
    assert _rows(small) == _rows(whole)
    assert _rows(corpus_validation) == _rows(whole)  # the default batch size
    assert small.counts() == {"violation": 34, "warning": 4043, "info": 3985}
    assert (small.files, small.patterns) == (whole.files, whole.patterns)


def test_batches_equal_the_whole_graph_on_every_case():
    # Every failing case as one library: duplicate slugs and ids land in different batches of
    # two files, shared nodes are named from several batches, one file cannot be read.
    sources = [c / "fail" for c in CASES]
    whole = validate_library(sources=sources, batch_files=0, jobs=1)
    for batch_files, jobs in ((2, 1), (3, 2)):
        batched = validate_library(sources=sources, batch_files=batch_files, jobs=jobs)
        assert batched.converted is None
        assert _rows(batched) == _rows(whole), batch_files
    shapes = {r.shape for r in whole.results}
    assert {"DuplicateIdShape", "PatternShape/sourceFile", "UnresolvedTargetShape", "SelfLinkShape"} <= shapes


def test_only_in_batches_equals_the_whole_run_filtered():
    sources = [c / "fail" for c in CASES]
    whole = validate_library(sources=sources, batch_files=0, jobs=1)
    target = next(Path(r.file) for r in whole.results if r.shape == "SelfLinkShape")
    only = validate_library(sources=sources, batch_files=4, jobs=1, only=[target])
    assert _rows(only) == [r for r in _rows(whole) if r["file"] == str(target)]
    assert only.results


def test_constraints_are_split_by_what_they_read():
    plan = plan_for(load_shapes())
    local = {c.shape.name for c in plan.local}
    library = {c.shape.name for c in plan.library}
    assert local == {"AssessmentScoresShape", "OverallScoreShape", "SlugFileShape", "V71BodyShape", "V71FieldsShape"}
    assert library == {"DuplicateIdShape", "SelfLinkShape", "UnresolvedTargetShape",
                       "UnresolvedInferredTargetShape", "InversePairShape"}
    pkg = "https://w3id.org/patternkg/ontology#"
    assert {pkg + "target", pkg + "requires", "http://purl.org/dc/terms/identifier"} <= plan.predicates
    assert pkg + "markdown" not in plan.predicates  # bodies are not kept for the whole library


def test_reduced_locations_answer_like_the_full_table():
    space = "https://example.org/pattern/"
    p = space + "a"
    rel = p + "#rel-enables-b"
    target, rdf_type = "urn:target", "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    entries = {(p, "urn:slug"): ("slug", 3), (p, "urn:id"): ("id", 2), (p, "urn:section"): ("<body>", 40),
               (rel, rdf_type): ("relationships.enables[0]", 12), (rel, target): ("relationships.enables[0]", 12),
               (p, "urn:other"): ("ontology.domain", 7)}
    full = FileLocs(entries)
    reduced = FileLocs.from_reduced(full.reduce(predicates={target, "urn:id"},
                                                declared={"ontology.domain.x", "id", "missing"}, space=space))
    assert (p, "urn:slug") not in reduced.entries
    shapes = load_shapes()
    for focus, path, declared_by in ((p, "urn:id", None), (rel, target, None), (p, None, None)):
        f = Finding(focus, path, None, "DuplicateIdShape", "SPARQLConstraintComponent", "violation", "")
        info = shapes.info_by_name["DuplicateIdShape"]
        assert where(reduced, f, info, {}) == where(full, f, info, {})
    assert reduced.field_line("ontology.domain.x") == full.field_line("ontology.domain.x") == 7
    assert reduced.field_line("missing") is full.field_line("missing") is None
