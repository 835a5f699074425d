"""Several pattern libraries in one store: one named graph each, linked where they share patterns.

A multi-library build (``patternkg build --library NAME=DIR@BASE_IRI ...``) converts each
library on its own, exactly as a single-library build would (same mapper, same per-library
duplicate detection, same VoID description of ``<LIB_BASE>dataset``), and loads its triples
into the named graph named by its dataset IRI, ``<LIB_BASE>dataset``. Then:

- patterns that are the same across libraries are linked, never merged: ``skos:exactMatch``
  when their ``id`` (``dcterms:identifier``) is the same, ``skos:closeMatch`` when only their
  slug is; both directions are written (the properties are symmetric, so a query needs no
  reasoning). Pairs of the same library are never linked: a slug or an id twice in one library
  is that library's ``duplicate-slug``/``duplicate-id`` warning, as in a single-library build;
- the links go into a graph of their own, ``<BASE>dataset#links`` (*BASE* is the build's
  ``--base-iri``), described as a ``void:Linkset``;
- the default graph holds the description of the whole, ``<BASE>dataset``: a ``void:Dataset``
  whose ``void:subset`` are every library's dataset and the linkset.

Contracts: a library's graph holds only what its own files produce; the library names are safe
IRI segments, unique, and the base IRIs are unique and differ from *BASE* (else
:class:`LibraryError`). Each library is converted in a scratch store on disk first (so its ids
resolve and its backing is derived within itself, with the pipeline unchanged), then copied into
its graph with one bulk load: memory stays flat; the cost is one extra write of each library.
:func:`build_libraries` writes the store as a new generation of a store directory, atomically,
and records the libraries in its metadata (``libraries``: name, base IRI, graph, sources, files,
patterns, triples; ``links_graph``; ``links``: counts of each link predicate).
"""

from __future__ import annotations

import gc
import os
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyoxigraph import DefaultGraph, Literal, NamedNode, Quad, RdfFormat, Store

from patternkg.converter.diagnostics import BuildReport
from patternkg.converter.namespaces import (
    DCAT, DCTERMS, ONTOLOGY_IRI, PKG, RDF, SKOS, VOID, Library, is_safe_segment,
)
from patternkg.converter.pipeline import discover, load_library
from patternkg.converter.reader import DEFAULT_MAX_FILE_SIZE
from patternkg.converter.values import XSD_DATETIME, XSD_INTEGER

__all__ = [
    "EXACT_MATCH", "CLOSE_MATCH", "LibraryError", "LibrarySpec", "MultiConversion",
    "build_libraries", "links_graph", "load_libraries", "parse_library", "same_pattern_links",
]

EXACT_MATCH = SKOS + "exactMatch"
CLOSE_MATCH = SKOS + "closeMatch"
_A = NamedNode(RDF + "type")
_SPEC = re.compile(r"(?P<name>[^=]+)=(?P<dirs>.+?)@(?P<iri>[A-Za-z][A-Za-z0-9+.-]*:.+)\Z", re.S)


class LibraryError(ValueError):
    """A library specification that cannot be built (said in one line, naming it)."""


@dataclass(frozen=True)
class LibrarySpec:
    """One library of a multi-library build: a name, its source folders and its base IRI."""

    name: str
    sources: tuple[Path, ...]
    base_iri: str

    @property
    def library(self) -> Library:
        return Library(self.base_iri)

    @property
    def graph(self) -> NamedNode:
        """The named graph of its triples: its dataset IRI, ``<BASE>dataset``."""
        return self.library.dataset


def parse_library(text: str) -> LibrarySpec:
    """``NAME=DIR[,DIR...]@BASE_IRI`` -> :class:`LibrarySpec` (a '/' is added to the IRI when it
    ends with neither '/' nor '#'); raises :class:`LibraryError`. The IRI starts at the first '@'
    followed by a scheme (``https:``), so folder names may hold '@' and IRIs may hold userinfo."""
    match = _SPEC.match(text.strip())
    if match is None:
        raise LibraryError(f"{text!r}: expected NAME=DIR@BASE_IRI (for example "
                           "commons-os=./patterns@https://example.org/commons-os/)")
    name, iri = match["name"].strip(), match["iri"].strip()
    if not iri.endswith(("/", "#")):
        iri += "/"
    try:
        Library(iri)
    except ValueError:
        raise LibraryError(f"{text!r}: {iri!r} is not an absolute IRI") from None
    dirs = tuple(Path(d) for d in match["dirs"].split(",") if d)
    return LibrarySpec(name, dirs, iri)


def check_libraries(libraries: Sequence[LibrarySpec], *, base_iri: str) -> None:
    """Raise :class:`LibraryError` unless names are unique safe segments, base IRIs unique and
    none equal to *base_iri* (the whole's), and every source folder exists."""
    if not libraries:
        raise LibraryError("no library given")
    names: set[str] = set()
    bases: dict[str, str] = {base_iri: "--base-iri"}
    for spec in libraries:
        if not is_safe_segment(spec.name):
            raise LibraryError(f"library {spec.name!r}: a name is letters, digits, '-', '_', '.' or '~'")
        if spec.name in names:
            raise LibraryError(f"library {spec.name!r} is given twice")
        names.add(spec.name)
        if spec.base_iri in bases:
            raise LibraryError(f"library {spec.name!r}: base IRI {spec.base_iri} is also the base IRI of "
                               f"{bases[spec.base_iri]}; each library needs its own")
        bases[spec.base_iri] = f"library {spec.name!r}"
        if not spec.sources:
            raise LibraryError(f"library {spec.name!r}: no source folder")
        for source in spec.sources:
            if not source.exists():
                raise LibraryError(f"library {spec.name!r}: {source}: no such file or folder")


def links_graph(base_iri: str) -> NamedNode:
    """The graph of the same-pattern links of a build whose base IRI is *base_iri*."""
    return NamedNode(Library(base_iri).dataset.value + "#links")


@dataclass
class MultiConversion:
    """The outcome of :func:`load_libraries`: the merged report and what each library holds."""

    report: BuildReport
    #: per library: name, base_iri, graph, sources, files, patterns, triples (as recorded in the metadata)
    libraries: list[dict[str, Any]] = field(default_factory=list)
    #: link predicate IRI -> number of links written (both directions counted)
    links: dict[str, int] = field(default_factory=dict)
    links_graph: str = ""


_PATTERNS = f"""SELECT ?p ?slug ?id WHERE {{
  ?p a <{PKG}Pattern> ; <{PKG}slug> ?slug .
  OPTIONAL {{ ?p <{DCTERMS}identifier> ?id }}
}}"""


def _patterns(store: Store) -> list[tuple[str, str, str | None]]:
    """(IRI, slug, id or None) of every pattern that has a file."""
    return [(row["p"].value, row["slug"].value, row["id"].value if row["id"] is not None else None)
            for row in store.query(_PATTERNS)]


def same_pattern_links(patterns: dict[str, list[tuple[str, str, str | None]]]) -> list[tuple[str, str, str]]:
    """Links between patterns of different libraries (*patterns*: library name -> (IRI, slug, id)).

    ``(subject, predicate, object)`` IRIs, sorted, both directions: ``skos:exactMatch`` for the
    same id, else ``skos:closeMatch`` for the same slug. Never within one library."""
    by_id: dict[str, list[tuple[str, str]]] = defaultdict(list)
    by_slug: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name, rows in patterns.items():
        for iri, slug, ident in rows:
            by_slug[slug].append((name, iri))
            if ident:
                by_id[ident].append((name, iri))
    exact: set[tuple[str, str]] = set()
    for members in by_id.values():
        exact |= {(a, b) for la, a in members for lb, b in members if la != lb}
    close: set[tuple[str, str]] = set()
    for members in by_slug.values():
        close |= {(a, b) for la, a in members for lb, b in members if la != lb and (a, b) not in exact}
    return sorted([(a, EXACT_MATCH, b) for a, b in exact] + [(a, CLOSE_MATCH, b) for a, b in close])


def load_libraries(
    store: Store,
    *,
    libraries: Sequence[LibrarySpec],
    base_iri: str,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    jobs: int | None = None,
    progress: bool = False,
    issued: str | None = None,
    compact: bool = False,
    scratch_dir: os.PathLike | str | None = None,
) -> MultiConversion:
    """Load *libraries* into *store* (see the module docstring); *scratch_dir* holds the
    scratch store of the library being converted (default: the system's temporary folder)."""
    check_libraries(libraries, base_iri=base_iri)
    started = time.perf_counter()
    report = BuildReport()
    result = MultiConversion(report, links_graph=links_graph(base_iri).value)
    patterns: dict[str, list[tuple[str, str, str | None]]] = {}
    for spec in libraries:
        with tempfile.TemporaryDirectory(prefix="patternkg-library-", dir=scratch_dir) as tmp:
            scratch = Store(str(Path(tmp) / "store"))
            part = load_library(scratch, sources=list(spec.sources), base_iri=spec.base_iri,
                                max_file_size=max_file_size, jobs=jobs, progress=progress, issued=issued).report
            patterns[spec.name] = _patterns(scratch)
            dump = Path(tmp) / "library.nt"
            scratch.dump(str(dump), RdfFormat.N_TRIPLES, from_graph=DefaultGraph())
            del scratch
            gc.collect()  # RocksDB closes when the last reference goes, before its folder is removed
            store.bulk_load(path=str(dump), format=RdfFormat.N_TRIPLES, to_graph=spec.graph, lenient=True)
        _merge(report, part, spec.name)
        result.libraries.append({
            "name": spec.name, "base_iri": spec.base_iri, "graph": spec.graph.value,
            "sources": sorted({s.resolve().name or str(s) for s in spec.sources}),
            "files": part.files, "patterns": part.patterns, "triples": part.triples,
        })
    links = same_pattern_links(patterns)
    graph = links_graph(base_iri)
    store.extend(Quad(NamedNode(s), NamedNode(p), NamedNode(o), graph) for s, p, o in links)
    for _s, p, _o in links:
        result.links[p] = result.links.get(p, 0) + 1
    store.extend(_describe_whole(base_iri, result, issued=issued))
    report.triples = report.quads = len(store)
    if compact:
        compacting = time.perf_counter()
        store.optimize()
        report.compact_seconds = time.perf_counter() - compacting
    report.libraries = result.libraries
    report.links = dict(result.links)
    report.seconds = time.perf_counter() - started
    return result


def _merge(report: BuildReport, part: BuildReport, name: str) -> None:
    """Add one library's report to the whole's (duplicates and unresolved targets keyed ``NAME/slug``)."""
    report.files += part.files
    report.patterns += part.patterns
    for dialect, n in part.dialects.items():
        report.dialects[dialect] = report.dialects.get(dialect, 0) + n
    report.diagnostics.extend(part.diagnostics)
    report.unresolved_targets.update({f"{name}/{k}": v for k, v in part.unresolved_targets.items()})
    report.duplicate_patterns.update({f"{name}/{k}": v for k, v in part.duplicate_patterns.items()})


def _describe_whole(base_iri: str, result: MultiConversion, *, issued: str | None) -> list[Quad]:
    """The default graph: ``<BASE>dataset`` with its subsets, and the linkset's description."""
    whole = Library(base_iri).dataset
    linkset = links_graph(base_iri)

    def n(iri: str) -> NamedNode:
        return NamedNode(iri)

    def integer(value: int) -> Literal:
        return Literal(str(value), datatype=XSD_INTEGER)

    names = [lib["name"] for lib in result.libraries]
    triples = [
        (whole, _A, n(VOID + "Dataset")),
        (whole, _A, n(DCAT + "Dataset")),
        (whole, n(DCTERMS + "title"), Literal(f"Pattern libraries: {', '.join(names)}")),
        (whole, n(DCTERMS + "description"),
         Literal("Several pattern libraries converted to RDF by patternkg, one named graph each (its "
                 "dataset IRI), with the patterns they share linked by skos:exactMatch (same id) or "
                 "skos:closeMatch (same slug only) in a linkset graph of its own.")),
        (whole, n(VOID + "vocabulary"), n(ONTOLOGY_IRI)),
        (whole, n(PKG + "patternCount"), integer(sum(lib["patterns"] for lib in result.libraries))),
        (whole, n(PKG + "sourceCount"), integer(sum(lib["files"] for lib in result.libraries))),
        (whole, n(VOID + "subset"), linkset),
        (linkset, _A, n(VOID + "Linkset")),
        (linkset, n(DCTERMS + "title"), Literal("Patterns that are the same across libraries")),
        (linkset, n(VOID + "triples"), integer(sum(result.links.values()))),
        (linkset, n(DCTERMS + "isPartOf"), whole),
    ]
    for predicate in (EXACT_MATCH, CLOSE_MATCH):
        triples.append((linkset, n(VOID + "linkPredicate"), n(predicate)))
    for lib in result.libraries:
        dataset = n(lib["graph"])
        triples += [
            (whole, n(VOID + "subset"), dataset),
            (dataset, n(DCTERMS + "isPartOf"), whole),
            (dataset, n(DCTERMS + "identifier"), Literal(lib["name"])),
            (linkset, n(VOID + "target"), dataset),
        ]
    if issued:
        triples.append((whole, n(DCTERMS + "issued"), Literal(issued, datatype=XSD_DATETIME)))
    return [Quad(s, p, o, DefaultGraph()) for s, p, o in triples]


class UnionView:
    """A store whose queries see the union of all its graphs (what a server serves): given to
    the sidecar writers of a multi-library build, which query the default graph."""

    default_graph_is_union = True  # what writers that read triples themselves look at

    def __init__(self, store: Store) -> None:
        self._store = store

    def query(self, query: str, **options: Any) -> Any:
        options.setdefault("use_default_graph_as_union", True)
        return self._store.query(query, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def build_libraries(
    *,
    store: os.PathLike | str,
    libraries: Sequence[LibrarySpec],
    base_iri: str,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    jobs: int | None = None,
    progress: bool = False,
    issued: str | None = None,
    compact: bool = True,
    notify: Callable[[str], None] | None = None,
) -> BuildReport:
    """Write *libraries* as a new generation of the store directory *store*, atomically (as
    :func:`patternkg.converter.api.build` does for one library; refusals: :mod:`.storedir`).
    Raises :class:`LibraryError` before anything is written when a library cannot be built."""
    from patternkg.converter import sidecars as sidecar_module
    from patternkg.converter.storedir import source_digest, write_generation

    check_libraries(libraries, base_iri=base_iri)
    sources = [s for spec in libraries for s in spec.sources]
    digest = source_digest((f"{spec.name}/{f.relpath}", f.path) for spec in libraries
                           for f in discover(list(spec.sources)))

    def fill(target: Store) -> MultiConversion:
        return load_libraries(target, libraries=libraries, base_iri=base_iri, max_file_size=max_file_size,
                              jobs=jobs, progress=progress, issued=issued, compact=compact)

    def metadata(result: MultiConversion) -> dict[str, Any]:
        r = result.report
        return {"base_iri": base_iri, "source_digest": digest, "triples": r.triples, "files": r.files,
                "patterns": r.patterns, "errors": len(r.errors), "warnings": len(r.warnings),
                "libraries": result.libraries, "links_graph": result.links_graph, "links": result.links}

    writers = [(name, _on_union(writer)) for name, writer in sidecar_module.load_writers()]
    result = write_generation(Path(store), fill, metadata=metadata, sidecars=writers,
                              report=lambda r: r.report, sources=sources, notify=notify)
    return result.report


def _on_union(writer: Callable[[Any, Path, Any], None]) -> Callable[[Any, Path, Any], None]:
    def run(store: Store, directory: Path, report: Any) -> None:
        writer(UnionView(store), directory, report)

    return run
