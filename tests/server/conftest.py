"""Shared fixtures: a small library store, and the real server (``patternkg serve``
under granian) on a free loopback port, queried over real HTTP."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pkserver_helpers import Server, make_store, start_server, stop_server  # noqa: E402


@pytest.fixture(scope="session")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_store(tmp_path_factory.mktemp("store") / "library")


@pytest.fixture(scope="session")
def server(store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(store_path, tmp_path_factory.mktemp("server"))
    yield srv
    stop_server(srv)



@pytest.fixture(scope="session")
def seed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real server on a store built from the seed library by the real converter."""
    from patternkg.converter.api import build

    tmp = tmp_path_factory.mktemp("seed-server")
    build(store=tmp / "store", sources=[Path(__file__).resolve().parents[2] / "seeds"])
    srv = start_server(tmp / "store", tmp)
    yield srv
    stop_server(srv)
