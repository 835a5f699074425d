"""Click options shared by every command that reads a pattern library.

Config flows one way: these options are parsed by the CLI and passed on as
keyword arguments; nothing here reads the working directory at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from patternkg.converter.namespaces import DEFAULT_BASE_IRI
from patternkg.converter.reader import DEFAULT_MAX_FILE_SIZE

allow_empty_option = click.option(
    "--allow-empty", is_flag=True,
    help="Accept SOURCE folders without any pattern file (otherwise: an error, exit status 1).")


def _check_base_iri(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An absolute IRI ending in '/' (one is added when missing); a usage error otherwise."""
    if value is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if not parts.scheme or not (parts.netloc or parts.path) or any(c in value for c in ' <>"{}|\\^`'):
        raise click.BadParameter(f"{value!r} is not an absolute IRI (for example https://example.org/library/)")
    return value if value.endswith("/") else value + "/"


def require_patterns(sources: tuple[Path, ...], *, allow_empty: bool) -> None:
    """Exit with status 1 and one line when SOURCE holds no pattern file (unless *allow_empty*)."""
    if not sources or allow_empty:
        return
    from patternkg.converter.pipeline import has_pattern_files

    if not has_pattern_files(list(sources)):
        click.echo(f"patternkg: no pattern files (*.md) found in {', '.join(str(s) for s in sources)} "
                   "(--allow-empty accepts that)", err=True)
        raise SystemExit(1)


def store_base_iri(base_iri: str, store: Path) -> str:
    """The base IRI to use with ``--store``: the one in the store's metadata unless --base-iri was
    given; a different --base-iri is refused (every pattern would 404), exit status 2."""
    from patternkg.converter.storedir import StoreDirError, open_generation

    try:
        built = open_generation(store).metadata.get("base_iri")
    except StoreDirError:
        return base_iri  # reported by the command's own check
    given = click.get_current_context().get_parameter_source("base_iri") != click.core.ParameterSource.DEFAULT
    if not built or not given:
        return built or base_iri
    if built != base_iri:
        click.echo(f"patternkg: {store} was built with --base-iri {built}, not {base_iri}: its patterns would not "
                   "be found; omit --base-iri to use the store's", err=True)
        raise SystemExit(2)
    return base_iri


def source_arguments(func: Callable) -> Callable:
    """SOURCE... (files or folders, default: the bundled seeds) plus conversion options."""
    func = click.argument(
        "sources", nargs=-1, type=click.Path(exists=True, path_type=Path), metavar="[SOURCE]..."
    )(func)
    func = click.option(
        "--base-iri",
        default=DEFAULT_BASE_IRI,
        show_default=True,
        callback=_check_base_iri,
        help="Base IRI of the library; patterns become <BASE>pattern/<slug> (a '/' is added when it does "
             "not end with one). With --store: the base IRI the store was built with.",
    )(func)
    func = click.option(
        "--max-file-size",
        type=click.IntRange(min=1),
        default=DEFAULT_MAX_FILE_SIZE,
        show_default=True,
        help="Files larger than this many bytes are refused.",
    )(func)
    func = click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=1),
        default=None,
        help="Parser processes (default: one per core).",
    )(func)
    return func
