"""patternkg: pattern libraries as linked data.

The public API is small, typed and keyword-only; see each function's docstring.
"""

from __future__ import annotations

__version__ = "0.2.0"  # the only place the version is written; releases are tagged v<version>

__all__ = ["__version__", "build", "convert", "export", "validate"]

_HOME = {"build": "patternkg.converter.api", "convert": "patternkg.converter.api",
         "export": "patternkg.converter.api", "validate": "patternkg.shapes.validation"}


def __getattr__(name: str):
    # Imported on first use: the converter and rdflib cost ~0.2 s, which a command that
    # does not need them (``patternkg query --store``, ``--help``) should not pay.
    if name in _HOME:
        import importlib

        value = getattr(importlib.import_module(_HOME[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'patternkg' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
