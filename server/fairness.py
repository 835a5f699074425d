"""Fair shares of the query workers: a short queue, a cap per client, and Retry-After.

:class:`Gate` admits at most ``size`` requests to the workers at a time (one per
worker) and at most ``per_client`` from one client address (as the Wikidata Query
Service does), so a few clients looping slow queries cannot hold every worker. A
request that cannot enter waits at most ``queue_timeout`` seconds, then is refused
with a ``Retry-After`` estimate: :class:`ClientBusy` (429) when its own client
holds its share, :class:`~.pool.PoolBusy` (503) when every worker is busy. The
estimate is the time until the running query that started first reaches the time
limit (when a worker is certain to be free), at least 1 s.

A waiting request holds one of the HTTP front's app threads (:mod:`.front`), so the
waiting is bounded too: at most ``max_waiting`` requests wait at once, at most
``MAX_WAITING_PER_CLIENT`` (and at least ``per_client``) from one client; one more is
refused at once, the same way.
Without that bound, 60 requests from one client held every app thread for their
queue wait, and another client's cheap query waited 5.5 s for a thread
(``tests/benchmarks/bench_reliability.py``, non-reading clients). The front runs
``size + SPARE_THREADS`` threads and ``max_waiting`` defaults to two thirds of the
spare ones, so the rest (16) stays free for requests that need no worker or find one
free; a client's short burst of parallel queries (a page's fetches) still waits its
turn, and so does a burst of cheap queries from many clients at once (32 clients
sending together: with 8 waiting places, 20 of them got 503 at once).

The client is the address the HTTP front saw (or the one a trusted proxy named,
:mod:`.publicurl`), set per request thread with :meth:`Gate.bind`; calls made
without one (the CLI, tests) count only against ``size``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Gate", "MAX_WAITING", "MAX_WAITING_PER_CLIENT", "SPARE_THREADS"]

#: App threads of the HTTP front beyond one per query worker (an idle thread costs no CPU).
SPARE_THREADS = 48
#: Requests that may wait for a worker at once (each holds an app thread meanwhile).
MAX_WAITING = 32
#: Of those, requests of one client (at least its share of workers).
MAX_WAITING_PER_CLIENT = 4


class Gate:
    """See the module docstring. ``timeout`` is the query time limit (for Retry-After)."""

    def __init__(self, *, size: int, per_client: int, queue_timeout: float, timeout: float,
                 max_waiting: int = MAX_WAITING) -> None:
        self.size = size
        self.per_client = max(1, per_client)
        self.queue_timeout = queue_timeout
        self.timeout = timeout
        self.max_waiting = max(1, max_waiting)
        self.max_waiting_per_client = min(self.max_waiting, max(self.per_client, MAX_WAITING_PER_CLIENT))
        self._cond = threading.Condition()
        self._running: dict[str | None, list[float]] = {}  # client -> start times of its running requests
        self._total = 0
        self._waiting: dict[str | None, int] = {}  # client -> its requests waiting now
        self._waiting_total = 0
        self._local = threading.local()
        self.refused_busy = 0
        self.refused_client = 0

    def bind(self, client: str | None) -> None:
        """The client of the requests this thread runs from now on."""
        self._local.client = client

    @property
    def running(self) -> int:
        return self._total

    @property
    def waiting(self) -> int:
        return self._waiting_total

    def _retry_after(self, starts: list[float]) -> int:
        if not starts:
            return 1
        return max(1, math.ceil(min(starts) + self.timeout - time.monotonic()))

    @contextmanager
    def hold(self, timeout: float | None = None) -> Iterator[None]:
        """Hold one place for the calling thread's client, waiting at most ``queue_timeout``."""
        from .pool import ClientBusy, PoolBusy

        client = getattr(self._local, "client", None)
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + self.queue_timeout
        with self._cond:
            queued = False
            try:
                while True:
                    mine = self._running.get(client, [])
                    over_cap = client is not None and len(mine) >= self.per_client
                    if not over_cap and self._total < self.size:
                        break
                    remaining = deadline - time.monotonic()
                    if not queued and remaining > 0:
                        queued = self._waiting_total < self.max_waiting and (
                            client is None or self._waiting.get(client, 0) < self.max_waiting_per_client)
                        if queued:
                            self._waiting[client] = self._waiting.get(client, 0) + 1
                            self._waiting_total += 1
                    if not queued or remaining <= 0:  # no room to wait, or waited long enough
                        if over_cap:
                            self.refused_client += 1
                            raise ClientBusy(self.per_client, self._retry_after(mine))
                        self.refused_busy += 1
                        starts = [t for ts in self._running.values() for t in ts]
                        raise PoolBusy(self._retry_after(starts))
                    self._cond.wait(remaining)
            finally:
                if queued:
                    self._waiting_total -= 1
                    if self._waiting[client] == 1:
                        del self._waiting[client]
                    else:
                        self._waiting[client] -= 1
            started = time.monotonic() + (limit - self.timeout)  # a longer limit (dumps) frees later
            self._running.setdefault(client, []).append(started)
            self._total += 1
        try:
            yield
        finally:
            with self._cond:
                starts = self._running[client]
                starts.remove(started)
                if not starts:
                    del self._running[client]
                self._total -= 1
                self._cond.notify_all()
