"""``patternkg validate``: SHACL validation with results a library's CI can act on."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from patternkg.shapes.reports import FORMATS
from patternkg.shapes.severities import DEFAULT_ENGINE, ENGINES, SEVERITIES
from patternkg.options import source_arguments


@click.command()
@source_arguments
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text (grouped by file), json, github (workflow annotations) or junit (XML).")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default="violation", show_default=True,
              help="Exit with status 1 when any result is at or above this severity.")
@click.option("--only", "only", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Report only on these files (e.g. the changed ones); cross-pattern checks still see "
                   "the whole library. Repeatable.")
@click.option("--engine", type=click.Choice(ENGINES), default=DEFAULT_ENGINE, show_default=True,
              help="oxigraph: SHACL Core compiled to SPARQL (fast); pyshacl: the reference engine. "
                   "Both give the same results.")
@click.option("--shapes-only", is_flag=True,
              help="Print the path of the SHACL shapes file (or write it to --output) and exit.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report (or, with --shapes-only, the shapes) to this file instead of stdout.")
def validate(sources, base_iri, max_file_size, jobs, fmt, fail_on, only, engine, shapes_only, output):
    """Check a library against the patternkg SHACL shapes.

    Every result names the file, the line of the YAML key or list item, the field,
    what is wrong and how to fix it. Exit status: 0 when no result is at or above
    --fail-on, 1 when one is, 2 for usage errors.
    """
    # rdflib and pySHACL load here, not when the CLI starts (~90 ms off every other command).
    from patternkg.shapes.reports import render
    from patternkg.shapes.shapes_graph import shapes_path
    from patternkg.shapes.validation import validate_library

    if shapes_only:
        if output is not None:
            output.write_bytes(shapes_path().read_bytes())
            click.echo(str(output))
        else:
            click.echo(str(shapes_path()))
        return
    result = validate_library(sources=sources, base_iri=base_iri, max_file_size=max_file_size, jobs=jobs,
                              only=only, engine=engine)
    text = render(result, fmt, fail_on=fail_on)
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)
    sys.exit(1 if result.failed(fail_on) else 0)


commands = [validate]
