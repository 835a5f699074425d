"""A pool of long-lived query worker processes with a real, kill-able timeout.

pyoxigraph has no query timeout and a thread cannot be stopped, so every store
access runs in a child process (:mod:`.worker`) that holds ``Store.read_only``.
A process serves one request at a time; the pool hands idle processes to
request threads. When a request runs past its time limit the parent kills that
process (SIGKILL) and starts a replacement, and the caller gets
:class:`QueryTimeout`; other processes keep serving other clients. No process is
started per query: only at pool start and after a kill or crash.

The pool belongs to the process that started it (checked by pid), so an app
created before ``fork`` starts fresh children in each forked server worker.

Every worker serves one store generation (:mod:`patternkg.converter.storedir`).
:meth:`QueryPool.switch` moves the pool to another generation as a whole: a full
set of workers opens it first, then new queries go only to them while queries in
flight finish on the old workers, which then stop. A replacement worker always
opens the generation served at that moment, so no two generations answer side by
side for new queries.
"""

from __future__ import annotations

import atexit
import json
import marshal
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .fairness import Gate

WORKER_SCRIPT = Path(__file__).with_name("worker.py")

__all__ = [
    "ClientBusy", "PoolSettings", "QueryPool", "QueryError", "QueryTimeout", "PoolBusy", "WorkerCrashed",
]


class QueryError(Exception):
    """A query failed; ``kind`` is a short machine-readable code (``syntax``, ``rows``, ...)."""

    retry_after: int | None = None
    """Seconds after which trying again may work (sent as ``Retry-After``), when that is known."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class QueryTimeout(QueryError):
    def __init__(self, seconds: float) -> None:
        super().__init__("timeout", f"the query did not finish within {seconds:g} s and was stopped")


class PoolBusy(QueryError):
    def __init__(self, retry_after: int = 1) -> None:
        super().__init__("busy", f"all query workers are busy; try again in {retry_after} s")
        self.retry_after = retry_after


class ClientBusy(QueryError):
    """The client already runs as many queries as one client may (429)."""

    def __init__(self, per_client: int, retry_after: int = 1) -> None:
        super().__init__(
            "too-many-requests",
            f"this client already runs {per_client} {'query' if per_client == 1 else 'queries'} at once, "
            f"as many as one client may; try again in {retry_after} s",
        )
        self.retry_after = retry_after


class WorkerCrashed(QueryError):
    """The worker process ended while running a query; the message says how (see :func:`crash_message`)."""

    def __init__(self, returncode: int | None) -> None:
        super().__init__("worker-crashed", crash_message(returncode))
        self.returncode = returncode


def crash_message(returncode: int | None) -> str:
    """What a worker's exit status tells about why it stopped while running a query.

    Only an abort (the Rust allocator's reaction to the address-space cap) is
    reported as a memory problem; a segmentation fault is a crash (a stack
    overflow in the query engine, which :mod:`.guard` keeps deep queries away from)."""
    tail = "; it has been replaced"
    if returncode is None:
        return "the query worker stopped answering while running the query" + tail
    if returncode >= 0:
        return f"the query worker exited with status {returncode} while running the query" + tail
    number = -returncode
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number == signal.SIGABRT:
        return (f"the query worker aborted ({name}) while running the query, most likely because it needed "
                "more memory than the memory limit allows" + tail)
    if number == signal.SIGKILL:
        return (f"the query worker was killed ({name}) while running the query, perhaps by the "
                "system's out-of-memory killer" + tail)
    return f"the query worker crashed ({name}) while running the query" + tail


@dataclass(frozen=True)
class PoolSettings:
    store: Path
    size: int = 2
    timeout: float = 30.0
    max_rows: int = 100_000
    memory_limit: int | None = 2 << 30
    """Address-space cap of each worker in bytes (None: no cap)."""
    acquire_timeout: float = 30.0
    queue_timeout: float = 2.0
    """Longest wait for a worker (or for the client's share) before 503/429 with Retry-After."""
    per_client: int = 0
    """Workers one client address may hold at once (0: all of them)."""
    startup_timeout: float = 60.0
    isolate_network: bool = True
    base_iri: str = ""
    prefixes: dict[str, str] = field(default_factory=dict)
    jsonld_context: dict[str, Any] | None = None


def decode_reply(frame: bytes) -> Any:
    """A worker reply (see :mod:`.worker`): the op's result, or :class:`QueryError` raised."""
    tag = frame[:1]
    if tag == b"R":
        return "results", frame[1:]
    if tag == b"G":
        return "graph", frame[1:]
    if tag == b"B":
        return frame[1:]
    if tag == b"E":
        kind, message = json.loads(frame[1:])
        raise QueryError(kind, message)
    raise ValueError(f"unexpected reply from the query worker: {frame[:20]!r}")


class _Executor:
    """One worker process and its two pipe ends (parent side), on one store generation."""

    def __init__(self, settings: PoolSettings, generation: str = "") -> None:
        self.generation = generation
        child_in, parent_out = os.pipe()
        parent_in, child_out = os.pipe()
        config = {
            "store": str(settings.store),
            "base_iri": settings.base_iri,
            "max_rows": settings.max_rows,
            "memory_limit": settings.memory_limit,
            "prefixes": settings.prefixes,
            "jsonld_context": settings.jsonld_context,
            "isolate_network": settings.isolate_network,
        }
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-P", str(WORKER_SCRIPT), str(child_in), str(child_out), json.dumps(config)],
                pass_fds=(child_in, child_out),
                stdin=subprocess.DEVNULL,
                close_fds=True,
                env={**os.environ, "RUST_BACKTRACE": "0"},
            )
        finally:
            os.close(child_in)
            os.close(child_out)
        self.send = Connection(parent_out, readable=False)
        self.recv = Connection(parent_in, writable=False)
        self.poller = select.poll()  # one per executor: Connection.poll builds a selector per call
        self.poller.register(parent_in, select.POLLIN)
        self.info: dict[str, Any] | None = None
        self.startup_timeout = settings.startup_timeout

    def wait_ready(self) -> None:
        if self.info is not None:
            return
        if not self.recv.poll(self.startup_timeout):
            raise QueryError("startup", "the query worker did not start in time")
        try:
            message = json.loads(self.recv.recv_bytes())
        except (EOFError, OSError, ValueError) as exc:
            raise QueryError("startup", f"the query worker failed to start: {exc}") from None
        if message[0] != "ready":
            raise QueryError("startup", f"the query worker could not open the store: {message[1]}")
        self.info = message[1]

    def poll_ready(self) -> bool:
        """Without waiting: True once the worker has opened the store, False while it starts.

        Raises :class:`QueryError` (``startup``) when it reported that it cannot open the store."""
        if self.info is not None:
            return True
        if not self.recv.poll(0):
            return False
        self.wait_ready()
        return True

    def call(self, op: str, args: dict[str, Any], timeout: float) -> Any:
        self.send.send_bytes(marshal.dumps((op, args)))
        if not self.poller.poll(timeout * 1000.0):
            raise QueryTimeout(timeout)
        return decode_reply(self.recv.recv_bytes())

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for conn in (self.send, self.recv):
            try:
                conn.close()
            except OSError:
                pass


class QueryPool:
    """Hands requests to idle workers; see the module docstring for the contract."""

    def __init__(self, settings: PoolSettings, *, generation: str = "") -> None:
        self.settings = settings
        self.generation = generation
        """The id of the store generation the workers serve (see :mod:`patternkg.converter.storedir`)."""
        self._answers = threading.local()
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._idle: queue.LifoQueue[_Executor] = queue.LifoQueue()
        self._all: set[_Executor] = set()
        self.network_isolated: bool | None = None
        self.gate = Gate(size=settings.size, per_client=settings.per_client or settings.size,
                         queue_timeout=settings.queue_timeout, timeout=settings.timeout)
        """Fair shares of the workers (:mod:`.fairness`): every :meth:`run` holds a place in it."""
        self.replaced_dead = 0
        """Idle workers found dead (by :meth:`check`) and replaced, since the pool started."""
        self.startup_error: str | None = None

    def start(self) -> None:
        """Start the workers (idempotent per process); they open the store in parallel."""
        with self._lock:
            if self._pid == os.getpid():
                return
            self._idle = queue.LifoQueue()
            self._all = set()
            for _ in range(self.settings.size):
                self._add()
            self._pid = os.getpid()
            atexit.register(self.close)
            threading.Thread(target=self._watch, args=(os.getpid(),), daemon=True,
                             name="patternkg-pool-watch").start()

    def _watch(self, pid: int, interval: float = 1.0) -> None:
        """Loop (on a daemon thread): :meth:`check` every *interval* s while this pool runs in *pid*."""
        while True:
            time.sleep(interval)
            if self._pid != pid:
                return
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the watch must outlive any one failure
                pass

    def _add(self) -> None:
        executor = _Executor(self.settings, self.generation)
        self._all.add(executor)
        self._idle.put(executor)

    def _replace(self, executor: _Executor) -> None:
        """Kill *executor*; start a replacement on the generation served now (never on an old one)."""
        executor.kill()
        with self._lock:
            self._all.discard(executor)
            if self._pid == os.getpid() and executor.generation == self.generation:
                self._add()

    def _retire(self, executor: _Executor) -> None:
        executor.kill()
        with self._lock:
            self._all.discard(executor)

    def _release(self, executor: _Executor) -> None:
        """Back to the idle workers, or stopped when its generation is no longer served."""
        if executor.generation == self.generation:
            self._idle.put(executor)
        else:
            self._retire(executor)

    def _acquire(self) -> _Executor:
        deadline = time.monotonic() + self.settings.acquire_timeout
        while True:
            try:
                executor = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise PoolBusy() from None
            if executor.generation == self.generation:
                return executor
            self._retire(executor)  # left over from before a switch

    def switch(self, store: Path, generation: str) -> None:
        """Serve *store* (generation *generation*) from now on, as a whole.

        A full set of workers is started on it and every one must have opened the store
        (else :class:`QueryError`, and nothing changes). Then, at once, queries go to the
        new workers only; idle old workers stop now, busy ones when their query is done
        (it is answered from the old generation). Before :meth:`start`, only the settings
        change."""
        settings = replace(self.settings, store=Path(store))
        with self._lock:
            started = self._pid == os.getpid()
            if not started:
                self.settings, self.generation = settings, generation
                return
        fresh = [_Executor(settings, generation) for _ in range(settings.size)]
        try:
            for executor in fresh:
                executor.wait_ready()
        except QueryError:
            for executor in fresh:
                executor.kill()
            raise
        with self._lock:
            self.settings, self.generation = settings, generation
            for executor in fresh:
                self._all.add(executor)
                self._idle.put(executor)
        kept = []
        while True:
            try:
                executor = self._idle.get_nowait()
            except queue.Empty:
                break
            if executor.generation == generation:
                kept.append(executor)
            else:
                self._retire(executor)
        for executor in kept:
            self._idle.put(executor)

    def generations_in_use(self) -> set[str]:
        """The generations some worker of this process still has open (two during a switch)."""
        with self._lock:
            return {e.generation for e in self._all}

    def run(self, op: str, timeout: float | None = None, **args: Any) -> Any:
        """Run *op* in a worker; raises :class:`QueryError` (or a subclass) on failure.

        The call first takes a place in :attr:`gate` (at most ``queue_timeout`` s of
        waiting, else :class:`PoolBusy` or :class:`ClientBusy`)."""
        with self.gate.hold(timeout):
            return self._run(op, timeout, **args)

    def _run(self, op: str, timeout: float | None = None, **args: Any) -> Any:
        self.start()
        executor = self._acquire()
        limit = self.settings.timeout if timeout is None else timeout
        try:
            executor.wait_ready()
            if self.network_isolated is None and executor.info is not None:
                self.network_isolated = bool(executor.info.get("network_isolated"))
            result = executor.call(op, args, limit)
        except QueryTimeout:
            self._replace(executor)
            raise
        except QueryError as exc:
            if exc.kind == "startup":
                self._replace(executor)
            else:
                self._answers.generation = executor.generation
                self._release(executor)
            raise
        except (EOFError, OSError, ValueError) as exc:
            try:
                code: int | None = executor.proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                code = None
            self._replace(executor)
            raise WorkerCrashed(code) from exc
        self._answers.generation = executor.generation
        self._release(executor)
        return result

    def forget_answer(self) -> None:
        """Start of a request on this thread: no worker has answered it yet."""
        self._answers.generation = None

    def note_answer(self, generation: str) -> None:
        """This thread's request was answered from a cache of *generation* (see :meth:`answered_by`)."""
        self._answers.generation = generation

    def answered_by(self) -> str | None:
        """The generation of the worker that last answered on this thread (see :meth:`forget_answer`)."""
        return getattr(self._answers, "generation", None)

    def query(self, query: str, results_format: str, graph_format: str, *,
              default_graph: list[str] | None = None, named_graphs: list[str] | None = None,
              base_iri: str | None = None, query_dataset: bool = False) -> tuple[str, bytes]:
        """Run a SPARQL query; returns ``("results", body)`` or ``("graph", body)`` in the format asked for.
        Relative IRIs in the query are resolved against *base_iri* (the protocol's request URL).
        *query_dataset*: the query has FROM clauses (:attr:`.guard.QueryInfo.dataset`), which
        then define its dataset when the protocol names no graph."""
        extra = {"query_dataset": True} if query_dataset else {}
        return self.run("query", query=query, results_format=results_format, graph_format=graph_format,
                        default_graph=default_graph, named_graphs=named_graphs, base_iri=base_iri, **extra)

    def check(self) -> dict[str, int]:
        """Without waiting for any worker: replace idle workers that have died, and count.

        Returns ``{"size", "ready", "starting", "busy", "failed"}``: idle workers that
        have opened the store, idle ones still starting, workers running a request, and
        idle ones that reported they cannot open the store (their message is kept in
        :attr:`startup_error`). Called every second by the pool's watch thread and by
        ``/health``, so a worker that died while idle is replaced before a request meets it."""
        counts = {"size": self.settings.size, "ready": 0, "starting": 0, "busy": 0, "failed": 0}
        if self._pid != os.getpid():
            return counts
        idle: list[_Executor] = []
        while True:
            try:
                idle.append(self._idle.get_nowait())
            except queue.Empty:
                break
        keep: list[_Executor] = []
        for executor in idle:
            if executor.proc.poll() is not None and executor.info is not None:
                self.replaced_dead += 1
                self._replace(executor)  # the replacement goes straight to the idle queue
                counts["starting"] += 1
                continue
            keep.append(executor)
            try:
                ready = executor.poll_ready()
                counts["ready" if ready else "starting"] += 1
                if ready and self.network_isolated is None and executor.info is not None:
                    self.network_isolated = bool(executor.info.get("network_isolated"))
            except QueryError as exc:
                counts["failed"] += 1
                self.startup_error = exc.message
        for executor in reversed(keep):  # LIFO: the most recently used one stays on top
            self._idle.put(executor)
        with self._lock:
            total = len(self._all)
        counts["busy"] = max(0, total - counts["ready"] - counts["starting"] - counts["failed"])
        return counts

    @property
    def alive(self) -> int:
        return sum(1 for e in list(self._all) if e.proc.poll() is None)

    def close(self) -> None:
        """Kill every worker of this process (the pool restarts on next use)."""
        with self._lock:
            if self._pid != os.getpid():
                return
            for executor in list(self._all):
                executor.kill()
            self._all.clear()
            self._idle = queue.LifoQueue()
            self._pid = None
