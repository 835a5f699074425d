"""Rendering a validation for terminals and CI systems: the formats and the shared summary.

Contract: :func:`render` takes a :class:`~.outcome.Report` (or a bare
:class:`~.validation.Validation`, reported as one run with every result new) and
returns the report in one of :data:`FORMATS`. Every format names, for each result it
lists, the file, the 1-based line, the severity and the message; *severity* chooses
the lowest severity listed (the counts always cover everything, and a format that
hides results says how many).

- ``text``: the summary first (counts per severity; with ``--since``/``--baseline``
  new, known, unchanged and fixed; per rule the one-line explanation, results and
  files; the worst files), then the details grouped by rule: ``file:line [field]
  message`` and the fix. :func:`summary_text` is that summary alone (what the
  terminal gets when the report goes to a file).
- ``json``: ``{"summary": {...}, "rules": [...], "results": [...], "fixed": [...]}``,
  each result with its ``status``.
- ``junit``: one test case per file, failing when the file has a failing result.
- ``github``, ``sarif``, ``markdown``, ``html``: :mod:`.github_format`,
  :mod:`.sarif`, :mod:`.markdown`, :mod:`.html_report`.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from patternkg.shapes.severities import RANK, SEVERITIES

if TYPE_CHECKING:  # annotations only: the CLI reads FORMATS without loading rdflib
    from patternkg.shapes.outcome import Entry, Report
    from patternkg.shapes.validation import Validation

FORMATS = ("text", "json", "github", "junit", "sarif", "markdown", "html")
#: the lowest severity each format lists unless --severity says otherwise
DEFAULT_SEVERITY = {"text": "warning", "markdown": "warning"}
WORST_FILES = 10
_PLURAL = {"violation": "violations", "warning": "warnings", "info": "infos"}


def as_report(value: Report | Validation) -> Report:
    from patternkg.shapes.outcome import Report, from_validation

    return value if isinstance(value, Report) else from_validation(value)


def render(value: Report | Validation, fmt: str, *, fail_on: str = "violation", severity: str | None = None) -> str:
    report = as_report(value)
    severity = severity or DEFAULT_SEVERITY.get(fmt, "info")
    if fmt == "text":
        return render_text(report, severity=severity, fail_on=fail_on)
    if fmt == "json":
        return render_json(report, fail_on=fail_on, severity=severity)
    if fmt == "junit":
        return render_junit(report, fail_on=fail_on, severity=severity)
    if fmt == "github":
        from patternkg.shapes.github_format import render_github

        return render_github(report, severity=severity)
    if fmt == "sarif":
        from patternkg.shapes.sarif import render_sarif

        return render_sarif(report, severity=severity)
    if fmt == "markdown":
        from patternkg.shapes.markdown import render_markdown

        return render_markdown(report, severity=severity, fail_on=fail_on)
    if fmt == "html":
        from patternkg.shapes.html_report import render_html

        return render_html(report, fail_on=fail_on)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


# -- the shared summary ---------------------------------------------------------------------------

def counts_line(report: Report) -> str:
    s = report.summary()
    scope = f"; in the {report.checked_files} files checked" if report.since is not None else ""
    return (f"{s['files']} files, {s['patterns']} patterns{scope}: {s['violation']} violations, "
            f"{s['warning']} warnings, {s['info']} infos in {s['files_with_results']} files")


def change_line(report: Report) -> str | None:
    """``since main: 2 new, 1 fixed, 40 unchanged (3 changed files, 9 checked)``; None for plain runs."""
    if report.since is None and report.baseline is None:
        return None
    s = report.status_counts()
    parts = [f"{s['new']} new"]
    if report.since is not None:
        parts.append(f"{len(report.fixed)} fixed")
        parts.append(f"{s['unchanged']} unchanged")
    if report.baseline is not None:
        parts.append(f"{s['known']} known (baseline {report.baseline})")
    where = ""
    if report.since is not None:
        where = f" ({len(report.changed_files)} changed files, {report.checked_files} checked)"
        return f"since {report.since}: " + ", ".join(parts) + where
    return ", ".join(parts)


def rule_rows(report: Report) -> list[tuple[str, str, int, int, int, str]]:
    """(severity, rule, results, new results, files, explanation), worst severity and most results first."""
    results: Counter = Counter()
    new: Counter = Counter()
    files: dict[str, set[str]] = defaultdict(set)
    example = {}
    for e in report.entries:
        name = e.result.shape
        results[name] += 1
        new[name] += e.status == "new"
        files[name].add(e.file)
        example.setdefault(name, e.result)
    rows = []
    for name in results:
        rule = report.rule(name, example[name])
        rows.append((example[name].severity, name, results[name], new[name], len(files[name]), rule.explanation))
    rows.sort(key=lambda r: (-RANK[r[0]], -r[2], r[1]))
    return rows


def worst_files(report: Report, limit: int = WORST_FILES) -> list[tuple[str, dict[str, int]]]:
    """Files with the most severe results (violations, then warnings, then infos)."""
    by_file: dict[str, Counter] = defaultdict(Counter)
    for e in report.entries:
        by_file[e.file][e.result.severity] += 1
    ranked = sorted(by_file.items(), key=lambda kv: (*(-kv[1][s] for s in SEVERITIES), kv[0]))
    return [(file, {s: c[s] for s in SEVERITIES}) for file, c in ranked[:limit]]


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {_PLURAL[s] if n != 1 else s}" for s, n in counts.items() if n)


def summary_text(report: Report, *, severity: str = "warning", fail_on: str = "violation") -> str:
    lines = [f"patternkg validate: {counts_line(report)}"]
    change = change_line(report)
    if change:
        lines.append(change)
    failing = report.failing(fail_on)
    lines.append(f"result: {'FAILED' if failing else 'passed'} "
                 f"({len(failing)} {'new ' if change else ''}results at or above {fail_on})")
    rows = rule_rows(report)
    if rows:
        lines += ["", "By rule:"]
        width = max(len(r[1]) for r in rows)
        for sev, name, n, new, files, explanation in rows:
            extra = f", {new} new" if change else ""
            lines.append(f"  {sev:<9} {name:<{width}}  {n} in {files} files{extra}  {explanation}")
        lines += ["", "Worst files:"]
        for file, counts in worst_files(report):
            lines.append(f"  {file}: {_counts_text(counts)}")
    if report.fixed:
        lines += ["", f"Fixed since {report.since}: {len(report.fixed)}"]
    return "\n".join(lines)


def entry_line(e: Entry) -> str:
    r = e.result
    field = f" [{r.field}]" if r.field else ""
    status = f" ({e.status})" if e.status != "new" else ""
    also = f" (also defined in {', '.join(r.also)})" if r.also else ""
    return f"{e.file}:{r.line}: {r.severity}: {r.message}{field}{status}{also}"


def grouped(report: Report, entries: list[Entry]) -> list[tuple[str, list[Entry]]]:
    """Entries grouped by rule, in the order of :func:`rule_rows`; within a rule new first, then by file."""
    order = {row[1]: i for i, row in enumerate(rule_rows(report))}
    groups: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        groups[e.result.shape].append(e)
    return [(name, sorted(groups[name], key=lambda e: (e.status != "new", e.file, e.result.line)))
            for name in sorted(groups, key=lambda n: order.get(n, len(order)))]


def render_text(report: Report, *, severity: str = "warning", fail_on: str = "violation") -> str:
    lines = [summary_text(report, severity=severity, fail_on=fail_on)]
    shown = report.shown(severity)
    hidden = len(report.entries) - len(shown)
    lines += ["", "Details" + (f" ({hidden} results below {severity} hidden; --severity "
                               f"{SEVERITIES[-1]} shows them)" if hidden else "") + ":"]
    for name, entries in grouped(report, shown):
        rule = report.rule(name, entries[0].result)
        lines += ["", f"{name} ({entries[0].result.severity}, {len(entries)}): {rule.explanation}"]
        if rule.fix:
            lines.append(f"  fix: {rule.fix}")
        for e in entries:
            lines.append(f"  {entry_line(e)}")
            if e.result.fix and e.result.fix != rule.fix:
                lines.append(f"      fix: {e.result.fix}")
    if report.fixed:
        lines += ["", f"Fixed since {report.since}:"]
        lines += [f"  {entry_line(e)} ({e.result.shape})" for e in report.fixed]
    return "\n".join(lines)


def _entry_dict(e: Entry) -> dict:
    return {**e.result.to_dict(), "file": e.file, "status": e.status}


def render_json(report: Report, *, fail_on: str = "violation", severity: str = "info") -> str:
    summary = {**report.summary(), "fail_on": fail_on, "failed": report.failed(fail_on)}
    rules = [{"rule": name, "severity": sev, "results": n, "new": new, "files": files, "explanation": expl,
              "fix": report.rule(name).fix} for sev, name, n, new, files, expl in rule_rows(report)]
    return json.dumps({"summary": summary, "rules": rules,
                       "results": [_entry_dict(e) for e in report.shown(severity)],
                       "fixed": [_entry_dict(e) for e in report.fixed]}, indent=2, ensure_ascii=False)


def render_junit(report: Report, *, fail_on: str = "violation", severity: str = "info") -> str:
    by_file: dict[str, list[Entry]] = defaultdict(list)
    for e in report.shown(severity):
        by_file[e.file].append(e)
    failing_entries = {id(e) for e in report.failing(fail_on)}
    files = sorted(by_file)
    failing = [f for f in files if any(id(e) in failing_entries for e in by_file[f])]
    suites = ET.Element("testsuites", name="patternkg validate")
    suite = ET.SubElement(suites, "testsuite", name="patternkg validate", tests=str(max(len(files), 1)),
                          failures=str(len(failing)), errors="0", skipped="0")
    for file in files:
        case = ET.SubElement(suite, "testcase", classname="patternkg.validate", name=file, file=file)
        worst = [e for e in by_file[file] if id(e) in failing_entries]
        if worst:
            failure = ET.SubElement(case, "failure", message=f"{len(worst)} result(s) at or above {fail_on}",
                                    type=worst[0].result.severity)
            failure.text = "\n".join(f"{entry_line(e)} ({e.result.shape})" for e in worst)
        rest = [e for e in by_file[file] if id(e) not in failing_entries]
        if rest:
            ET.SubElement(case, "system-out").text = "\n".join(f"{entry_line(e)} ({e.result.shape})" for e in rest)
    if not files:
        ET.SubElement(suite, "testcase", classname="patternkg.validate", name="library")
    ET.SubElement(suite, "system-out").text = summary_text(report, fail_on=fail_on)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


summary_line = counts_line  # the name earlier callers used

__all__ = ["DEFAULT_SEVERITY", "FORMATS", "as_report", "counts_line", "grouped", "render", "rule_rows",
           "summary_text", "worst_files"]
