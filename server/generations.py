"""Serving exactly one generation of a store directory, and moving to a new one as a whole.

A server process serves one generation (:mod:`patternkg.converter.storedir`) at a
time: ``app.extensions["patternkg"].generation`` names it, every query worker of
the process has it open, and every response names it (``Patternkg-Generation``).

:class:`GenerationWatcher` runs in each server process. It looks at the store
directory's ``current`` pointer every ``reload_interval`` seconds (0: never on its
own) and whenever it is poked (SIGHUP). When the pointer names another
generation, the watcher

1. takes a lease on the new generation (so no build removes it while it is served),
2. has the pool start a full set of workers on it and waits until every one has
   opened the store (if one cannot, nothing changes and the next check retries),
3. switches the pool and the app state at once: from then on every query runs on
   the new generation; queries already running finish on the old one, whose workers
   then stop (never a mix: a replaced worker always opens the generation being served),
4. releases the old generation's lease once its last worker has stopped and removes
   the generations nothing serves any more (when no build holds the store's lock).

A plain Oxigraph store (generation ``external``) has no pointer: nothing is watched.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

from patternkg.converter.storedir import (
    Generation, Lease, StoreDirError, current_id, open_generation, remove_unused_generations,
)

from .pool import QueryError

__all__ = ["GenerationWatcher"]


class GenerationWatcher:
    """Keeps one server process on the current generation; see the module docstring."""

    def __init__(self, state: Any, *, interval: float = 1.0) -> None:
        self.state = state
        self.interval = interval
        self.root: Path | None = None if state.generation is None or state.generation.external else state.generation.root
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lease: Lease | None = None
        self._retiring: list[tuple[str, Lease]] = []
        self._thread: threading.Thread | None = None
        self._check_lock = threading.Lock()

    def pin(self) -> None:
        """Take the lease on the generation the app was created with (before the pool starts).

        A build may have removed that generation in between; then the app state and the pool
        move to the current one before any worker starts."""
        if self.root is None:
            return
        while True:
            generation: Generation = self.state.generation
            lease = Lease(self.root, generation.id)
            if lease.acquire():
                self._lease = lease
                return
            fresh = open_generation(self.root)
            self.state.pool.switch(fresh.store_path, fresh.id)  # not started yet: only the settings change
            self.state.generation = fresh

    def start(self) -> None:
        """Pin the initial generation and start watching (a daemon thread)."""
        if self.root is None:
            return
        self.pin()
        self._thread = threading.Thread(target=self._run, name="patternkg-generations", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """Check the pointer now (called on SIGHUP; safe from a signal handler)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval if self.interval > 0 else None)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.check()
                self.release_drained()
            except Exception as exc:  # keep watching; the server goes on serving what it serves
                print(f"patternkg: checking the store for a new generation failed: {exc}", file=sys.stderr)

    def check(self) -> bool:
        """Move to the current generation if it is another one; returns whether it moved."""
        if self.root is None:
            return False
        with self._check_lock:
            served: Generation = self.state.generation
            ident = current_id(self.root)
            if ident is None or ident == served.id:
                return False
            try:
                fresh = open_generation(self.root)
            except StoreDirError as exc:
                print(f"patternkg: {exc}", file=sys.stderr)
                return False
            lease = Lease(self.root, fresh.id)
            if not lease.acquire():
                return False  # removed meanwhile: a newer one is current, seen at the next check
            try:
                self.state.pool.switch(fresh.store_path, fresh.id)
            except QueryError as exc:
                lease.release()
                print(f"patternkg: staying on generation {served.id}: {exc.message}", file=sys.stderr)
                return False
            self.state.generation = fresh
            if self._lease is not None:
                self._retiring.append((served.id, self._lease))
            self._lease = lease
            print(f"patternkg: now serving generation {fresh.id} (was {served.id})", file=sys.stderr, flush=True)
            return True

    def release_drained(self) -> None:
        """Release the leases of old generations no worker serves any more, then remove them."""
        if not self._retiring:
            return
        in_use = self.state.pool.generations_in_use()
        still = []
        for ident, lease in self._retiring:
            if ident in in_use:
                still.append((ident, lease))
            else:
                lease.release()
        released = len(still) < len(self._retiring)
        self._retiring = still
        if released and self.root is not None:
            try:
                remove_unused_generations(self.root)
            except OSError:
                pass  # a read-only store directory: the next build cleans up

