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


def _load_gitlib():
    import importlib.util

    spec = importlib.util.spec_from_file_location("shapes_gitlib", HERE / "gitlib.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def gitlib():
    """Helpers for a small library in a temporary git repository (``tests/shapes/gitlib.py``)."""
    import shutil

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    return _load_gitlib()
