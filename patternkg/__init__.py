"""patternkg: pattern libraries as linked data.

The public API is small, typed and keyword-only; see each function's docstring.
"""

from __future__ import annotations

__version__ = "0.1.0"

from patternkg.converter.api import build, convert, export
from patternkg.converter.validation import validate

__all__ = ["__version__", "build", "convert", "export", "validate"]
