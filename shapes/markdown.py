"""Markdown: the report for ``$GITHUB_STEP_SUMMARY`` and a pull-request comment.

Contract of :func:`render_markdown`: a heading that says passed or failed, the counts,
the change (``--since``/``--baseline``), a table of rules (severity, results, new,
files, explanation), the worst files, then the details grouped by rule (new results
first) inside ``<details>`` blocks. The document never exceeds *limit* bytes
(default :data:`LIMIT`, under GitHub's 1 MiB step-summary limit, which also holds for
a comment's 65,536 characters when a smaller *limit* is given): details are cut at a
whole line and a note says how many results were left out and where the full report
is. Text from the library is escaped so it cannot add markup.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from patternkg.shapes.reports import change_line, counts_line, grouped, rule_rows, worst_files

if TYPE_CHECKING:
    from patternkg.shapes.outcome import Report

LIMIT = 1_000_000  # bytes; GitHub refuses step summaries over 1 MiB (1,048,576 bytes)
COMMENT_LIMIT = 65_000  # characters; a GitHub comment holds 65,536
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")
_ICON = {"violation": "🔴", "warning": "🟡", "info": "🔵"}


def escape(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def render_markdown(report: Report, *, severity: str = "warning", fail_on: str = "violation",
                    limit: int = LIMIT) -> str:
    failing = report.failing(fail_on)
    head = [f"## patternkg validate: {'❌ failed' if failing else '✅ passed'}", "",
            escape(counts_line(report)) + "."]
    change = change_line(report)
    if change:
        head += ["", f"**{escape(change)}**"]
    head += ["", f"{len(failing)} {'new ' if change else ''}results at or above `{fail_on}` "
             f"({'the run fails' if failing else 'nothing fails the run'})."]
    rows = rule_rows(report)
    if rows:
        head += ["", "### By rule", "", "| | rule | results | new | files | what it checks |",
                 "|---|---|---:|---:|---:|---|"]
        for sev, name, n, new, files, explanation in rows:
            head.append(f"| {_ICON[sev]} {sev} | `{name}` | {n} | {new} | {files} | {escape(explanation)} |")
        head += ["", "### Worst files", ""]
        for file, counts in worst_files(report):
            head.append(f"- `{file}`: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    if report.fixed:
        head += ["", f"### Fixed since {escape(report.since or '')}: {len(report.fixed)}", ""]
        head += [f"- `{e.file}:{e.result.line}` {escape(e.result.shape)}: {escape(e.result.message)}"
                 for e in report.fixed[:50]]
        if len(report.fixed) > 50:
            head.append(f"- … and {len(report.fixed) - 50} more")
    shown = report.shown(severity)
    hidden = len(report.entries) - len(shown)
    head += ["", "### Details" + (f" ({hidden} results below {severity} not listed)" if hidden else ""), ""]

    out = "\n".join(head) + "\n"
    size = len(out.encode())
    reserve = 600  # room for the truncation note
    listed = 0
    full = False
    for name, entries in grouped(report, shown):
        block = [f"<details{' open' if entries[0].status == 'new' and change else ''}>"
                 f"<summary><code>{escape(name)}</code> ({len(entries)})</summary>", ""]
        fix = report.rule(name, entries[0].result).fix
        if fix:
            block += [f"Fix: {escape(fix)}", ""]
        text = "\n".join(block) + "\n"
        if size + len(text.encode()) + reserve > limit:
            break
        out += text
        size += len(text.encode())
        for e in entries:
            r = e.result
            line = (f"- `{e.file}:{r.line}`" + (f" `{escape(r.field)}`" if r.field else "")
                    + f" {escape(r.message)}" + (f" _({e.status})_" if e.status != "new" else "") + "\n")
            if size + len(line.encode()) + reserve + 20 > limit:
                full = True
                break
            out += line
            size += len(line.encode())
            listed += 1
        out += "\n</details>\n\n"
        size += len("\n</details>\n\n")
        if full:
            break
    if listed < len(shown):
        where = f" The full report: {escape(report.full_report)}." if report.full_report else \
            " Run `patternkg validate` (or see the SARIF/HTML report) for the full list."
        out += (f"\n> **Truncated:** {len(shown) - listed} of {len(shown)} results are not listed "
                f"(the summary is limited to {limit:,} bytes).{where}\n")
    return out


__all__ = ["COMMENT_LIMIT", "LIMIT", "escape", "render_markdown"]
