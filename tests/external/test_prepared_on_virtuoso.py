"""Every prepared query gives the same rows on Virtuoso as on the embedded store (shared corpus).

The corpus is built once, published into the throwaway Virtuoso with ``patternkg publish``,
and each prepared query is run through :class:`~patternkg.server.prepared.PreparedQueries`
on both: in process on the embedded store, and through :class:`~patternkg.server.backend.RemoteBackend`
(what ``serve --backend`` uses) on the release graph. Rows are compared as sets of plain
values (the queries' own ORDER BY ties may break differently between engines), and no column
is normalised: no query answers with a value whose form is left to the engine (``path`` names the kinds of a
step in a fixed order, ``dangling-references`` lists its referrers one per row, not in a
GROUP_CONCAT)."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest
from engines import Engine

from patternkg.converter.publish import publish, release_graph
from patternkg.converter.storedir import open_store
from patternkg.server.app import pool_settings
from patternkg.server.backend import RemoteBackend
from patternkg.server.config import ServerConfig
from patternkg.server.prepared import PreparedQueries, pool_runner, store_runner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_queries import CASES  # noqa: E402  (query, parameters): one case per query at least

pytestmark = [pytest.mark.slow, pytest.mark.corpus]

#: cases beyond the benchmark's: requirements to depth 4 with a cycle back to the pattern,
#: paths from a pattern back to itself, a step of four kinds ("enables requires ^enables ^requires")
MORE_CASES: list[tuple[str, dict[str, str]]] = [
    ("requirements", {"pattern": "anomaly-response"}),
    ("path", {"from": "just-in-time-jit", "to": "just-in-time-jit", "max": "3"}),
    ("path", {"from": "anomaly-response", "to": "feedback-escalation", "max": "2"}),
]
#: cases whose answer is empty: no path of up to 4 steps (the whole 4-step neighbourhood is searched)
NO_ROWS = [("path", {"from": "just-in-time-jit", "to": "acceptance-and-commitment", "max": "4"})]


@pytest.fixture(scope="module")
def both(virtuoso: Engine, corpus_store_dir, tmp_path_factory) -> tuple[PreparedQueries, PreparedQueries]:
    store, _report = corpus_store_dir
    release = f"corpus-{uuid.uuid4().hex[:8]}"
    publish(to=virtuoso.gsp, store=store, release=release, keep=1)
    config = ServerConfig(store=Path(store), timeout=120.0)
    backend = RemoteBackend(pool_settings(config), url=virtuoso.query,
                            graph=release_graph(config.base_iri, release))
    return PreparedQueries(store_runner(open_store(store))), PreparedQueries(pool_runner(backend))


def test_every_query_is_covered() -> None:
    from patternkg.server.catalogue import load_catalogue

    assert {name for name, _ in CASES} == set(load_catalogue())


@pytest.mark.parametrize(("name", "params"), [
    pytest.param(name, params, id=f"{name}-{i}") for i, (name, params) in enumerate(CASES + MORE_CASES)
])
def test_same_rows(both: tuple[PreparedQueries, PreparedQueries], name: str, params: dict[str, str]) -> None:
    embedded, virtuoso = both
    a = embedded.run(name, params, None)
    b = virtuoso.run(name, params, None)
    rows_a = sorted(json.dumps(r, sort_keys=True) for r in a.rows(a.bindings))
    rows_b = sorted(json.dumps(r, sort_keys=True) for r in b.rows(b.bindings))
    assert bool(rows_a) != ((name, params) in NO_ROWS), "the case should have answers (or none, as listed)"
    only_embedded, only_virtuoso = sorted(set(rows_a) - set(rows_b)), sorted(set(rows_b) - set(rows_a))
    assert rows_b == rows_a, (f"{len(rows_a)} rows on the embedded store, {len(rows_b)} on Virtuoso; only on the "
                              f"embedded store: {only_embedded[:5]}; only on Virtuoso: {only_virtuoso[:5]}")
    assert b.total == a.total
