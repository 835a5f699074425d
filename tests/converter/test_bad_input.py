"""Bad input: each fixture in bad/ yields exactly the expected diagnostic and costs nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from patternkg.cli import main
from patternkg.converter.api import convert
from patternkg.converter.namespaces import DEFAULT_BASE_IRI

BAD = Path(__file__).resolve().parent / "bad"
EXPECTED = yaml.safe_load((BAD / "expected.yaml").read_text(encoding="utf-8"))
SEED = Path(__file__).resolve().parents[2] / "seeds" / "distributed-organizing.md"


def test_every_fixture_has_an_expectation_and_there_are_at_least_twenty():
    assert {p.stem for p in BAD.glob("*.md")} == set(EXPECTED)
    assert len(EXPECTED) >= 20


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_reports_file_field_and_line_and_other_files_still_convert(name, tmp_path):
    expected = EXPECTED[name]
    library = tmp_path / "lib"
    library.mkdir()
    shutil.copy(BAD / f"{name}.md", library / f"{name}.md")
    shutil.copy(SEED, library / SEED.name)
    converted = convert(sources=[library], jobs=1)
    report = converted.report
    mine = [d for d in report.diagnostics if d.file.endswith(f"{name}.md")]
    assert len(mine) == 1, [str(d) for d in report.diagnostics]
    diag = mine[0]
    assert (diag.severity, diag.code, diag.line) == (expected["severity"], expected["code"], expected["line"])
    assert diag.file == str(library / f"{name}.md")
    if "field" in expected:
        assert diag.field == expected["field"]
    if "column" in expected:
        assert diag.column == expected["column"]
    # the good file always converts; the bad one converts iff it only has warnings
    store = converted.store
    assert store.query(f"ASK {{ <{DEFAULT_BASE_IRI}pattern/distributed-organizing> a "
                       "<https://w3id.org/patternkg/ontology#Pattern> }")
    converted_bad = bool(store.query(f"ASK {{ ?p <https://w3id.org/patternkg/ontology#sourceFile> \"{name}.md\" }}"))
    assert converted_bad == (expected["severity"] == "warning")
    assert report.ok == (expected["severity"] == "warning")
    assert report.exit_code() == (1 if expected["severity"] == "error" else 0)
    assert report.exit_code(strict=True) == 1


def test_out_of_range_and_mistyped_values_are_kept_for_shacl(tmp_path):
    converted = convert(sources=[BAD / "weight-over-one.md", BAD / "weight-high.md", BAD / "score-nine.md"], jobs=1)
    weights = {r[0].value for r in converted.store.query(
        "SELECT ?w WHERE { ?n <https://w3id.org/patternkg/ontology#weight> ?w }")}
    assert weights == {"1.5", "high", "0.5"}  # score-nine.md has a valid weight
    assert converted.store.query("ASK { ?a <https://w3id.org/patternkg/ontology#resilience> 9.0 }")


def test_alias_bomb_is_refused_before_expansion():
    # A billion-laughs document: expanding it would take gigabytes.
    levels = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    text = "---\nslug: bomb\n" + "\n".join(levels) + "\n---\n"
    path = Path(BAD.parent / "__bomb_tmp.md")
    try:
        path.write_text(text, encoding="utf-8")
        report = convert(sources=[path], jobs=1).report
    finally:
        path.unlink()
    assert [d.code for d in report.errors] == ["yaml-anchor"]


def test_files_over_the_size_limit_are_refused(tmp_path):
    big = tmp_path / "big.md"
    big.write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    report = convert(sources=[big], max_file_size=1000, jobs=1).report
    assert [(d.code, d.file) for d in report.errors] == [("file-too-large", str(big))]
    assert convert(sources=[big], jobs=1).report.ok


def test_text_only_becomes_literals(tmp_path):
    hostile = '"x> . <http://evil.example/s> <http://evil.example/p> \\"o\\" .\\n@prefix e: <http://evil.example/> ."'
    text = SEED.read_text(encoding="utf-8").replace('title: "Distributed Organizing"', f"title: {hostile}")
    path = tmp_path / "distributed-organizing.md"
    path.write_text(text, encoding="utf-8")
    converted = convert(sources=[path], jobs=1)
    assert converted.report.ok
    assert not converted.store.query("ASK { { ?s ?p ?o FILTER(CONTAINS(STR(?s), 'evil') || CONTAINS(STR(?p), 'evil') "
                                     "|| (isIRI(?o) && CONTAINS(STR(?o), 'evil'))) } }")
    titles = [r[0].value for r in converted.store.query("SELECT ?t WHERE { ?p a <https://w3id.org/patternkg/ontology#Pattern> ; <http://purl.org/dc/terms/title> ?t }")]
    assert titles == [yaml.safe_load(f"t: {hostile}")["t"]]


def test_duplicate_slugs_across_files_are_reported_not_merged_silently(tmp_path):
    a = tmp_path / "a" / "distributed-organizing.md"
    b = tmp_path / "b" / "distributed-organizing.md"
    for p in (a, b):
        p.parent.mkdir()
        p.write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    converted = convert(sources=[tmp_path / "a", tmp_path / "b"], jobs=1)
    report = converted.report
    assert [d.code for d in report.warnings] == ["duplicate-slug"]
    assert report.warnings[0].file == str(b) and str(a) in report.warnings[0].message
    assert report.duplicate_patterns == {"distributed-organizing": [str(a), str(b)]}
    files = {r[0].value for r in converted.store.query(
        "SELECT ?f WHERE { ?p <https://w3id.org/patternkg/ontology#sourceFile> ?f }")}
    assert files == {"a/distributed-organizing.md", "b/distributed-organizing.md"}
    assert report.patterns == 1  # one node, two files: reported above, and flagged by SHACL


def test_cli_exit_status_and_report_formats(tmp_path):
    runner = CliRunner()
    store = tmp_path / "store"
    ok = runner.invoke(main, ["build", str(SEED), "--store", str(store), "-q"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(main, ["build", str(BAD / "yaml-syntax.md"), str(SEED), "--store", str(store),
                               "--report", "json"])
    assert bad.exit_code == 1
    import json

    report = json.loads(bad.stderr if hasattr(bad, "stderr") and bad.stderr else bad.output)
    assert report["errors"] == 1 and report["patterns"] == 1
    assert report["failed_files"] == [str(BAD / "yaml-syntax.md")]
    warn = runner.invoke(main, ["build", str(BAD / "weight-high.md"), "--store", str(store)])
    assert warn.exit_code == 0
    strict = runner.invoke(main, ["build", str(BAD / "weight-high.md"), "--store", str(store), "--strict"])
    assert strict.exit_code == 1
    usage = runner.invoke(main, ["build", "--store"])
    assert usage.exit_code == 2
