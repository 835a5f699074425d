"""A server serves exactly one generation at a time and moves to a new one as a whole.

Real builds into a store directory, the real server over loopback, real signals
(SIGKILL to a query worker, SIGHUP to the server), real concurrent clients. Each
client request records when it started and ended, the COUNT it got and the
``Patternkg-Generation`` header; every COUNT must be that generation's triple count.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from pkserver_helpers import child_pids, start_server, stop_server

from patternkg.converter.storedir import current_id, generation_ids, open_generation

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
LIBRARY = Path(__file__).resolve().parents[1] / "queries" / "library"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
HEADER = "Patternkg-Generation"


def build(source: Path, store: Path) -> str:
    out = subprocess.run([sys.executable, "-m", "patternkg", "build", str(source), "--store", str(store), "-q"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return current_id(store)


def triples(store: Path) -> int:
    return int(open_generation(store).metadata["triples"])


def query_workers(server) -> list[int]:
    found = []
    for pid in child_pids(server.process.pid):
        try:
            if b"worker.py" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


def count(server) -> tuple[int, str]:
    r = requests.get(server.sparql, params={"query": COUNT}, timeout=30)
    assert r.status_code == 200, r.text
    return int(r.json()["results"]["bindings"][0]["n"]["value"]), r.headers[HEADER]


def wait_for(predicate, seconds: float = 30.0, step: float = 0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting")


@pytest.fixture()
def store_dir(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    build(SEEDS, store)
    return store


def test_every_response_names_its_generation(store_dir: Path, tmp_path: Path) -> None:
    served = current_id(store_dir)
    server = start_server(store_dir, tmp_path, workers=2)
    try:
        for path in ("/", "/health", "/void", "/sparql?query=ASK%7B%7D", "/no-such-page", "/dumps/library.nq"):
            assert requests.get(server.url + path, timeout=60).headers[HEADER] == served, path
        assert requests.post(server.sparql, data={"query": COUNT}, timeout=30).headers[HEADER] == served
        assert count(server) == (triples(store_dir), served)
    finally:
        stop_server(server)


@pytest.mark.slow
def test_a_rebuild_under_load_moves_every_worker_at_once_even_across_worker_kills(store_dir: Path,
                                                                                    tmp_path: Path) -> None:
    first = current_id(store_dir)
    expected = {first: triples(store_dir)}
    server = start_server(store_dir, tmp_path, workers=2, timeout=10.0)
    records: list[tuple[float, float, int, str]] = []
    errors: list[str] = []
    stop = threading.Event()

    def client() -> None:
        session = requests.Session()
        session.headers["Cache-Control"] = "no-cache"  # every request runs on a worker, none from the result cache
        while not stop.is_set():
            began = time.monotonic()
            r = session.get(server.sparql, params={"query": COUNT}, timeout=30)
            if r.status_code == 200:
                records.append((began, time.monotonic(), int(r.json()["results"]["bindings"][0]["n"]["value"]),
                                r.headers[HEADER]))
            elif r.status_code != 503:  # a killed worker's query: 503 worker-crashed, by design
                errors.append(f"{r.status_code} {r.text}")

    clients = [threading.Thread(target=client) for _ in range(3)]
    try:
        for thread in clients:
            thread.start()
        wait_for(lambda: len(records) > 20)
        os.kill(query_workers(server)[0], signal.SIGKILL)  # replaced on the generation served: the first
        wait_for(lambda: len(records) > 40)
        second = build(LIBRARY, store_dir)
        expected[second] = triples(store_dir)
        assert expected[second] != expected[first]
        wait_for(lambda: any(r[3] == second for r in records))
        os.kill(query_workers(server)[0], signal.SIGKILL)  # replaced on the second generation
        mark = len(records)
        wait_for(lambda: len(records) > mark + 40)
    finally:
        stop.set()
        for thread in clients:
            thread.join(timeout=60)
    try:
        assert not errors, errors[:3]
        # every answer comes from one generation, whole: its COUNT is that generation's
        assert {(n, g) for _, _, n, g in records} == {(expected[first], first), (expected[second], second)}
        # once an answer came from the new generation, no query started later ran on the old one
        switched = min(end for _, end, _, g in records if g == second)
        assert all(g == second for began, _, _, g in records if began > switched)
        # the pool is whole again (a dead idle worker is replaced by the pool's watch, within seconds)
        wait_for(lambda: len(query_workers(server)) == 2)
        # the old generation is removed once nothing serves it
        wait_for(lambda: generation_ids(store_dir) == [second])
    finally:
        stop_server(server)


def test_sighup_moves_to_the_new_generation_when_polling_is_off(store_dir: Path, tmp_path: Path) -> None:
    first = current_id(store_dir)
    server = start_server(store_dir, tmp_path, "--reload-interval", "0", workers=2)
    try:
        assert count(server) == (triples(store_dir), first)
        second = build(LIBRARY, store_dir)
        time.sleep(1.5)
        assert count(server)[1] == first  # no polling: still the first, which the build did not remove
        assert first in generation_ids(store_dir)
        processes = set(child_pids(server.process.pid)) - set(query_workers(server))
        server.process.send_signal(signal.SIGHUP)
        wait_for(lambda: count(server)[1] == second)
        assert count(server) == (triples(store_dir), second)
        wait_for(lambda: generation_ids(store_dir) == [second])
        assert server.process.poll() is None  # SIGHUP reloads, it does not stop the server
        # the same server process moved (its in-flight queries were not cut off by a restart)
        assert set(child_pids(server.process.pid)) - set(query_workers(server)) == processes
    finally:
        stop_server(server)
