"""The progress display of ``patternkg validate``: on terminals only, never in CI logs.

Contract: :func:`wanted` is True when stderr is a terminal and the ``CI`` environment
variable is unset (GitHub Actions, GitLab and most CI systems set it). The files bar
is the converter's; :func:`checks_status` is a one-line status while the checks run
(how many files were read and how many cross-pattern queries run), cleared when done.
"""

from __future__ import annotations

import os
import shutil
import sys


def wanted() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


class _Quiet:
    def close(self) -> None:
        pass


def checks_status(files: int, queries: int, *, enabled: bool):
    if not (enabled and sys.stderr.isatty()):
        return _Quiet()
    from tqdm import tqdm

    size = shutil.get_terminal_size()
    return tqdm(total=None, desc=f"{files} files read; running the SHACL checks and {queries} cross-pattern queries",
                bar_format="{desc}... {elapsed}", file=sys.stderr, leave=False, ncols=size.columns, nrows=size.lines)


__all__ = ["checks_status", "wanted"]
