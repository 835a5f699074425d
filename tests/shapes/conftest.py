"""Fixtures of the shapes tests: the shape cases and one validation of the shared corpus per session."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CASES = sorted(p for p in (HERE / "cases").iterdir() if p.is_dir())


@pytest.fixture(scope="session")
def corpus_validation(corpus_dir):
    from patternkg.shapes.validation import validate_library

    return validate_library(sources=[corpus_dir])

