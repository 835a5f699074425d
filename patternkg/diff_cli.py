"""``patternkg diff OLD NEW``: what a change did to the graph (see :mod:`patternkg.graphdiff`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from patternkg.converter.namespaces import DEFAULT_BASE_IRI

FORMATS = ("text", "json", "markdown")


@click.command()
@click.argument("old")
@click.argument("new")
@click.option("--path", "paths", multiple=True, metavar="PATH",
              help="For git refs: the library folder(s) in the repository, relative to the working directory "
                   "(repeatable; default: the working directory).")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the diff to this file instead of stdout.")
@click.option("--no-validation", is_flag=True, help="Skip the validation delta (two full validations).")
@click.option("--base-iri", default=DEFAULT_BASE_IRI, show_default=True,
              help="Base IRI of the library; patterns become <BASE>pattern/<slug>.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Parser processes (default: one per core).")
def diff(old, new, paths, fmt, output, no_validation, base_iri, jobs):
    """Compare two versions of a library: OLD and NEW are folders or git refs.

    Reports patterns added, removed, renamed (same id, new slug) and changed;
    curated relationships and inferred links added, removed and re-weighted;
    entities and communities; and the validation delta (new and fixed results).
    Exit status 0, or 2 when a side is neither a folder nor a git ref.
    """
    from patternkg.graphdiff import DiffError, diff_libraries, render_diff

    try:
        result = diff_libraries(old=old, new=new, paths=paths, base_iri=base_iri, validation=not no_validation,
                                jobs=jobs)
    except DiffError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    text = render_diff(result, fmt)
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"diff written to {output}")
    else:
        click.echo(text)


commands = [diff]
