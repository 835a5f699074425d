"""The logic of the GitHub Action (``action.yml``): ``python -m patternkg.shapes.action``.

Contract: reads the action's inputs from ``INPUT_PATHS`` (library folders, separated by
spaces or new lines; default ``.``), ``INPUT_FAIL_ON`` (default ``violation``),
``INPUT_BASELINE`` (a baseline file, optional), ``INPUT_BASE_IRI`` (optional) and
``INPUT_SINCE`` (optional; default: the pull request's base, ``origin/$GITHUB_BASE_REF``
or ``$GITHUB_BASE_REF``, fetched with ``git fetch`` when absent; without a base,
e.g. on a push, the whole library is validated) and ``INPUT_INDEX`` (optional: a kept
validation index, ``validate --index``, under ``$RUNNER_TEMP`` when relative, where the
action's cache step restores it: never in the workspace, whose Markdown files are the
library). Runs in
``$GITHUB_WORKSPACE`` and:

- validates once (:func:`~.runner.make_report`);
- appends the Markdown report to ``$GITHUB_STEP_SUMMARY`` (within GitHub's 1 MiB);
- writes SARIF and the HTML report to ``$RUNNER_TEMP`` (or the workspace);
- prints the capped annotations (:mod:`.github_format`) on stdout;
- writes ``sarif``, ``html``, ``new``, ``fixed``, ``failed`` and ``since`` to ``$GITHUB_OUTPUT``;
- exits 1 when a new result is at or above fail-on, 2 on bad input, else 0.

It runs the same outside GitHub with those variables set
(``tests/shapes/test_action.py`` does, on a temporary git repository).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from patternkg.shapes.severities import SEVERITIES

FULL_REPORT = "the HTML report in the 'patternkg-report' artifact of this run"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def _resolves(ref: str, cwd: Path) -> bool:
    return subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=cwd,
                          capture_output=True).returncode == 0


def base_ref(workspace: Path) -> str | None:
    """The ref to compare with: INPUT_SINCE, else the pull request's base (fetched when missing)."""
    explicit = _env("INPUT_SINCE")
    if explicit:
        return explicit
    base = _env("GITHUB_BASE_REF")
    if not base:
        return None
    for candidate in (f"origin/{base}", base):
        if _resolves(candidate, workspace):
            return candidate
    fetched = subprocess.run(["git", "fetch", "--no-tags", "--quiet", "origin",
                              f"+refs/heads/{base}:refs/remotes/origin/{base}"], cwd=workspace, capture_output=True)
    if fetched.returncode == 0 and _resolves(f"origin/{base}", workspace):
        return f"origin/{base}"
    print(f"::warning title=patternkg validate::the base {base} could not be found or fetched; "
          "validating the whole library (use actions/checkout with fetch-depth: 0)")
    return None


def _output(name: str, value: str) -> None:
    path = _env("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(f"{name}={value}\n")


def main() -> int:
    from patternkg.converter.namespaces import DEFAULT_BASE_IRI
    from patternkg.shapes.baseline import BaselineError
    from patternkg.shapes.markdown import render_markdown
    from patternkg.shapes.reports import render
    from patternkg.shapes.runner import make_report
    from patternkg.shapes.since import SinceError

    workspace = Path(_env("GITHUB_WORKSPACE", os.getcwd()))
    os.chdir(workspace)
    paths = _env("INPUT_PATHS", ".").split()
    fail_on = _env("INPUT_FAIL_ON", "violation")
    if fail_on not in SEVERITIES:
        print(f"::error title=patternkg validate::fail-on must be one of {', '.join(SEVERITIES)}, not {fail_on!r}")
        return 2
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        print(f"::error title=patternkg validate::paths not found in the workspace: {', '.join(missing)}")
        return 2
    baseline = _env("INPUT_BASELINE") or None
    since = base_ref(workspace)
    try:
        temp = Path(_env("RUNNER_TEMP") or tempfile.gettempdir())
        index = {"index": temp / _env("INPUT_INDEX")} if _env("INPUT_INDEX") else {}
        report = make_report(sources=paths, since=since, baseline=baseline, root=workspace,
                             base_iri=_env("INPUT_BASE_IRI", DEFAULT_BASE_IRI), **index)
    except (BaselineError, SinceError) as exc:
        print(f"::error title=patternkg validate::{exc}")
        return 2
    server, repository, sha = _env("GITHUB_SERVER_URL", "https://github.com"), _env("GITHUB_REPOSITORY"), \
        _env("GITHUB_SHA")
    if repository and sha:
        report.link_base = f"{server}/{repository}/blob/{sha}"
    report.full_report = FULL_REPORT
    out_dir = Path(_env("RUNNER_TEMP", str(workspace)))
    sarif = out_dir / "patternkg.sarif"
    html = out_dir / "patternkg-report.html"
    sarif.write_text(render(report, "sarif") + "\n", encoding="utf-8")
    html.write_text(render(report, "html", fail_on=fail_on), encoding="utf-8")
    summary = _env("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as out:
            out.write(render_markdown(report, fail_on=fail_on) + "\n")
    print(render(report, "github"))
    failed = report.failed(fail_on)
    for name, value in (("sarif", str(sarif)), ("html", str(html)), ("new", str(report.status_counts()["new"])),
                        ("fixed", str(len(report.fixed))), ("failed", "true" if failed else "false"),
                        ("since", since or "")):
        _output(name, value)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
