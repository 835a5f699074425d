"""Run the app under granian, a production HTTP server (never Flask's dev server).

Layout: one granian server process calls the WSGI app from ``workers`` blocking
threads and owns the :class:`~.pool.QueryPool` of ``workers`` query worker
processes, started when it loads the app. So ``workers`` queries run at the same
time, no query pays a process start, and every connection can use every query
worker. (With one pool per server process, keep-alive connections spread
unevenly over the processes: in the benchmark, two of four clients on one process
of two halved the aggregate throughput in some runs.) HTTP is parsed in Rust and
the app's own work per request is small, so one process is not the bottleneck;
the queries run in the workers. A server process that dies is replaced.

Generations: each server process runs a :class:`~.generations.GenerationWatcher`
that moves it to a new generation of the store directory as a whole, when it sees
the pointer change and at once on SIGHUP (granian's own SIGHUP reload, which
restarts the processes, is replaced by forwarding the signal to them).

Why granian rather than a pure-Python server: it parses HTTP and keeps
connections in Rust. On this project's 2-core machine a trivial WSGI app
answered in 0.17-0.21 ms under granian against 0.49 ms under gunicorn's gthread
worker, with 2-3x the requests per second (docs/benchmarks.md), and that fixed
cost is most of what a small SPARQL query costs.
"""

from __future__ import annotations

from collections.abc import Callable
import ctypes
import os
import resource
import sys
import signal
import socket
import threading
from functools import partial
from typing import Any

from .app import create_app, shares
from .config import ServerConfig
from .connlimit import default_per_client
from .fairness import SPARE_THREADS
from .front import HttpFront, HttpLimits
from .generations import GenerationWatcher
from .worker import exit_with_parent


#: Open files a server process needs beside its connections (pipes, the store's own files, logs).
FILES_SPARE = 256


class AddressInUse(OSError):
    """Something already listens on the address the server was asked to use."""


def ensure_free(host: str, port: int) -> None:
    """Raise :class:`AddressInUse` when something already listens on *host*:*port*.

    granian binds with ``SO_REUSEPORT``, so a second server on a busy port would
    start and silently share its connections with the first; a plain bind (no
    ``SO_REUSEPORT``) fails on any port some socket listens on."""
    for family, kind, proto, _name, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                raise AddressInUse(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None
        return


def load_app(config: ServerConfig, pool_size: int) -> Any:
    """Build the app in a server process and start its query workers (called by granian).

    The process ends when granian's main process is gone (killed with SIGKILL, say):
    granian does not stop its workers then, and an orphan would go on serving the
    shared socket."""
    threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True,
                     name="patternkg-parent-watch").start()
    return_large_blocks()
    app = create_app(config, pool_size=pool_size)
    state = app.extensions["patternkg"]
    watcher = GenerationWatcher(state, interval=config.reload_interval)
    watcher.start()  # leases the generation served, before any worker opens it
    state.watcher = watcher
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGHUP, lambda *_: watcher.poke())
    state.pool.start()
    front = HttpFront(app, http_limits(config, pool_size))
    front.start_warden()
    return front


def http_limits(config: ServerConfig, pool_size: int) -> HttpLimits:
    """The limits of the HTTP front (:mod:`.front`) implied by *config*."""
    return HttpLimits(
        body_timeout=config.body_timeout,
        send_timeout=config.send_timeout,
        max_body=config.max_request_bytes,
        max_buffered=config.max_buffered_mb << 20,
        max_connections=config.max_connections,
        keep_alive_timeout=config.keep_alive_timeout,
        threads=pool_size + SPARE_THREADS,
        per_client_connections=config.max_connections_per_client or default_per_client(config.max_connections),
        trust_proxy=config.trust_proxy,
        port=config.port,
    )


def return_large_blocks() -> None:
    """Have glibc's malloc serve every block of 1 MiB or more by mmap (best effort).

    Answers are held as bytes objects of up to tens of MB; by default glibc raises its
    mmap threshold after freeing such a block, so later ones come from the heap and the
    memory is never given back: the process keeps its peak. Measured with six 30 MB
    answers: 214 MB kept after the clients left, 30 MB with this."""
    try:
        ctypes.CDLL(None).mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD; setting it stops the adjustment
    except (OSError, AttributeError):
        pass


def raise_open_files(needed: int) -> int:
    """Raise this process's soft limit of open files towards *needed* (up to the hard limit); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return needed
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return soft
    return target


def forward_sighup(*_: Any) -> None:
    """In granian's main process: pass SIGHUP on to the server processes (their
    :class:`~.generations.GenerationWatcher` checks the store at once), instead of
    granian's own reload, which restarts the processes and kills queries in flight."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == me:
            try:
                os.kill(int(entry), signal.SIGHUP)
            except OSError:
                pass


class PatternkgServer:
    """Serves ``create_app(config)`` on ``config.host:config.port`` until interrupted."""

    def __init__(self, config: ServerConfig, *, processes: int | None = None,
                 on_ready: Callable[[], None] | None = None) -> None:
        self.config = config
        self.processes = processes or 1
        self.threads = shares(config.workers, self.processes)[0]
        self.on_ready = on_ready

    def run(self) -> None:
        from granian.constants import HTTPModes, Interfaces
        from granian.http import HTTP1Settings
        from granian.log import LogLevels
        from granian.server import Server

        config = self.config
        if config.port:
            ensure_free(config.host, config.port)
        # every connection is a file: raise the soft limit, or serve fewer connections than asked
        connections = min(config.max_connections, raise_open_files(config.max_connections + FILES_SPARE)
                          - FILES_SPARE)
        if connections < config.max_connections:
            print(f"patternkg: serving at most {connections} connections at once (the limit of open files)",
                  file=sys.stderr)
        server = Server(
            "patternkg.server.wsgi:load_app",  # names the processes; the app comes from target_loader
            address=config.host,
            port=config.port,
            interface=Interfaces.ASGI,  # the front (front.py) reads bodies and sends answers without a thread
            workers=self.processes,
            http=HTTPModes.http1,
            backpressure=connections,
            http1_settings=HTTP1Settings(header_read_timeout=int(config.keep_alive_timeout * 1000)),
            websockets=False,
            log_level=LogLevels.warning,
            respawn_failed_workers=True,
            workers_kill_timeout=5,
        )
        # granian sets its signal handlers before start-up hooks run: this one replaces its SIGHUP
        server.on_startup(lambda: signal.signal(signal.SIGHUP, forward_sighup))
        if self.on_ready is not None:
            # granian binds the socket before start-up hooks run: connections made
            # from here on wait in the backlog until a worker accepts them.
            server.on_startup(self.on_ready)
        # A partial of a module-level function, so it also works where processes are spawned.
        server.serve(target_loader=partial(load_app, config, self.threads), wrap_loader=False)
