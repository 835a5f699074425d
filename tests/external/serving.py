"""Starting ``patternkg serve`` processes for the external-engine tests."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from engines import free_port


@dataclass
class Served:
    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=60, **kwargs)


def serve(folder: Path, *args: str, env: dict[str, str] | None = None) -> Served:
    """``patternkg serve ARGS`` on a free loopback port, once ``/health`` answers 200."""
    port = free_port()
    log = folder / f"serve-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "patternkg", "serve", "--port", str(port), "--workers", "2",
         "--dumps-dir", str(folder / f"dumps-{port}"), *args],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=folder, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            if requests.get(url + "/health", timeout=5).status_code == 200:
                return Served(url, process, log)
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("patternkg serve did not start: " + log.read_text())
