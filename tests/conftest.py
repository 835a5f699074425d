"""Fixtures shared by every test package: paths, conversions, the golden-file flag."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "seeds" / "distributed-organizing.md"
CORPUS = REPO.parent / "shared" / "corpus" / "commons-os"


def pytest_addoption(parser):
    parser.addoption("--regen-golden", action="store_true", default=False,
                     help="Rewrite golden files from the current output instead of comparing.")


@pytest.fixture(scope="session")
def regen_golden(request) -> bool:
    return request.config.getoption("--regen-golden")


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("shared corpus ../shared/corpus/commons-os is absent")
    return CORPUS


@pytest.fixture(scope="session")
def seed_converted():
    from patternkg.converter.api import convert

    return convert(sources=[SEED], track=True)


@pytest.fixture(scope="session")
def corpus_store_dir(corpus_dir, tmp_path_factory):
    """An on-disk store built once from the shared corpus (read-only for tests)."""
    from patternkg.converter.api import build

    target = tmp_path_factory.mktemp("corpus") / "store"
    report = build(store=target, sources=[corpus_dir])
    return target, report


def _load_gitlib():
    import importlib.util

    spec = importlib.util.spec_from_file_location("shapes_gitlib", Path(__file__).resolve().parent / "shapes" / "gitlib.py")
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
