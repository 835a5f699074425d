"""Benchmark: `patternkg validate` against `patternkg build` of the same library, in the same run.

    python tests/benchmarks/bench_validate.py [--corpus DIR] [--copies 10] [--library DIR] [--skip-nx]
                                              [--whole] [--pyshacl] [--no-verify]

For the shared corpus (1x) and a library of N renamed copies (``corpus10x.py --copies N``,
generated here, or ``--library DIR`` made earlier with it), every case runs in its own
subprocess and is measured from outside: wall time, and the peak of the summed resident
memory of the process and all its descendants (workers included), sampled from /proc
every 0.1 s. Cases:

- build: ``patternkg build LIB --store TMP`` (the reference of the ratios);
- validate: the whole library with the default engine (streamed in batches), keeping its
  cross-pattern index (``--index``), through the Python API (the report is not rendered:
  the engine is what is measured);
- validate --only: one file, edited first (a relationship target and its title change),
  reusing the index, in a fresh process (start-up included);
- on 1x, ``--since HEAD~1`` after a one-file commit with kept indexes (bench_since.py);
- with --whole / --pyshacl: the whole-graph Oxigraph engine (``batch_files=0``) and the
  pySHACL engine, for the figures of docs/validation.md (pySHACL only on 1x).

Each case prints its results per severity; for --only it also checks that they equal the
full run's results for that file after the same edit (a full run of the edited library).
The edited file is restored afterwards; the shared corpus is never edited (its one-file case
uses an unchanged file).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "server"))
from pkserver_helpers import child_pids  # noqa: E402
from bench_since import run_since  # noqa: E402
from corpus10x import make_corpus  # noqa: E402

DEFAULT_CORPUS = HERE.parents[1].parent / "shared" / "corpus" / "commons-os"
PAGE = os.sysconf("SC_PAGE_SIZE")
BIN = Path(sys.executable).parent
_DRIVER = """
import json, sys
from patternkg import validate
args = json.loads(sys.argv[1])
v = validate(**args)
out = {"summary": v.summary(), "reused_index": v.reused_index}
if args.get("only"):
    out["results"] = [r.to_dict() for r in v.results]
print(json.dumps(out))
"""


def rss_of_tree(root: int) -> int:
    total = 0
    for pid in (root, *child_pids(root)):
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            pass
    return total


def measure(cmd: list[str], cwd: Path) -> tuple[float, int, str]:
    """(wall seconds, peak summed RSS in bytes, stdout) of *cmd* and its descendants."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, rss_of_tree(proc.pid))
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd[:3])} failed ({proc.returncode}):\n{errors[-3000:]}")
    return seconds, peak, text


def validate_case(cwd: Path, **args) -> tuple[float, int, dict]:
    seconds, peak, text = measure([sys.executable, "-c", _DRIVER, json.dumps(args)], cwd)
    return seconds, peak, json.loads(text.strip().splitlines()[-1])


def counts(summary: dict) -> str:
    return f"{summary['violation']} violations, {summary['warning']} warnings, {summary['info']} infos"


def row(label: str, seconds: float, peak: int, build: float, build_peak: int, extra: str = "") -> None:
    print(f"  {label:<28} {seconds:8.2f} s  {seconds / build:5.2f}x build   peak {peak / 2**20:7.0f} MiB "
          f"({peak / build_peak:4.1f}x build){extra}", flush=True)


def edit(path: Path) -> str:
    """Change a relationship target or, failing that, the title; returns the original text."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip().startswith("- slug: ") and i > 0:
            lines[i] = line.replace("- slug: ", "- slug: changed-", 1)
            break
    lines = [line for line in lines if not line.startswith("title:")]
    path.write_text("\n".join(lines), encoding="utf-8")
    return text


def run(library: Path, label: str, *, editable: bool, whole: bool, pyshacl: bool, verify: bool = True) -> None:
    files = sorted(library.glob("*.md"))
    changed = files[len(files) // 2 + 1]
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        cwd = Path(tmp)
        t_build, m_build, _ = measure([str(BIN / "patternkg"), "build", str(library), "--store", str(cwd / "store")],
                                      cwd)
        index = cwd / "index"
        t_all, m_all, full = validate_case(cwd, sources=[str(library)], index=str(index))
        print(f"{label}: {full['summary']['files']} files, {full['summary']['patterns']} patterns: "
              f"{counts(full['summary'])}", flush=True)
        row("build", t_build, m_build, t_build, m_build)
        row("validate (streamed, index)", t_all, m_all, t_build, m_build)
        if whole:
            t_whole, m_whole, w = validate_case(cwd, sources=[str(library)], batch_files=0)
            assert w["summary"] == full["summary"], (w["summary"], full["summary"])
            row("validate (whole graph)", t_whole, m_whole, t_build, m_build)
        if pyshacl:
            t_py, m_py, p = validate_case(cwd, sources=[str(library)], engine="pyshacl")
            assert p["summary"] == full["summary"], (p["summary"], full["summary"])
            row("validate (pySHACL)", t_py, m_py, t_build, m_build)
        original = edit(changed) if editable else None
        try:
            t_one, m_one, one = validate_case(cwd, sources=[str(library)], index=str(index), only=[str(changed)])
            note = f"   {changed.name}: {len(one['results'])} results, {one['reused_index']} file(s) converted"
            if editable and verify:  # the same edit, validated in full without the index
                _t, _m, ref = validate_case(cwd, sources=[str(library)], only=[str(changed)])
                note += ", equal to the full run" if ref["results"] == one["results"] else ", DIFFERS from the full run"
        finally:
            if original is not None:
                changed.write_text(original, encoding="utf-8")
        row("validate --only (index)", t_one, m_one, t_build, m_build, note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--copies", type=int, default=10, help="copies of the corpus for the Nx library")
    parser.add_argument("--library", type=Path, default=None,
                        help="an Nx library made earlier with corpus10x.py (edited and restored for --only)")
    parser.add_argument("--skip-nx", action="store_true")
    parser.add_argument("--whole", action="store_true", help="also the whole-graph Oxigraph engine")
    parser.add_argument("--pyshacl", action="store_true", help="also the pySHACL engine (1x only)")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip the full run that checks the Nx --only results (a second full validation)")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"corpus not found: {args.corpus}")
    print(f"cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f}", flush=True)
    run(args.corpus, "shared corpus (1x)", editable=False, whole=args.whole, pyshacl=args.pyshacl)
    run_since(args.corpus, "shared corpus", index=True)  # the pull-request mode (bench_since.py)
    if args.skip_nx:
        return
    if args.library is not None:
        run(args.library, f"{args.library.name}", editable=True, whole=args.whole, pyshacl=False,
            verify=not args.no_verify)
        return
    with tempfile.TemporaryDirectory(prefix="corpus-nx-") as tmp:
        make_corpus(src=args.corpus, dst=Path(tmp), copies=args.copies)
        run(Path(tmp), f"{args.copies}x corpus", editable=True, whole=args.whole, pyshacl=False,
            verify=not args.no_verify)


if __name__ == "__main__":
    main()
