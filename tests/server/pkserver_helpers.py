"""Helpers of the server tests (imported by conftest.py, which puts this folder on sys.path)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import requests

DATA = Path(__file__).with_name("data") / "library.trig"
BASE = "https://w3id.org/patternkg/library/"
PKG = "https://w3id.org/patternkg/ontology#"
CURATED = BASE + "graph/curated"
GARDEN = BASE + "graph/garden"
META = BASE + "graph/meta"
TIMEOUT = 2.0
MAX_ROWS = 500
MAX_REQUEST = 64 * 1024


def make_store(path: Path) -> Path:
    store = ox.Store(str(path))
    store.load(path=str(DATA), format=ox.RdfFormat.TRIG)
    store.flush()
    del store
    return path


def free_port() -> int:
    """A loopback port free now (another process may take it before it is bound: see :func:`launch`)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, *, seconds: float = 90.0, log: Path | None = None,
                  ok: Callable[[int], bool] = lambda status: status == 200) -> None:
    """Poll *url* until its status is *ok*; RuntimeError (with *log*'s text) when *process* exits
    first or *seconds* pass (then the process is killed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:4]} exited ({process.returncode}): "
                               + (log.read_text(errors="replace") if log else ""))
        try:
            if ok(requests.get(url, timeout=5).status_code):
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    stop_process(process, timeout=5)
    raise RuntimeError(f"{process.args[:4]} did not answer at {url} in {seconds:g} s: "
                       + (log.read_text(errors="replace") if log else ""))


def launch(*args: str, folder: Path, cwd: Path | None = None, env: dict[str, str] | None = None,
           seconds: float = 90.0, probe: str = "/health") -> tuple[subprocess.Popen, str, Path]:
    """``patternkg serve ARGS`` on a free loopback port with its dumps in *folder*, once *probe*
    answers 200; returns the process, its base URL and its log (``folder/serve-PORT.log``).

    A port taken by another process between :func:`free_port` and the server's bind (other
    tests run on the same machine) makes the server exit with "cannot listen"; then another
    port is tried, up to three times."""
    for attempt in range(3):
        port = free_port()
        log = folder / f"serve-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "patternkg", "serve", "--port", str(port),
                 "--dumps-dir", str(folder / f"dumps-{port}"), *args],
                stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url + probe, process, seconds=seconds, log=log)
            return process, url, log
        except RuntimeError:
            if attempt < 2 and process.poll() is not None and "cannot listen" in log.read_text(errors="replace"):
                continue
            raise
    raise AssertionError("unreachable")


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after *timeout* seconds; waits for the process."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Server:
    url: str
    store: Path
    process: subprocess.Popen

    @property
    def sparql(self) -> str:
        return self.url + "/sparql"

    def select(self, query: str, **params: str) -> list[dict]:
        r = requests.get(self.sparql, params={"query": query, **params}, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()["results"]["bindings"]


def start_server(
    store: Path, tmp: Path, *extra: str, timeout: float = TIMEOUT, workers: int = 4, memory_limit_mb: int = 1024
) -> Server:
    """The server of the tests on *store*: small caps (:data:`MAX_ROWS`, :data:`MAX_REQUEST`), *extra* options."""
    process, url, _ = launch(
        "--store", str(store), "--timeout", str(timeout), "--workers", str(workers), "--max-rows", str(MAX_ROWS),
        "--memory-limit", str(memory_limit_mb), "--max-request-size", str(MAX_REQUEST), *extra,
        folder=tmp, cwd=tmp, seconds=60)
    return Server(url, store, process)


def stop_server(server: Server) -> None:
    stop_process(server.process)


def child_pids(pid: int) -> set[int]:
    """All descendants of *pid* (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in found:
                found.add(c)
                todo.append(c)
    return found
