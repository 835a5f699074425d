"""Benchmark: the served library under hostile clients, while a cheap query is sent every 0.5 s.

Run from the repository root (not collected by pytest):

    python tests/benchmarks/bench_reliability.py [--store DIR] [--seconds S] [--workers W] [--only ATTACK]

Without --store it builds one from ../shared/corpus/commons-os. It starts
``patternkg serve`` with its defaults (except --workers and --timeout, printed),
then runs each attack for S seconds (default 20) and stops it:

- ``slow-bodies``: 3 x workers connections sending a POST body one byte a second;
- ``idle-connections``: 1,100 connections that open and send nothing (more than
  granian's old fixed limit of 1,024), then 1,100 more that send one request and
  stay open;
- ``connection-hog``: one address (127.0.0.3) keeps 4,200 idle connections open
  (more than ``--max-connections``, 4096), opening a new one for each the server
  closes (``--max-connections-per-client`` lets it keep 64);
- ``non-reading``: 60 clients asking for a large result (the whole library as
  N-Triples, about 8 MB) and never reading it;
- ``timeout-flood``: ``workers`` clients looping queries that run into the time
  limit, all from 127.0.0.1 (the per-client cap applies), and again from
  ``workers`` different addresses (127.0.0.11, .12, ...: every worker is held);
- ``crash-flood``: 4 clients looping the 10 KB query of 2,500 nested braces.

The cheap query (``ASK``) comes from another loopback address (127.0.0.2), as
another user's would, with a text never sent before in this run (else the server's
answer cache answers it without a worker, and a flood that holds every worker
looks harmless). Per attack it prints: cheap queries answered (200) / sent, their
p50 and max latency, refusals (429/503 with Retry-After) / sent and the longest
wait for any answer (a refusal too), the statuses of the others, the peak RSS of
the server (all its processes: granian and the query workers), whether the target
was met, the status and error kind of the cheap queries not answered, and what the
attackers got. Targets: every cheap query answered, max latency under 1 s, except
in the timeout flood from many addresses, where every worker is held: there the
cheap query is answered or refused with 429/503 and Retry-After once the queue
wait (``--queue-timeout``, 2 s) has passed, never left waiting longer (a run of that
flood without any refusal did not hold the workers and misses the target).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))
from pkserver_helpers import child_pids, launch, stop_process  # noqa: E402

CHEAP = "/sparql?query=" + quote("ASK { ?s ?p ?o }")
SLOW = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }")
LARGE = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
NESTED = "SELECT * WHERE " + "{" * 2500 + "}" * 2500
#: Numbers the cheap queries of the whole run, with a token of this run: no text repeats.
PROBE_TEXTS = (f"# probe {os.getpid()}-{time.time_ns()}-{n}" for n in itertools.count())


def tree(pid: int) -> list[int]:
    """*pid* and all its descendants."""
    return [pid, *child_pids(pid)]


def rss_mib(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total / 1024


class Probe:
    """Sends the cheap query every 0.5 s from 127.0.0.2 and samples the server's RSS."""

    def __init__(self, port: int, pid: int) -> None:
        self.port, self.pid = port, pid
        self.latencies: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.retry_after: Counter[str] = Counter()
        self.refused = 0
        """429 or 503 with Retry-After: a refusal the client can act on."""
        self.longest = 0.0
        """The longest wait for any answer, a refusal too (a silent stall shows here)."""
        self.peak = 0.0
        self.sent = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._probe), threading.Thread(target=self._memory)]

    def __enter__(self) -> Probe:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def _memory(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            self.stop.wait(0.2)

    def _probe(self) -> None:
        while not self.stop.is_set():
            start = time.monotonic()
            r = None
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30, source_address=("127.0.0.2", 0))
                self.sent += 1
                conn.request("GET", CHEAP + quote(" " + next(PROBE_TEXTS)))
                r = conn.getresponse()
                body = r.read()
                conn.close()
                status = str(r.status)
                if r.status != 200:  # the error's kind too: whose refusal it is
                    try:
                        status += " " + json.loads(body)["error"]
                    except (ValueError, KeyError, TypeError):
                        pass
                if r.getheader("Retry-After"):
                    self.retry_after[status] += 1
                    self.refused += r.status in (429, 503)
            except OSError as exc:
                r, status = None, type(exc).__name__
            elapsed = time.monotonic() - start
            self.longest = max(self.longest, elapsed)
            self.statuses[status] += 1
            if r is not None and r.status == 200:
                self.latencies.append(elapsed)
            self.stop.wait(max(0.0, 0.5 - elapsed))


def verdict(probe: Probe, *, flood: bool, queue_wait: float) -> str:
    """The issue's target for one attack, as ``met`` or ``MISSED: why``.

    Every attack but the timeout flood from many addresses: every cheap query answered
    (200), none slower than 1 s. That flood holds every worker, so there each cheap query
    is either answered or refused with 429/503 and Retry-After, and none waits longer than
    the queue wait plus 1 s (no silent stall); a run without any refusal did not hold the
    workers and shows nothing."""
    sent = sum(probe.statuses.values())
    answered = len(probe.latencies)
    if not flood:
        if answered < sent:
            return f"MISSED: {sent - answered} not answered"
        if probe.longest >= 1.0:
            return f"MISSED: {probe.longest * 1000:.0f} ms > 1 s"
        return "met"
    if answered + probe.refused < sent:
        return f"MISSED: {sent - answered - probe.refused} neither answered nor refused with Retry-After"
    if probe.longest > queue_wait + 1.0:
        return f"MISSED: a wait of {probe.longest * 1000:.0f} ms > queue wait + 1 s"
    if not probe.refused:
        return "MISSED: no refusal (the attack did not hold every worker)"
    return "met"


def report(name: str, probe: Probe, attackers: Counter[str], target: str = "") -> None:
    lat = sorted(probe.latencies)
    sent = sum(probe.statuses.values())
    p50 = lat[len(lat) // 2] * 1000 if lat else float("nan")
    worst = lat[-1] * 1000 if lat else float("nan")
    others = {k: v for k, v in probe.statuses.items() if k != "200"}
    print(f"{name:<26} {len(lat):>4}/{sent:<4} {p50:>8.1f} {worst:>9.1f} {probe.refused:>4}/{sent:<4} "
          f"{probe.longest * 1000:>9.1f} {probe.peak:>9.0f}  {target or '-':<7}  probe's other answers: "
          f"{others or '-'}; attackers got: {dict(sorted(attackers.items()))}", flush=True)


def request_bytes(method: str, path: str, body: bytes = b"", content_type: str = "application/sparql-query") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\n"
    if method == "POST":
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def status_of(data: bytes) -> str:
    parts = data.split(b" ", 2)
    return parts[1].decode() if len(parts) > 1 and data.startswith(b"HTTP/") else ("closed" if not data else "?")


def attack_slow_bodies(port: int, seconds: float, n: int, got: Counter[str]) -> None:
    def one() -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=seconds)
                s.sendall(b"POST /sparql HTTP/1.1\r\nHost: bench\r\nContent-Type: application/sparql-query\r\n"
                          b"Content-Length: 1000\r\n\r\n")
                while time.monotonic() < deadline:
                    s.sendall(b"A")
                    time.sleep(1.0)
                    s.setblocking(False)
                    try:
                        data = s.recv(200)
                        got[status_of(data)] += 1
                        break
                    except BlockingIOError:
                        pass
                    finally:
                        s.setblocking(True)
                s.close()
            except OSError as exc:
                got[type(exc).__name__] += 1

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def attack_idle(port: int, seconds: float, got: Counter[str]) -> None:
    socks = []
    deadline = time.monotonic() + seconds
    for i in range(1100):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        except OSError as exc:
            got[type(exc).__name__] += 1
    half = time.monotonic() + seconds / 2
    while time.monotonic() < half:
        time.sleep(0.1)
    for s in socks:
        s.close()
    socks = []
    for i in range(1100):  # keep-alive connections that made one request and stay idle
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(request_bytes("GET", "/health"))
            got[status_of(s.recv(100))] += 1
            socks.append(s)
        except OSError as exc:
            got[type(exc).__name__] += 1
        if time.monotonic() > deadline:
            break
    while time.monotonic() < deadline:
        time.sleep(0.1)
    for s in socks:
        s.close()


def attack_connection_hog(port: int, seconds: float, count: int, got: Counter[str]) -> None:
    """One address (127.0.0.3) keeps *count* idle connections open, more than --max-connections:
    each one the server closes is opened again at once."""
    import resource
    import selectors

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < count + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(count + 256, hard), hard))
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as selector:
        def open_one() -> None:
            try:
                s = socket.socket()
                s.bind(("127.0.0.3", 0))
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", port))  # completes in the kernel's backlog even when not accepted
                selector.register(s, selectors.EVENT_READ)
                got["opened"] += 1
            except OSError as exc:
                got[type(exc).__name__] += 1

        while len(selector.get_map()) < count and time.monotonic() < deadline:
            open_one()
        while time.monotonic() < deadline:
            for key, _ in selector.select(0.1):  # an idle connection is readable only when it ends
                s = key.fileobj
                try:
                    data = s.recv(1)
                except OSError:
                    data = b""
                if not data:
                    got["closed by server"] += 1
                    selector.unregister(s)
                    s.close()
                    open_one()
        for key in list(selector.get_map().values()):
            key.fileobj.close()


def attack_non_reading(port: int, seconds: float, got: Counter[str]) -> None:
    socks = []
    request = request_bytes("POST", "/sparql", LARGE.encode())
    request = request.replace(b"Host: bench\r\n", b"Host: bench\r\nAccept: application/n-triples\r\n")
    deadline = time.monotonic() + seconds
    for _ in range(60):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=60)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(request)
            socks.append(s)
        except OSError as exc:
            got[type(exc).__name__] += 1
    for s in socks:
        try:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            got[status_of(s.recv(100))] += 1  # the status line; the body is never read
        except OSError as exc:
            got[type(exc).__name__] += 1
    while time.monotonic() < deadline:
        time.sleep(0.1)
    for s in socks:
        s.close()


def attack_loop(port: int, seconds: float, sources: list[str], body: bytes, got: Counter[str]) -> None:
    def one(source: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120, source_address=(source, 0))
                conn.request("POST", "/sparql", body=body, headers={"Content-Type": "application/sparql-query"})
                r = conn.getresponse()
                r.read()
                conn.close()
                got[str(r.status)] += 1
                if r.status in (429, 503) and r.getheader("Retry-After") and r.getheader("Retry-After") != "0":
                    time.sleep(0.05)  # a hostile client ignores Retry-After
            except OSError as exc:
                got[type(exc).__name__] += 1

    threads = [threading.Thread(target=one, args=(s,)) for s in sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def settle(port: int, limit: float = 60.0) -> None:
    """Wait until every worker is ready again (killed ones replaced) and connections are closed."""
    time.sleep(2.0)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            health = json.loads(conn.getresponse().read())
            conn.close()
            if health.get("starting") == 0 and health.get("busy") == 0:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--queue-timeout", type=float, default=2.0, help="The server's --queue-timeout.")
    parser.add_argument("--serve-option", action="append", default=[], metavar="OPTION",
                        help="Pass OPTION to patternkg serve (repeatable; e.g. --serve-option=--max-connections-per-client=4096 "
                             "to see an attack without that bound).")
    parser.add_argument("--only", action="append", default=[], metavar="ATTACK",
                        help="Run only attacks whose name starts with ATTACK (repeatable).")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-reliability-"))
    server = None
    try:
        store = args.store
        if store is None:
            corpus = Path("../shared/corpus/commons-os")
            if not corpus.is_dir():
                print("no --store and no ../shared/corpus/commons-os", file=sys.stderr)
                return 2
            store = scratch / "store"
            subprocess.run([sys.executable, "-m", "patternkg", "build", str(corpus), "--store", str(store), "-q"],
                           check=False, stdout=subprocess.DEVNULL)
        options = ["--store", str(store), "--workers", str(args.workers), "--timeout", str(args.timeout),
                   "--max-rows", "1000000", "--queue-timeout", str(args.queue_timeout), *args.serve_option]
        try:
            server, url, _ = launch(*options, folder=scratch, seconds=120)
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 1
        port = int(url.rsplit(":", 1)[1])
        command = ["patternkg", "serve", *options]
        print(" ".join(command).replace(str(store), "STORE").replace(str(scratch), "TMP"))
        print(f"{'attack':<26} {'answered':>9} {'p50 ms':>8} {'max ms':>9} {'refused':>9} {'wait ms':>9} "
              f"{'peak MiB':>9}  {'target':<7}")
        seconds = args.seconds
        with Probe(port, server.pid) as probe:
            time.sleep(min(5.0, seconds))
        report("(no attack)", probe, Counter(), verdict(probe, flood=False, queue_wait=args.queue_timeout))
        attacks = [
            ("slow-bodies", lambda got: attack_slow_bodies(port, seconds, 3 * args.workers, got)),
            ("idle-connections", lambda got: attack_idle(port, seconds, got)),
            ("connection-hog (1 addr)", lambda got: attack_connection_hog(port, seconds, 4200, got)),
            ("non-reading", lambda got: attack_non_reading(port, seconds, got)),
            ("timeout-flood (1 addr)", lambda got: attack_loop(
                port, seconds, ["127.0.0.1"] * args.workers, SLOW.encode(), got)),
            ("timeout-flood (N addrs)", lambda got: attack_loop(
                port, seconds, [f"127.0.0.{11 + i}" for i in range(args.workers)], SLOW.encode(), got)),
            ("crash-flood", lambda got: attack_loop(port, seconds, ["127.0.0.1"] * 4, NESTED.encode(), got)),
        ]
        for name, attack in attacks:
            if args.only and not any(name.startswith(prefix) for prefix in args.only):
                continue
            got: Counter[str] = Counter()
            with Probe(port, server.pid) as probe:
                attack(got)
            report(name, probe, got, verdict(probe, flood=name.endswith("(N addrs)"), queue_wait=args.queue_timeout))
            settle(port)
        return 0
    finally:
        if server is not None:
            stop_process(server)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
