"""The public entry points of the converter: :func:`convert`, :func:`build`, :func:`export`.

All are keyword-only. ``sources`` are files or folders (searched recursively for
``*.md``); empty means the bundled seed library.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pyoxigraph import Store

from patternkg.converter.diagnostics import BuildReport
from patternkg.converter.dumps import FORMATS, dump
from patternkg.converter.graph_json import write_commons_graph
from patternkg.converter.namespaces import DEFAULT_BASE_IRI
from patternkg.converter.pipeline import Conversion, load_library
from patternkg.converter.reader import DEFAULT_MAX_FILE_SIZE
from patternkg.converter.storedir import open_store

__all__ = ["EXPORT_FORMATS", "Converted", "build", "convert", "export"]

#: what :func:`export` writes: the RDF formats of :data:`~.dumps.FORMATS`, and the library's own
#: graph.json (:mod:`~.graph_json`)
EXPORT_FORMATS = (*FORMATS, "commons-graph-json")


def _write(store: Store, format: str, output: IO[bytes], *, base_iri: str) -> None:
    if format == "commons-graph-json":
        write_commons_graph(store, output)
    else:
        dump(store, format, output, base_iri=base_iri)


@dataclass
class Converted:
    """An in-memory conversion: the store, the report and (when tracked) source locations."""

    store: Store
    report: BuildReport
    conversion: Conversion


def convert(
    *,
    sources: Sequence[os.PathLike | str] = (),
    base_iri: str = DEFAULT_BASE_IRI,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    jobs: int | None = None,
    progress: bool = False,
    track: bool = False,
    issued: str | None = None,
) -> Converted:
    """Convert *sources* into a new in-memory store.

    With *track*, the result records for every (subject, predicate) the source
    file, field path and line it came from (used by validation). *issued* (an
    xsd:dateTime) is written as ``dcterms:issued``; by default nothing depends on
    the clock, so the same input gives the same graph.
    """
    store = Store()
    conversion = load_library(store, sources=[Path(s) for s in sources], base_iri=base_iri,
                              max_file_size=max_file_size, jobs=jobs, progress=progress, track=track, issued=issued)
    return Converted(store, conversion.report, conversion)


def build(
    *,
    store: os.PathLike | str,
    sources: Sequence[os.PathLike | str] = (),
    base_iri: str = DEFAULT_BASE_IRI,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    jobs: int | None = None,
    progress: bool = False,
    issued: str | None = None,
    compact: bool = True,
    full: bool = False,
    notify: Callable[[str], None] | None = None,
) -> BuildReport:
    """Convert *sources* into a new generation of the store directory *store*, atomically.

    The new generation becomes current only when the conversion completes; files that
    fail are skipped and reported (``report.ok`` is False), the rest are converted.
    When *store* has a current generation built with the same settings, only the files
    whose content changed are read again and the new generation is the previous one plus
    the changes, with the same triples as a full build (:mod:`~.incremental`); *full*
    forces a full build. With *compact* (the default) a fully built store is compacted
    before it becomes current: about 15% more build time, queries on it up to 2-4x faster.
    *store* must be a patternkg store directory, an empty folder or a new path: anything
    else raises :class:`~.storedir.StoreRefused` (layout and contracts: :mod:`~.storedir`).
    *notify* gets a line for each stale partial build removed.
    """
    from patternkg.converter.incremental import build_library

    return build_library(store=Path(store), sources=[Path(s) for s in sources], base_iri=base_iri,
                         max_file_size=max_file_size, jobs=jobs, progress=progress, issued=issued, compact=compact,
                         full=full, notify=notify)


def export(
    *,
    format: str,
    store: os.PathLike | str | Store | None = None,
    sources: Sequence[os.PathLike | str] = (),
    output: os.PathLike | str | IO[bytes] | None = None,
    base_iri: str = DEFAULT_BASE_IRI,
    jobs: int | None = None,
) -> bytes | None:
    """Serialise a library in *format* (``turtle``, ``ntriples``, ``nquads``, ``trig``, ``jsonld``,
    or ``commons-graph-json``: the library's own graph.json, see :mod:`~.graph_json`).

    The library is *store* (a pyoxigraph Store, or a store directory: see
    :func:`~.storedir.open_store`) or,
    when *store* is None, a fresh conversion of *sources*. Returns the bytes when
    *output* is None; otherwise writes to the path (atomically) or binary stream.
    """
    if format not in EXPORT_FORMATS:
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    if store is None:
        # Through an on-disk store: its index order groups triples by subject, and the
        # dump is then byte-identical to exporting a store built from the same sources.
        with tempfile.TemporaryDirectory(prefix="patternkg-export-") as tmp:
            build(store=Path(tmp) / "store", sources=sources, base_iri=base_iri, jobs=jobs)
            return export(format=format, store=Path(tmp) / "store", output=output, base_iri=base_iri)
    if not isinstance(store, Store):
        store = open_store(store)
    if output is None:
        buffer = io.BytesIO()
        _write(store, format, buffer, base_iri=base_iri)
        return buffer.getvalue()
    if hasattr(output, "write"):
        _write(store, format, output, base_iri=base_iri)
        return None
    target = Path(output)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        os.chmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; the file gets the mode open() would give
        with os.fdopen(fd, "wb") as stream:
            _write(store, format, stream, base_iri=base_iri)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    return None


def _umask() -> int:
    """The process umask (read from /proc where it is shown, else set and restored)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
