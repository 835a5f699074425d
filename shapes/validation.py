"""Validating a library with the SHACL shapes and mapping every result back to its source.

Contract of :func:`validate`: the sources are converted in memory (with
source tracking), validated against ``shapes/patternkg-shapes.ttl`` and every
SHACL result is returned as a :class:`Result` naming the file (every file, when
two files define the pattern), the 1-based line of the YAML key or list item
(line 1 when the value is missing and nothing closer is known), the field path,
the message and a fix hint. Files the converter could not read are results too
(severity violation), as are converter warnings the graph cannot show (unknown
keys, ...). Results are sorted by file, line, severity and shape.

How it runs. Two engines give the same results (``tests/shapes/test_engines.py`` and
``tests/shapes/test_equivalence.py`` prove it against one pySHACL run of the whole
shapes file over the whole, unreduced graph):

- ``oxigraph`` (default): the SHACL Core shapes are compiled to SPARQL SELECT queries
  (:mod:`~patternkg.shapes.shacl_sparql`) and run on the converted store. With
  ``only``, every query is restricted (``VALUES ?this``) to the focus nodes whose
  results can name one of those files.
- ``pyshacl`` (the reference): SHACL Core shapes run in pySHACL on a *reduced* data
  graph: only the triples whose predicate a shape's ``sh:path`` names (plus
  ``rdf:type``) are kept, split into chunks of whole patterns (a pattern with its
  statement nodes, plus the shared domain/entity/community/agent nodes) validated in
  parallel processes. Core constraints only follow one pattern's own nodes, so chunks
  do not change results; results found in two chunks (shared nodes) are merged.
- In both, the SHACL-SPARQL constraints (cross-pattern integrity) run once each as a
  whole-graph query in Oxigraph: ``$this`` becomes a variable joined with the
  shape's target class, which for these queries is what pre-binding means.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import rdflib
from pyoxigraph import Literal as OxLiteral
from pyoxigraph import NamedNode, RdfFormat, Store, Triple, parse, serialize

from patternkg.converter.api import Converted, convert
from patternkg.converter.diagnostics import BuildReport, Diagnostic
from patternkg.converter.namespaces import DEFAULT_BASE_IRI, Library
from patternkg.converter.pipeline import Conversion
from patternkg.converter.reader import DEFAULT_MAX_FILE_SIZE
from patternkg.shapes.locating import FileLocs, where
from patternkg.shapes.shacl_sparql import compile_core, run_checks
from patternkg.shapes.progress import checks_status
from patternkg.shapes.severities import DEFAULT_ENGINE, ENGINES, RANK, SEVERITIES
from patternkg.shapes.shapes_graph import SH, Finding, Shapes, SparqlConstraint, load_shapes

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
# Converter warnings about values the graph keeps (the shapes report those themselves).
_SHOWN_BY_SHAPES = {"out-of-range", "invalid-type", "invalid-value", "duplicate-slug", "duplicate-id"}
MIN_CHUNK = 150
DIGEST_OVER = 64  # longer literals of value-blind predicates are digested  # patterns per worker below which one process does it all


@dataclass(slots=True)  # one per result: hundreds of thousands on a large library
class Result:
    severity: str
    file: str
    line: int
    field: str
    message: str
    fix: str
    shape: str
    component: str
    focus: str = ""
    path: str = ""
    value: str = ""
    also: list[str] = field(default_factory=list)  # further files defining the same pattern

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Validation:
    """The outcome: results, counts, the conversion report and (whole-graph engines only) the
    in-memory conversion they were made from; the streaming engine keeps no whole graph."""

    results: list[Result]
    files: int
    patterns: int
    converted: Converted | None
    report: BuildReport | None = None
    #: files converted for this run when a kept index was reused (``only`` with ``index``), else None
    reused_index: int | None = None
    #: with ``neighbours_of``: every file checked (the *only* files and their neighbours), else None
    checked: list[str] | None = None

    def __post_init__(self) -> None:
        if self.report is None and self.converted is not None:
            self.report = self.converted.report

    def counts(self) -> dict[str, int]:
        out = {name: 0 for name in SEVERITIES}
        for r in self.results:
            out[r.severity] += 1
        return out

    def summary(self) -> dict:
        return {"files": self.files, "patterns": self.patterns, **self.counts(),
                "files_with_results": len({r.file for r in self.results})}

    def failed(self, fail_on: str = "violation") -> bool:
        """True when any result is at or above *fail_on*."""
        return any(RANK[r.severity] >= RANK[fail_on] for r in self.results)


# -- data graph ----------------------------------------------------------------------------------

def _owner(subject: str, space: str) -> str:
    """The pattern IRI a subject belongs to, or '' for shared nodes."""
    if subject.startswith(space):
        return subject.split("#", 1)[0]
    return ""


def reduced_chunks(store: Store, library: Library, shapes: Shapes, parts: int,
                   only: set[str] | None = None, digests: dict[str, str] | None = None) -> list[bytes]:
    """N-Triples of the reduced data graph, split into *parts* chunks of whole patterns.

    Only triples whose predicate the shapes name are kept; long string literals of
    predicates no shape reads the value of (body sections, reasons, ...) are
    replaced by a digest (same datatype, distinct values stay distinct), recorded
    in *digests* to map values back. Shared nodes go to every chunk; with *only*
    (pattern IRIs), just those patterns' triples are kept.
    """
    keep = shapes.predicates
    opaque = shapes.opaque
    space = library.pattern_space
    by_owner: dict[str, list] = defaultdict(list)
    for quad in store.quads_for_pattern(None, None, None, None):
        if keep is not None and quad.predicate.value not in keep:
            continue
        owner = _owner(quad.subject.value, space) if isinstance(quad.subject, NamedNode) else ""
        if only is not None and owner and owner not in only:
            continue
        triple = quad.triple
        obj = quad.object
        if isinstance(obj, OxLiteral) and len(obj.value) > DIGEST_OVER and quad.predicate.value in opaque:
            digest = "sha1:" + hashlib.sha1(obj.value.encode()).hexdigest()
            if digests is not None:
                digests[digest] = obj.value
            obj = OxLiteral(digest, language=obj.language) if obj.language else OxLiteral(digest, datatype=obj.datatype)
            triple = Triple(quad.subject, quad.predicate, obj)
        by_owner[owner].append(triple)
    shared = by_owner.pop("", [])
    if only is not None:  # only the shared nodes the kept patterns refer to
        referred = {t.object.value for ts in by_owner.values() for t in ts if isinstance(t.object, NamedNode)}
        shared = [t for t in shared if t.subject.value in referred]
    owners = sorted(by_owner)
    parts = max(1, min(parts, len(owners)))
    chunks: list[bytes] = []
    for i in range(parts):
        triples = [t for o in owners[i::parts] for t in by_owner[o]] + shared
        chunks.append(serialize(triples, format=RdfFormat.N_TRIPLES) or b"")
    return chunks


def _to_rdflib(term):
    if isinstance(term, NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, OxLiteral):
        if term.language:
            return rdflib.Literal(term.value, lang=term.language)
        if term.datatype.value == XSD_STRING:
            return rdflib.Literal(term.value)
        return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))
    return rdflib.BNode(term.value)


def _n3(term) -> str | None:
    if term is None:
        return None
    if isinstance(term, rdflib.Literal):
        return str(term)
    return str(term)


# -- core shapes in pySHACL (worker side) ---------------------------------------------------------

_SHAPES_FOR_WORKERS: Shapes | None = None


def run_core(ntriples: bytes) -> list[Finding]:
    """pySHACL with the core shapes over one chunk of the data graph."""
    import pyshacl

    shapes = _SHAPES_FOR_WORKERS or load_shapes()
    graph = rdflib.Graph()
    for triple in parse(ntriples, format=RdfFormat.N_TRIPLES):
        graph.add((_to_rdflib(triple.subject), _to_rdflib(triple.predicate), _to_rdflib(triple.object)))
    _conforms, report, _text = pyshacl.validate(graph, shacl_graph=shapes.core, inplace=True,
                                                allow_infos=True, allow_warnings=True)
    return findings_from_report(report, shapes)


def findings_from_report(report: rdflib.Graph, shapes: Shapes) -> list[Finding]:
    """Read a pySHACL results graph into :class:`Finding` objects."""
    out = []
    for node in report.subjects(rdflib.RDF.type, SH.ValidationResult):
        shape = report.value(node, SH.sourceShape)
        info = shapes.info.get(shape)
        name = info.name if info else str(shape)
        severity = str(report.value(node, SH.resultSeverity)).rsplit("#", 1)[-1].lower()
        out.append(Finding(str(report.value(node, SH.focusNode)), _n3(report.value(node, SH.resultPath)),
                           _n3(report.value(node, SH.value)), name,
                           str(report.value(node, SH.sourceConstraintComponent)).rsplit("#", 1)[-1],
                           severity, str(report.value(node, SH.resultMessage) or "")))
    return out


# -- SHACL-SPARQL constraints in Oxigraph -------------------------------------------------------------

_VAR = re.compile(r"\{([?$])(\w+)\}")


def run_sparql(store: Store, shapes: Shapes, focus: set[str] | None = None,
               base_iri: str = DEFAULT_BASE_IRI, constraints: Sequence[SparqlConstraint] | None = None,
               restrict: bool = False) -> list[Finding]:
    """Every SHACL-SPARQL constraint (or those of *constraints*) as one whole-graph query
    (``$this`` joined with the targets).

    With *focus* (node IRIs), only results on those focus nodes are kept; with *restrict*
    too, ``$this`` is pre-bound to them (a ``VALUES`` clause) instead of filtering a
    whole-graph run.
    """
    space = Library(base_iri).pattern_space
    out: list[Finding] = []
    values = ("VALUES ?this { " + " ".join(f"<{iri}>" for iri in sorted(focus)) + " } "
              if restrict and focus is not None else "")
    if restrict and focus is not None and not focus:
        return out
    # Without rdfs:subClassOf triples, instances of C are the subjects of "?x rdf:type C" (as in
    # run_checks): the costlier property path is left out.
    instance = "a" if not store.query("ASK { ?a <http://www.w3.org/2000/01/rdf-schema#subClassOf> ?b }") \
        else "a/<http://www.w3.org/2000/01/rdf-schema#subClassOf>*"
    for constraint in shapes.sparql if constraints is None else constraints:
        prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in sorted(constraint.prefixes.items()))
        query = constraint.query.replace("$this", "?this")
        targets = " UNION ".join(f"{{ ?this {instance} <{c}> }}" for c in constraint.target_classes)
        brace = query.index("{", query.upper().index("WHERE"))
        query = f"{prologue}{query[:brace + 1]} {values}{targets} {query[brace + 1:]}"
        solutions = store.query(query)
        names = [v.value for v in solutions.variables]
        for row in solutions:
            if focus is not None and row["this"].value not in focus:
                continue
            bindings = {name: row[name] for name in names}
            path = bindings.get("path")
            value = bindings.get("value")
            message = _VAR.sub(lambda m: _text(bindings.get(m.group(2)), m.group(2), shapes, space),
                               constraint.shape.message or "")
            # SHACL-SPARQL: without ?value, the value of the result is the focus node.
            this = row["this"].value
            out.append(Finding(this, path.value if path is not None else None, _oxvalue(value) or this,
                               constraint.shape.name, "SPARQLConstraintComponent", constraint.shape.severity,
                               message))
    return out


def _oxvalue(term) -> str | None:
    return None if term is None else term.value


def _text(term, name: str, shapes: Shapes, space: str) -> str:
    """A binding as a message shows it: YAML field names, slugs, local names, literal text."""
    if term is None:
        return ""
    if isinstance(term, NamedNode):
        if name == "path" and shapes.field_by_path.get(term.value, "<body>") != "<body>":
            return shapes.field_by_path[term.value]
        if term.value.startswith(space):
            return term.value[len(space):]
        return term.value.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
    return term.value


# -- the engine ---------------------------------------------------------------------------------------

def validate(
    *,
    sources: Sequence[os.PathLike | str] = (),
    base_iri: str = DEFAULT_BASE_IRI,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    jobs: int | None = None,
    only: Sequence[os.PathLike | str] = (),
    shapes_file: os.PathLike | str | None = None,
    engine: str = DEFAULT_ENGINE,
    progress: bool = False,
    batch_files: int | None = None,
    index: os.PathLike | str | None = None,
    neighbours_of: Sequence[str] = (),
) -> Validation:
    """Convert *sources*, validate, and map results to files (see the module docstring).

    *only* (files among the sources) restricts the SHACL Core checks and the reported
    results to those files' patterns while cross-pattern checks still see the whole
    library: the CI case of a few changed files. The results are exactly those of the
    whole-library run that name one of those files.

    *engine* is ``"oxigraph"`` (default: SHACL Core compiled to SPARQL, see
    :mod:`~patternkg.shapes.shacl_sparql`) or ``"pyshacl"`` (the reference). Both give
    the same results; *progress* shows the files read and the checks running on a
    terminal (stderr). The Oxigraph engine raises
    :class:`~patternkg.shapes.shacl_sparql.UnsupportedShape` before converting when
    the shapes use a SHACL feature it does not compile.

    The Oxigraph engine checks a library of more than *batch_files* files (default
    :data:`~patternkg.shapes.streaming.BATCH_FILES`) in batches of that many files and
    never holds its whole graph (:mod:`~patternkg.shapes.streaming`); a smaller library,
    or any with ``batch_files=0``, is converted and checked as one in-memory graph (the
    same results; memory grows with the library). The pySHACL engine always works on the
    whole graph.

    *index* (a directory, Oxigraph engine): a full validation keeps its cross-pattern index
    there (:mod:`~patternkg.shapes.index`); a validation with *only* then converts just the
    changed files and reads the rest from the index (:mod:`~patternkg.shapes.changed`),
    with the same results, and falls back to a full validation when it cannot (writing the
    index when it was missing or left dirty; an index of another library is left alone).
    A full validation with *index* always (re)writes it.

    *neighbours_of* (slugs and ids, with *index*): the files linking to those patterns or
    sharing those slugs or ids are checked and reported too, as found in the updated index
    (:func:`~patternkg.shapes.changed.check_changed`; ``--since`` uses this), and
    :attr:`Validation.checked` lists every file checked; an index that cannot be used is
    rewritten by a full validation first. Without a usable index it is ignored.
    """
    global _SHAPES_FOR_WORKERS
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    shapes = load_shapes(str(shapes_file) if shapes_file else None)
    if engine == "oxigraph":
        compile_core(shapes)  # fail before any work when the shapes use something unsupported
    jobs = jobs or os.cpu_count() or 1
    if engine == "oxigraph" and (batch_files != 0 or index is not None):
        from patternkg.converter.pipeline import discover
        from patternkg.shapes import index as ix
        from patternkg.shapes.changed import check_changed
        from patternkg.shapes.streaming import BATCH_FILES, validate_streaming

        files = discover([Path(s) for s in sources])
        index_dir = Path(index) if index is not None else None
        meta = {"base_iri": base_iri, "shapes": ix.shapes_digest(shapes_file), "sources": ix.source_key(sources),
                "max_file_size": max_file_size}
        if (only or neighbours_of) and index_dir is not None:
            checked = check_changed(index=index_dir, files=files, only=only, shapes=shapes, meta=meta,
                                    base_iri=base_iri, max_file_size=max_file_size, neighbours_of=neighbours_of)
            if checked is not None:
                return checked
            kept = ix.read_meta(index_dir)
            if kept is not None and any(kept.get(k) != v for k, v in meta.items()):
                index_dir = None  # another library's index (e.g. --since's old tree): left as it is
            elif neighbours_of:  # the index rewritten by a full validation, then used
                validate_streaming(files=files, base_iri=base_iri, max_file_size=max_file_size, jobs=jobs,
                                   shapes=shapes, batch_files=batch_files or BATCH_FILES, index=index_dir, meta=meta,
                                   progress=progress)
                checked = check_changed(index=index_dir, files=files, only=only, shapes=shapes, meta=meta,
                                        base_iri=base_iri, max_file_size=max_file_size, neighbours_of=neighbours_of)
                if checked is not None:
                    return checked
        if index_dir is not None or len(files) > (batch_files or BATCH_FILES):  # else one batch: the whole graph
            return validate_streaming(files=files, base_iri=base_iri, max_file_size=max_file_size, jobs=jobs,
                                      shapes=shapes, batch_files=batch_files or BATCH_FILES, only=only,
                                      index=index_dir, meta=meta, progress=progress)
    converted = convert(sources=sources, base_iri=base_iri, max_file_size=max_file_size, jobs=jobs, track=True,
                        progress=progress)
    library = Library(base_iri)
    conversion = converted.conversion
    only_patterns: set[str] | None = None
    only_files: set[str] | None = None
    focus: set[str] | None = None
    if only:
        wanted = {Path(p).resolve() for p in only}
        only_files = {f for files in conversion.files_by_slug.values() for f in files if Path(f).resolve() in wanted}
        only_files |= {d.file for d in converted.report.diagnostics if Path(d.file).resolve() in wanted}
        only_patterns = {library.pattern(slug).value for slug, files in conversion.files_by_slug.items()
                         if only_files.intersection(files)}
        focus = focus_nodes(conversion, library, only_patterns)
    findings: list[Finding] = []
    digests: dict[str, str] = {}
    checking = checks_status(converted.report.files, len(shapes.sparql), enabled=progress)
    if engine == "oxigraph":
        findings = run_checks(converted.store, shapes, focus) + run_sparql(converted.store, shapes, focus, base_iri)
    else:
        parts = 1 if only_patterns is not None else max(1, min(jobs, len(conversion.files_by_slug) // MIN_CHUNK))
        chunks = reduced_chunks(converted.store, library, shapes, parts, only_patterns, digests)
        _SHAPES_FOR_WORKERS = shapes
        if len(chunks) > 1 and sys.platform.startswith("linux"):
            with get_context("fork").Pool(len(chunks)) as pool:
                pending = pool.map_async(run_core, chunks)
                findings += run_sparql(converted.store, shapes, focus, base_iri)  # meanwhile, in this process
                for part in pending.get():
                    findings += part
        else:
            for chunk in chunks:
                findings += run_core(chunk)
            findings += run_sparql(converted.store, shapes, focus, base_iri)
    checking.close()
    findings = [f if f.value not in digests else Finding(f.focus, f.path, digests[f.value], f.shape, f.component,
                                                          f.severity, f.message) for f in set(findings)]
    results = locate(sorted(findings, key=finding_key), converted.conversion, library, shapes)
    results += converter_results(converted.report.diagnostics, results)
    if only_files is not None:
        results = [r for r in results if r.file in only_files]
    results.sort(key=lambda r: (r.file, r.line, -RANK[r.severity], r.shape, r.field, r.value))
    return Validation(results, converted.report.files, converted.report.patterns, converted)


def focus_nodes(conversion, library: Library, patterns: set[str]) -> set[str]:
    """The nodes whose results can name a file of *patterns*: the patterns, every subject their
    files write (statement nodes and the shared nodes they mention; a result on a shared node is
    reported at the first file that mentions it)."""
    out = set(patterns)
    for slug, files in conversion.files_by_slug.items():
        if library.pattern(slug).value in patterns:
            for file in files:
                out |= {s for (s, _p) in conversion.locations.get(file, {}) if ":" in s and not s.startswith("_:")}
    return out


def finding_key(f: Finding):
    """The order results are made in (before they are sorted by file and line): total, so two
    runs of the same library give the same order whatever the order findings were found in."""
    return (f.focus, f.path or "", f.shape, f.component, f.value or "", f.message)


# -- mapping back to the source -------------------------------------------------------------------------

def locate(findings: Iterable[Finding], conversion: Conversion, library: Library, shapes: Shapes) -> list[Result]:
    """Results of *findings* (sorted) at the files, fields and lines *conversion* recorded."""
    space = library.pattern_space
    shared_index: dict[str, list[tuple[str, str, str, int | None]]] | None = None
    tables: dict[str, FileLocs] = {}
    out: list[Result] = []

    def table(file: str) -> FileLocs:
        if file not in tables:
            tables[file] = FileLocs(conversion.locations.get(file, {}))
        return tables[file]

    for f in findings:
        if f.focus.startswith(space):
            slug = f.focus[len(space):].split("#", 1)[0]
            out.append(make_result(f, shapes, [(file, *where(table(file), f, shapes.info_by_name.get(f.shape),
                                                                shapes.field_by_path))
                                               for file in conversion.files_by_slug.get(slug, [])]))
            continue
        if shared_index is None:
            shared_index = defaultdict(list)
            for file, locs in conversion.locations.items():
                for (s, p), (fld, line) in locs.items():
                    if not s.startswith(space):
                        shared_index[s].append((file, p, fld, line))
        entries = shared_index.get(f.focus, [])
        exact = [e for e in entries if e[1] == f.path] or entries
        out.append(make_result(f, shapes, [(file, fld, line) for file, _p, fld, line in exact[:1]]))
    return out


def make_result(f: Finding, shapes: Shapes, places: list[tuple[str, str, int | None]]) -> Result:
    """The result of finding *f* reported at the first of *places* (file, field, line); the other
    files are ``also``. A result a file cannot be found for is reported at ``<library>``."""
    info = shapes.info_by_name.get(f.shape)
    if not places:
        places = [("<library>", f.path or "", 1)]
    (file, fld, line), others = places[0], [p[0] for p in places[1:]]
    message = f.message or (info.message if info and info.message else "")
    return Result(f.severity, file, line or 1, fld, message, (info.fix if info else None) or "",
                  f.shape, f.component, f.focus, f.path or "", f.value or "", others)


def converter_results(diagnostics: Iterable[Diagnostic], results: Iterable[Result]) -> list[Result]:
    """Converter diagnostics as results: read errors, and warnings the shapes cannot see."""
    shown = {(r.file, r.field) for r in results}
    out = []
    for d in diagnostics:
        if d.severity == "warning" and d.code in _SHOWN_BY_SHAPES and (
                (d.file, d.field) in shown or d.code.startswith("duplicate") or d.code == "out-of-range"):
            continue
        severity = "violation" if d.severity == "error" else "warning"
        fix = "fix the file so it can be read (see the message)" if d.severity == "error" else \
            "remove or rename the key (see PATTERN_SPEC v7.1)" if d.code == "unknown-key" else ""
        out.append(Result(severity, d.file, d.line or 1, d.field, d.message, fix, f"converter:{d.code}",
                          "converter"))
    return out


validate_library = validate  # the name the CLI and tests use
