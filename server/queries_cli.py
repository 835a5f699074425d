"""``patternkg queries`` and ``patternkg query NAME``: the prepared queries on the command line.

``query`` runs in-process on ``--store DIR`` (a store directory's current
generation or an Oxigraph store, opened read-only; anything else: one line, exit 2) or on a fresh in-memory conversion of SOURCE... (default: the seeds).
Parameters are ``--param name=value`` (repeatable); they are validated exactly as
over HTTP. Exit status: 0 on success, 2 for a bad parameter or unknown query,
3 when a pattern/domain/community is not in the library.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from patternkg.options import allow_empty_option, require_patterns, source_arguments, store_base_iri

from .catalogue import ParameterError, load_catalogue
from .prepared import PreparedQueries, UnknownQuery, UnknownResource, store_runner


@click.command("queries")
@click.option("--sparql", "show_sparql", is_flag=True, help="Print each query's SPARQL too.")
def queries(show_sparql: bool) -> None:
    """List the prepared queries with their parameters."""
    for query in load_catalogue().values():
        params = " ".join(
            f"{p.name}={p.type}" if p.required else f"[{p.name}={p.type}" + (f"={p.default}]" if p.default is not None
                                                                              else "]")
            for p in query.parameters
        )
        click.echo(f"{query.name:22} {query.title}")
        if params:
            click.echo(f"{'':22} params: {params}")
        if show_sparql:
            click.echo(query.sparql)


def _table(columns: list[str], rows: list[dict]) -> str:
    cells = [[("" if r[c] is None else str(r[c])) for c in columns] for r in rows]
    widths = [max([len(c)] + [min(len(row[i]), 60) for row in cells]) for i, c in enumerate(columns)]

    def fmt(values: list[str]) -> str:
        return "  ".join((v if len(v) <= 60 else v[:57] + "...").ljust(w) for v, w in zip(values, widths)).rstrip()

    lines = [fmt(columns), fmt(["-" * w for w in widths])] + [fmt(r) for r in cells]
    return "\n".join(lines)


@click.command("query")
@click.argument("name")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE", help="A parameter (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--store", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Query this Oxigraph store instead of converting SOURCE.")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most this many rows.")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip this many rows.")
@source_arguments
@allow_empty_option
def query(name: str, params: tuple[str, ...], fmt: str, store: Path | None, limit: int | None, offset: int,
          sources: tuple[Path, ...], base_iri: str, max_file_size: int, jobs: int | None, allow_empty: bool) -> None:
    """Run the prepared query NAME (see `patternkg queries`)."""
    raw: dict[str, str] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.UsageError(f"--param expects NAME=VALUE, got {item!r}")
        if key in raw:
            raise click.UsageError(f"--param {key} is given more than once")
        raw[key] = value
    if store is not None and sources:
        raise click.UsageError("give either --store or SOURCE, not both")
    catalogue = load_catalogue()
    if name not in catalogue:
        raise click.UsageError(f"no prepared query named {name!r}; see `patternkg queries`")
    if store is not None:
        from patternkg.converter.storedir import StoreDirError, open_generation, open_store

        from .libraries import served_libraries

        try:
            db = open_store(store)
            libraries = served_libraries(open_generation(store).metadata)  # --param library=NAME
        except StoreDirError as exc:
            click.echo(f"patternkg: {exc}", err=True)
            raise SystemExit(exc.exit_code) from None
        base_iri = store_base_iri(base_iri, store)
    else:
        from patternkg.converter.api import convert

        require_patterns(sources, allow_empty=allow_empty)
        converted = convert(sources=list(sources), base_iri=base_iri, max_file_size=max_file_size, jobs=jobs)
        for problem in converted.report.errors:
            click.echo(str(problem), err=True)
        if converted.report.failed_files:
            click.echo(f"patternkg: {len(converted.report.failed_files)} file(s) skipped (errors above); "
                       "the query ran on the rest", err=True)
        db = converted.store
        libraries = None
    pq = PreparedQueries(store_runner(db), base_iri=base_iri, catalogue=catalogue, libraries=libraries)
    try:
        page_size = pq.page_size(catalogue[name], raw.get("limit")) if "limit" in raw else limit
        answer = pq.run(name, raw, page_size, offset)
    except (ParameterError, UnknownQuery) as exc:
        raise click.UsageError(str(exc)) from None
    except UnknownResource as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(3) from None
    page = answer.bindings
    if fmt == "json":
        click.echo(json.dumps({"query": name, "total": answer.total, "columns": answer.query.column_names,
                               "rows": answer.rows(page)}, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        click.echo(answer.csv(page), nl=False)
    else:
        click.echo(_table(answer.query.column_names, answer.rows(page)))
        click.echo(f"({len(page)} of {answer.total} rows)", err=True)
