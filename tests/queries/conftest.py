"""Fixtures of the prepared-query tests: the hand-made library of tests/queries/library/,
converted in memory (fast, for the expected answers) and built on disk (for the endpoint)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from qhelpers import LIBRARY  # noqa: E402


@pytest.fixture(scope="session")
def prepared():
    from patternkg.converter.api import convert
    from patternkg.server.prepared import PreparedQueries, store_runner

    return PreparedQueries(store_runner(convert(sources=[LIBRARY]).store))


@pytest.fixture(scope="session")
def library_store(tmp_path_factory) -> Path:
    from patternkg.converter.api import build

    target = tmp_path_factory.mktemp("queries") / "store"
    build(store=target, sources=[LIBRARY])
    return target


@pytest.fixture(scope="session")
def app(library_store, tmp_path_factory):
    """The endpoint's real app (worker pool, limits) over the fixture library."""
    from patternkg.server.app import create_app
    from patternkg.server.config import ServerConfig

    config = ServerConfig(store=library_store, workers=2, timeout=10.0, max_rows=1000,
                          dumps_dir=tmp_path_factory.mktemp("dumps"), isolate_network=False)
    application = create_app(config)
    yield application
    application.extensions["patternkg"].pool.close()


@pytest.fixture
def client(app):
    return app.test_client()
