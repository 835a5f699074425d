"""Benchmark: `patternkg validate --since` (the pull-request mode) on a git repository.

    python tests/benchmarks/bench_since.py [--corpus DIR] [--copies N] [--index]
    python tests/benchmarks/bench_since.py --repo REPO --index [--index-dir DIR]

Builds a git repository holding the library (the shared corpus, or N renamed copies of
it from corpus10x.py) whose last commit changes one file (a weight out of range), then
times `make_report(sources=[lib], since="HEAD~1")`: both sides validated through the
partial-validation entry point, new/fixed/unchanged. With --index, a kept validation
index is used (the first run writes it and the base's; the second is timed as well).
Also called by bench_validate.py. Target: under 10 s for one changed file at 100k patterns.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from corpus10x import make_corpus  # noqa: E402

DEFAULT_CORPUS = HERE.parent.parent.parent / "shared" / "corpus" / "commons-os"


def git_library(corpus: Path, repo: Path) -> Path:
    """*repo* as a git repository holding *corpus* under lib/, with a last commit that changes one file."""
    import shutil
    import subprocess

    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.org",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.org"}

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "gc.auto=0", "-c", "maintenance.auto=false", *args], cwd=repo, env=env,
                       check=True, capture_output=True)

    lib = repo / "lib"
    if corpus != lib:
        shutil.copytree(corpus, lib)
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "library")
    files = sorted(lib.glob("*.md"))
    changed = next(f for f in files[len(files) // 2:] if "weight:" in f.read_text(errors="replace"))
    changed.write_text(changed.read_text().replace("weight:", "weight: 7 #", 1))
    git("commit", "-q", "-am", "one change")
    return lib


CPU = [0.0]  # CPU seconds of the last _timed call: this process and the commands it ran (git)


def _cpu() -> float:
    import resource

    mine, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def _timed(fn):
    start, cpu = time.perf_counter(), _cpu()
    out = fn()
    CPU[0] = _cpu() - cpu
    return time.perf_counter() - start, out


def run_since(corpus: Path, label: str, *, index: bool = False, repo: Path | None = None,
              index_dir: Path | None = None) -> None:
    """Print the time of one ``--since HEAD~1`` run (two with *index*: writing it, then reusing it).
    *repo*: a repository made earlier by :func:`git_library` (its ``lib/``); *index_dir*: where
    the indexes are kept (an index of ``repo/lib`` written earlier is used as it is)."""
    from patternkg.shapes.runner import make_report
    from patternkg.shapes.validation import validate

    if index and "index" not in inspect.signature(validate).parameters:
        print("  validate --since: this patternkg has no kept index (validate(index=...)); timing without it")
        index = False
    with tempfile.TemporaryDirectory(prefix="bench-since-") as tmp:
        lib = (repo / "lib").resolve() if repo is not None else git_library(corpus, Path(tmp) / "repo")
        options = {"index": index_dir or Path(tmp) / "index"} if index else {}
        first = "index written" if index and not (index_dir and index_dir.exists()) else "index kept"
        t_since, report = _timed(lambda: make_report(sources=[lib], since="HEAD~1", **options))
        s = report.status_counts()
        print(f"  validate --since    {t_since:7.2f} s, {CPU[0]:.2f} s CPU   ({len(report.changed_files)} changed file, "
              f"{report.checked_files} checked; {s['new']} new, {len(report.fixed)} fixed, "
              f"{s['unchanged']} unchanged) [{label}{', ' + first if index else ''}]", flush=True)
        if index:
            for _run in range(2):
                t_again, again = _timed(lambda: make_report(sources=[lib], since="HEAD~1", **options))
                a = again.status_counts()
                print(f"  validate --since    {t_again:7.2f} s, {CPU[0]:.2f} s CPU   (again, the kept indexes reused; "
                      f"{a['new']} new, "
                      f"{len(again.fixed)} fixed, {a['unchanged']} unchanged) [{label}]", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--copies", type=int, default=1, help="renamed copies of the corpus (1: the corpus itself)")
    parser.add_argument("--index", action="store_true", help="use a kept validation index (validate(index=...))")
    parser.add_argument("--repo", type=Path, default=None,
                        help="a repository made earlier as this benchmark makes one (library in lib/, last commit "
                             "changes one file), e.g. for 100k patterns")
    parser.add_argument("--index-dir", type=Path, default=None,
                        help="with --index: keep the indexes here (an index of REPO/lib written earlier is reused)")
    args = parser.parse_args()
    if args.repo is not None:
        print(f"cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f}")
        run_since(args.corpus, args.repo.name, index=args.index, repo=args.repo, index_dir=args.index_dir)
        return
    if not args.corpus.is_dir():
        sys.exit(f"corpus not found: {args.corpus}")
    print(f"cores: {os.cpu_count()}")
    if args.copies == 1:
        run_since(args.corpus, "shared corpus", index=args.index)
        return
    with tempfile.TemporaryDirectory(prefix="corpus-since-") as tmp:
        make_corpus(src=args.corpus, dst=Path(tmp) / "lib", copies=args.copies)
        run_since(Path(tmp) / "lib", f"{args.copies}x corpus", index=args.index)


if __name__ == "__main__":
    main()
