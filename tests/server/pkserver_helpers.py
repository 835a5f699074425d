"""Helpers of the server tests (imported by conftest.py, which puts this folder on sys.path)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    port = free_port()
    log = open(tmp / f"server-{port}.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [
            sys.executable, "-m", "patternkg", "serve", "--store", str(store), "--port", str(port),
            "--timeout", str(timeout), "--workers", str(workers), "--max-rows", str(MAX_ROWS),
            "--memory-limit", str(memory_limit_mb), "--max-request-size", str(MAX_REQUEST),
            "--dumps-dir", str(tmp / f"dumps-{port}"), *extra,
        ],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((tmp / f"server-{port}.log").read_text())
        try:
            if requests.get(url + "/health", timeout=5).status_code == 200:
                return Server(url, store, process)
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start: " + (tmp / f"server-{port}.log").read_text())


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


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
