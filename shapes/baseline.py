"""Baselines: the results a library already has, so that only new ones fail a run.

Contract: :func:`fingerprint` identifies a result by its rule, its file (as shown,
relative to the report root), its field with list positions removed
(``relationships.enables[2].weight`` -> ``relationships.enables[].weight``) and its
value: never by line, so editing a file (lines shift, items move) keeps its known
results known. :func:`write_baseline` writes every result of a report as a sorted,
deterministic JSON document (atomically: a temporary file renamed over the target);
:func:`read_baseline` reads one back as a multiset of fingerprints and raises
:class:`BaselineError` naming the file and what is wrong with it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from patternkg.shapes.outcome import Report
    from patternkg.shapes.validation import Result

FORMAT = "patternkg-baseline"
VERSION = 1
_POSITION = re.compile(r"\[\d+\]")


class BaselineError(ValueError):
    """A baseline file that cannot be read (names the file)."""


def fingerprint(result: Result, file: str) -> tuple[str, str, str, str]:
    return (result.shape, file, _POSITION.sub("[]", result.field), result.value)


def write_baseline(report: Report, path: os.PathLike | str) -> int:
    """Write the fingerprints of every entry of *report* to *path*; returns how many."""
    rows = sorted(fingerprint(e.result, e.file) + (e.result.severity,) for e in report.entries)
    document = {"format": FORMAT, "version": VERSION,
                "results": [dict(zip(("rule", "file", "field", "value", "severity"), row)) for row in rows]}
    target = Path(path)
    handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=1, ensure_ascii=False)
            out.write("\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(rows)


def read_baseline(path: os.PathLike | str) -> Counter:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read the baseline ({exc.strerror or exc})") from exc
    except ValueError as exc:
        raise BaselineError(f"{path}: not a JSON baseline ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BaselineError(f"{path}: not a patternkg baseline (expected \"format\": \"{FORMAT}\"; "
                            "write one with --write-baseline)")
    if document.get("version") != VERSION:
        raise BaselineError(f"{path}: baseline version {document.get('version')!r} is not supported "
                            f"(expected {VERSION})")
    out: Counter = Counter()
    for i, row in enumerate(document.get("results", [])):
        try:
            out[(str(row["rule"]), str(row["file"]), _POSITION.sub("[]", str(row["field"])), str(row["value"]))] += 1
        except (KeyError, TypeError) as exc:
            raise BaselineError(f"{path}: results[{i}] lacks rule, file, field or value") from exc
    return out


__all__ = ["BaselineError", "fingerprint", "read_baseline", "write_baseline"]
