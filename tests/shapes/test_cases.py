"""Shape cases as data: for each constraint, ``cases/<name>/pass`` (a clean library) gives no
result and ``cases/<name>/fail`` gives exactly the results in ``expected.json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patternkg.shapes.validation import validate_library

HERE = Path(__file__).resolve().parent
CASES = sorted(p for p in (HERE / "cases").iterdir() if p.is_dir())


def _rows(validation, root: Path) -> list[dict]:
    def rel(path: str) -> str:
        return Path(path).relative_to(root).as_posix()

    return [{"severity": r.severity, "shape": r.shape, "field": r.field, "file": rel(r.file), "line": r.line,
             "also": [rel(a) for a in r.also]} for r in validation.results]


def test_every_case_has_both_inputs_and_expectations():
    assert len(CASES) >= 20
    for case in CASES:
        assert list((case / "pass").rglob("*.md")) and list((case / "fail").rglob("*.md")), case
        assert json.loads((case / "expected.json").read_text()), f"{case.name}: a failing case must fail"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_passing_input_has_no_result(case):
    validation = validate_library(sources=[case / "pass"], jobs=1)
    assert validation.results == []
    assert not validation.failed("info")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_failing_input_gives_expected_results(case):
    validation = validate_library(sources=[case / "fail"], jobs=1)
    expected = json.loads((case / "expected.json").read_text())
    assert _rows(validation, case / "fail") == expected
    assert all(r.message and r.line >= 1 for r in validation.results)
