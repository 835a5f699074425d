"""Benchmark: the bulk lists of the answers sidecar, from SPARQL queries or from fact tables.

    python tests/benchmarks/bench_answers.py --store STORE [--repeat 1]

STORE is a store directory built by ``patternkg build`` (its current generation is read).
In one process on the same store:

- **sparql** (the baseline: the writer before): each bulk query (``server/queries/bulk/*.rq``)
  run without ORDER BY, its rows staged and sorted by SQLite on
  :mod:`patternkg.server.row_order` keys, then encoded;
- **facts** (:mod:`patternkg.server.bulk_facts`, as a multi-library store's writer runs it; a
  full build gets the same tables from :mod:`patternkg.server.fact_feed` instead of reading
  them): the triples the queries are made of read into SQLite tables (by this process and a
  helper process), then each query's
  SQL translation (``queries/bulk/<name>.sql``) run, sorted and encoded by SQLite. Its figures
  per query are the SQL alone; the reading is printed on its own line, and counted in the total.
  It also writes the lists the ``#+ filter:`` lines derive (per domain), which the baseline
  leaves out.

Each is run ``--repeat`` times (median printed), the baseline first. The two writers' lists
are checked equal, each with the same rows in the same order (cells compared expanded, as the
two number IRI prefixes differently), so a faster figure is never one of a wrong answer. Peak
memory is not printed here: the build's is (``bench_build.py``).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from patternkg.converter.storedir import open_generation
from patternkg.server import bulk_facts, precompute
from patternkg.server.catalogue import load_catalogue
from patternkg.server.row_order import RowOrder, unordered
from pyoxigraph import Store


def by_sparql(store: Store, spec: precompute.BulkQuery, columns: list[str]) -> dict[str, list[list]]:
    """The lists of *spec* as the writer before wrote them (expanded cells, in order)."""
    order = RowOrder(spec.sparql, columns, skip=spec.key, source=str(spec.path))
    expanded = precompute.CellEncoder.expanded
    db = sqlite3.connect("")
    db.execute("CREATE TABLE staging (key TEXT NOT NULL, sort BLOB NOT NULL, cells TEXT NOT NULL)")
    batch = []
    for solution in store.query(unordered(spec.sparql)):
        cells = [expanded(solution[c]) for c in columns]
        batch.append((precompute.key_text(solution[k] for k in spec.key), order.key(cells), json.dumps(cells)))
        if len(batch) >= 20_000:
            db.executemany("INSERT INTO staging VALUES (?, ?, ?)", batch)
            batch.clear()
    db.executemany("INSERT INTO staging VALUES (?, ?, ?)", batch)
    found: dict[str, list[list]] = defaultdict(list)
    suffix = "\t" * len(spec.filter)
    for key, cells in db.execute("SELECT key, cells FROM staging ORDER BY key, sort"):
        found[key + suffix].append(json.loads(cells))
    db.close()
    return dict(found)


class ByFacts:
    """The facts writer (``precompute._bulk_answers``), timed, into a scratch sidecar in *directory*."""

    def __init__(self, store: Store, store_path: Path, directory: Path) -> None:
        self.db = sqlite3.connect(directory / "answers.sqlite")
        self.db.executescript(precompute._SCHEMA)
        started = time.perf_counter()
        self.facts = bulk_facts.BulkFacts(store, self.db, directory, store_path=store_path)
        self.read_seconds = time.perf_counter() - started
        self.writer = precompute._ListWriter(self.db)
        encoder = precompute.CellEncoder()
        self.seconds: dict[str, float] = {}
        precompute._bulk_answers(self.facts, self.writer, encoder, seconds=self.seconds)
        self.prefixes = {n: p for p, n in encoder.prefixes.items()}

    def lists(self, name: str) -> dict[str, list[list]]:
        found = {}
        for (query, key), ident in self.writer.ids.items():
            if query == name:
                found[key] = [[self._expand(c) for c in json.loads(row)] for (row,) in self.db.execute(
                    "SELECT row FROM rows WHERE list = ? ORDER BY pos", (ident,))]
        return found

    def _expand(self, cell: Any) -> Any:
        if isinstance(cell, str):
            number, _, local = cell.partition(":")
            return self.prefixes[int(number)] + local
        if isinstance(cell, list) and len(cell) == 2 and not cell[1].startswith("@"):
            number, _, local = cell[1].partition(":")
            return [cell[0], self.prefixes[int(number)] + local]
        return cell

    def close(self) -> None:
        self.facts.close()
        self.db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="a store directory patternkg built")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    generation = open_generation(args.store)
    store = Store.read_only(str(generation.store_path))
    catalogue, bulk = load_catalogue(), precompute.load_bulk()
    old_times: dict[str, list[float]] = defaultdict(list)
    old_lists: dict[str, dict] = {}
    for _ in range(args.repeat):
        for name, spec in bulk.items():
            started = time.perf_counter()
            old_lists[name] = by_sparql(store, spec, catalogue[name].column_names)
            old_times[name].append(time.perf_counter() - started)
    runs = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as scratch:
            facts = ByFacts(store, generation.store_path, Path(scratch))
            try:
                for name in bulk:
                    # the baseline writes no derived list (key, tab, domain) and no empty one
                    base = {k: v for k, v in facts.lists(name).items() if v and not any(k.split("\t")[1:])}
                    if base != old_lists[name]:
                        raise SystemExit(f"{name}: the two writers store different rows or order them differently")
                runs.append((facts.read_seconds, dict(facts.seconds), sum(len(v) for v in old_lists.values())))
            finally:
                facts.close()
    read = statistics.median(r[0] for r in runs)
    print("| bulk query | rows | SPARQL, sorted by SQLite | SQL over the fact tables | ratio |")
    print("|---|---:|---:|---:|---:|")
    print(f"| reading the fact tables (2 processes) | | | {read:.2f} s | |")
    total_old, total_new = 0.0, read
    for name in bulk:
        old = statistics.median(old_times[name])
        new = statistics.median(r[1][name] for r in runs)
        total_old, total_new = total_old + old, total_new + new
        rows = sum(len(v) for v in old_lists[name].values())
        print(f"| `{name}` | {rows:,} | {old:.2f} s | {new:.2f} s | x{new / old:.2f} |", flush=True)
    print(f"| all, reading included | | {total_old:.2f} s | {total_new:.2f} s | x{total_new / total_old:.2f} |")


if __name__ == "__main__":
    main()
