"""Releases: one version, written once; the pre-commit hook installs from a git URL at a tag."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import patternkg

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_single_sourced():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "patternkg.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", patternkg.__version__)
    assert importlib.metadata.version("patternkg") == patternkg.__version__
    out = subprocess.run([sys.executable, "-m", "patternkg", "--version"], capture_output=True, text=True, check=True)
    assert patternkg.__version__ in out.stdout


def test_pre_commit_hook_definition():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "patternkg-validate")
    assert hook["language"] == "python" and hook["entry"].startswith("patternkg validate")
    assert hook["pass_filenames"] is False and hook["files"] == r"\.md$"
    assert f"rev: v{patternkg.__version__}" in (ROOT / ".pre-commit-hooks.yaml").read_text()


@pytest.mark.slow
def test_pre_commit_runs_the_hook_from_a_git_url_at_a_version_tag(tmp_path, gitlib):
    """pre-commit clones this repository at tag v<version>, pip-installs it and runs the hook."""
    if not (ROOT / ".git").exists():
        pytest.skip("needs this repository as a git checkout")
    source = tmp_path / "patternkg"
    gitlib.git(tmp_path, "clone", "-q", str(ROOT), str(source))
    gitlib.git(source, "tag", f"v{patternkg.__version__}")
    library = gitlib.make_repo(tmp_path / "library")
    (library / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {source.as_uri()}\n    rev: v{patternkg.__version__}\n"
        "    hooks:\n      - id: patternkg-validate\n        args: [lib]\n")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           **{k: v for k, v in gitlib.GIT_ENV.items() if k != "HOME"}}
    run = subprocess.run([sys.executable, "-m", "pre_commit", "run", "--all-files"], cwd=library, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 1, run.stdout + run.stderr  # the base library has one violation
    assert "patternkg validate (SHACL)" in run.stdout and "lib/alpha.md:36: violation" in run.stdout
    gitlib.set_weight(library / "lib" / "alpha.md", "1.5", "0.5")
    run = subprocess.run([sys.executable, "-m", "pre_commit", "run", "--all-files"], cwd=library, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
