"""A small pattern library in a temporary git repository, for --since, baseline, diff and action tests.

``make_repo(path)`` writes ``lib/alpha.md`` (a weight of 1.5: one violation),
``lib/beta.md`` (clean) and ``lib/gamma.md`` (clean, unrelated) and commits them as
the base. :func:`commit` records later steps. Real ``git``; no network.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

CASES = Path(__file__).resolve().parent / "cases"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    lib = path / "lib"
    lib.mkdir()
    (lib / "alpha.md").write_text((CASES / "weight-range" / "fail" / "alpha.md").read_text())
    (lib / "beta.md").write_text((CASES / "weight-range" / "pass" / "beta.md").read_text())
    gamma = (CASES / "weight-range" / "pass" / "beta.md").read_text()
    gamma = gamma.replace("slug: beta", "slug: gamma").replace("title: \"Beta\"", "title: \"Gamma\"")
    gamma = gamma.replace("pat_01bbbbbbbbbbbbbbbbbbbbbbbb", "pat_01gggggggggggggggggggggggg")
    gamma = gamma.replace("- slug: alpha", "- slug: zeta").replace("target: alpha", "target: zeta")
    (lib / "gamma.md").write_text(gamma)
    commit(path, "base library")
    return path


def commit(path: Path, message: str) -> str:
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", message)
    return git(path, "rev-parse", "HEAD").strip()


def set_weight(file: Path, old: str, new: str) -> None:
    text = file.read_text()
    assert f"weight: {old}" in text, file
    file.write_text(text.replace(f"weight: {old}", f"weight: {new}", 1))
