"""``patternkg validate`` end to end: the seed, the shared corpus, every output format, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

from click.testing import CliRunner

from patternkg import validate
from patternkg.cli import main
from patternkg.shapes.reports import render

HERE = Path(__file__).resolve().parent
SEED = HERE.parent.parent / "seeds" / "distributed-organizing.md"
CASES = HERE / "cases"


def test_seed_conforms_with_warnings_for_unresolved_targets_only():
    v = validate(sources=[SEED])
    assert not v.failed("violation")
    assert v.counts() == {"violation": 0, "warning": 11, "info": 12}
    assert {r.shape for r in v.results} == {"UnresolvedTargetShape", "UnresolvedInferredTargetShape"}
    lines = SEED.read_text().split("\n")
    for r in v.results:  # each result points at the list item of its target
        target = r.value.rsplit("/", 1)[-1]
        assert target in lines[r.line - 1] or target in lines[r.line], (r.line, target)


def test_corpus_counts_are_stable_and_every_result_has_file_and_line(corpus_validation, corpus_dir):
    v = corpus_validation
    assert v.files == 952 and v.patterns == 951
    # warnings include the converter's control-character warning (a form feed in one body)
    assert v.counts() == {"violation": 34, "warning": 4043, "info": 3985}
    by_shape: dict[str, int] = {}
    for r in v.results:
        by_shape[r.shape] = by_shape.get(r.shape, 0) + 1
        assert r.file and r.line >= 1 and r.message
        assert (Path(r.file).exists()), r.file
    assert by_shape["LegacyDialectShape/dialect"] == 407  # one per older-dialect file, nothing more
    assert by_shape["UnresolvedTargetShape"] == 3542
    assert by_shape["InversePairShape"] == 449
    assert by_shape["OverallScoreShape"] == 8
    assert by_shape["DuplicateIdShape"] == 2
    assert by_shape["converter:yaml-syntax"] == 1
    assert by_shape["converter:control-character"] == 1
    assert any(r.file.endswith("animal-communication-practice.md") for r in v.results)
    assert v.failed("violation")


def test_only_reports_on_the_changed_file(corpus_dir):
    target = corpus_dir / "emotional-bid-responsiveness.md"
    v = validate(sources=[corpus_dir], only=[target])
    assert {Path(r.file).name for r in v.results} == {target.name}
    assert "SelfLinkShape" in {r.shape for r in v.results}  # cross-pattern checks still ran


def test_formats():
    v = validate(sources=[CASES / "duplicate-id" / "fail", CASES / "legacy-dialect" / "fail" / "gamma.md"])
    text = render(v, "text")
    assert text.splitlines()[0].startswith("patternkg validate: 3 files, 3 patterns: 2 violations, 0 warnings, 1 infos")
    assert "1 results below warning hidden" in text and "gamma.md" not in text.split("Details")[1]
    data = json.loads(render(v, "json"))
    assert data["summary"]["violation"] == 2 and data["summary"]["failed"] is True
    assert {(Path(r["file"]).name, r["line"], r["severity"]) for r in data["results"]} == {
        ("alpha.md", 2, "violation"), ("beta.md", 2, "violation"), ("gamma.md", 6, "info")}
    github = render(v, "github").splitlines()
    assert sum(line.startswith("::error file=") and ",line=2," in line for line in github) == 2
    assert any(line.startswith("::notice file=") and "gamma.md,line=6," in line for line in github)
    suite = ET.fromstring(render(v, "junit", fail_on="violation").encode()).find("testsuite")
    cases = {Path(c.get("name")).name: c for c in suite.findall("testcase")}
    assert suite.get("failures") == "2" and set(cases) == {"alpha.md", "beta.md", "gamma.md"}
    assert cases["alpha.md"].find("failure") is not None and cases["gamma.md"].find("failure") is None


def test_exit_codes_with_click_runner():
    runner = CliRunner()
    clean = CASES / "weight-range" / "pass"
    failing = CASES / "weight-range" / "fail"
    assert runner.invoke(main, ["validate", str(clean)]).exit_code == 0
    assert runner.invoke(main, ["validate", str(failing)]).exit_code == 1
    warn = CASES / "overall-score" / "fail"
    assert runner.invoke(main, ["validate", str(warn)]).exit_code == 0
    assert runner.invoke(main, ["validate", "--fail-on", "warning", str(warn)]).exit_code == 1
    assert runner.invoke(main, ["validate", "--format", "yaml", str(clean)]).exit_code == 2
    assert runner.invoke(main, ["validate", "does/not/exist"]).exit_code == 2
    shapes = runner.invoke(main, ["validate", "--shapes-only"])
    assert shapes.exit_code == 0 and Path(shapes.output.strip()).name == "patternkg-shapes.ttl"


def test_real_subprocess_github_format(tmp_path):
    exe = shutil.which("patternkg") or [sys.executable, "-m", "patternkg"]
    cmd = ([exe] if isinstance(exe, str) else exe) + ["validate", "--format", "github",
                                                      str(CASES / "status-value" / "fail")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "::error file=" in proc.stdout and "alpha.md,line=30," in proc.stdout
    out = tmp_path / "shapes.ttl"
    proc = subprocess.run(([exe] if isinstance(exe, str) else exe) + ["validate", "--shapes-only", "-o", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "sh:NodeShape" in out.read_text()
