"""Benchmark: this endpoint vs ``oxigraph serve-read-only`` vs in-process pyoxigraph.

Run from the repository root (not collected by pytest):

    python tests/benchmarks/bench_endpoint.py [--store DIR] [--requests N] [--clients C] [--seconds S]

Without --store it builds one from ../shared/corpus/commons-os with the converter.
Three queries (a join, a tiny transitive path, an aggregate); for each endpoint:
p50/p95 latency of sequential requests on one keep-alive connection, and the
throughput of C concurrent keep-alive clients during S seconds. Both servers get
the same client and the same store; `patternkg serve` runs with its timeout
machinery on (worker-process pool, 30 s timeout, row and memory caps).

The two servers are measured in alternating slices (--rounds of them: N/rounds
requests, S/rounds seconds each), so a change in what else the machine is doing
moves both alike instead of skewing the ratio.

patternkg is measured twice: as clients get it (``patternkg``: a repeated query is
answered from its answer cache, without a worker) and with ``Cache-Control:
no-cache`` on every request (``pk-nocache``: every request runs in a query worker,
the engine path compared with Oxigraph's). Each concurrent client comes from its own
loopback address (127.0.0.11, .12, ...), as separate users would: from one address,
patternkg's per-client share of the workers would refuse the extra ones (429).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import requests
from requests.adapters import HTTPAdapter
from patternkg.converter.storedir import open_generation, open_store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))
from pkserver_helpers import free_port, launch, stop_process, wait_until_up  # noqa: E402

PKG = "https://w3id.org/patternkg/ontology#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
BASE = "https://w3id.org/patternkg/library/"
QUERIES = {
    "join": f"""PREFIX pkg: <{PKG}> PREFIX skos: <{SKOS}>
SELECT ?p ?label ?x ?xlabel WHERE {{
  ?p pkg:domain <{BASE}domain/operations> ; skos:prefLabel ?label ; pkg:enables ?x .
  ?x skos:prefLabel ?xlabel ; pkg:domain ?xd .
}}""",
    "tiny": f"PREFIX pkg: <{PKG}> SELECT ?x WHERE {{ <{BASE}pattern/commons-boundary-definition> pkg:requires+ ?x }}",
    "aggregate": f"""PREFIX pkg: <{PKG}>
SELECT ?d (COUNT(?p) AS ?n) WHERE {{ ?p a pkg:Pattern ; pkg:domain ?d }} GROUP BY ?d ORDER BY DESC(?n)""",
}
ACCEPT = {"Accept": "application/sparql-results+json"}
NO_CACHE = {**ACCEPT, "Cache-Control": "no-cache"}


class _FromAddress(HTTPAdapter):
    """Connections from a given local address (another loopback address: another client)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201 - requests' signature
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


def session(client: int = 0) -> requests.Session:
    s = requests.Session()
    s.mount("http://", _FromAddress(f"127.0.0.{11 + client}"))
    return s


def latency(url: str, query: str, n: int, headers: dict[str, str]) -> list[float]:
    s = session()
    for _ in range(20):
        s.get(url, params={"query": query}, headers=headers).raise_for_status()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        r = s.get(url, params={"query": query}, headers=headers)
        r.content
        times.append(time.perf_counter() - t)
        r.raise_for_status()
    return times


def throughput(url: str, query: str, clients: int, seconds: float, headers: dict[str, str]) -> float:
    stop = time.monotonic() + seconds
    counts = [0] * clients

    def run(i: int) -> None:
        s = session(i)
        while time.monotonic() < stop:
            s.get(url, params={"query": query}, headers=headers).raise_for_status()
            counts[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - start)


def in_process(store: Path, query: str, n: int) -> list[float]:
    st = open_store(store)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        st.query(query, use_default_graph_as_union=True).serialize(format=ox.QueryResultsFormat.JSON)
        times.append(time.perf_counter() - t)
    return times


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store", type=Path)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=5, help="alternating slices per measurement")
    ap.add_argument("--workers", type=int, default=None, help="query workers (default: serve's default)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pkg-bench-"))
    procs: list[subprocess.Popen] = []
    try:
        store = args.store
        if store is None:
            corpus = Path("../shared/corpus/commons-os")
            if not corpus.is_dir():
                print("no --store and no ../shared/corpus/commons-os", file=sys.stderr)
                return 2
            store = tmp / "store"
            subprocess.run([sys.executable, "-m", "patternkg", "build", str(corpus), "--store", str(store)],
                           check=True, capture_output=True)
        print(f"store: {len(open_store(store))} quads; cores: {os.cpu_count()}")
        server, base, _ = launch("--store", str(store), *(["--workers", str(args.workers)] if args.workers else []),
                                 "--timeout", "30", folder=tmp, cwd=tmp, probe="/sparql?query=ASK%7B%7D")
        procs.append(server)
        p2 = free_port()
        procs.append(subprocess.Popen(
            [shutil.which("oxigraph") or "oxigraph", "serve-read-only", "--location", str(open_generation(store).store_path),
             "--bind", f"127.0.0.1:{p2}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ours, theirs = f"{base}/sparql", f"http://127.0.0.1:{p2}/query"
        wait_until_up(theirs + "?query=ASK%7B%7D", procs[1], seconds=60, ok=lambda status: True)
        # same answers from both
        for name, q in QUERIES.items():
            a = requests.get(ours, params={"query": q}, headers=ACCEPT).json()["results"]["bindings"]
            b = requests.get(theirs, params={"query": q}, headers=ACCEPT).json()["results"]["bindings"]
            assert len(a) == len(b), name
            print(f"{name}: {len(a)} rows")
        print()
        print(f"{'query':10} {'endpoint':10} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8}")
        rows = {}
        for name, q in QUERIES.items():
            endpoints = (("oxigraph", theirs, ACCEPT), ("patternkg", ours, ACCEPT), ("pk-nocache", ours, NO_CACHE))
            lats: dict[str, list[float]] = {label: [] for label, _, _ in endpoints}
            counts: dict[str, float] = {label: 0.0 for label, _, _ in endpoints}
            for _ in range(args.rounds):
                for label, url, headers in endpoints:
                    lats[label] += latency(url, q, max(1, args.requests // args.rounds), headers)
                    counts[label] += throughput(url, q, args.clients, args.seconds / args.rounds, headers)
            for label, _, _ in endpoints:
                lat, tput = lats[label], counts[label] / args.rounds
                rows[(name, label)] = (pct(lat, 0.5), pct(lat, 0.95), tput)
                print(f"{name:10} {label:10} {pct(lat, .5):8.2f} {pct(lat, .95):8.2f} {tput:8.0f}", flush=True)
            lat = in_process(store, q, args.requests)
            print(f"{name:10} {'in-proc':10} {pct(lat, .5):8.2f} {pct(lat, .95):8.2f} {'-':>8}", flush=True)
        print()
        print("ratios patternkg / oxigraph (p50 latency: lower is better; throughput: higher is better)")
        for label in ("patternkg", "pk-nocache"):
            for name in QUERIES:
                o, p = rows[(name, "oxigraph")], rows[(name, label)]
                print(f"{label:10} {name:10} p50 x{p[0] / o[0]:.2f} ({p[0] - o[0]:+.2f} ms)   "
                      f"throughput x{p[2] / o[2]:.2f}")
    finally:
        for p in procs:
            stop_process(p, timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
