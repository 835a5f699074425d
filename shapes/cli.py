"""``patternkg validate``: SHACL validation with results a library's CI can act on."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from patternkg.options import source_arguments
from patternkg.shapes.reports import FORMATS
from patternkg.shapes.severities import DEFAULT_ENGINE, ENGINES, SEVERITIES


def _report_target(_ctx, _param, values):
    out = []
    for value in values:
        fmt, sep, path = value.partition("=")
        if not sep or fmt not in FORMATS or not path:
            raise click.BadParameter(f"{value!r}: expected FORMAT=FILE with FORMAT one of {', '.join(FORMATS)}")
        out.append((fmt, Path(path)))
    return out


@click.command()
@source_arguments
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text (summary, then details by rule), json, github (capped workflow annotations), junit, "
                   "sarif (SARIF 2.1.0), markdown (step summary / PR comment) or html (self-contained).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report (or, with --shapes-only, the shapes) to this file; the terminal still "
                   "gets the summary.")
@click.option("--report", "reports", multiple=True, callback=_report_target, metavar="FORMAT=FILE",
              help="Also write the report in FORMAT to FILE (repeatable), from the same run.")
@click.option("--severity", type=click.Choice(SEVERITIES), default=None,
              help="List results at or above this severity (counts always cover all). Default: warning "
                   "for text and markdown (the text says how many infos it hid), info otherwise.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default="violation", show_default=True,
              help="Exit with status 1 when a new result is at or above this severity.")
@click.option("--baseline", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Results in this baseline are reported as known and do not fail the run "
                   "(matched by rule, file, field and value, not line).")
@click.option("--write-baseline", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write every result of this run to a baseline file.")
@click.option("--since", metavar="REF", default=None,
              help="Compare with the library at this git ref (e.g. origin/main): results are new, fixed or "
                   "unchanged; only new ones count for --fail-on. Checks only what the change can affect.")
@click.option("--only", "only", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Report only on these files (e.g. the changed ones); cross-pattern checks still see "
                   "the whole library. Repeatable.")
@click.option("--index", "index", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              help="Keep the cross-pattern index of a full run in DIR; with --only (and --since), convert just "
                   "the changed files and read the rest of the library from it (same results; seconds on a "
                   "100,000-pattern library: 2-3 s for --only, 4-10 s for --since). --since keeps the base tree "
                   "and its index in DIR.since (the first time a copy of DIR). Missing or of another library: "
                   "a full run.")
@click.option("--batch-files", type=click.IntRange(min=0), default=None, metavar="N",
              help="Oxigraph engine: convert and check libraries of more than N files (default 500) in "
                   "batches of N, in bounded memory; 0: always the whole graph in memory.")
@click.option("--link-base", default=None, metavar="URL",
              help="HTML report: link results to URL/FILE#LLINE (e.g. https://github.com/ORG/REPO/blob/SHA).")
@click.option("--progress/--no-progress", default=None,
              help="Show files read and checks running on stderr. Default: on a terminal, off when CI is set.")
@click.option("--engine", type=click.Choice(ENGINES), default=DEFAULT_ENGINE, show_default=True,
              help="oxigraph: SHACL Core compiled to SPARQL, streamed in batches (any size); pyshacl: the "
                   "reference engine, whole graph in memory (practical up to a few thousand files: 952 files "
                   "took 1.4 GB, 3,800 files 4.5 GB and 70-76 s). Both give the same results.")
@click.option("--shapes-only", is_flag=True,
              help="Print the path of the SHACL shapes file (or write it to --output) and exit.")
def validate(sources, base_iri, max_file_size, jobs, fmt, output, reports, severity, fail_on, baseline,
             write_baseline, since, only, index, batch_files, link_base, progress, engine, shapes_only):
    """Check a library against the patternkg SHACL shapes.

    The report starts with a summary (counts, rules, worst files), then lists every
    result by rule with file:line, field and fix. Exit status: 0 when no new result
    is at or above --fail-on, 1 when one is, 2 for usage errors (and unreadable
    baselines or git refs).
    """
    # rdflib and pySHACL load here, not when the CLI starts (~90 ms off every other command).
    from patternkg.shapes import progress as progress_display
    from patternkg.shapes.baseline import BaselineError, write_baseline as save_baseline
    from patternkg.shapes.reports import render, summary_text
    from patternkg.shapes.shapes_graph import shapes_path
    from patternkg.shapes.index import NotAnIndexError
    from patternkg.shapes.since import SinceError

    if shapes_only:
        if output is not None:
            output.write_bytes(shapes_path().read_bytes())
            click.echo(str(output))
        else:
            click.echo(str(shapes_path()))
        return
    if since is not None and only:
        raise click.UsageError("--since chooses the files to check itself; do not combine it with --only")
    if write_baseline is not None and (since is not None or only):
        raise click.UsageError("--write-baseline records the whole library: not with --since or --only")
    from patternkg.shapes.runner import make_report

    try:
        report = make_report(sources=sources, since=since, baseline=baseline, only=only, base_iri=base_iri,
                             max_file_size=max_file_size, jobs=jobs, engine=engine, index=index,
                             batch_files=batch_files,
                             progress=progress_display.wanted() if progress is None else progress)
    except (BaselineError, SinceError, NotAnIndexError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    report.link_base = link_base
    if output is not None:
        report.full_report = str(output)
    for extra_fmt, path in reports:
        path.write_text(render(report, extra_fmt, fail_on=fail_on, severity=severity) + "\n", encoding="utf-8")
    text = render(report, fmt, fail_on=fail_on, severity=severity)
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(summary_text(report, fail_on=fail_on))
        click.echo(f"\nFull report ({fmt}): {output}")
    else:
        click.echo(text)
    if write_baseline is not None:
        n = save_baseline(report, write_baseline)
        click.echo(f"Baseline of {n} results written to {write_baseline}", err=True)
    sys.exit(1 if report.failed(fail_on) else 0)


commands = [validate]
