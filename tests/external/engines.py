"""Throwaway instances of real SPARQL engines for the tests, and a fault-injecting HTTP relay.

- :func:`start_virtuoso`: Virtuoso Open Source (Debian ``virtuoso-opensource``) from a
  generated ``virtuoso.ini`` in a temporary folder, on loopback ports; the SPARQL user
  is granted ``SPARQL_UPDATE`` through ``isql-vt`` so ``/sparql-graph-crud`` accepts
  writes; ``/sparql-graph-crud-auth`` takes HTTP Digest as ``dba``.
- :func:`start_oxigraph`: ``oxigraph serve`` (the ``oxigraph`` PyPI package).
- :class:`Relay`: forwards requests to a real engine, and can answer chosen requests with
  an error or a delay instead, or demand an ``Authorization`` header: failures that a
  healthy engine on loopback never produces.
"""

from __future__ import annotations

import http.server
import shutil
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))
from pkserver_helpers import free_port, stop_process, wait_until_up  # noqa: E402

VIRTUOSO = shutil.which("virtuoso-t")
ISQL = shutil.which("isql-vt") or shutil.which("isql")
OXIGRAPH = shutil.which("oxigraph") or shutil.which("oxigraph", path=str(Path(sys.executable).parent))
DBA_PASSWORD = "dba"

_VSP = Path("/var/lib/virtuoso-opensource-7/vsp")


@dataclass
class Engine:
    name: str
    process: subprocess.Popen
    base: str
    gsp: str
    query: str
    update: str
    gsp_auth: str | None = None
    """Virtuoso's digest-protected GSP endpoint (user dba)."""
    log: Path | None = None

    def stop(self) -> None:
        stop_process(self.process, timeout=20)

    def select(self, query: str, **params: str) -> list[dict]:
        r = requests.post(self.query, data={"query": query, **params},
                          headers={"Accept": "application/sparql-results+json"}, timeout=60)
        assert r.status_code == 200, r.text
        return r.json()["results"]["bindings"]

    def graphs(self) -> set[str]:
        rows = self.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return {r["g"]["value"] for r in rows}

    def count(self, graph: str) -> int:
        rows = self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
        return int(rows[0]["n"]["value"])


def _wait(url: str, process: subprocess.Popen, log: Path, seconds: float = 90.0) -> None:
    """Until the engine at *url* answers anything but a 5xx (the shared helper, with the engine's log)."""
    wait_until_up(url, process, seconds=seconds, log=log, ok=lambda status: status < 500)


VIRTUOSO_INI = """\
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
DisableTcpSocket = 0
MaxClientConnections = 10
CheckpointInterval = 60
O_DIRECT = 0
CaseMode = 2
MaxStaticCursorRows = 5000
CheckpointAuditTrail = 0
AllowOSCalls = 0
SchedulerInterval = 10
DirsAllowed = ., {dir}
ThreadCleanupInterval = 0
ThreadThreshold = 10
ResourcesCleanupInterval = 0
FreeTextBatchSize = 100000
SingleCPU = 0
PrefixResultNames = 0
RdfFreeTextRulesSize = 100
IndexTreeMaps = 64
MaxQueryMem = 512M
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {vsp}
MaxClientConnections = 10
DavRoot = DAV
EnabledDavVSP = 0
HTTPProxyEnabled = 0
TempASPXDir = 0
ServerThreads = 10
MaxKeepAlives = 10
KeepAliveTimeout = 10
HTTPThreadSize = 280000
Charset = UTF-8
EnabledGzipContent = 0

[Client]
SQL_PREFETCH_ROWS = 100
SQL_PREFETCH_BYTES = 16000
SQL_QUERY_TIMEOUT = 0
SQL_TXN_TIMEOUT = 0

[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryCostEstimationTime = 0
MaxQueryExecutionTime = 0
DeferInferenceRulesInit = 0
"""


def start_virtuoso(folder: Path, *, max_rows: int = 1_000_000, buffers: int = 20_000) -> Engine:
    """A fresh Virtuoso in *folder* (raises when it does not start)."""
    assert VIRTUOSO and ISQL
    folder.mkdir(parents=True, exist_ok=True)
    sql_port, http_port = free_port(), free_port()
    vsp = _VSP if _VSP.is_dir() else folder / "vsp"
    vsp.mkdir(exist_ok=True)
    ini = folder / "virtuoso.ini"
    ini.write_text(VIRTUOSO_INI.format(dir=folder, sql_port=sql_port, http_port=http_port, vsp=vsp,
                                       max_rows=max_rows, buffers=buffers, dirty=buffers * 3 // 4))
    log = folder / "stdout.log"
    process = subprocess.Popen([VIRTUOSO, "-f", "-c", str(ini)], cwd=folder, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{http_port}"
    _wait(base + "/sparql?query=ASK%7B%7D", process, log)
    grant = subprocess.run([ISQL, str(sql_port), "dba", DBA_PASSWORD, 'exec=grant SPARQL_UPDATE to "SPARQL";'],
                           capture_output=True, text=True, timeout=60)
    if grant.returncode != 0:
        process.kill()
        raise RuntimeError(f"isql failed: {grant.stdout} {grant.stderr}")
    return Engine("virtuoso", process, base, base + "/sparql-graph-crud", base + "/sparql", base + "/sparql",
                  gsp_auth=base + "/sparql-graph-crud-auth", log=log)


def start_oxigraph(folder: Path) -> Engine:
    """A fresh ``oxigraph serve`` on a store in *folder*."""
    assert OXIGRAPH
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = folder / "stdout.log"
    process = subprocess.Popen([OXIGRAPH, "serve", "--location", str(folder / "db"), "--bind", f"127.0.0.1:{port}"],
                               stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    _wait(base + "/query?query=ASK%7B%7D", process, log)
    return Engine("oxigraph", process, base, base + "/store", base + "/query", base + "/update", log=log)


# -- a relay with faults -------------------------------------------------------------------------

@dataclass
class Relay:
    """Forwards every request to *target* (scheme://host:port) unless *fault* answers it.

    ``fault(method, path, n)`` (``n``: the 1-based number of the request) returns None to
    forward, or ``(status, delay_seconds)``: wait, then answer *status* (0: forward after
    the delay). ``require`` is an ``Authorization`` value every request must carry (401 else)."""

    target: str
    fault: Callable[[str, str, int], tuple[int, float] | None] = lambda m, p, n: None
    require: str | None = None
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        relay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                relay.seen.append((self.command, self.path, self.headers.get("Authorization")))
                n = len(relay.seen)
                if relay.require is not None and self.headers.get("Authorization") != relay.require:
                    return self._answer(401, b"authorization required")
                decision = relay.fault(self.command, self.path, n)
                if decision is not None:
                    status, delay = decision
                    time.sleep(delay)
                    if status:
                        return self._answer(status, b"injected failure")
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "authorization", "connection", "content-length")}
                try:
                    upstream = requests.request(self.command, relay.target + self.path, data=body,
                                                headers=headers, timeout=120, stream=True)
                except requests.RequestException:
                    return self._answer(502, b"upstream failed")
                data = upstream.raw.read(decode_content=False)
                self.send_response(upstream.status_code)
                for key, value in upstream.headers.items():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any  # noqa: N815

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
