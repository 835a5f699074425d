"""``patternkg build`` and ``patternkg export``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from patternkg.converter.api import build as build_store
from patternkg.converter.api import EXPORT_FORMATS
from patternkg.converter.api import export as export_library
from patternkg.converter.diagnostics import BuildReport
from patternkg.converter.pipeline import load_library, write_store
from patternkg.converter.storedir import StoreDirError
from patternkg.options import allow_empty_option, require_patterns, source_arguments, store_base_iri

report_option = click.option("--report", "report_format", type=click.Choice(["text", "json"]), default="text",
                             show_default=True, help="Format of the build report (written to stderr).")
strict_option = click.option("--strict", is_flag=True, help="Exit with status 1 on warnings too.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="Only print errors and the summary.")
timestamp_option = click.option("--timestamp", metavar="DATETIME", default=None,
                                help="Record this xsd:dateTime as dcterms:issued (default: none, for "
                                     "reproducible output).")


def fail(exc: StoreDirError) -> None:
    """One line naming the path, and the error's exit status (no traceback)."""
    click.echo(f"patternkg: {exc}", err=True)
    sys.exit(exc.exit_code)


def emit_report(report: BuildReport, fmt: str, *, quiet: bool, strict: bool = False, stream=None) -> None:
    """The report on stderr. With *quiet*, only errors are listed (and warnings with *strict*,
    since they fail the command); the counts are always of everything. When the exit status
    will be 1, a last line of the text report says why."""
    stream = stream or sys.stderr
    if fmt == "json":  # stays one JSON document; it has the counts
        click.echo(report.to_json(), file=stream)
        return
    shown = ("error", "warning") if strict else ("error",)
    click.echo(report.to_text(severities=shown if quiet else None), file=stream)
    if report.exit_code(strict=strict):
        why = [f"{len(report.failed_files)} file(s) could not be converted"] if report.errors else []
        if strict and report.warnings:
            why.append(f"{len(report.warnings)} warning(s) with --strict")
        click.echo(f"patternkg: exit status 1: {'; '.join(why)}", file=stream)


@click.command()
@source_arguments
@click.option("--store", "store_dir", required=True, type=click.Path(path_type=Path),
              help="Store directory to write a new generation into (see docs/server.md#generations); "
                   "a new path, an empty folder or a store patternkg wrote.")
@click.option("--compact/--no-compact", default=True, show_default=True,
              help="Compact the finished store: ~15% more build time, queries on it up to 2-4x faster.")
@click.option("--full", is_flag=True,
              help="Read and convert every file, even when the store has a generation to update.")
@report_option
@strict_option
@quiet_option
@timestamp_option
@allow_empty_option
@click.option("--library", "libraries", multiple=True, metavar="NAME=DIR[,DIR...]@BASE_IRI",
              help="Build several libraries into one store (repeat the option; instead of SOURCE): each "
                   "in the named graph <BASE_IRI>dataset, patterns shared across libraries linked by "
                   "skos:exactMatch/closeMatch (docs/server.md#several-libraries). --base-iri then names "
                   "the whole (<BASE>dataset) and must differ from every library's.")
def build(sources, base_iri, max_file_size, jobs, store_dir, compact, full, report_format, strict, quiet, timestamp,
          allow_empty, libraries):
    """Convert a library into an on-disk Oxigraph store.

    Each build writes a new immutable generation inside DIR and makes it current
    with one atomic rename, so a failed or interrupted build leaves the current
    store intact and a running server never sees a half-written one. DIR must be
    new, empty or a store patternkg wrote (anything else is refused, exit status
    2; nothing foreign is ever deleted). When DIR's current generation was
    built with the same settings, only files whose content changed are read
    again and the new generation is the previous one plus the changes, the same
    triples as a full build (--full forces one). Files that cannot be converted
    are reported and skipped. Exit status: 0 when no file failed, 1 when any did
    (with --strict, also when there are warnings).
    """
    if libraries:
        report = _build_libraries(libraries, sources, base_iri=base_iri, max_file_size=max_file_size, jobs=jobs,
                                  store_dir=store_dir, quiet=quiet, timestamp=timestamp, compact=compact,
                                  allow_empty=allow_empty)
        emit_report(report, report_format, quiet=quiet, strict=strict)
        sys.exit(report.exit_code(strict=strict))
    require_patterns(sources, allow_empty=allow_empty)
    try:
        report = build_store(store=store_dir, sources=sources, base_iri=base_iri, max_file_size=max_file_size,
                             jobs=jobs, progress=not quiet, issued=timestamp, compact=compact, full=full,
                             notify=lambda line: click.echo(f"patternkg: {line}", err=True))
    except StoreDirError as exc:
        fail(exc)
    emit_report(report, report_format, quiet=quiet, strict=strict)
    sys.exit(report.exit_code(strict=strict))


def _build_libraries(specs: tuple[str, ...], sources: tuple[Path, ...], *, base_iri: str, max_file_size: int,
                     jobs: int | None, store_dir: Path, quiet: bool, timestamp: str | None, compact: bool,
                     allow_empty: bool) -> BuildReport:
    """``build --library ...``: a usage error (exit status 2) for a bad specification."""
    from patternkg.converter.libraries import LibraryError, build_libraries, check_libraries, parse_library

    if sources:
        raise click.UsageError("give either SOURCE... or --library, not both")
    try:
        libraries = [parse_library(spec) for spec in specs]
        check_libraries(libraries, base_iri=base_iri)
    except LibraryError as exc:
        raise click.BadParameter(str(exc), param_hint="--library") from None
    for spec in libraries:
        require_patterns(spec.sources, allow_empty=allow_empty)
    try:
        return build_libraries(store=store_dir, libraries=libraries, base_iri=base_iri,
                               max_file_size=max_file_size, jobs=jobs, progress=not quiet, issued=timestamp,
                               compact=compact, notify=lambda line: click.echo(f"patternkg: {line}", err=True))
    except StoreDirError as exc:
        fail(exc)
        raise  # unreachable: fail() exits


@click.command()
@source_arguments
@click.option("--store", "store_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Export this existing Oxigraph store instead of converting SOURCE.")
@click.option("--format", "-f", "fmt", type=click.Choice(list(EXPORT_FORMATS)), default="turtle", show_default=True,
              help="Serialisation to write; commons-graph-json is the library's own data/graph.json "
                   "(Commons-OS/patterns schema/graph_schema.json).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: standard output).")
@report_option
@strict_option
@quiet_option
@timestamp_option
@allow_empty_option
def export(sources, base_iri, max_file_size, jobs, store_dir, fmt, output, report_format, strict, quiet, timestamp,
           allow_empty):
    """Write a library as Turtle, N-Triples, N-Quads, TriG, JSON-LD or the library's graph.json.

    Output is deterministic: the same input gives byte-identical output (but for
    graph.json's "generated", which is the --timestamp of the build, else the time
    of the export). Every RDF dump carries a VoID/DCAT description of the dataset
    (<BASE>dataset).
    Turtle and TriG use the project's prefixes; JSON-LD is compacted with the
    project's context. The build report goes to stderr.
    """
    target = output if output is not None else sys.stdout.buffer
    if store_dir is not None:
        if sources:
            raise click.UsageError("give either SOURCE... or --store, not both")
        try:
            base_iri = store_base_iri(base_iri, store_dir)
            export_library(format=fmt, store=store_dir, output=target, base_iri=base_iri)
        except StoreDirError as exc:
            fail(exc)
        return
    import tempfile

    require_patterns(sources, allow_empty=allow_empty)
    with tempfile.TemporaryDirectory(prefix="patternkg-export-") as tmp:
        store_path = Path(tmp) / "store"

        def fill(store):
            return load_library(store, sources=sources, base_iri=base_iri, max_file_size=max_file_size, jobs=jobs,
                                progress=not quiet, issued=timestamp).report

        report = write_store(store_path, fill)
        export_library(format=fmt, store=store_path, output=target, base_iri=base_iri)
    emit_report(report, report_format, quiet=quiet, strict=strict)
    sys.exit(report.exit_code(strict=strict))


from patternkg.converter.publish_cli import commands as _publishing  # noqa: E402  (beside build and export)

commands = [build, export, *_publishing]
