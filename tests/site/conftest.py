"""Fixtures of the site tests: the small site library built into a real store, served by
``patternkg serve`` under granian on a loopback port (the helpers of tests/server)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "server"))

from pkserver_helpers import Server, start_server, stop_server  # noqa: E402
from site_library import write_library  # noqa: E402


@pytest.fixture(scope="session")
def site_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from patternkg.converter.api import build

    folder = write_library(tmp_path_factory.mktemp("site-library"))
    target = tmp_path_factory.mktemp("site-store") / "store"
    build(store=target, sources=[folder])
    return target


@pytest.fixture(scope="session")
def site(site_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(site_store, tmp_path_factory.mktemp("site-server"), "--max-rows", "100000", timeout=10.0, workers=2)
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def corpus_site(corpus_store_dir, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    store, _ = corpus_store_dir
    srv = start_server(store, tmp_path_factory.mktemp("corpus-site"), "--max-rows", "100000", timeout=30.0, workers=2)
    yield srv
    stop_server(srv)
