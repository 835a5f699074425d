"""Benchmark: `patternkg validate` against `build` on the same input.

    python tests/benchmarks/bench_validate.py [--corpus DIR] [--factor 10] [--skip-10x]

Cases, each timed in this process (wall clock, best of --repeat):
- build: `build` into a temporary on-disk store (the reference for the ratio);
- validate: the whole library (all shapes, cross-pattern ones included);
- one changed file: `validate --only FILE` against the whole library (the CI case);
- since: `validate --since HEAD~1` after a one-file commit (bench_since.py).
Run on the shared corpus (952 files) and a 10x corpus of renamed copies
(tests/benchmarks/corpus10x.py). Targets: whole corpus < 10 s, one file < 3 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_since import run_since  # noqa: E402
from corpus10x import make_corpus  # noqa: E402

from patternkg.converter.api import build  # noqa: E402
from patternkg.shapes.validation import validate_library  # noqa: E402

DEFAULT_CORPUS = HERE.parent.parent.parent / "shared" / "corpus" / "commons-os"


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def run(corpus: Path, label: str, repeat: int) -> None:
    changed = sorted(corpus.glob("*.md"))[len(list(corpus.glob("*.md"))) // 2]
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        t_build, _ = best(lambda: build(store=Path(tmp) / "store", sources=[corpus]), repeat)
    t_all, v = best(lambda: validate_library(sources=[corpus]), repeat)
    t_one, v1 = best(lambda: validate_library(sources=[corpus], only=[changed]), repeat)
    counts = v.counts()
    print(f"{label}: {v.files} files, {counts}")
    print(f"  build               {t_build:7.2f} s")
    print(f"  validate (all)      {t_all:7.2f} s   ratio to build {t_all / t_build:5.2f}x")
    print(f"  validate one file   {t_one:7.2f} s   ratio to build {t_one / t_build:5.2f}x "
          f"({changed.name}: {len(v1.results)} results)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--factor", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-10x", action="store_true")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"corpus not found: {args.corpus}")
    print(f"cores: {os.cpu_count()}")
    run(args.corpus, "shared corpus", args.repeat)
    run_since(args.corpus, "shared corpus")  # the pull-request mode (bench_since.py; --copies N to scale it)
    if not args.skip_10x:
        with tempfile.TemporaryDirectory(prefix="corpus10x-") as tmp:
            make_corpus(src=args.corpus, dst=Path(tmp), copies=args.factor)
            run(Path(tmp), f"{args.factor}x corpus", 1)


if __name__ == "__main__":
    main()
