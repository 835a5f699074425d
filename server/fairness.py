"""Fair shares of the query workers: a short queue, a cap per client, and Retry-After.

:class:`Gate` admits at most ``size`` requests to the workers at a time (one per
worker) and at most ``per_client`` from one client address (as the Wikidata Query
Service does), so a few clients looping slow queries cannot hold every worker. A
request that cannot enter waits at most ``queue_timeout`` seconds, then is refused
with a ``Retry-After`` estimate: :class:`ClientBusy` (429) when its own client
holds its share, :class:`~.pool.PoolBusy` (503) when every worker is busy. The
estimate is the time until the running query that started first reaches the time
limit (when a worker is certain to be free), at least 1 s.

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

__all__ = ["Gate"]


class Gate:
    """See the module docstring. ``timeout`` is the query time limit (for Retry-After)."""

    def __init__(self, *, size: int, per_client: int, queue_timeout: float, timeout: float) -> None:
        self.size = size
        self.per_client = max(1, per_client)
        self.queue_timeout = queue_timeout
        self.timeout = timeout
        self._cond = threading.Condition()
        self._running: dict[str | None, list[float]] = {}  # client -> start times of its running requests
        self._total = 0
        self._local = threading.local()
        self.refused_busy = 0
        self.refused_client = 0

    def bind(self, client: str | None) -> None:
        """The client of the requests this thread runs from now on."""
        self._local.client = client

    @property
    def running(self) -> int:
        return self._total

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
            while True:
                mine = self._running.get(client, [])
                over_cap = client is not None and len(mine) >= self.per_client
                if not over_cap and self._total < self.size:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    if over_cap:
                        self.refused_client += 1
                        raise ClientBusy(self.per_client, self._retry_after(mine))
                    self.refused_busy += 1
                    starts = [t for ts in self._running.values() for t in ts]
                    raise PoolBusy(self._retry_after(starts))
                self._cond.wait(remaining)
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
