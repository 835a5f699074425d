"""Benchmark: `patternkg validate` against `patternkg build` of the same library, in the same run.

    python tests/benchmarks/bench_validate.py [--corpus DIR] [--copies 10] [--library DIR] [--skip-nx]
                                              [--whole] [--pyshacl] [--no-verify]
    python tests/benchmarks/bench_validate.py --library DIR --index INDEX [--no-verify]

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
- with --library DIR --index INDEX (an index written earlier for DIR): only the --only case,
  twice (the edit, then nothing changed) and once more after the file is restored;
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
import resource
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


LAST_CPU = [0.0]  # CPU seconds (user + system) of the last measured command and its descendants


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(cmd: list[str], cwd: Path) -> tuple[float, int, str]:
    """(wall seconds, peak summed RSS in bytes, stdout) of *cmd* and its descendants; their CPU
    seconds go to ``LAST_CPU[0]`` (on a shared machine, what the load does not change)."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, rss_of_tree(proc.pid))
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        LAST_CPU[0] = _children_cpu() - cpu_before
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


def row(label: str, seconds: float, peak: int, build: float, build_peak: int, extra: str = "",
        cpu: float | None = None) -> None:
    extra = f"   ({LAST_CPU[0] if cpu is None else cpu:.1f} s CPU){extra}"
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


def only_case(library: Path, index: Path, *, verify: bool) -> None:
    """The --only case alone, with an index written earlier (``--index DIR``) for *library*: for a
    library whose full validation takes half an hour, measured once and reused."""
    files = sorted(library.glob("*.md"))
    changed = files[len(files) // 2 + 1]
    print(f"{library}: {len(files)} files; index {index} (written earlier)", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        cwd = Path(tmp)
        original = edit(changed)
        try:
            for label in ("validate --only (index)", "again, nothing changed"):
                t_one, m_one, one = validate_case(cwd, sources=[str(library)], index=str(index), only=[str(changed)])
                print(f"  {label:<28} {t_one:8.2f} s   ({LAST_CPU[0]:.2f} s CPU)   peak {m_one / 2**20:7.0f} MiB   "
                      f"{changed.name}: "
                      f"{len(one['results'])} results, {one['reused_index']} file(s) converted", flush=True)
            if verify:
                _t, _m, ref = validate_case(cwd, sources=[str(library)], only=[str(changed)])
                print("  equal to the full run" if ref["results"] == one["results"] else "  DIFFERS from the full run")
        finally:
            changed.write_text(original, encoding="utf-8")
        t_back, m_back, back = validate_case(cwd, sources=[str(library)], index=str(index), only=[str(changed)])
        print(f"  {'restored, --only again':<28} {t_back:8.2f} s   ({LAST_CPU[0]:.2f} s CPU)   "
              f"peak {m_back / 2**20:7.0f} MiB   "
              f"{len(back['results'])} results, {back['reused_index']} file(s) converted", flush=True)


def run(library: Path, label: str, *, editable: bool, whole: bool, pyshacl: bool, verify: bool = True) -> None:
    files = sorted(library.glob("*.md"))
    changed = files[len(files) // 2 + 1]
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        cwd = Path(tmp)
        t_build, m_build, _ = measure([str(BIN / "patternkg"), "build", str(library), "--store", str(cwd / "store")],
                                      cwd)
        c_build = LAST_CPU[0]
        index = cwd / "index"
        t_all, m_all, full = validate_case(cwd, sources=[str(library)], index=str(index))
        c_all = LAST_CPU[0]
        print(f"{label}: {full['summary']['files']} files, {full['summary']['patterns']} patterns: "
              f"{counts(full['summary'])}", flush=True)
        row("build", t_build, m_build, t_build, m_build, cpu=c_build)
        row("validate (streamed, index)", t_all, m_all, t_build, m_build, cpu=c_all)
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
            c_one = LAST_CPU[0]
            note = f"   {changed.name}: {len(one['results'])} results, {one['reused_index']} file(s) converted"
            if editable and verify:  # the same edit, validated in full without the index
                _t, _m, ref = validate_case(cwd, sources=[str(library)], only=[str(changed)])
                note += ", equal to the full run" if ref["results"] == one["results"] else ", DIFFERS from the full run"
        finally:
            if original is not None:
                changed.write_text(original, encoding="utf-8")
        row("validate --only (index)", t_one, m_one, t_build, m_build, note, cpu=c_one)


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
    parser.add_argument("--index", type=Path, default=None,
                        help="with --library: only the --only case, with this index written earlier for it "
                             "(patternkg validate LIB --index DIR); no build, no full validation")
    args = parser.parse_args()
    if args.index is not None:
        if args.library is None:
            sys.exit("--index needs --library")
        print(f"cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f}", flush=True)
        only_case(args.library.resolve(), args.index, verify=not args.no_verify)
        return
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
