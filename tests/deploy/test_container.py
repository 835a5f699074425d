"""The Containerfile's install steps, run here as a script (no container engine on the test
machines): ``deploy/install.sh`` into a fresh virtualenv from a clean copy of the tree."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
CONTAINERFILE = REPO / "Containerfile"
SCRIPT = REPO / "deploy" / "install.sh"


def test_containerfile_runs_the_install_script() -> None:
    text = CONTAINERFILE.read_text()
    runs = re.findall(r"^RUN (.+?)(?<!\\)$", text, flags=re.M | re.S)
    assert any("deploy/install.sh" in run for run in runs)
    assert re.search(r'^CMD \[.*"serve", "--store"', text, flags=re.M)
    assert "--host\", \"0.0.0.0\"" in text


@pytest.mark.slow
def test_install_script_installs_and_serves(tmp_path: Path) -> None:
    if shutil.which("python3") is None:
        pytest.skip("no python3 on PATH")
    src = tmp_path / "src"
    # a clean copy of what the image's COPY takes (the tree without caches and scratch)
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".git", "*.egg-info", "__pycache__", ".pytest_cache",
                                                            "build", "dist"))
    env = {**os.environ, "PATTERNKG_SRC": str(src), "PATTERNKG_HOME": str(tmp_path / "venv"),
           "PATTERNKG_DATA": str(tmp_path / "data")}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"boolean":true' in done.stdout.replace(" ", "")  # the built library answers a query
    assert (tmp_path / "data" / "store" / "patternkg-store.json").is_file()
