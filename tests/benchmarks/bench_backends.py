"""Benchmark: the prepared queries on the embedded store and over external engines, side by side.

Run from the repository root::

    python tests/benchmarks/bench_backends.py [--copies 10] [--requests 10]

Builds the 10x corpus (:func:`corpus10x.make_corpus`), starts a throwaway Oxigraph
server and Virtuoso (``tests/external/engines.py``), times ``patternkg publish`` of the
built store into each (the publish time), then starts three ``patternkg serve`` processes
-- ``--store`` (embedded), ``--backend`` over Oxigraph server, ``--backend`` over
Virtuoso -- and times up to N sequential keep-alive GETs of ``/api/queries/<name>``
(default page, ``Cache-Control: no-cache`` so that no result cache answers) per case of
``bench_queries.CASES`` after one warm-up: p50 in ms, side by side, and each backend's
ratio to the embedded store measured in the same run. Every case of every server is
measured: a case stops repeating once it has used ``--budget`` seconds (warm-up included;
at least one timed request), and the table says how many requests its p50 is of when that
was fewer than N. The total number of rows (``X-Total-Count``) of each case must be the
same on the three servers; a difference is shown in the table. A case that fails on an
engine is shown with its status. Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import argparse
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
sys.path.insert(0, str(REPO / "tests" / "external"))

from bench_queries import CASES  # noqa: E402
from engines import start_oxigraph, start_virtuoso  # noqa: E402
from pkserver_helpers import launch, stop_process  # noqa: E402 (tests/server: on the path through engines)


def serve(tmp: Path, *args: str) -> tuple[subprocess.Popen, str]:
    proc, url, _ = launch("--workers", "2", "--timeout", "120", *args, folder=tmp, seconds=300)
    return proc, url


#: every request runs its query: the embedded front would otherwise answer a repeat from its result cache
NO_CACHE = {"Cache-Control": "no-cache"}
Cell = tuple[float, int, int] | str
"""(p50 ms, number of timed requests, total rows) of one case, or the failure's status."""


def bench(url: str, n: int, budget: float) -> dict[str, Cell]:
    """label -> :data:`Cell`, over up to *n* requests after one warm-up, within *budget* seconds per case."""
    session = requests.Session()
    out: dict[str, Cell] = {}
    for name, params in CASES:
        label = name + ("(" + ",".join(f"{k}={v}" for k, v in params.items()) + ")" if params else "")
        times: list[float] = []
        failed = None
        total = -1
        started = time.perf_counter()
        for i in range(n + 1):
            t0 = time.perf_counter()
            r = session.get(f"{url}/api/queries/{name}", params=params, headers=NO_CACHE, timeout=300)
            elapsed = (time.perf_counter() - t0) * 1000
            if r.status_code != 200:
                failed = f"{r.status_code} {r.json().get('error', '')}"
                break
            total = int(r.headers["X-Total-Count"])
            if i >= 1:
                times.append(elapsed)
                if time.perf_counter() - started > budget:
                    break
        out[label] = failed or (statistics.median(times), len(times), total)
        print(url, label, out[label], flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds per case and server after which it stops repeating (default 60)")
    parser.add_argument("--publish-only", action="store_true", help="only time the publish into each engine")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"shared corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    from corpus10x import make_corpus

    from patternkg.converter.api import build
    from patternkg.converter.publish import publish
    from patternkg.converter.storedir import open_generation

    with tempfile.TemporaryDirectory(prefix="bench-backends-") as tmp_name:
        tmp = Path(tmp_name)
        make_corpus(src=CORPUS, dst=tmp / "src", copies=args.copies)
        t0 = time.perf_counter()
        report = build(store=tmp / "store", sources=[tmp / "src"])
        print(f"built {report.patterns} patterns, {report.triples} triples in {time.perf_counter() - t0:.1f} s",
              flush=True)
        generation = open_generation(tmp / "store")
        engines = [start_oxigraph(tmp / "oxigraph"), start_virtuoso(tmp / "virtuoso", buffers=170_000)]
        servers: list[subprocess.Popen] = []
        try:
            publish_seconds = {}
            for engine in engines:
                t0 = time.perf_counter()
                result = publish(to=engine.gsp, store=tmp / "store")
                publish_seconds[engine.name] = time.perf_counter() - t0
                print(f"publish into {engine.name}: {result.release.triples} triples, "
                      f"{publish_seconds[engine.name]:.1f} s ({result.requests} requests)", flush=True)
            columns: dict[str, dict[str, Cell]] = {}
            if args.publish_only:
                return _publish_table(publish_seconds)
            proc, url = serve(tmp, "--store", str(tmp / "store"))
            servers.append(proc)
            columns["embedded"] = bench(url, args.requests, args.budget)
            for engine in engines:
                proc, url = serve(tmp, "--backend", engine.query)
                servers.append(proc)
                columns[f"--backend {engine.name}"] = bench(url, args.requests, args.budget)
        finally:
            for proc in servers:
                stop_process(proc, timeout=30)
            for engine in engines:
                engine.stop()
    print(f"\n{args.copies}x corpus: {report.patterns} patterns, {report.triples} triples "
          f"(generation {generation.id}); p50 of {args.requests} requests (ms) unless marked (n=...), "
          f"budget {args.budget:.0f} s per case\n")
    names = list(columns)
    print("| query | rows | " + " | ".join(names) + " | " + " | ".join(f"{n} / embedded" for n in names[1:]) + " |")
    print("|---" * (2 * len(names) + 1) + "|")
    for label, base in columns["embedded"].items():
        cells = []
        ratios = []
        totals = {columns[name][label][2] for name in names if not isinstance(columns[name][label], str)}
        for name in names:
            value = columns[name][label]
            if isinstance(value, str):
                cells.append(value)
            else:
                p50, count, total = value
                cells.append(f"{p50:,.1f}" + (f" (n={count})" if count < args.requests else "")
                             + (f" [{total} rows]" if len(totals) > 1 else ""))
            if name != "embedded":
                ok = not isinstance(value, str) and not isinstance(base, str)
                ratios.append(f"x{value[0] / base[0]:.2f}" if ok else "-")  # type: ignore[index]
        rows = str(totals.pop()) if len(totals) == 1 else "differ"
        print(f"| {label} | {rows} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    return _publish_table(publish_seconds)


def _publish_table(publish_seconds: dict[str, float]) -> int:
    print("\n| engine | publish time (s) |\n|---|---|")
    for name, seconds in publish_seconds.items():
        print(f"| {name} | {seconds:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
