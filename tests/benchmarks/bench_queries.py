"""Benchmark: every prepared query over HTTP on the shared corpus (1x) and on an N-times library.

Run from the repository root::

    python tests/benchmarks/bench_queries.py --copies 105 [--requests 30] \\
        [--library LIB100K] [--store-1x DIR] [--store-nx DIR] [--throughput-seconds 10]

Builds (unless given) an Oxigraph store from ``../shared/corpus/commons-os`` and one from
the library made of ``--copies`` renamed copies of it (:func:`corpus10x.make_corpus`; copy
0 keeps the original names, so the same parameters work at both scales; ``--library``
reuses a folder made by ``corpus10x.py`` with that many copies), starts ``patternkg serve``
(granian, the worker pool with its timeout) on each in turn and times per query N+1
sequential keep-alive GETs of ``/api/queries/<name>`` (default page). The server's result
cache would answer a repeated request, so request i writes ``offset=0`` with i+1 zeros:
the same page, a request not answered before. p50 and p99 are over all N+1 requests, the
first one (nothing cached yet, not even the existence check) included; "first" is that one
alone. Prints the table of issue 14: each query's p50 at 1x and Nx with the growth, and
Nx's p99 and first request.

Then (unless ``--throughput-seconds 0``) repeated prepared queries: C concurrent keep-alive
clients for S seconds asking the same prepared query again and again, against patternkg
(``/api/queries/<name>``: the result cache answers) and against ``oxigraph serve-read-only``
on the same store (the query's bound SPARQL text with the same LIMIT) in alternating slices;
requests per second and the ratio. Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "commons-os"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))
from pkserver_helpers import free_port, launch, stop_process, wait_until_up  # noqa: E402

#: (query, parameters): the questions a person asks; the enablers target is the corpus's most linked
#: pattern; path pairs: one connected within 3 steps, one within 4, and two patterns of different
#: copies (no path: the whole reachable neighbourhood is searched).
CASES: list[tuple[str, dict[str, str]]] = [
    ("enablers", {"target": "acceptance-and-commitment"}),
    ("enablers", {"target": "acceptance-and-commitment", "domain": "mindfulness-presence"}),
    ("requirements", {"pattern": "knowing-when-to-quit"}),
    ("neighbours", {"pattern": "just-in-time-jit"}),
    ("by-domain", {"domain": "operations"}),
    ("top-assessed", {"dimension": "resilience"}),
    ("top-assessed", {"dimension": "resilience", "domain": "operations"}),
    ("community", {"community": "systems-thinking"}),
    ("similar", {"pattern": "knowing-when-to-quit"}),
    ("path", {"from": "just-in-time-jit", "to": "dmaic-six-sigma-methodology"}),
    ("path", {"from": "just-in-time-jit", "to": "dmaic-six-sigma-methodology", "max": "4"}),
    ("path", {"from": "just-in-time-jit", "to": "acceptance-and-commitment", "max": "4"}),
    ("dangling-references", {}),
    ("one-sided-relations", {}),
    ("review-queue", {}),
    ("search", {"text": "trust"}),
    ("stats", {}),
]
#: prepared queries asked again and again in the throughput comparison
REPEATED = [("top-assessed", {"dimension": "resilience"}), ("community", {"community": "systems-thinking"}),
            ("enablers", {"target": "acceptance-and-commitment"})]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def serve(store: Path, tmp: Path) -> tuple[subprocess.Popen, str]:
    proc, url, _ = launch("--store", str(store), "--workers", "2", "--timeout", "30", folder=tmp, seconds=120)
    return proc, url


def oxigraph_store(store: Path) -> Path:
    """The Oxigraph store inside a patternkg store directory (its current generation), or *store*."""
    from patternkg.converter.storedir import open_generation

    return Path(open_generation(store).store_path)


def label(name: str, params: dict[str, str]) -> str:
    return name + ("(" + ",".join(f"{k}={v}" for k, v in params.items()) + ")" if params else "")


def bench(url: str, n: int) -> list[tuple[str, int, float, float, float]]:
    """Per case: (label, total, p50, p99, first) in ms. Request i asks for ``offset`` written with
    i+1 zeros: the same page, but a request the server has not answered before."""
    session = requests.Session()
    results = []
    for name, params in CASES:
        times = []
        for i in range(n + 1):
            t0 = time.perf_counter()
            r = session.get(f"{url}/api/queries/{name}", params={**params, "offset": "0" * (i + 1)}, timeout=120)
            times.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                raise RuntimeError(f"{name}: {r.status_code} {r.text[:200]}")
        results.append((label(name, params), int(r.headers["X-Total-Count"]), statistics.median(times),
                        pct(times, 99), times[0]))
    return results


#: The plain enablers join (what `enablers` was before it was written for the planner), for the
#: VALUES vs substitutions= comparison: a fixed text, so that the figure stays comparable.
BINDING_QUERY = """PREFIX pkg: <https://w3id.org/patternkg/ontology#>
SELECT ?target ?enabler ?weight ?source WHERE {
  VALUES ?target { UNDEF }
  { ?rel pkg:target ?target ; pkg:relationshipKind pkg:enables ; a pkg:Relationship .
    ?enabler pkg:qualifiedRelationship ?rel . OPTIONAL { ?rel pkg:weight ?weight } BIND("curated" AS ?source) }
  UNION
  { ?rel pkg:target ?target ; pkg:relationshipKind pkg:enables ; a pkg:InferredLink .
    ?enabler pkg:qualifiedInferredLink ?rel . OPTIONAL { ?rel pkg:confidence ?weight } BIND("inferred" AS ?source) }
  ?enabler pkg:slug ?slug .
}
ORDER BY ?source DESC(?weight) ?slug
"""


def binding_comparison(store: Path, n: int) -> tuple[float, float]:
    """p50 (ms) of the plain enablers join bound by VALUES vs by substitutions=, in process."""
    import pyoxigraph as ox

    from patternkg.converter.namespaces import Library
    from patternkg.converter.storedir import open_store

    db = open_store(store)
    target = Library().pattern("acceptance-and-commitment")
    by_values = BINDING_QUERY.replace("VALUES ?target { UNDEF }", f"VALUES ?target {{ {target} }}")
    template = BINDING_QUERY.replace("VALUES ?target { UNDEF }", "")  # substitutions= needs ?target projected

    def timed(run, n: int = n) -> float:
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            run()
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times)

    values = timed(lambda: db.query(by_values).serialize(format=ox.QueryResultsFormat.JSON))
    subst = timed(lambda: db.query(template, substitutions={ox.Variable("target"): target}).serialize(
        format=ox.QueryResultsFormat.JSON), n=3)  # seconds per run: 3 runs
    return values, subst


def throughput(url: str, params: dict[str, str] | None, clients: int, seconds: float,
               headers: dict[str, str] | None = None) -> float:
    stop = time.monotonic() + seconds
    counts = [0] * clients

    def run(i: int) -> None:
        s = requests.Session()
        while time.monotonic() < stop:
            s.get(url, params=params, headers=headers, timeout=120).raise_for_status()
            counts[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - start)


def compare_throughput(store: Path, tmp: Path, clients: int, seconds: float, rounds: int = 4) -> None:
    from patternkg.server.catalogue import load_catalogue, page
    import pyoxigraph as ox
    from patternkg.server.prepared import PreparedQueries, store_runner

    catalogue = load_catalogue()
    binder = PreparedQueries(store_runner(ox.Store()), catalogue=catalogue)  # binds and pages; never runs
    proc, ours = serve(store, tmp)
    port = free_port()
    oxi = subprocess.Popen([shutil.which("oxigraph") or "oxigraph", "serve-read-only", "--location",
                            str(oxigraph_store(store)), "--bind", f"127.0.0.1:{port}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    theirs = f"http://127.0.0.1:{port}/query"
    try:
        wait_until_up(theirs + "?query=ASK%7B%7D", oxi, seconds=120, ok=lambda status: status < 500)
        print(f"\n| repeated prepared query ({clients} clients) | oxigraph serve-read-only req/s "
              f"| patternkg req/s | ratio |")
        print("|---|---:|---:|---:|")
        for name, params in REPEATED:
            query = catalogue[name]
            limit = binder.page_size(query, params.get("limit"))
            sparql = page(query.bind(query.parse_values(params, binder.library)), limit, 0)
            accept = {"Accept": "application/sparql-results+json"}
            totals = {"oxigraph": 0.0, "patternkg": 0.0}
            for _ in range(rounds):
                totals["oxigraph"] += throughput(theirs, {"query": sparql}, clients, seconds / rounds, accept)
                totals["patternkg"] += throughput(f"{ours}/api/queries/{name}", params, clients, seconds / rounds)
            o, p = totals["oxigraph"] / rounds, totals["patternkg"] / rounds
            print(f"| `{label(name, params)}` | {o:.0f} | {p:.0f} | x{p / o:.1f} |", flush=True)
    finally:
        for process in (proc, oxi):
            stop_process(process, timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--copies", type=int, default=10, help="scale of the large library (copies of the corpus)")
    parser.add_argument("--library", type=Path, help="an existing folder of --copies copies (corpus10x.py)")
    parser.add_argument("--store-1x", type=Path, help="an existing store of the corpus (else built)")
    parser.add_argument("--store-nx", type=Path, help="an existing store of the large library (else built)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--throughput-seconds", type=float, default=8.0)
    parser.add_argument("--binding", action="store_true",
                        help="also compare VALUES with substitutions= on the plain enablers join (minutes of CPU)")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"shared corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    from corpus10x import make_corpus

    from patternkg.converter.api import build

    with tempfile.TemporaryDirectory(prefix="bench-queries-") as tmp_name:
        tmp = Path(tmp_name)
        small = args.store_1x
        if small is None:
            small = tmp / "corpus"
            build(store=small, sources=[CORPUS])
        large = args.store_nx
        if large is None:
            library = args.library
            if library is None:
                library = tmp / "library"
                make_corpus(src=CORPUS, dst=library, copies=args.copies)
            large = tmp / "large"
            started = time.perf_counter()
            build(store=large, sources=[library])
            print(f"built the {args.copies}x store in {time.perf_counter() - started:.0f} s", flush=True)
        if args.binding:
            values, subst = binding_comparison(small, args.requests)
            print(f"plain enablers join in process, p50: VALUES {values:.1f} ms, substitutions= {subst:.1f} ms "
                  f"({subst / values:.1f}x)", flush=True)
        tables = {}
        for scale, store in (("1x", small), (f"{args.copies}x", large)):
            proc, url = serve(store, tmp)
            try:
                tables[scale] = bench(url, args.requests)
            finally:
                stop_process(proc, timeout=30)
        a_key, b_key = tables
        print(f"\n| query | rows {a_key} | rows {b_key} | p50 ms {a_key} | p50 ms {b_key} | growth "
              f"| p99 ms {b_key} | first ms {b_key} |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for a, b in zip(tables[a_key], tables[b_key]):
            print(f"| `{a[0]}` | {a[1]} | {b[1]} | {a[2]:.1f} | {b[2]:.1f} | {b[2] / a[2]:.1f}x | {b[3]:.1f} "
                  f"| {b[4]:.1f} |", flush=True)
        if args.throughput_seconds > 0:
            compare_throughput(large, tmp, args.clients, args.throughput_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
