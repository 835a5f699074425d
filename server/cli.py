"""Commands of the server part: registered on the ``patternkg`` group by :mod:`patternkg.cli`."""

from __future__ import annotations

import click

commands: list[click.Command] = []
