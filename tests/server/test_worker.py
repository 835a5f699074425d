"""The query worker's row cap, on a real on-disk store (the worker object, without its pipes)."""

from __future__ import annotations

import json

import pytest
from pyoxigraph import Literal, NamedNode, Quad, Store

from patternkg.server.worker import MIN_ROW_BYTES, RowLimitExceeded, Worker


class CountingStore:
    """The real read-only store, counting how often a query is evaluated."""

    def __init__(self, store: Store) -> None:
        self.store, self.queries = store, 0

    def query(self, *args, **kwargs):
        self.queries += 1
        return self.store.query(*args, **kwargs)


@pytest.fixture()
def worker(tmp_path):
    """A worker with a row cap of 20 over 15 rows of ~100-byte literals."""
    path = tmp_path / "store"
    store = Store(str(path))
    store.extend(Quad(NamedNode(f"https://example.org/s{i}"), NamedNode("https://example.org/p"),
                      Literal(f"{i:03d}" + "x" * 100)) for i in range(15))
    store.flush()
    del store
    worker = Worker({"store": str(path), "max_rows": 20})
    worker.store = CountingStore(worker.store)
    return worker


@pytest.mark.parametrize("fmt", sorted(MIN_ROW_BYTES))
def test_minimum_row_sizes_hold(fmt):
    """An empty solution is as short as MIN_ROW_BYTES says (else the cap's fast path would lie)."""
    import pyoxigraph as ox

    store = Store()
    one = store.query("SELECT * WHERE {}").serialize(format=getattr(ox.QueryResultsFormat, fmt))
    many = store.query("SELECT * WHERE { VALUES ?x { UNDEF UNDEF UNDEF } }").serialize(
        format=getattr(ox.QueryResultsFormat, fmt))
    header = store.query("SELECT * WHERE { VALUES ?x { } }").serialize(format=getattr(ox.QueryResultsFormat, fmt))
    assert (len(many) - len(header)) / 3 >= MIN_ROW_BYTES[fmt]
    assert len(one) - len(store.query("SELECT * WHERE { FILTER(false) }").serialize(
        format=getattr(ox.QueryResultsFormat, fmt))) >= MIN_ROW_BYTES[fmt]


def test_answer_within_the_row_cap_runs_once_even_when_its_bytes_exceed_it(worker):
    """A page of 15 long rows under a row cap smaller than its size in bytes is answered from one
    evaluation (the exact count would evaluate the query a second time)."""
    query = "SELECT ?o WHERE { ?s ?p ?o } ORDER BY ?o"
    size = len(worker.store.store.query(query).serialize(format=__import__("pyoxigraph").QueryResultsFormat.JSON))
    worker.max_rows = size * 2 // 3  # fewer than the answer's bytes, far more than its 15 rows
    kind, body = worker.op_query(query, "JSON", "N_TRIPLES")
    assert kind == "results" and len(body) == size > worker.max_rows
    assert len(json.loads(body)["results"]["bindings"]) == 15
    assert worker.store.queries == 1


def test_over_the_row_cap_is_an_error(worker):
    with pytest.raises(RowLimitExceeded):
        worker.op_query("SELECT * WHERE { ?s ?p ?o . ?t ?q ?r }", "JSON", "N_TRIPLES")  # 225 rows
    kind, body = worker.op_query("SELECT * WHERE { ?s ?p ?o . ?t ?q ?r } LIMIT 20", "CSV", "N_TRIPLES")
    assert body.count(b"\r\n") == 21  # header and 20 rows
