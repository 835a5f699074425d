"""Benchmark: the bulk queries of the answers sidecar, sorted by Oxigraph or by SQLite.

    python tests/benchmarks/bench_answers.py --store STORE [--only by-domain,top-assessed]

STORE is a store directory built by ``patternkg build`` (its current generation is read).
For each bulk query (``server/queries/bulk/*.rq``), in one process on the same store:

- **oxigraph**: the query with its ORDER BY, every row read and encoded as the sidecar
  stores it (the writer before issue 14's change);
- **sqlite**: the query without ORDER BY, rows staged and sorted by SQLite on
  :mod:`patternkg.server.row_order` keys, then encoded (``precompute._sorted_rows``, what
  the writer does now);
- **unordered**: the query without ORDER BY, rows only iterated (what the engine alone costs).

Each is run ``--repeat`` times (median printed), the baseline first; the ratio is
sqlite / oxigraph. The two writers' lists are checked equal, each with the same rows in the
same order (a bulk query's ORDER BY orders the rows of a list totally; the lists themselves
come in another order: SQLite orders keys as text, Oxigraph as terms), so a faster figure is
never one of a wrong answer.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import time
from collections import defaultdict

from patternkg.converter.storedir import open_generation
from patternkg.server import precompute
from patternkg.server.catalogue import load_catalogue
from patternkg.server.row_order import unordered
from pyoxigraph import Store


Rows = tuple[list[tuple[str, str]], precompute.CellEncoder]


def by_oxigraph(store: Store, spec: precompute.BulkQuery, columns: list[str]) -> Rows:
    encoder = precompute.CellEncoder()
    rows = [(precompute.key_text(s[k] for k in spec.key), encoder.row(s, columns)) for s in store.query(spec.sparql)]
    return rows, encoder


def by_sqlite(store: Store, spec: precompute.BulkQuery, columns: list[str]) -> Rows:
    encoder = precompute.CellEncoder()
    db = sqlite3.connect("")
    return [(key, encoder.stored(cells)) for key, cells in precompute._sorted_rows(store, db, spec, columns, [])], encoder


def lists(rows: Rows) -> dict[str, list[list]]:
    """Each list's rows in order, cells expanded (the prefix numbers of two writers may differ)."""
    found: dict[str, list[list]] = defaultdict(list)
    stored, encoder = rows
    for key, row in stored:
        found[key].append([encoder.expand(cell) for cell in json.loads(row)])
    return dict(found)


def iterate(store: Store, spec: precompute.BulkQuery, columns: list[str]) -> int:
    return sum(1 for _ in store.query(unordered(spec.sparql)))


def timed(fn, *args, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="a store directory patternkg built")
    parser.add_argument("--only", help="comma-separated bulk queries (default: all)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    store = Store.read_only(str(open_generation(args.store).store_path))
    catalogue, bulk = load_catalogue(), precompute.load_bulk()
    names = args.only.split(",") if args.only else list(bulk)
    print("| bulk query | rows | ORDER BY in Oxigraph | sorted by SQLite | ratio | unordered, rows only iterated |")
    print("|---|---:|---:|---:|---:|---:|")
    totals = [0.0, 0.0, 0.0]
    for name in names:
        spec, columns = bulk[name], catalogue[name].column_names
        old, old_rows = timed(by_oxigraph, store, spec, columns, repeat=args.repeat)
        new, new_rows = timed(by_sqlite, store, spec, columns, repeat=args.repeat)
        alone, _ = timed(iterate, store, spec, columns, repeat=args.repeat)
        if lists(old_rows) != lists(new_rows):
            raise SystemExit(f"{name}: the two writers store different rows or order them differently")
        totals = [t + f for t, f in zip(totals, (old, new, alone))]
        print(f"| `{name}` | {len(new_rows[0]):,} | {old:.2f} s | {new:.2f} s | x{new / old:.2f} | {alone:.2f} s |",
              flush=True)
    print(f"| all | | {totals[0]:.2f} s | {totals[1]:.2f} s | x{totals[1] / totals[0]:.2f} | {totals[2]:.2f} s |")


if __name__ == "__main__":
    main()
