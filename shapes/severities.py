"""The names ``validate`` accepts for severities and engines (no heavy imports: the CLI
builds its options from these without loading rdflib or pySHACL)."""

from __future__ import annotations

SEVERITIES = ("violation", "warning", "info")
ENGINES = ("oxigraph", "pyshacl")
DEFAULT_ENGINE = "oxigraph"
RANK = {name: i for i, name in enumerate(reversed(SEVERITIES))}  # info 0, warning 1, violation 2
