"""GitHub Actions workflow commands, capped the way GitHub shows them.

GitHub shows at most 10 annotations of each kind (error, warning, notice) per step
and 50 per job, first come first served. Contract of :func:`render_github`: at most
:data:`CAP` annotations of each kind, the most important first (new in this change,
then in changed files, then by severity, file and line: :meth:`~.outcome.Report.by_importance`),
then one ``::notice`` (the last line; result notices stop at ``CAP - 1`` so that it
is shown) that counts what was not annotated and says where the full report is.
Known (baseline) and unchanged (``--since``) results are never annotated while new
ones exist at the same kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from patternkg.shapes.reports import change_line, counts_line

if TYPE_CHECKING:
    from patternkg.shapes.outcome import Entry, Report

CAP = 10
KIND = {"violation": "error", "warning": "warning", "info": "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(e: Entry) -> str:
    r = e.result
    message = r.message + (f" [{r.field}]" if r.field else "") + (f" Fix: {r.fix}" if r.fix else "")
    if r.also:
        message += f" (also defined in {', '.join(r.also)})"
    title = r.shape + (f" ({e.status})" if e.status != "new" else "")
    return (f"::{KIND[r.severity]} file={_escape_property(e.file)},line={r.line},"
            f"title={_escape_property(title)}::{_escape_data(message)}")


def render_github(report: Report, *, severity: str = "info", cap: int = CAP) -> str:
    shown = report.by_importance(report.shown(severity))
    taken: dict[str, int] = dict.fromkeys(KIND.values(), 0)
    lines = []
    for e in shown:
        kind = KIND[e.result.severity]
        if taken[kind] < (cap - 1 if kind == "notice" else cap):  # the last notice slot is the summary's
            taken[kind] += 1
            lines.append(annotation(e))
    rest = len(report.entries) - len(lines)
    where = f" Full report: {report.full_report}." if report.full_report else \
        " Run `patternkg validate` (or download the report artifact) for the full report."
    summary = counts_line(report)
    change = change_line(report)
    if change:
        summary += f"; {change}"
    if rest:
        summary += f". {rest} more results not annotated (GitHub shows {cap} of each kind).{where}"
    lines.append(f"::notice title=patternkg validate::{_escape_data(summary)}")
    return "\n".join(lines)


__all__ = ["CAP", "annotation", "render_github"]
