"""Every prepared query gives the same rows on Virtuoso as on the embedded store (shared corpus).

The corpus is built once, published into the throwaway Virtuoso with ``patternkg publish``,
and each prepared query is run through :class:`~patternkg.server.prepared.PreparedQueries`
on both: in process on the embedded store, and through :class:`~patternkg.server.backend.RemoteBackend`
(what ``serve --backend`` uses) on the release graph. Rows are compared as sets of plain
values (the queries' own ORDER BY ties may break differently between engines).

Three queries do not run on Virtuoso yet (strict xfail, so the marker must go once they
do): ``requirements`` (Virtuoso's transitive ``+`` path needs its start as a constant,
and the catalogue binds it with VALUES), ``path`` (Virtuoso's CONCAT of an unbound value
is not an error, and GROUP_CONCAT(DISTINCT) wants an explicit separator) and
``dangling-references`` (its GROUP_CONCAT of referrers exceeds Virtuoso's 4 KB temporary
column)."""

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

NOT_YET = {
    "requirements": "Virtuoso: transitive start not given (the start is bound by VALUES)",
    "path": "Virtuoso: CONCAT with an unbound value, GROUP_CONCAT(DISTINCT) without separator",
    "dangling-references": "Virtuoso: GROUP_CONCAT longer than its 4078-byte temporary column",
}



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
    pytest.param(name, params, id=f"{name}-{i}",
                 marks=[pytest.mark.xfail(reason=NOT_YET[name], strict=True)] if name in NOT_YET else [])
    for i, (name, params) in enumerate(CASES)
])
def test_same_rows(both: tuple[PreparedQueries, PreparedQueries], name: str, params: dict[str, str]) -> None:
    embedded, virtuoso = both
    a = embedded.run(name, params, None)
    b = virtuoso.run(name, params, None)
    rows_a = sorted(json.dumps(r, sort_keys=True) for r in a.rows(a.bindings))
    rows_b = sorted(json.dumps(r, sort_keys=True) for r in b.rows(b.bindings))
    assert rows_a, "the case should have answers"
    assert rows_b == rows_a
    assert b.total == a.total
