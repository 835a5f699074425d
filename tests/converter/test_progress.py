"""A progress bar on a terminal, nothing on a pipe."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

SEED = Path(__file__).resolve().parents[2] / "seeds" / "distributed-organizing.md"
LIBRARY = Path(__file__).resolve().parent / "library"


def run_build(tmp_path, stderr) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "patternkg", "build", str(SEED), str(LIBRARY), "--store",
                           str(tmp_path / "store")], stderr=stderr, stdout=subprocess.DEVNULL, cwd=tmp_path)


def test_progress_bar_on_a_terminal(tmp_path):
    master, slave = pty.openpty()
    try:
        proc = run_build(tmp_path, slave)
        os.close(slave)
        output = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(master)
    assert proc.returncode == 0
    assert b"converting" in output and b"file" in output  # tqdm's bar: "converting: ... 3/3 [..., file/s]"
    assert b"compacting the store" in output


def test_no_progress_bar_on_a_pipe(tmp_path):
    proc = run_build(tmp_path, subprocess.PIPE)
    assert proc.returncode == 0
    assert b"converting" not in proc.stderr and b"compacting" not in proc.stderr
    assert b"patterns: 3" in proc.stderr
