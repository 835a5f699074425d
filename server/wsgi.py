"""Run the app under gunicorn, driven programmatically (never Flask's dev server).

Layout: ``min(workers, cores)`` gunicorn processes with the ``gthread`` worker
(keep-alive, several request threads each); every process owns a
:class:`~.pool.QueryPool` of query worker processes, one per request thread,
started when the process starts (``post_worker_init``) and killed when it exits.
So ``workers`` queries run at the same time and no query pays a process start.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication

from .app import create_app, shares
from .config import ServerConfig


def _post_worker_init(worker: Any) -> None:
    worker.wsgi.extensions["patternkg"].pool.start()


def _worker_exit(server: Any, worker: Any) -> None:
    app = getattr(worker, "wsgi", None)
    if app is not None and hasattr(app, "extensions"):
        app.extensions["patternkg"].pool.close()


class PatternkgServer(BaseApplication):  # type: ignore[misc]
    """A gunicorn application serving ``create_app(config)``."""

    def __init__(self, config: ServerConfig, *, processes: int | None = None, on_ready: Any = None) -> None:
        self.server_config = config
        procs = processes or min(config.workers, os.cpu_count() or 1)
        self.threads = shares(config.workers, procs)[0]
        self.processes = procs
        self.on_ready = on_ready
        super().__init__()

    def load_config(self) -> None:
        config = self.server_config
        options: dict[str, Any] = {
            "bind": f"[{config.host}]:{config.port}" if ":" in config.host else f"{config.host}:{config.port}",
            "workers": self.processes,
            "worker_class": "gthread",
            "threads": self.threads,
            "timeout": int(config.timeout) + 60,
            "graceful_timeout": 5,
            "keepalive": 5,
            "limit_request_line": 8190,
            "errorlog": "-",
            "loglevel": "warning",
            "post_worker_init": _post_worker_init,
            "worker_exit": _worker_exit,
            "proc_name": "patternkg-serve",
        }
        # gunicorn's liveness heartbeat touches a file on every event-loop turn (at
        # least once per request); on tmpfs that is a memory write, on a disk it is a
        # metadata update.
        if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
            options["worker_tmp_dir"] = "/dev/shm"
        if self.on_ready is not None:
            options["when_ready"] = self.on_ready
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return create_app(self.server_config, pool_size=self.threads)
