"""Starting ``patternkg serve`` processes for the external-engine tests."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))
from pkserver_helpers import launch, stop_process  # noqa: E402


@dataclass
class Served:
    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        stop_process(self.process)

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=60, **kwargs)


def serve(folder: Path, *args: str, env: dict[str, str] | None = None) -> Served:
    """``patternkg serve --workers 2 ARGS`` on a free loopback port, once ``/health`` answers 200."""
    process, url, log = launch("--workers", "2", *args, folder=folder, cwd=folder, env=env, seconds=90)
    return Served(url, process, log)
