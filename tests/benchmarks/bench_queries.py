"""Benchmark: every prepared query over HTTP on the shared corpus and on a 10x corpus.

Run from the repository root::

    python tests/benchmarks/bench_queries.py [--requests N] [--factor 10]

Builds an Oxigraph store from ``../shared/corpus/commons-os`` and one from a 10x
copy (:func:`corpus10x.make_corpus`: renamed copies, copy 0 keeps the original
names so the same parameters work), starts ``patternkg serve --store`` (granian,
worker pool with its timeout on) for each, and times N sequential keep-alive GETs
of ``/api/queries/<name>`` (default page: JSON, limit 100) per query after two warm-ups:
p50/p95 in ms, and the first request alone (before the server caches the total).
It also compares (unless ``--no-binding``) the two ways of binding a value, in process,
on the plain `enablers` join: the term written into ``VALUES`` (what the server does)
versus pyoxigraph's ``substitutions=``. With ``--uncompacted`` it also builds each store
without the final compaction that ``build`` does (what builds did before), serves it the
same way and prints each query's p50 on it and the ratio compacted / uncompacted.
Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "commons-os"
sys.path.insert(0, str(HERE))

#: (query, parameters): representative questions; the enablers target is the corpus's most linked pattern.
CASES: list[tuple[str, dict[str, str]]] = [
    ("enablers", {"target": "acceptance-and-commitment"}),
    ("enablers", {"target": "acceptance-and-commitment", "domain": "mindfulness-presence"}),
    ("requirements", {"pattern": "knowing-when-to-quit"}),
    ("neighbours", {"pattern": "just-in-time-jit"}),
    ("by-domain", {"domain": "operations"}),
    ("top-assessed", {"dimension": "resilience"}),
    ("community", {"community": "systems-thinking"}),
    ("similar", {"pattern": "knowing-when-to-quit"}),
    ("path", {"from": "just-in-time-jit", "to": "dmaic-six-sigma-methodology"}),
    ("dangling-references", {}),
    ("one-sided-relations", {}),
    ("review-queue", {}),
    ("search", {"text": "trust"}),
    ("stats", {}),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def serve(store: Path, tmp: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "patternkg", "serve", "--store", str(store), "--port", str(port),
         "--workers", "2", "--timeout", "30", "--dumps-dir", str(tmp / f"dumps-{port}")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if requests.get(url + "/health", timeout=2).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def bench(url: str, n: int) -> list[tuple[str, str, int, float, float, float]]:
    """Per case: (name, label, total, p50, p95, first): *first* is the first request, before the
    server has cached the total (see docs/queries.md); p50/p95 are over the N requests after two
    warm-ups."""
    session = requests.Session()
    results = []
    for name, params in CASES:
        times = []
        first = 0.0
        for i in range(n + 2):
            t0 = time.perf_counter()
            r = session.get(f"{url}/api/queries/{name}", params=params, timeout=120)
            elapsed = (time.perf_counter() - t0) * 1000
            if r.status_code != 200:
                raise RuntimeError(f"{name}: {r.status_code} {r.text[:200]}")
            if i == 0:
                first = elapsed
            if i >= 2:  # two warm-up requests
                times.append(elapsed)
        label = name + ("(" + ",".join(f"{k}={v}" for k, v in params.items()) + ")" if params else "")
        results.append((name, label, int(r.headers["X-Total-Count"]), statistics.median(times), pct(times, 95),
                        first))
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--factor", type=int, default=10)
    parser.add_argument("--no-binding", action="store_true",
                        help="skip the VALUES vs substitutions= comparison (minutes of CPU)")
    parser.add_argument("--uncompacted", action="store_true",
                        help="also time stores built without the final compaction (the baseline)")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"shared corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    from corpus10x import make_corpus

    from patternkg.converter.api import build
    from patternkg.converter.namespaces import DEFAULT_BASE_IRI
    from patternkg.converter.pipeline import load_library, write_store

    def build_uncompacted(store: Path, source: Path) -> None:
        write_store(store, lambda db: load_library(db, sources=[source], base_iri=DEFAULT_BASE_IRI).report)

    with tempfile.TemporaryDirectory(prefix="bench-queries-") as tmp_name:
        tmp = Path(tmp_name)
        build(store=tmp / "corpus", sources=[CORPUS])
        make_corpus(src=CORPUS, dst=tmp / "src10x", copies=args.factor)
        build(store=tmp / "corpus10x", sources=[tmp / "src10x"])
        if args.uncompacted:
            build_uncompacted(tmp / "corpus-plain", CORPUS)
            build_uncompacted(tmp / "corpus10x-plain", tmp / "src10x")
        if not args.no_binding:
            values, subst = binding_comparison(tmp / "corpus", args.requests)
            print(f"plain enablers join in process, p50: VALUES {values:.1f} ms, substitutions= {subst:.1f} ms "
                  f"({subst / values:.1f}x)", flush=True)
        tables = {}
        stores = [("corpus", tmp / "corpus"), (f"{args.factor}x", tmp / "corpus10x")]
        if args.uncompacted:
            stores += [("corpus uncompacted", tmp / "corpus-plain"),
                       (f"{args.factor}x uncompacted", tmp / "corpus10x-plain")]
        for label, store in stores:
            proc, url = serve(store, tmp)
            try:
                tables[label] = bench(url, args.requests)
                for row in tables[label]:
                    print(label, row, flush=True)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    if args.uncompacted:
        print("| query | corpus p50 ms | uncompacted | ratio | 10x p50 ms | uncompacted | ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for rows in zip(*tables.values()):
            a, b, a0, b0 = rows
            print(f"| `{a[1]}` | {a[3]:.1f} | {a0[3]:.1f} | {a[3] / a0[3]:.2f} | {b[3]:.1f} | {b0[3]:.1f} "
                  f"| {b[3] / b0[3]:.2f} |")
    keys = list(tables)
    print(f"| query | rows ({keys[0]}) | p50 ms | p95 ms | first ms | rows ({keys[1]}) | p50 ms | p95 ms | first ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for a, b in zip(tables[keys[0]], tables[keys[1]]):
        print(f"| `{a[1]}` | {a[2]} | {a[3]:.1f} | {a[4]:.1f} | {a[5]:.1f} | {b[2]} | {b[3]:.1f} | {b[4]:.1f} "
              f"| {b[5]:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
