"""Rendering a :class:`~.validation.Validation` for terminals and CI systems.

Contract: every renderer returns text that names, for each result, the file, the
1-based line, the severity and the message. ``text`` groups by file and ends
with a summary line; ``json`` is ``{"summary": {...}, "results": [...]}``;
``github`` is one workflow command per result (``::error file=F,line=L,...``)
plus a summary notice; ``junit`` is a JUnit XML document with one test case per
file, failing when the file has a result at or above *fail_on*.
"""

from __future__ import annotations

import json
from itertools import groupby
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from patternkg.shapes.severities import RANK

if TYPE_CHECKING:  # annotations only: the CLI reads FORMATS without loading rdflib
    from patternkg.shapes.validation import Result, Validation

FORMATS = ("text", "json", "github", "junit")
_GITHUB = {"violation": "error", "warning": "warning", "info": "notice"}


def summary_line(validation: Validation) -> str:
    s = validation.summary()
    return (f"{s['files']} files, {s['patterns']} patterns: {s['violation']} violations, "
            f"{s['warning']} warnings, {s['info']} infos in {s['files_with_results']} files")


def render(validation: Validation, fmt: str, *, fail_on: str = "violation") -> str:
    if fmt == "text":
        return render_text(validation)
    if fmt == "json":
        return render_json(validation, fail_on=fail_on)
    if fmt == "github":
        return render_github(validation)
    if fmt == "junit":
        return render_junit(validation, fail_on=fail_on)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _where(r: Result) -> str:
    also = f" (also defined in {', '.join(r.also)})" if r.also else ""
    field = f" [{r.field}]" if r.field else ""
    return f"{r.line}: {r.severity}: {r.message}{field} ({r.shape}){also}"


def render_text(validation: Validation) -> str:
    lines: list[str] = []
    for file, group in groupby(validation.results, key=lambda r: r.file):
        lines.append(file)
        for r in group:
            lines.append(f"  {_where(r)}")
            if r.fix:
                lines.append(f"      fix: {r.fix}")
    lines.append(summary_line(validation))
    return "\n".join(lines)


def render_json(validation: Validation, *, fail_on: str = "violation") -> str:
    summary = {**validation.summary(), "fail_on": fail_on, "failed": validation.failed(fail_on)}
    return json.dumps({"summary": summary, "results": [r.to_dict() for r in validation.results]},
                      indent=2, ensure_ascii=False)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(validation: Validation) -> str:
    """GitHub Actions workflow commands (annotations shown inline on the changed lines)."""
    lines = []
    for r in validation.results:
        message = r.message + (f" [{r.field}]" if r.field else "") + (f" Fix: {r.fix}" if r.fix else "")
        if r.also:
            message += f" (also defined in {', '.join(r.also)})"
        lines.append(f"::{_GITHUB[r.severity]} file={_escape_property(r.file)},line={r.line},"
                     f"title={_escape_property(r.shape)}::{_escape_data(message)}")
    lines.append(f"::notice title=patternkg validate::{_escape_data(summary_line(validation))}")
    return "\n".join(lines)


def render_junit(validation: Validation, *, fail_on: str = "violation") -> str:
    files = sorted({r.file for r in validation.results})
    by_file = {f: [r for r in validation.results if r.file == f] for f in files}
    failing = [f for f in files if any(RANK[r.severity] >= RANK[fail_on] for r in by_file[f])]
    suites = ET.Element("testsuites", name="patternkg validate")
    suite = ET.SubElement(suites, "testsuite", name="patternkg validate", tests=str(max(len(files), 1)),
                          failures=str(len(failing)), errors="0", skipped="0")
    for file in files:
        case = ET.SubElement(suite, "testcase", classname="patternkg.validate", name=file, file=file)
        worst = [r for r in by_file[file] if RANK[r.severity] >= RANK[fail_on]]
        if worst:
            failure = ET.SubElement(case, "failure", message=f"{len(worst)} result(s) at or above {fail_on}",
                                    type=worst[0].severity)
            failure.text = "\n".join(f"{file}:{_where(r)}" for r in worst)
        rest = [r for r in by_file[file] if RANK[r.severity] < RANK[fail_on]]
        if rest:
            ET.SubElement(case, "system-out").text = "\n".join(f"{file}:{_where(r)}" for r in rest)
    if not files:
        ET.SubElement(suite, "testcase", classname="patternkg.validate", name="library")
    ET.SubElement(suite, "system-out").text = summary_line(validation)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)
