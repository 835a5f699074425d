"""Benchmark: the web front end on the shared corpus, and full-text search at 100,000 patterns.

Run from the repository root::

    python tests/benchmarks/bench_pages.py [--requests N] [--patterns 100000] [--store-nx STORE]

1. Builds an Oxigraph store from ``../shared/corpus/commons-os`` (a store generation
   with its search sidecar), starts ``patternkg serve --store`` (granian, worker
   pool), and times N sequential keep-alive GETs of each page kind after two
   warm-ups: the pattern page as a browser asks for it (``Accept: text/html``)
   over a sample of patterns, and -- the baseline measured in the same run -- the
   same patterns' Turtle description (one CONSTRUCT by a worker). Also the landing
   page, a domain page, a search page, the search API and the graph data. p50/p95 in ms.
   With ``--store-nx`` (a built store of a ``corpus10x.py --copies N`` library, with
   its own search sidecar) the same requests run on it too, and a table shows 1x and
   Nx side by side with the growth: full-text search over HTTP at 100,000 patterns.
2. Builds the FTS5 index of ``--patterns`` patterns (the corpus's rows copied with
   renamed slugs, as ``corpus10x`` does for stores) and times queries in process:
   single words, prefixes, two words; p50/p95 in ms.

Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "commons-os"
sys.path.insert(0, str(HERE.parent / "server"))
from pkserver_helpers import launch, stop_process  # noqa: E402

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
SEARCHES = ["habit", "trust", "organ", "govern", "commons", "feedback loop", "decision making", "resil",
            "community", "leadership", "six sigma", "zzqx"]


def timings(session: requests.Session, urls: list[str], headers: dict[str, str], n: int) -> list[float]:
    for url in urls[:2]:
        session.get(url, headers=headers, timeout=60)
    out = []
    for i in range(n):
        url = urls[i % len(urls)]
        t = time.perf_counter()
        r = session.get(url, headers=headers, timeout=60)
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    return out


def line(name: str, values: list[float]) -> str:
    return f"{name:<34} p50 {statistics.median(values):7.1f} ms   p95 {p95(values):7.1f} ms   (n={len(values)})"


def _served(store: Path, scratch: Path):
    """Start ``patternkg serve --store`` on a free port; (process, base URL, every slug of the store)."""
    import pyoxigraph as ox

    from patternkg.converter.storedir import open_generation

    generation = open_generation(store)
    oxstore = ox.Store.read_only(str(generation.store_path))
    slugs = sorted(r["s"].value for r in oxstore.query(
        "SELECT ?s WHERE { ?p a <https://w3id.org/patternkg/ontology#Pattern> ; "
        "<https://w3id.org/patternkg/ontology#slug> ?s }"))
    del oxstore
    proc, base, _ = launch("--store", str(store), folder=scratch, seconds=120)
    return proc, base, slugs


def bench_http(store: Path, n: int, scratch: Path) -> dict[str, list[float]]:
    """Every page kind of one served store: {row name: latencies in ms} (also printed)."""
    proc, base, slugs = _served(store, scratch)
    sample = slugs[:: max(1, len(slugs) // 40)][:40]
    out: dict[str, list[float]] = {}
    try:
        s = requests.Session()
        pages = [f"{base}/pattern/{slug}" for slug in sample]
        out["pattern page (text/html)"] = timings(s, pages, HTML, n)
        out["baseline: its Turtle (CONSTRUCT)"] = timings(s, pages, {"Accept": "text/turtle"}, n)
        out["landing page /"] = timings(s, [base + "/"], HTML, max(10, n // 4))
        out["domain page /domain/operations"] = timings(s, [base + "/domain/operations"], HTML, max(10, n // 4))
        out["status page /vocab/status/draft"] = timings(s, [base + "/vocab/status/draft"], HTML, max(10, n // 4))
        out["search page /search?q=..."] = timings(s, [f"{base}/search?q={q}" for q in SEARCHES], HTML, n)
        # /api/ answers are kept by the result cache (server/httpcache.py): no-cache runs each one again
        out["search API /api/search?q=..."] = timings(s, [f"{base}/api/search?q={q}" for q in SEARCHES],
                                                     {"Cache-Control": "no-cache"}, n)
        out["graph data (1-2 hops)"] = timings(s, [f"{base}/graph/pattern/{slug}.json" for slug in sample], {}, n)
    finally:
        stop_process(proc, timeout=30)
    print(f"{store}: {len(slugs)} patterns, pages over {len(sample)} of them")
    for name, values in out.items():
        print(line(name, values))
    html, turtle = out["pattern page (text/html)"], out["baseline: its Turtle (CONSTRUCT)"]
    print(f"{'ratio html / turtle (p50)':<34} {statistics.median(html) / statistics.median(turtle):.2f}")
    return out


def side_by_side(one: dict[str, list[float]], many: dict[str, list[float]], label: str) -> None:
    """The 1x and Nx rows of the same run, with the growth of the p50."""
    print(f"\n| request | 1x p50 | 1x p95 | {label} p50 | {label} p95 | growth (p50) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, values in one.items():
        other = many.get(name)
        if other is None:
            continue
        a, b = statistics.median(values), statistics.median(other)
        print(f"| {name} | {a:.1f} ms | {p95(values):.1f} ms | {b:.1f} ms | {p95(other):.1f} ms | {b / a:.2f}x |")


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * 0.95))]


def bench_search(patterns: int, store: Path, scratch: Path) -> None:
    import pyoxigraph as ox

    from patternkg.converter.search_index import build_index, index_rows, store_select
    from patternkg.converter.storedir import open_generation
    from patternkg.server.search import SearchIndex

    generation = open_generation(store)
    rows = index_rows(store_select(ox.Store.read_only(str(generation.store_path))))
    copies = -(-patterns // len(rows))

    def many():
        count = 0
        for c in range(copies):
            for iri, slug, title, aliases, summary, keywords, labels in rows:
                if count == patterns:
                    return
                count += 1
                suffix = f"-{c}" if c else ""
                yield (iri + suffix, slug + suffix, title, aliases, summary, keywords, labels)

    path = scratch / "search-100k.sqlite"
    t = time.perf_counter()
    n = build_index(many(), path)
    print(f"\nsearch index of {n} patterns: built in {time.perf_counter() - t:.1f} s, "
          f"{path.stat().st_size / 2**20:.0f} MiB")
    index = SearchIndex(path)
    for q in SEARCHES:
        index.find(q)
    per_query = {}
    for q in SEARCHES:
        values = []
        for _ in range(15):
            t = time.perf_counter()
            hits, total = index.find(q, limit=20)
            values.append((time.perf_counter() - t) * 1000)
        per_query[q] = (values, total)
    every = [v for values, _ in per_query.values() for v in values]
    for q, (values, total) in per_query.items():
        print(line(f"find {q!r} ({total} hits)", values))
    print(line("all searches (first page of 20)", every))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--patterns", type=int, default=100_000)
    parser.add_argument("--store", type=Path, help="an existing store (default: build the shared corpus)")
    parser.add_argument("--store-nx", type=Path,
                        help="a built store of a larger library (corpus10x.py --copies N, then patternkg build): "
                             "its pages and search over HTTP, side by side with the 1x store of the same run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        scratch = Path(tmp)
        store = args.store
        if store is None:
            from patternkg.converter.api import build

            store = scratch / "store"
            build(store=store, sources=[CORPUS])
        one = bench_http(store, args.requests, scratch)
        if args.store_nx is not None:
            many = bench_http(args.store_nx, args.requests, scratch)
            side_by_side(one, many, "Nx")
        bench_search(args.patterns, store, scratch)


if __name__ == "__main__":
    main()
