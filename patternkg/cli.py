"""The ``patternkg`` command: one click group; each part of the project adds its commands."""

from __future__ import annotations

import click

from patternkg import __version__
from patternkg.converter.cli import commands as converter_commands
from patternkg.diff_cli import commands as diff_commands
from patternkg.shapes.cli import commands as validate_commands
from patternkg.server.cli import commands as server_commands


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="patternkg")
def main() -> None:
    """Publish, check and query a pattern library as linked data.

    Every command that takes SOURCE reads Markdown pattern files (files or
    folders, recursively); without SOURCE it reads the bundled seed library.
    """


for _command in (*converter_commands, *server_commands, *validate_commands, *diff_commands):
    main.add_command(_command)
