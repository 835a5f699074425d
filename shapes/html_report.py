"""A self-contained HTML report: grouped by rule, filterable, each result linked to its file and line.

Contract of :func:`render_html`: one HTML document with its CSS and JavaScript inline
and no reference to anything outside it (no external script, style sheet, image,
font or frame; ``tests/shapes/test_report_formats.py`` checks it), so it can be
uploaded as a CI artifact and opened anywhere. It holds the summary (counts, change,
rules, worst files) and every result grouped by rule, each with its file:line as a
link (``Report.link_base`` + path + ``#L<line>``, e.g. a GitHub blob URL; by default
the file's ``file://`` URI), severity, status, field, message and fix. The filters
(severity, status, free text) run in the page; without JavaScript everything shows.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import quote

from patternkg.shapes.reports import change_line, counts_line, grouped, rule_rows, worst_files

if TYPE_CHECKING:
    from patternkg.shapes.outcome import Entry, Report


def link(report: Report, e: Entry) -> str:
    if report.link_base:
        return f"{report.link_base.rstrip('/')}/{quote(e.file)}#L{e.result.line}"
    path = e.file if e.file.startswith("/") else (report.root / e.file).as_posix()
    return "file://" + quote(path) + f"#L{e.result.line}"


def render_html(report: Report, *, fail_on: str = "violation") -> str:
    import jinja2

    source = resources.files("patternkg.shapes").joinpath("templates/report.html").read_text(encoding="utf-8")
    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(source)
    groups = [(name, report.rule(name, entries[0].result), entries)
              for name, entries in grouped(report, report.entries)]
    return template.render(report=report, failing=report.failing(fail_on), fail_on=fail_on,
                           counts=counts_line(report), change=change_line(report), rules=rule_rows(report),
                           worst=worst_files(report), groups=groups, link=lambda e: link(report, e))


__all__ = ["link", "render_html"]
