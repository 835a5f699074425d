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


def source_arguments(func: Callable) -> Callable:
    """SOURCE... (files or folders, default: the bundled seeds) plus conversion options."""
    func = click.argument(
        "sources", nargs=-1, type=click.Path(exists=True, path_type=Path), metavar="[SOURCE]..."
    )(func)
    func = click.option(
        "--base-iri",
        default=DEFAULT_BASE_IRI,
        show_default=True,
        help="Base IRI of the library; patterns become <BASE>pattern/<slug>.",
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
