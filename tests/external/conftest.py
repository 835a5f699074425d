"""Real external engines (Virtuoso, Oxigraph server), started once per session.

A test skips only when the engine's binary is absent (``.ci/run`` installs both:
``virtuoso-opensource`` from Debian, ``oxigraph`` from the test extras)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from engines import ISQL, OXIGRAPH, VIRTUOSO, Engine, start_oxigraph, start_virtuoso  # noqa: E402


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if not VIRTUOSO or not ISQL:
        pytest.skip("virtuoso-t / isql-vt not installed (Debian package virtuoso-opensource)")
    engine = start_virtuoso(tmp_path_factory.mktemp("virtuoso"))
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if not OXIGRAPH:
        pytest.skip("the oxigraph command is not installed (PyPI package oxigraph)")
    engine = start_oxigraph(tmp_path_factory.mktemp("oxigraph"))
    yield engine
    engine.stop()


@pytest.fixture(params=["oxigraph", "virtuoso"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue("oxigraph_server" if request.param == "oxigraph" else "virtuoso")


@pytest.fixture(scope="session")
def seed_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed library built once (the library every publish test sends)."""
    from patternkg.converter.api import build

    target = tmp_path_factory.mktemp("seed") / "store"
    assert build(store=target).ok
    return target
