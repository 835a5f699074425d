"""The report formats: the summary first, SARIF against its schema, the GitHub cap,
Markdown within GitHub's limit, a self-contained HTML report, the terminal with -o."""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from patternkg import validate
from patternkg.cli import main
from patternkg.shapes.github_format import CAP
from patternkg.shapes.markdown import render_markdown
from patternkg.shapes.outcome import from_validation
from patternkg.shapes.reports import render

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
SARIF_SCHEMA = json.loads((HERE / "schemas" / "sarif-2.1.0-rtm.5.json").read_text())


def _small():
    return validate(sources=[CASES / "duplicate-id" / "fail", CASES / "legacy-dialect" / "fail" / "gamma.md"])


def test_text_starts_with_the_summary_and_hides_infos_by_default():
    text = render(_small(), "text")
    head, details = text.split("\nDetails", 1)
    assert head.startswith("patternkg validate: 3 files, 3 patterns: 2 violations")
    assert "By rule:" in head and "Worst files:" in head
    rule_line = next(line for line in head.splitlines() if "DuplicateIdShape" in line)
    assert "2 in 2 files" in rule_line and "no two patterns share an id" in rule_line
    assert "1 results below warning hidden" in details and "LegacyDialectShape" not in details
    assert re.search(r"alpha\.md:2: violation: .*\[id\]", details)
    assert "fix: generate a fresh id" in details
    everything = render(_small(), "text", severity="info")
    assert "LegacyDialectShape" in everything.split("\nDetails", 1)[1]


def test_sarif_validates_against_the_sarif_2_1_0_schema(corpus_validation):
    for validation in (_small(), corpus_validation):
        document = json.loads(render(validation, "sarif"))
        jsonschema.validate(document, SARIF_SCHEMA)
        run = document["runs"][0]
        rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
        assert len(run["results"]) == len(validation.results)
        for result in run["results"]:
            assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
            assert result["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1
            assert result["partialFingerprints"]["patternkg/v1"]
    assert rules["DuplicateIdShape"]["help"]["text"].startswith("Fix: ")
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["DuplicateIdShape"] == "error" and levels["UnresolvedTargetShape"] == "warning"
    assert levels["LegacyDialectShape/dialect"] == "note"


def test_github_annotations_are_capped_most_important_first(corpus_validation):
    report = from_validation(corpus_validation)
    report.full_report = "patternkg-report.html"
    lines = render(report, "github").splitlines()
    kinds = [line.split(" ", 1)[0].split("::")[1] for line in lines]
    assert kinds.count("error") == CAP and kinds.count("warning") == CAP
    assert kinds.count("notice") == CAP  # CAP - 1 results and the summary
    assert lines[0].startswith("::error ")  # severity orders a plain run
    assert lines[-1].startswith("::notice title=patternkg validate::")
    assert f"{len(corpus_validation.results) - 3 * CAP + 1} more results not annotated" in lines[-1]
    assert "patternkg-report.html" in lines[-1]
    # new results come before known ones, whatever their severity
    for e in report.entries:
        e.status = "known"
    chosen = next(e for e in report.entries if e.result.severity == "info")
    chosen.status = "new"
    first = render(report, "github").splitlines()[0]
    assert first.startswith("::notice ") and f"line={chosen.result.line}," in first


def test_markdown_fits_githubs_step_summary_limit(corpus_validation):
    text = render(corpus_validation, "markdown", severity="info")
    assert len(text.encode()) <= 1_000_000 < 1024 * 1024
    assert text.startswith("## patternkg validate: ❌ failed")
    assert "| 🔴 violation | `DuplicateIdShape` | 2 |" in text
    assert "**Truncated:**" in text  # 8,000 results do not fit: a note says so
    small = render_markdown(from_validation(corpus_validation), severity="info", limit=20_000)
    assert len(small.encode()) <= 20_000 and "**Truncated:**" in small
    note = small.rsplit("**Truncated:**", 1)[1]
    assert f"of {len(corpus_validation.results)} results are not listed" in note
    # library text cannot add markup
    assert "<script" not in render(_small(), "markdown")


class _References(HTMLParser):
    def __init__(self):
        super().__init__()
        self.loaded: list[str] = []
        self.anchors: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a":
            self.anchors.append(attrs.get("href", ""))
        for name in ("src", "srcset", "data", "poster", "background"):
            if attrs.get(name):
                self.loaded.append(f"{tag} {name}={attrs[name]}")
        if tag == "link" and attrs.get("href"):
            self.loaded.append(f"link href={attrs['href']}")


def test_html_report_is_self_contained_and_links_results_to_file_and_line(corpus_validation):
    html = render(corpus_validation, "html")
    refs = _References()
    refs.feed(html)
    assert refs.loaded == []  # no script, style sheet, image, font or frame from anywhere
    assert "@import" not in html and "url(" not in html
    assert not re.search(r"\b(fetch|XMLHttpRequest|import\()", html)
    results = [a for a in refs.anchors if "#L" in a]
    assert len(results) == len(corpus_validation.results)
    assert all(a.startswith("file://") and re.search(r"\.md#L\d+$", a) for a in results)
    assert 'data-sev="info"' in html and 'id="q"' in html  # filterable
    report = from_validation(_small())
    report.link_base = "https://github.com/org/lib/blob/abc123"
    assert "https://github.com/org/lib/blob/abc123/" in render(report, "html")


def test_output_file_keeps_the_summary_on_the_terminal(tmp_path):
    out = tmp_path / "report.sarif"
    extra = tmp_path / "report.md"
    result = CliRunner().invoke(main, ["validate", str(CASES / "duplicate-id" / "fail"), "-f", "sarif",
                                       "-o", str(out), "--report", f"markdown={extra}"])
    assert result.exit_code == 1
    assert result.stdout.startswith("patternkg validate: 2 files, 2 patterns: 2 violations")
    assert "DuplicateIdShape" in result.stdout and str(out) in result.stdout
    assert json.loads(out.read_text())["version"] == "2.1.0"
    assert extra.read_text().startswith("## patternkg validate: ❌ failed")
    bad = CliRunner().invoke(main, ["validate", "--report", "yaml=x", str(CASES / "duplicate-id" / "fail")])
    assert bad.exit_code == 2


def test_github_order_new_then_changed_files_then_severity():
    report = from_validation(_small())
    gamma = next(e for e in report.entries if e.file.endswith("gamma.md"))  # an info
    report.changed_files = {gamma.file}
    order = [e.file for e in report.by_importance()]
    assert order[0] == gamma.file  # in a changed file: before the violations elsewhere
    for e in report.entries:
        e.status = "unchanged" if e is gamma else "new"
    assert report.by_importance()[-1] is gamma  # new ones come first, wherever they are


def test_progress_only_on_a_terminal_outside_ci(monkeypatch):
    from patternkg.shapes import progress

    class Tty:
        def isatty(self):
            return True

    monkeypatch.setattr(progress.sys, "stderr", Tty())
    monkeypatch.delenv("CI", raising=False)
    assert progress.wanted() is True
    monkeypatch.setenv("CI", "true")
    assert progress.wanted() is False
    monkeypatch.setattr(progress.sys, "stderr", open(os.devnull, "w"))  # noqa: SIM115
    monkeypatch.delenv("CI")
    assert progress.wanted() is False
