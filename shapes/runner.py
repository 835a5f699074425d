"""One validation run as a report: the plain run, ``--baseline`` and ``--since`` in one place.

Contract of :func:`make_report`: validates *sources* (all of them, or with *since* only
what the change since that git ref can affect, see :mod:`.since`), marks results found
in *baseline* as known, and returns the :class:`~.outcome.Report` every format renders.
Paths are shown relative to *root* (default: the top of the git checkout holding the
first source, else the working directory), which is also what baseline files store,
so a baseline written at the repository's top matches in CI. The CLI and the GitHub
Action (:mod:`.action`) both call this.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from patternkg.shapes.baseline import read_baseline
from patternkg.shapes.outcome import Report, from_validation, mark


def default_root(sources: Sequence[os.PathLike | str]) -> Path:
    from patternkg.shapes.since import repo_root

    first = Path(os.path.abspath(sources[0])) if sources else Path.cwd()
    top = repo_root(first if first.is_dir() else first.parent)
    return top or Path.cwd()


def make_report(*, sources: Sequence[os.PathLike | str] = (), since: str | None = None,
                baseline: os.PathLike | str | None = None, root: os.PathLike | str | None = None,
                only: Sequence[os.PathLike | str] = (), **options) -> Report:
    """Validate and compare (see the module docstring). *options* go to ``validate``."""
    from patternkg.shapes.validation import validate

    known = read_baseline(baseline) if baseline is not None else None  # a bad baseline fails before any work
    root_path = Path(os.path.abspath(root)) if root is not None else default_root(sources)
    if since is not None:
        from patternkg.shapes.since import validate_since

        report = validate_since(ref=since, sources=sources, validate=validate, root=root_path, **options)
    else:
        report = from_validation(validate(sources=sources, only=only, **options), root=root_path)
    if known is not None:
        mark(report.entries, known, "known")
        report.baseline = str(baseline)
    return report


__all__ = ["default_root", "make_report"]
