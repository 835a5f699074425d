"""Connections per client address: one address cannot take every connection.

granian accepts connections in Rust, with no per-address limit, and the ASGI front
(:mod:`.front`) sees requests, not connections. Two parts bound what one client
address holds to ``limit`` (``--max-connections-per-client``):

- :class:`ClientSlots`, in the front, per request: an address may have at most
  ``limit`` requests in progress at once (from its head to the last byte of its
  answer; with HTTP/1.1 that is one per connection, the connections nginx's
  ``limit_conn`` counts). One more gets ``429 too-many-connections`` with
  ``Retry-After: 1`` and ``Connection: close``. The address is the connection's, or
  with ``--trust-proxy`` the one the proxy names (every connection then comes from
  the proxy, so this is the only per-address bound).
- :class:`ConnectionWarden`, a thread of the server process (not with
  ``--trust-proxy``): every ``interval`` seconds, and at once when the front finds an
  address at its limit, it looks at the connections of the served port among the
  process's own file descriptors; when one address has more than ``limit`` of them it
  shuts the extra ones down (kept first: those with a request in progress, then the
  oldest). So idle connections count too (opened and silent, or kept alive between
  requests), and an address that opens thousands holds at most ``limit`` of
  ``--max-connections`` for longer than ``interval``; the others' connections are
  accepted. The connections per address come from the kernel (netlink
  ``sock_diag``, filtered by the served port: no system call per connection); only
  when an address is over its limit are the process's descriptors listed (a
  ``readlink`` each) to find the ones to shut. Nothing is looked at while the process
  has no more open files than ``limit``. Without ``/proc`` or ``sock_diag`` (not
  Linux) only the per-request bound applies.

Both count per server process (the CLI runs one).
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Callable

__all__ = ["ClientSlots", "ConnectionWarden", "default_per_client", "normal_address"]


def default_per_client(max_connections: int) -> int:
    """The default of ``--max-connections-per-client``: a quarter of *max_connections*, at most 64."""
    return max(1, min(64, max_connections // 4))


def normal_address(address: str) -> str:
    """*address* as one client is counted by: IPv4-mapped IPv6 addresses as IPv4."""
    return address[7:] if address.startswith("::ffff:") and "." in address else address


class ClientSlots:
    """Requests in progress per client address, at most ``limit`` each (thread-safe)."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._lock = threading.Lock()
        self._count: dict[str, int] = {}
        self._connections: set[tuple[str, int]] = set()
        self.refused = 0
        """Requests refused with 429 because their address was at the limit."""

    def enter(self, client: str, connection: tuple[str, int] | None) -> bool:
        """Count one request of *client* (on *connection*: peer host and port); False when at the limit."""
        with self._lock:
            count = self._count.get(client, 0)
            if count >= self.limit:
                self.refused += 1
                return False
            self._count[client] = count + 1
            if connection is not None:
                self._connections.add(connection)
            return True

    def leave(self, client: str, connection: tuple[str, int] | None) -> None:
        with self._lock:
            count = self._count.get(client, 0) - 1
            if count > 0:
                self._count[client] = count
            else:
                self._count.pop(client, None)
            if connection is not None:
                self._connections.discard(connection)

    def in_progress(self) -> set[tuple[str, int]]:
        """The connections (peer host, port) with a request in progress now."""
        with self._lock:
            return set(self._connections)


_STATES = (1 << 1) | (1 << 8)  # TCP_ESTABLISHED, TCP_CLOSE_WAIT: connections that hold a place
_HEADER = struct.Struct("=IHHII")  # nlmsghdr
_PORTS = struct.Struct("!HH")  # inet_diag_sockid: source (local) and destination (peer) port
_INODE = struct.Struct("=I")

Connection = tuple[bytes, int, int]
"""A served connection: the peer's address (packed), the peer's port, the socket's inode."""


def _diag(port: int, family: int) -> list[Connection]:
    """The TCP connections of local *port* in *family*, from the kernel (netlink sock_diag).

    The kernel filters by port and state, so the answer is as long as the served
    connections (not every socket of the machine), and there is no per-connection system
    call. Connections not yet accepted have inode 0."""
    request = (struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, _STATES)
               + _PORTS.pack(port, 0) + bytes(36) + struct.pack("=II", 0xFFFFFFFF, 0xFFFFFFFF))
    message = _HEADER.pack(_HEADER.size + len(request), 20, 0x301, 1, 0) + request  # SOCK_DIAG_BY_FAMILY, DUMP
    size = 4 if family == socket.AF_INET else 16
    found: list[Connection] = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4) as netlink:  # NETLINK_SOCK_DIAG
        netlink.sendall(message)
        while True:
            data = netlink.recv(1 << 20)
            if not data:
                return found
            offset = 0
            while offset + _HEADER.size <= len(data):
                length, kind = _HEADER.unpack_from(data, offset)[:2]
                if kind == 3:  # NLMSG_DONE
                    return found
                if kind == 2 or length < _HEADER.size:  # NLMSG_ERROR
                    raise OSError("sock_diag refused the request")
                body = offset + _HEADER.size  # inet_diag_msg: family, state, timer, retrans, sockid, ...
                local, peer_port = _PORTS.unpack_from(data, body + 4)
                if local == port:
                    found.append((data[body + 24:body + 24 + size], peer_port, _INODE.unpack_from(data, body + 68)[0]))
                offset += (length + 3) & ~3


def _own_sockets() -> dict[int, int]:
    """inode -> file descriptor of this process's open sockets."""
    found: dict[int, int] = {}
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return found
    for name in names:
        try:
            link = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if link.startswith("socket:["):
            found[int(link[8:-1])] = int(name)
    return found


def _shut(fd: int, inode: int) -> bool:
    """Shut the connection *inode* down (both ways) when descriptor *fd* still holds it."""
    try:
        dup = os.dup(fd)
    except OSError:
        return False
    try:
        if os.fstat(dup).st_ino != inode:
            return False  # closed, and the number reused, since it was listed
        with socket.socket(fileno=dup) as s:
            dup = -1
            s.shutdown(socket.SHUT_RDWR)  # the server's own descriptor sees the end and closes it
        return True
    except OSError:
        return False
    finally:
        if dup >= 0:
            os.close(dup)


class ConnectionWarden(threading.Thread):
    """See the module docstring. *port* gives the served port (0 while unknown);
    *slots* tells which connections have a request in progress."""

    def __init__(self, *, limit: int, port: Callable[[], int], slots: ClientSlots, interval: float = 0.5) -> None:
        super().__init__(daemon=True, name="patternkg-connection-warden")
        self.limit = max(1, limit)
        self.port = port
        self.slots = slots
        self.interval = interval
        self.closed = 0
        """Connections shut down because their address had more than ``limit``."""
        self._wake = threading.Event()

    def poke(self) -> None:
        """Look now (an address reached its limit)."""
        self._wake.set()

    def run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 - the warden must outlive any one failure
                pass

    def sweep(self) -> int:
        """One look; the number of connections shut down."""
        port = self.port()
        if not port:
            return 0
        try:
            if len(os.listdir("/proc/self/fd")) <= self.limit:
                return 0  # not even that many open files: no address can be over the limit
            connections = _diag(port, socket.AF_INET) + _diag(port, socket.AF_INET6)
        except OSError:
            return 0  # no /proc or no sock_diag (not Linux, or forbidden): the per-request bound only
        by_host: dict[bytes, list[Connection]] = {}
        for connection in connections:
            by_host.setdefault(connection[0], []).append(connection)
        crowded = [conns for conns in by_host.values() if len(conns) > self.limit]
        if not crowded:
            return 0
        own = _own_sockets()
        busy = self.slots.in_progress()
        shut = 0
        for conns in crowded:
            family = socket.AF_INET if len(conns[0][0]) == 4 else socket.AF_INET6
            host = normal_address(socket.inet_ntop(family, conns[0][0]))
            over = len(conns) - self.limit  # connections not yet accepted count too
            idle = sorted((c for c in conns if c[2] in own and (host, c[1]) not in busy), key=lambda c: c[2])
            for _, _, inode in idle[max(0, len(idle) - over):]:  # the newest idle ones
                shut += _shut(own[inode], inode)
        self.closed += shut
        return shut
