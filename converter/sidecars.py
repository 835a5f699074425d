"""The sidecar writers of a build: files written into a generation beside its store.

After the store of a new generation is filled (and compacted), and before the
``current`` pointer moves to it, ``patternkg build`` calls every writer listed in
:data:`SIDECARS`, in order, as ``fn(store, directory, report)``:

- ``store``: the generation's ``pyoxigraph.Store`` (complete; the writer must not change it);
- ``directory``: the generation's folder (a ``Path``); write files there, never elsewhere;
- ``report``: the build's :class:`~patternkg.converter.diagnostics.BuildReport`.

A writer that raises fails the build: the generation is discarded and the previous one
stays current. A server opens sidecars of the generation it serves
(``app.extensions["patternkg"].generation.directory``), so a sidecar is always in step
with the store it describes.

Each entry is ``(name, "module:function")``; add one line per writer. The name is
recorded in the generation's metadata (``sidecars``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["SIDECARS", "load_writers"]

SIDECARS: tuple[tuple[str, str], ...] = (
    ("search", "patternkg.converter.search_index:write_search_index"),  # full-text search (SQLite FTS5)
    ("answers", "patternkg.server.precompute:write_answers"),  # precomputed prepared-query answers (issue 14)
)


def load_writers(entries: Sequence[tuple[str, str]] = SIDECARS) -> list[tuple[str, Callable[[Any, Path, Any], None]]]:
    """Import the writers named by *entries* (``(name, "module:function")``)."""
    writers = []
    for name, target in entries:
        module, _, attr = target.partition(":")
        writers.append((name, getattr(importlib.import_module(module), attr)))
    return writers
