"""What a validation run means for a change: results with a status, the fixed ones, the rules.

Contract: a :class:`Report` wraps the results of :func:`~.validation.validate` (or of
the two runs of ``--since``) for the renderers in :mod:`.reports` and beside it.
Every entry has a *status*:

- ``"new"``: not in the baseline and (with ``--since``) not found at the base ref;
- ``"known"``: matched by the baseline (``--baseline FILE``);
- ``"unchanged"``: also found at the base ref (``--since REF``).

Only ``new`` entries count for :meth:`Report.failed`. Results match by
:func:`~.baseline.fingerprint` (rule, file, field without list positions, value),
never by line, as a multiset: two equal fingerprints in the current run need two
in the baseline. Paths are shown relative to :attr:`Report.root` when under it.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from patternkg.shapes.severities import RANK, SEVERITIES

if TYPE_CHECKING:
    from patternkg.shapes.validation import Result, Validation

STATUSES = ("new", "known", "unchanged")


@dataclass(frozen=True)
class Rule:
    """A rule (shape) as a report lists it: severity, one-line explanation, fix."""

    name: str
    severity: str
    explanation: str
    fix: str


@dataclass
class Entry:
    result: Result
    status: str = "new"
    file: str = ""  # the result's file as shown (relative to the report root when under it)


@dataclass
class Report:
    """Results with their status, plus what the run compared against."""

    entries: list[Entry]
    files: int
    patterns: int
    root: Path
    rules: dict[str, Rule] = field(default_factory=dict)
    fixed: list[Entry] = field(default_factory=list)  # --since: at the base ref, gone now
    since: str | None = None  # the base ref
    baseline: str | None = None  # the baseline file
    changed_files: set[str] = field(default_factory=set)  # --since: files the change touched (shown form)
    checked_files: int | None = None  # --since: files whose results were compared
    full_report: str | None = None  # where the complete report is (named by capped formats)
    link_base: str | None = None  # HTML links: <link_base>/<file>#L<line> (e.g. a GitHub blob URL)

    # -- counts -------------------------------------------------------------------------
    def counts(self, entries: list[Entry] | None = None) -> dict[str, int]:
        out = dict.fromkeys(SEVERITIES, 0)
        for e in self.entries if entries is None else entries:
            out[e.result.severity] += 1
        return out

    def status_counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for e in self.entries:
            out[e.status] += 1
        return out

    def summary(self) -> dict:
        out = {"files": self.files, "patterns": self.patterns, **self.counts(),
               "files_with_results": len({e.file for e in self.entries})}
        if self.since is not None or self.baseline is not None:
            out.update(self.status_counts())
            out["fixed"] = len(self.fixed)
        if self.since is not None:
            out["since"] = self.since
            out["changed_files"] = len(self.changed_files)
            out["checked_files"] = self.checked_files
        if self.baseline is not None:
            out["baseline"] = self.baseline
        return out

    def failing(self, fail_on: str) -> list[Entry]:
        """The entries that fail the run: new ones at or above *fail_on*."""
        return [e for e in self.entries if e.status == "new" and RANK[e.result.severity] >= RANK[fail_on]]

    def failed(self, fail_on: str = "violation") -> bool:
        return bool(self.failing(fail_on))

    def shown(self, severity: str) -> list[Entry]:
        """Entries at or above *severity* (what a renderer lists)."""
        return [e for e in self.entries if RANK[e.result.severity] >= RANK[severity]]

    def by_importance(self, entries: list[Entry] | None = None) -> list[Entry]:
        """New first, then in changed files, then by severity, file and line."""
        changed = self.changed_files

        def key(e: Entry):
            return (e.status != "new", e.file not in changed, -RANK[e.result.severity], e.file, e.result.line)

        return sorted(self.entries if entries is None else entries, key=key)

    def rule(self, name: str, example: Result | None = None) -> Rule:
        if name in self.rules:
            return self.rules[name]
        message = example.message if example is not None else name
        return Rule(name, example.severity if example is not None else "violation", message,
                    example.fix if example is not None else "")


def shown_path(file: str, root: Path) -> str:
    """*file* relative to *root* (POSIX separators) when it lies under it, else as given."""
    try:
        return Path(os.path.abspath(file)).relative_to(root).as_posix()
    except ValueError:
        return file


def from_validation(validation: Validation, *, root: Path | None = None, rules: dict[str, Rule] | None = None,
                    ) -> Report:
    """A report of one run: every result new, paths relative to *root* (default: the cwd)."""
    root = Path(os.path.abspath(root or Path.cwd()))
    entries = [Entry(r, "new", shown_path(r.file, root)) for r in validation.results]
    return Report(entries, validation.files, validation.patterns, root,
                  rules if rules is not None else rules_of(entries))


def rules_of(entries: list[Entry]) -> dict[str, Rule]:
    """The rules the entries name, explained from the shapes file (messages, fix hints)."""
    out: dict[str, Rule] = {}
    info_by_name = {}
    comments: dict[str, str] = {}
    try:
        from rdflib import RDFS

        from patternkg.shapes.shapes_graph import load_shapes

        shapes = load_shapes()
        info_by_name = {i.name: i for i in shapes.info.values()}
        for constraint in shapes.sparql:
            info_by_name[constraint.shape.name] = constraint.shape
        comments = {i.name: str(shapes.graph.value(node, RDFS.comment)) for node, i in shapes.info.items()
                    if shapes.graph.value(node, RDFS.comment) is not None}
    except Exception:  # noqa: BLE001 - a report of results still renders without explanations
        pass
    for e in entries:
        name = e.result.shape
        if name in out:
            continue
        info = info_by_name.get(name)
        message = info.message if info is not None and info.message and "{" not in info.message else ""
        explanation = comments.get(name) or message or _CONVERTER.get(name) or e.result.message
        fix = (info.fix if info is not None and info.fix else "") or e.result.fix
        out[name] = Rule(name, e.result.severity, _one_line(explanation), _one_line(fix))
    return out


_CONVERTER = {
    "converter:yaml-syntax": "the front matter is not valid YAML: the file could not be read",
    "converter:unknown-key": "a front-matter key the spec does not define (it is not converted)",
}


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def mark(entries: list[Entry], known: Counter, status: str) -> None:
    """Give *status* to the entries whose fingerprint is in *known* (as a multiset, consumed)."""
    from patternkg.shapes.baseline import fingerprint

    left = Counter(known)
    for e in entries:
        if e.status != "new":
            continue
        key = fingerprint(e.result, e.file)
        if left[key] > 0:
            left[key] -= 1
            e.status = status


__all__ = ["Entry", "Report", "Rule", "STATUSES", "from_validation", "mark", "rules_of", "shown_path"]
