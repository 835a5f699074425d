"""Diagnostics (errors and warnings) and the build report.

Contract: a diagnostic always names the file; when it is about a value it also
names the field path (``relationships.enables[2].weight``) and, when known, the
1-based line and column in the source file. ``error`` means the file was skipped;
``warning`` means the file was converted and something in it needs attention.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


def field_path(path: tuple[str | int, ...]) -> str:
    """Render ``("relationships", "enables", 2, "weight")`` as ``relationships.enables[2].weight``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: Severity
    code: str
    file: str
    message: str
    field: str = ""
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        fld = f" [{self.field}]" if self.field else ""
        return f"{where}: {self.severity}: {self.message}{fld} ({self.code})"


@dataclass
class BuildReport:
    """What a conversion read, made and found. ``ok`` is False when any file failed."""

    files: int = 0
    patterns: int = 0
    triples: int = 0
    quads: int = 0
    dialects: dict[str, int] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    unresolved_targets: dict[str, list[str]] = field(default_factory=dict)
    duplicate_patterns: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    #: part of *seconds* spent compacting an on-disk store (0 when not compacted)
    compact_seconds: float = 0.0
    #: a multi-library build (:mod:`.libraries`): each library's counts, and the links between them
    libraries: list[dict] = field(default_factory=list)
    links: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def failed_files(self) -> list[str]:
        return sorted({d.file for d in self.errors})

    @property
    def ok(self) -> bool:
        return not self.errors

    def exit_code(self, *, strict: bool = False) -> int:
        """0 when no file failed (and, with *strict*, nothing was warned about), else 1."""
        return 1 if self.errors or (strict and self.warnings) else 0

    def to_dict(self) -> dict:
        return {
            "files": self.files,
            "patterns": self.patterns,
            "triples": self.triples,
            "quads": self.quads,
            "dialects": dict(sorted(self.dialects.items())),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "failed_files": self.failed_files,
            "unresolved_targets": {k: v for k, v in sorted(self.unresolved_targets.items())},
            "duplicate_patterns": dict(sorted(self.duplicate_patterns.items())),
            "diagnostics": [asdict(d) for d in self.diagnostics],
            "seconds": round(self.seconds, 3),
            "compact_seconds": round(self.compact_seconds, 3),
            **({"libraries": self.libraries, "links": dict(sorted(self.links.items()))} if self.libraries else {}),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def to_text(self, *, limit: int | None = None, severities: tuple[str, ...] | None = None) -> str:
        """The diagnostics (only those of *severities*, when given) and the summary; the
        summary's counts are always of every diagnostic."""
        listed = [d for d in self.diagnostics if severities is None or d.severity in severities]
        lines = [str(d) for d in listed[:limit]]
        if limit is not None and len(listed) > limit:
            lines.append(f"... {len(listed) - limit} more (use --report json for all)")
        dialects = ", ".join(f"{k}: {v}" for k, v in sorted(self.dialects.items())) or "none"
        n_unres = len(self.unresolved_targets)
        n_refs = sum(len(v) for v in self.unresolved_targets.values())
        lines += [
            f"files read: {self.files}",
            f"patterns: {self.patterns} ({dialects})",
            f"triples: {self.triples} (quads: {self.quads})",
            f"errors: {len(self.errors)} in {len(self.failed_files)} file(s)",
            f"warnings: {len(self.warnings)}",
            f"unresolved relationship targets: {n_unres} (referenced {n_refs} times)",
        ]
        for lib in self.libraries:
            lines.append(f"library {lib['name']}: {lib['files']} files, {lib['patterns']} patterns, "
                         f"{lib['triples']} triples in graph <{lib['graph']}>")
        if self.libraries:
            counts = ", ".join(f"{k.rsplit('#', 1)[-1]}: {v}" for k, v in sorted(self.links.items())) or "none"
            lines.append(f"links between libraries: {counts}")
        if self.duplicate_patterns:
            lines.append(f"patterns claimed by more than one file: {len(self.duplicate_patterns)}")
        compacted = f" (compaction {self.compact_seconds:.2f} s)" if self.compact_seconds else ""
        lines.append(f"time: {self.seconds:.2f} s{compacted}")
        return "\n".join(lines)
